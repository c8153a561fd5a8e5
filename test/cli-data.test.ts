// Data files in the `autoencoder` command: CSV and TSV with and without a header, NumPy .npy
// (float32, float64; header versions 1-3), raw float32, the --missing policies, and every kind of
// malformed file ending with one line that names the file, line and column, and exit status 65.
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, expectFailure, npyHeader, rows, writeDelimited, writeF32, writeNpy } from './cli-helpers';

const dir = mkdtempSync(join(tmpdir(), 'na-cli-data-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const values = rows(40, 6, 2);
const model = join(dir, 'model', 'model.safetensors');
const narrowModel = join(dir, 'narrow', 'model.safetensors');
/** The scores of `values`, read from a plain CSV file: what every other format must reproduce. */
let reference: string;

const score = (file: string, ...flags: string[]) => cli(['score', '--model', model, '--data', file, ...flags], { cwd: dir });
const scoreNarrow = (file: string, ...flags: string[]) => cli(['score', '--model', narrowModel, '--data', file, ...flags], { cwd: dir });

function write(name: string, text: string): string {
  writeFileSync(join(dir, name), text);
  return name;
}

beforeAll(async () => {
  writeDelimited(join(dir, 'plain.csv'), values);
  writeDelimited(join(dir, 'three.csv'), rows(20, 3));
  for (const [file, out] of [['plain.csv', 'model'], ['three.csv', 'narrow']]) {
    const run = await cli(['train', '--data', file, '--out', out, '--epochs', '1', '--seed', '1', '--layers', '8', '--latent', '2', '--quiet'], { cwd: dir });
    expect(run).toMatchObject({ code: 0, stderr: '' });
  }
  const run = await score('plain.csv');
  expect(run.code).toBe(0);
  reference = run.stdout;
  expect(reference.trimEnd().split('\n')).toHaveLength(41);
});

describe('formats that hold the same rows give the same scores', () => {
  it('CSV with a header row', async () => {
    writeDelimited(join(dir, 'header.csv'), values, { header: ['a', 'b', 'c', 'd', 'e', 'f'] });
    expect((await score('header.csv')).stdout).toBe(reference);
  });

  it('a header is recognised by any non-numeric cell, and numbers may be quoted or spaced', async () => {
    const lines = values.map((row) => row.map((v, i) => (i === 0 ? `"${v}"` : ` ${v} `)).join(','));
    write('mixed-header.csv', `1,2,3,4,5,name\n${lines.join('\r\n')}\r\n\n`);
    expect((await score('mixed-header.csv')).stdout).toBe(reference);
  });

  it('TSV, by the .tsv extension or --format tsv', async () => {
    writeDelimited(join(dir, 'plain.tsv'), values, { delimiter: '\t' });
    writeDelimited(join(dir, 'tabs.txt'), values, { delimiter: '\t', header: ['a', 'b', 'c', 'd', 'e', 'f'] });
    expect((await score('plain.tsv')).stdout).toBe(reference);
    expect((await score('tabs.txt', '--format', 'tsv')).stdout).toBe(reference);
  });

  it.each([
    ['float32, version 1.0', { descr: '<f4', version: 1 }],
    ['float64, version 1.0', { descr: '<f8', version: 1 }],
    ['float32, version 2.0', { descr: '<f4', version: 2 }],
    ['float64, version 3.0', { descr: '<f8', version: 3 }],
  ] as const)('.npy %s', async (name, options) => {
    const file = `${name.replace(/\W+/g, '-')}.npy`;
    writeNpy(join(dir, file), values, options);
    expect((await score(file)).stdout).toBe(reference);
  });

  it('.npy of three or more dimensions: each row is flattened', async () => {
    writeNpy(join(dir, 'cube.npy'), values, { shape: [40, 2, 3] });
    expect((await score('cube.npy')).stdout).toBe(reference);
  });

  it('.npy of one dimension with --dim', async () => {
    writeNpy(join(dir, 'flat.npy'), values, { shape: [240] });
    expect((await score('flat.npy', '--dim', '6')).stdout).toBe(reference);
  });

  it('raw float32 with --dim, by extension or --format f32', async () => {
    writeF32(join(dir, 'plain.f32'), values);
    writeF32(join(dir, 'plain.data'), values);
    expect((await score('plain.f32', '--dim', '6')).stdout).toBe(reference);
    expect((await score('plain.data', '--format', 'f32', '--dim', '6')).stdout).toBe(reference);
  });
});

describe.concurrent('malformed CSV and TSV: exit status 65 and one line naming the file, line and column', () => {
  it.each([
    ['too few fields', 'a,b,c\n1,2,3\n4,5\n', /^autoencoder: bad\.csv, line 3, column 3: expected 3 fields, saw 2$/],
    ['too many fields', '1,2,3\n4,5,6\n7,8,9,10\n', /^autoencoder: bad\.csv, line 3, column 4: expected 3 fields, saw 4$/],
    ['a word among numbers', '1,2,3\n4,five,6\n', /^autoencoder: bad\.csv, line 2, column 2: "five" is not a number$/],
    ['a number with a unit', '1,2,3\n4,5,6kg\n', /^autoencoder: bad\.csv, line 2, column 3: "6kg" is not a number$/],
    ['an empty cell', '1,2,3\n4,,6\n', /^autoencoder: bad\.csv, line 2, column 2: empty cell \(--missing zero\|mean\|drop accepts missing values\)$/],
    ['NaN', '1,2,3\n4,5,6\nNaN,8,9\n', /^autoencoder: bad\.csv, line 3, column 1: "NaN" is not a finite number/],
    ['Inf', '1,2,3\n4,5,-inf\n', /^autoencoder: bad\.csv, line 2, column 3: "-inf" is not a finite number/],
    ['a number beyond float32', '1,2,3\n4,5,1e39\n', /^autoencoder: bad\.csv, line 2, column 3: "1e39" is outside the float32 range$/],
    ['an unclosed quote', '1,2,3\n4,"5,6\n', /^autoencoder: bad\.csv, line 2: quote not closed$/],
    // The quote opens on line 4, after a quoted line break; csv-parse says where the text ended, line 6.
    ['an unclosed quote, with lines after it', '1,2,3\n"4\n",5,6\n7,"8,9\n10,11,12\n', /^autoencoder: bad\.csv, line 4: quote not closed$/],
    ['a quote inside an unquoted field', '1,2,3\n4,5"6,7\n', /^autoencoder: bad\.csv, line 2: invalid opening quote$/],
    ['only a header', 'a,b,c\n', /^autoencoder: bad\.csv: no rows of data after the header$/],
    ['nothing', '', /^autoencoder: bad\.csv: no rows of data$/],
  ])('%s', async (name, text, pattern) => {
    // Each case has its own folder, as the cases run at once; the file name in the message stays bad.csv.
    const file = join(name.replace(/\W+/g, '-'), 'bad.csv');
    mkdirSync(join(dir, dirname(file)));
    write(file, text);
    expectFailure(await scoreNarrow(file), 65, new RegExp(pattern.source.replace('bad\\.csv', `${dirname(file)}/bad\\.csv`)));
  });

  it('counts lines after blank lines and a header, and a line break inside quotes', async () => {
    write('lines.csv', 'a,b,c\n\n1,2,3\n"4\n",5,6\n7,8,x\n');
    expectFailure(await scoreNarrow('lines.csv'), 65, /^autoencoder: lines\.csv, line 6, column 3: "x" is not a number$/);
  });

  it('TSV fields are counted by tabs', async () => {
    write('bad.tsv', '1\t2\t3\n4\t5,6\n');
    expectFailure(await scoreNarrow('bad.tsv'), 65, /^autoencoder: bad\.tsv, line 2, column 3: expected 3 fields, saw 2$/);
  });
});

describe('--missing', () => {
  const holes = '1,2,3\n4,,6\n7,8,NaN\n10,11,12\n';

  it('zero fills 0 and mean fills the column mean (scores equal those of the filled file)', async () => {
    write('holes.csv', holes);
    write('zeros.csv', '1,2,3\n4,0,6\n7,8,0\n10,11,12\n');
    write('means.csv', '1,2,3\n4,7,6\n7,8,7\n10,11,12\n');
    expect((await scoreNarrow('holes.csv', '--missing', 'zero')).stdout).toBe((await scoreNarrow('zeros.csv')).stdout);
    const mean = await scoreNarrow('holes.csv', '--missing', 'mean');
    expect(mean.stdout).toBe((await scoreNarrow('means.csv')).stdout);
    expect(mean.stderr).toBe('autoencoder: warning: filled 2 missing values (--missing mean)\n');
  });

  it('drop leaves out rows with a missing value, and says so', async () => {
    write('kept.csv', '1,2,3\n10,11,12\n');
    const run = await scoreNarrow('holes.csv', '--missing', 'drop');
    expect(run.stdout).toBe((await scoreNarrow('kept.csv')).stdout);
    expect(run.stderr).toMatch(/left out 2 rows of holes\.csv with missing values; the output has 2 rows/);
  });

  it('applies to NaN in .npy files too, which are refused by row and column otherwise', async () => {
    const withNaN = values.map((row, r) => row.map((v, c) => (r === 4 && c === 2 ? NaN : v)));
    writeNpy(join(dir, 'nan.npy'), withNaN);
    expectFailure(await score('nan.npy'), 65, /^autoencoder: nan\.npy, row 5, column 3: NaN is not a finite number/);
    expect((await score('nan.npy', '--missing', 'drop', '--quiet')).stdout.trimEnd().split('\n')).toHaveLength(40);
  });

  it('in a file of one column an empty line is an empty cell; empty lines after the last number are no rows', async () => {
    writeDelimited(join(dir, 'column.csv'), rows(30, 1));
    const trained = await cli(['train', '--data', 'column.csv', '--out', 'column', '--epochs', '1', '--layers', '', '--latent', '1', '--quiet'], { cwd: dir });
    expect(trained).toMatchObject({ code: 0, stderr: '' });
    const scoreColumn = (file: string, ...flags: string[]) => cli(['score', '--model', join('column', 'model.safetensors'), '--data', file, ...flags], { cwd: dir });
    write('gaps.csv', 'x\n0.25\n\n0.5\n\n\n0.75\n\n\n');
    expectFailure(await scoreColumn('gaps.csv'), 65, /^autoencoder: gaps\.csv, line 3, column 1: empty cell \(--missing zero\|mean\|drop accepts missing values\)$/);
    write('gaps-filled.csv', 'x\n0.25\n0\n0.5\n0\n0\n0.75\n');
    const filled = await scoreColumn('gaps.csv', '--missing', 'zero');
    expect(filled.stdout).toBe((await scoreColumn('gaps-filled.csv')).stdout);
    expect(filled.stderr).toBe('autoencoder: warning: filled 3 missing values (--missing zero)\n');
    write('gaps-kept.csv', 'x\n0.25\n0.5\n0.75\n');
    expect((await scoreColumn('gaps.csv', '--missing', 'drop', '--quiet')).stdout).toBe((await scoreColumn('gaps-kept.csv')).stdout);
  });

  it('refuses a column with nothing to take the mean of', async () => {
    write('empty-column.csv', '1,,3\n4,,6\n');
    expectFailure(await scoreNarrow('empty-column.csv', '--missing', 'mean'), 65, /^autoencoder: empty-column\.csv, column 2: no finite values to take the mean of$/);
  });
});

describe.concurrent('malformed binary files', () => {
  it('a truncated .npy: the expected and actual sizes', async () => {
    writeNpy(join(dir, 'short.npy'), values, { truncate: 10 });
    expectFailure(await score('short.npy'), 65, /^autoencoder: short\.npy: expected 1088 bytes \(a 128-byte header and shape \(40, 6\) of float32\), but the file has 1078 bytes$/);
  });

  it.each([
    ['big-endian', { descr: '>f4' }, /the array is big-endian \(dtype '>f4'\); save it little-endian/],
    ['integers', { descr: '<i4' }, /dtype '<i4' is not supported; save the array as float32 or float64/],
    ['Fortran order', { fortran: true }, /the array is in Fortran order; save it in C order/],
  ] as const)('.npy in %s', async (name, options, pattern) => {
    const file = `refused-${name.replace(/\W+/g, '-')}.npy`;
    writeNpy(join(dir, file), values, options);
    expectFailure(await score(file), 65, new RegExp(`^autoencoder: ${file.replace('.', '\\.')}: ${pattern.source}`));
  });

  it('arrays and files that hold no values', async () => {
    writeNpy(join(dir, 'no-rows.npy'), [], { shape: [0, 6] });
    expectFailure(await score('no-rows.npy'), 65, /^autoencoder: no-rows\.npy: no data \(shape \(0, 6\)\)$/);
    writeNpy(join(dir, 'no-columns.npy'), [], { shape: [40, 0] });
    expectFailure(await score('no-columns.npy'), 65, /^autoencoder: no-columns\.npy: no data \(shape \(40, 0\)\)$/);
    write('empty.f32', '');
    expectFailure(await score('empty.f32', '--dim', '6'), 65, /^autoencoder: empty\.f32: no data \(an empty file\)$/);
  });

  it('float64 beyond float32 is refused naming its row and column, whole or streamed, whatever --missing says', async () => {
    const huge = values.map((row, r) => row.map((v, c) => (r === 3 && c === 5 ? 1e300 : v)));
    writeNpy(join(dir, 'huge.npy'), huge, { descr: '<f8' });
    const message = /^autoencoder: huge\.npy, row 4, column 6: 1e\+300 is outside the float32 range$/;
    expectFailure(await score('huge.npy', '--missing', 'zero'), 65, message);
    // Streamed, it became Infinity and then 0 under --missing zero, in silence.
    const streamed = await cli(['train', '--data', 'huge.npy', '--stream-rows', '4', '--missing', 'zero', '--epochs', '1', '--out', 'huge-model'], { cwd: dir });
    expectFailure(streamed, 65, message);
  });

  it('a file that is not .npy at all', async () => {
    write('text.npy', 'hello, world\n');
    expectFailure(await score('text.npy'), 65, /^autoencoder: text\.npy: not a NumPy \.npy file/);
  });

  it('raw float32 whose size is not whole rows, or without --dim (a usage error, 64)', async () => {
    writeF32(join(dir, 'odd.f32'), values);
    expectFailure(await score('odd.f32', '--dim', '7'), 65, /^autoencoder: odd\.f32: 960 bytes is not a whole number of rows of 7 float32 values \(28 bytes a row; 8 bytes left over\)$/);
    expectFailure(await score('odd.f32'), 64, /^autoencoder: odd\.f32 is raw float32 data; give --dim N/);
  });

  it('.npy through a pipe is refused as such (64), before waiting for a writer: its layout comes from a size a pipe does not have', async () => {
    const { execFileSync } = await import('node:child_process');
    execFileSync('mkfifo', [join(dir, 'piped.npy')]);
    expectFailure(await score('piped.npy'), 64, /^autoencoder: piped\.npy is a pipe or a device: \.npy and raw float32 data are read from a file/);
  });
});

describe.concurrent('files that cannot be read', () => {
  it('a missing file exits 66', async () => {
    expectFailure(await score('absent.csv'), 66, /^autoencoder: cannot read absent\.csv: no such file or folder$/);
  });

  it('a folder exits 66', async () => {
    expectFailure(await score('model', '--format', 'csv'), 66, /^autoencoder: cannot read model: is a folder$/);
  });

  it('a folder redirected to standard input exits 66 (it read as no rows)', async () => {
    const run = await cli(['score', '--model', model, '--data', '-'], { cwd: dir, stdinFrom: dir });
    expectFailure(run, 66, /^autoencoder: cannot read <stdin>: is a folder$/);
  });

  it('an unknown extension without --format exits 64', async () => {
    write('rows.dat', '1,2,3\n');
    expectFailure(await score('rows.dat'), 64, /^autoencoder: cannot tell the format of rows\.dat from its name; give --format csv\|tsv\|npy\|f32$/);
  });
});

// The rows read from a file go into library-owned memory, which a fit trains on where it is: a copy
// when the fit starts would hold the dataset twice (509 MiB against 322 for a 60,000-row W2 fit).
describe('train holds the rows of a file once', () => {
  const COLS = 128;
  const FEW_ROWS = 4096;
  const MORE_ROWS = 262_144; // 128 MiB more as float32

  /** `count` rows of smooth values in [0, 1], as float32 or float64, after `header`, written a block at a time. */
  function writeRows(name: string, count: number, bytesPerValue: 4 | 8, header: Buffer = Buffer.alloc(0)): string {
    const fd = openSync(join(dir, name), 'w');
    writeSync(fd, header);
    const blockRows = 16_384;
    for (let first = 0; first < count; first += blockRows) {
      const block = new (bytesPerValue === 4 ? Float32Array : Float64Array)(Math.min(blockRows, count - first) * COLS);
      for (let i = 0; i < block.length; i++) block[i] = 0.5 + 0.45 * Math.sin(((first * COLS + i) % 9973) * 0.37);
      writeSync(fd, new Uint8Array(block.buffer));
    }
    closeSync(fd);
    return name;
  }

  async function peakResidentBytes(file: string, ...flags: string[]): Promise<number> {
    const run = await cli(
      ['train', '--data', file, ...flags, '--epochs', '1', '--layers', '16', '--latent', '4', '--batch-size', '256', '--validation-split', '0', '--seed', '1', '--json', '--out', `${file}-model`],
      { cwd: dir },
    );
    expect(run.code, run.stderr).toBe(0);
    return JSON.parse(run.stdout).peakResidentBytes as number;
  }

  it.each([
    ['raw float32', (rows: number) => writeRows(`held-${rows}.f32`, rows, 4), ['--dim', String(COLS)]],
    ['float64 .npy', (rows: number) => writeRows(`held-${rows}.npy`, rows, 8, npyHeader('<f8', [rows, COLS])), []],
  ] as const)('%s: 128 MiB more rows add under 1.4 × 128 MiB to the peak resident memory', async (format, write, flags) => {
    const few = await peakResidentBytes(write(FEW_ROWS), ...flags);
    const more = await peakResidentBytes(write(FEW_ROWS + MORE_ROWS), ...flags);
    const rowBytes = MORE_ROWS * COLS * 4;
    console.log(`${format}: peak resident memory ${(few / 2 ** 20).toFixed(0)} MiB with ${FEW_ROWS} rows, ${(more / 2 ** 20).toFixed(0)} MiB with ${FEW_ROWS + MORE_ROWS}: ${((more - few) / rowBytes).toFixed(2)}× the added rows`);
    expect(more - few).toBeLessThan(1.4 * rowBytes);
    expect(more - few).toBeGreaterThan(0.9 * rowBytes);
  }, 120_000);
});
