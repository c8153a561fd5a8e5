// Parsers for option values and the options several commands share. A parser refuses a bad value
// with a message commander turns into a usage error (exit 64); --config values go through the same
// parsers, so a setting is checked the same way wherever it comes from.
import { type Command, InvalidArgumentError, Option } from 'commander';
import { FORMATS, MISSING } from './data';
import { decimalValue } from './decimal';

export function positiveInteger(value: string): number {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer.');
  return n;
}

export function nonNegativeInteger(value: string): number {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('must be an integer of 0 or more.');
  return n;
}

export function positiveNumber(value: string): number {
  const n = decimalValue(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a number above 0.');
  return n;
}

/** A file or folder name: an empty one (a shell variable left unset) is refused, not taken as "not given". */
export function pathName(value: string): string {
  if (value === '') throw new InvalidArgumentError('must name a file or folder.');
  return value;
}

/** A fraction of the rows: 0 (none) up to, not including, 1. */
export function fraction(value: string): number {
  const n = decimalValue(value);
  if (!Number.isFinite(n) || n < 0 || n >= 1) throw new InvalidArgumentError('must be a number from 0 up to (not including) 1.');
  return n;
}

/** Hidden layer widths such as "256,64"; an empty list connects the input straight to the latent layer. */
export function widthList(value: string): number[] {
  if (value.trim() === '') return [];
  return value.split(',').map((part) => {
    try {
      return positiveInteger(part);
    } catch {
      throw new InvalidArgumentError('must be positive integers separated by commas, such as 256,64.');
    }
  });
}

/** --json and --quiet, which every command takes. */
export function addOutputModeOptions(command: Command): Command {
  return command
    .option('--json', 'print the result as JSON on stdout (progress and notes go to stderr)')
    .option('--quiet', 'print nothing but errors (and the data itself, where that goes to stdout)');
}

/** How input data files are read: by their extension unless --format says otherwise. */
export function addReadOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--format <format>', 'the data format; default from the extension: .csv, .tsv/.tab, .npy, .f32/.bin/.raw').choices(FORMATS),
    )
    .option('--dim <n>', 'values per row of a raw float32 file (.f32, little-endian)', positiveInteger)
    .addOption(
      new Option(
        '--missing <how>',
        'empty, NaN and Inf cells: error refuses them; zero fills 0; mean fills the column mean; drop skips the row',
      )
        .choices(MISSING)
        .default('error'),
    );
}
