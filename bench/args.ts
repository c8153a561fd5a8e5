// The benchmarks' command-line flags (ours-coretype.ts reads its own before the addon loads).
const argv = process.argv.slice(2);

/** Whether the flag was given. */
export const flag = (name: string): boolean => argv.includes(name);

/** The value after the flag, or the fallback when the flag or its value is missing. */
export const option = (name: string, fallback: string): string => {
  const i = argv.indexOf(name);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : fallback;
};

/** The integer after the flag, at least `least`, or the fallback when the flag is missing. */
export const integerOption = (name: string, fallback: number, least: number): number => {
  const value = Number(option(name, String(fallback)));
  if (!Number.isInteger(value) || value < least) throw new RangeError(`${name} must be an integer of at least ${least}`);
  return value;
};
