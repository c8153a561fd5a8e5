// Exit statuses in the style of sysexits(3), and the error that carries one: every user error ends
// as one line on stderr and a status a script can test, never as a stack trace.
import type { CodedError } from '../errors';

export const EXIT = {
  ok: 0,
  /** The command line (or a --config file's settings) is wrong. */
  usage: 64,
  /** An input file is malformed. */
  data: 65,
  /** An input file cannot be opened. */
  noInput: 66,
  /** A package the command needs is not installed. */
  unavailable: 69,
  /** A bug: something failed that the command did not expect. */
  software: 70,
  /** An output file or folder cannot be created. */
  cantCreate: 73,
  /** Stopped by Ctrl-C (128 + SIGINT, as a shell reports it). */
  interrupted: 130,
} as const;

export class CliError extends Error {
  readonly exitCode: number;

  constructor(message: string, exitCode: number) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

export const usageError = (message: string): CliError => new CliError(message, EXIT.usage);
export const dataError = (message: string): CliError => new CliError(message, EXIT.data);

/** The part of a system error a user can act on; Node's own message repeats the path and the syscall. */
function systemReason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  const reasons: Record<string, string> = {
    ENOENT: 'no such file or folder',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EISDIR: 'is a folder',
    ENOTDIR: 'a part of the path is not a folder',
    EEXIST: 'already exists and is not a folder',
    ENOSPC: 'no space left on the device',
    EFBIG: 'file too large',
    EROFS: 'read-only file system',
    EMFILE: 'too many open files',
  };
  return (code && reasons[code]) ?? (error instanceof Error ? error.message : String(error));
}

/** An input file that cannot be opened or read. */
export function inputError(file: string, error: unknown): CliError {
  return new CliError(`cannot read ${file}: ${systemReason(error)}`, EXIT.noInput);
}

/** An output file or folder that cannot be written. */
export function outputError(file: string, error: unknown): CliError {
  return new CliError(`cannot write ${file}: ${systemReason(error)}`, EXIT.cantCreate);
}

/**
 * The library's arguments that the command fills from its flags: where the library refuses one (a
 * value beyond float32 or beyond its limits), the message names the flag the user typed.
 */
const FLAG_OF_ARGUMENT: [argument: RegExp, flag: string][] = [
  [/"options\.optimizer\.learningRate"/g, '--learning-rate'],
  [/"options\.epochs"/g, '--epochs'],
  [/"options\.batchSize"/g, '--batch-size'],
  [/"options\.validationSplit"/g, '--validation-split'],
  [/"options\.resumeFrom"/g, '--resume'],
  [/"options\.optimizer\.type"/g, '--optimizer'],
  [/"options\.loss"/g, '--loss'],
  [/"options\.seed"/g, '--seed'],
  [/"threads"/g, '--threads'],
  [/"config\.layers\[\d+\]\.units"/g, 'a width of --layers or --latent'],
];

function inFlagTerms(message: string): string {
  return FLAG_OF_ARGUMENT.reduce((text, [argument, flag]) => text.replace(argument, flag), message);
}

/** The line to print and the exit status for an error that reaches the top of the command. */
export function describeFailure(error: unknown): { message: string; exitCode: number } {
  const oneLine = (text: string) => text.replace(/\s*\n\s*/g, ' ').trim();
  if (error instanceof CliError) return { message: oneLine(error.message), exitCode: error.exitCode };
  const { code, message } = (error ?? {}) as CodedError;
  switch (code) {
    case 'ERR_MODEL_FORMAT':
      return { message: oneLine(message), exitCode: EXIT.data };
    case 'ERR_NON_FINITE':
      return { message: `${oneLine(message)} (a lower --learning-rate, or data scaled to small values, usually helps)`, exitCode: EXIT.data };
    case 'ERR_INVALID_ARG_TYPE':
    case 'ERR_INVALID_ARG_VALUE':
    case 'ERR_OUT_OF_RANGE':
      // The library checked a setting that came from the command line or a config file.
      return { message: inFlagTerms(oneLine(message)), exitCode: EXIT.usage };
    case 'ERR_NATIVE_BINDING':
    case 'ERR_CUDA_UNAVAILABLE':
      return { message: oneLine(message), exitCode: EXIT.unavailable };
    default: {
      const detail = process.env.AUTOENCODER_DEBUG ? `\n${(error as Error)?.stack ?? ''}` : ' (set AUTOENCODER_DEBUG=1 for the stack trace)';
      return { message: `internal error: ${oneLine(String(message ?? error))}${detail}`, exitCode: EXIT.software };
    }
  }
}
