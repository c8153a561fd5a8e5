// What the command reads as a number, in data cells and option values alike: plain decimal notation
// such as 0.001, -2 or 1e-3. Number() would also read hexadecimal, binary and octal ("0x10" is 16),
// which in a data file or a learning rate is a typo, not a value.

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

export function isDecimal(text: string): boolean {
  return DECIMAL.test(text);
}

/** The value of `text` (surrounding spaces aside) in decimal notation, or NaN. */
export function decimalValue(text: string): number {
  const trimmed = text.trim();
  return isDecimal(trimmed) ? Number(trimmed) : NaN;
}
