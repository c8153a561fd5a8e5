// The benchmark's command-line flags, shared by compare.ts and ours-coretype.ts (which reads its own before the addon loads).
const argv = process.argv.slice(2);

/** Whether the flag was given. */
export const flag = (name: string): boolean => argv.includes(name);

/** The value after the flag, or the fallback when the flag or its value is missing. */
export const option = (name: string, fallback: string): string => {
  const i = argv.indexOf(name);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : fallback;
};
