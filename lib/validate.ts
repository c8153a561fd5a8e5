// Argument checks shared by every public function. Each names the argument it refuses.
import { typeError, rangeError, valueError } from './errors';

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

export function objectArg(name: string, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || ArrayBuffer.isView(value)) {
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
}

export function finiteNumber(name: string, value: unknown, bounds: NumberBounds = {}): number {
  if (typeof value !== 'number') throw typeError(name, 'a number', value);
  const { min, max, minExclusive, maxExclusive } = bounds;
  const low = min === undefined || (minExclusive ? value > min : value >= min);
  const high = max === undefined || (maxExclusive ? value < max : value <= max);
  if (!Number.isFinite(value) || !low || !high) {
    const parts = ['a finite number'];
    if (min !== undefined) parts.push(`${minExclusive ? '>' : '>='} ${min}`);
    if (max !== undefined) parts.push(`${maxExclusive ? '<' : '<='} ${max}`);
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
