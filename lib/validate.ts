// Argument checks shared by every public function. Each names the argument it refuses.
import { typeError, rangeError, valueError } from './errors';

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** %TypedArray%, the constructor every typed array class extends. */
const TypedArray = Object.getPrototypeOf(Int8Array) as abstract new () => ArrayBufferView;

/**
 * A typed array, or something that passes for one: a Proxy of a typed array, or an object made from
 * a typed array's prototype, has no typed array's internal slots, so isView misses it; yet it
 * inherits the `length` getter and the iterator, which throw a TypeError with no code when used.
 * instanceof follows the prototype chain.
 */
export function typedArrayLike(value: unknown): boolean {
  return ArrayBuffer.isView(value) || value instanceof TypedArray;
}

export function objectArg(name: string, value: unknown): Record<string, unknown> {
  // `length` is an option name: a typed array's getter would throw reading it.
  if (typeof value !== 'object' || value === null || Array.isArray(value) || typedArrayLike(value)) {
    throw typeError(name, 'an object', value);
  }
  return value as Record<string, unknown>;
}

export function optionalObject(name: string, value: unknown): Record<string, unknown> {
  return value === undefined ? {} : objectArg(name, value);
}

export function integer(name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number') throw typeError(name, 'an integer', value);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw rangeError(name, `an integer >= ${min} and <= ${max}`, value);
  }
  return value;
}

export function optionalInteger(name: string, value: unknown, fallback: number, min: number, max?: number): number {
  return value === undefined ? fallback : integer(name, value, min, max);
}

export interface NumberBounds {
  min?: number;
  max?: number;
  minExclusive?: boolean;
  maxExclusive?: boolean;
  /**
   * The addon keeps the value as a 32-bit float and checks it again: hold the bounds for the float
   * it rounds to (1e-50 becomes 0, 1 - 2^-30 becomes 1, 1e39 Infinity), so that the addon's own
   * check, whose message names no argument, never refuses it. A positive float below 2^-126
   * (subnormal) counts as 0, as the addon's threads flush such floats to zero; a negative one stays
   * negative, below every bound of 0.
   */
  float32?: boolean;
  /** With float32: 0 turns the setting off, so another value must not become 0 as a 32-bit float. */
  zeroOnlyAsGiven?: boolean;
}

const SMALLEST_NORMAL_FLOAT32 = 2 ** -126;

export function finiteNumber(name: string, value: unknown, bounds: NumberBounds = {}): number {
  if (typeof value !== 'number') throw typeError(name, 'a number', value);
  const { min, max, minExclusive, maxExclusive, float32, zeroOnlyAsGiven } = bounds;
  const rounded = float32 ? Math.fround(value) : value;
  const v = float32 && rounded > 0 && rounded < SMALLEST_NORMAL_FLOAT32 ? 0 : rounded;
  const low = min === undefined || (minExclusive ? v > min : v >= min);
  const high = max === undefined || (maxExclusive ? v < max : v <= max);
  const vanished = zeroOnlyAsGiven === true && v === 0 && value !== 0;
  if (!Number.isFinite(v) || !low || !high || vanished) {
    const parts = zeroOnlyAsGiven ? ['0, or a finite number', `>= ${SMALLEST_NORMAL_FLOAT32}`] : ['a finite number'];
    if (!zeroOnlyAsGiven && min !== undefined) parts.push(`${minExclusive ? '>' : '>='} ${min}`);
    if (max !== undefined) parts.push(`${maxExclusive ? '<' : '<='} ${max}`);
    if (float32) parts.push('as a 32-bit float');
    throw rangeError(name, parts.join(' '), value);
  }
  return value;
}

export function optionalNumber(name: string, value: unknown, fallback: number, bounds?: NumberBounds): number {
  return value === undefined ? fallback : finiteNumber(name, value, bounds);
}

export function optionalBoolean(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw typeError(name, 'a boolean', value);
  return value;
}

export function oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string') throw typeError(name, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`, value);
  if (!(allowed as readonly string[]).includes(value)) {
    throw valueError(name, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`, value);
  }
  return value as T;
}

export function optionalFunction<F>(name: string, value: unknown): F | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') throw typeError(name, 'a function', value);
  return value as F;
}

/** Refuses option keys that the function does not know, naming the nearest misspelling. */
export function knownKeys(name: string, options: Record<string, unknown>, allowed: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) {
      throw valueError(`${name}.${key}`, `one of the known options (${allowed.join(', ')})`, key);
    }
  }
}

export function seedArg(name: string, value: unknown): number {
  if (value === undefined) return Math.floor(Math.random() * 2 ** 32);
  return integer(name, value, 0, Number.MAX_SAFE_INTEGER);
}

/**
 * Makes every method and accessor of `cls.prototype` refuse a `this` that `owns` rejects (a method
 * taken off its object, or called on another object) with a TypeError naming "this". Unchecked, the
 * private fields throw V8's TypeError "Cannot read private member", which has no code.
 */
export function checkReceivers(cls: { readonly prototype: object }, expected: string, owns: (value: object) => boolean): void {
  const proto = cls.prototype;
  for (const key of Reflect.ownKeys(proto)) {
    if (key === 'constructor') continue;
    const descriptor = Object.getOwnPropertyDescriptor(proto, key) as PropertyDescriptor;
    for (const part of ['value', 'get', 'set'] as const) {
      const original: unknown = descriptor[part];
      if (typeof original !== 'function') continue;
      // An object literal's method keeps the original's name in stack traces.
      descriptor[part] = {
        [original.name](this: unknown, ...args: unknown[]): unknown {
          if (typeof this !== 'object' || this === null || !owns(this)) throw typeError('this', expected, this);
          return original.apply(this, args);
        },
      }[original.name];
    }
    Object.defineProperty(proto, key, descriptor);
  }
}
