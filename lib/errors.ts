// Errors with stable codes. Arguments are refused with TypeError (wrong type) or RangeError (wrong
// value) whose message names the argument and what it received.
export type ErrorCode =
  | 'ERR_INVALID_ARG_TYPE'
  | 'ERR_INVALID_ARG_VALUE'
  | 'ERR_OUT_OF_RANGE'
  | 'ERR_BUSY'
  | 'ERR_DISPOSED'
  | 'ERR_IN_USE'
  | 'ERR_NON_FINITE'
  | 'ERR_OUT_OF_MEMORY'
  | 'ERR_NATIVE_BINDING'
  | 'ERR_MODEL_FORMAT'
  | 'ERR_MPI_UNAVAILABLE'
  | 'ERR_DISTRIBUTED'
  | 'ERR_DISTRIBUTED_TIMEOUT'
  | 'ERR_DISTRIBUTED_MISMATCH'
  | 'ERR_BF16_UNAVAILABLE'
  | 'ABORT_ERR';

export interface CodedError extends Error {
  code: ErrorCode | string;
}

export function codedError<E extends Error>(
  kind: new (message: string, options?: { cause?: unknown }) => E,
  code: ErrorCode,
  message: string,
  cause?: unknown,
): E & CodedError {
  const error = new kind(message, cause === undefined ? undefined : { cause }) as E & CodedError;
  error.code = code;
  return error;
}

/** A short, safe description of a received value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  switch (typeof value) {
    case 'number':
      return Object.is(value, -0) ? 'number -0' : `number ${value}`;
    case 'string':
      return `string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
    case 'bigint':
      return `bigint ${value}n`;
    case 'boolean':
    case 'symbol':
      return typeof value;
    case 'function':
      return 'function';
    default: {
      if (Array.isArray(value)) return `an array of length ${value.length}`;
      if (ArrayBuffer.isView(value)) return `a ${value.constructor.name} of ${value.byteLength} bytes`;
      const name = Object.getPrototypeOf(value)?.constructor?.name;
      return name && name !== 'Object' ? `an instance of ${name}` : 'an object';
    }
  }
}

export function typeError(name: string, expected: string, received: unknown): TypeError & CodedError {
  return codedError(
    TypeError,
    'ERR_INVALID_ARG_TYPE',
    `The "${name}" argument must be ${expected}. Received ${describe(received)}`,
  );
}

export function rangeError(name: string, expected: string, received: unknown): RangeError & CodedError {
  return codedError(
    RangeError,
    'ERR_OUT_OF_RANGE',
    `The value of "${name}" is out of range. It must be ${expected}. Received ${describe(received)}`,
  );
}

export function valueError(name: string, expected: string, received: unknown): RangeError & CodedError {
  return codedError(
    RangeError,
    'ERR_INVALID_ARG_VALUE',
    `The "${name}" argument must be ${expected}. Received ${describe(received)}`,
  );
}

export function abortError(cause?: unknown): Error & CodedError {
  const error = codedError(Error, 'ABORT_ERR', 'The operation was aborted', cause);
  error.name = 'AbortError';
  return error;
}

export function disposedError(what: string): Error & CodedError {
  return codedError(Error, 'ERR_DISPOSED', `The ${what} has been disposed`);
}
