// CSV and TSV: a streaming reader that turns rows of numbers into one Float32Array and names the
// line and column of anything it cannot read, and the writer for results.
import type { Readable } from 'node:stream';
import { CsvError, parse } from 'csv-parse';
import { rowsFloat32 } from '../data';
import { isDecimal } from './decimal';
import { dataError } from './errors';

export interface CsvTable {
  data: Float32Array;
  rows: number;
  cols: number;
  /** The first row's cells, when the first row is a header (it holds a cell that is not a number). */
  header?: string[];
}

const NON_FINITE = /^[+-]?(?:nan|inf|infinity)$/i;

/** Grows by doubling, so reading a file of unknown length copies each value a bounded number of times. */
class FloatBuilder {
  #data = new Float32Array(1 << 16);
  length = 0;

  push(value: number): void {
    if (this.length === this.#data.length) {
      const bigger = new Float32Array(this.#data.length * 2);
      bigger.set(this.#data);
      this.#data = bigger;
    }
    this.#data[this.length++] = value;
  }

  finish(): Float32Array {
    const out = rowsFloat32(this.length);
    out.set(this.#data.subarray(0, this.length));
    return out;
  }
}

const quoted = (text: string) => JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);

/**
 * Reads delimited rows of numbers. Empty, NaN and Inf cells are refused, or (with `keepMissing`)
 * stored as NaN for the caller's missing-value policy to fill or drop.
 */
export async function readCsv(name: string, input: Readable, delimiter: string, keepMissing: boolean): Promise<CsvTable> {
  const values = new FloatBuilder();
  let cols = -1;
  let rows = 0;
  let header: string[] | undefined;
  const parser = input.pipe(parse({ delimiter, bom: true, info: true, relax_column_count: true }));
  input.on('error', (error) => parser.destroy(error));
  const missing = (line: number, column: number, what: string): number => {
    if (!keepMissing) throw dataError(`${name}, line ${line}, column ${column}: ${what} (--missing zero|mean|drop accepts missing values)`);
    return NaN;
  };
  // Empty lines are no rows, except in a file of one column, where an empty line is an empty cell. Those
  // after the last row of numbers end the file there.
  let emptyLines: number[] = [];
  // The line the last record ended on: a quote left open starts on the next.
  let line = 0;
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      line = info.lines;
      if (record.length === 1 && record[0] === '') {
        if (cols === 1 && rows > 0) emptyLines.push(line);
        continue;
      }
      if (cols === 1) {
        for (const empty of emptyLines) {
          values.push(missing(empty, 1, 'empty cell'));
          rows++;
        }
        emptyLines = [];
      }
      if (cols < 0) {
        cols = record.length;
        const isHeader = record.some((cell) => {
          const text = cell.trim();
          return text !== '' && !isDecimal(text) && !NON_FINITE.test(text);
        });
        if (isHeader) {
          header = record.map((cell) => cell.trim());
          continue;
        }
      }
      if (record.length !== cols) {
        const column = Math.min(record.length, cols) + 1;
        throw dataError(`${name}, line ${line}, column ${column}: expected ${cols} fields, saw ${record.length}`);
      }
      for (let c = 0; c < cols; c++) {
        const text = record[c].trim();
        if (isDecimal(text)) {
          const value = Math.fround(Number(text));
          if (!Number.isFinite(value)) throw dataError(`${name}, line ${line}, column ${c + 1}: ${quoted(text)} is outside the float32 range`);
          values.push(value);
        } else if (text === '') {
          values.push(missing(line, c + 1, 'empty cell'));
        } else if (NON_FINITE.test(text)) {
          values.push(missing(line, c + 1, `${quoted(text)} is not a finite number`));
        } else {
          throw dataError(`${name}, line ${line}, column ${c + 1}: ${quoted(text)} is not a number`);
        }
      }
      rows++;
    }
  } catch (error) {
    // Every error of csv-parse's is about the text (its codes do not all start with CSV_: a quote
    // inside an unquoted field is INVALID_OPENING_QUOTE). Its messages end with their position and
    // the raw field; the line number is what a user needs.
    if (error instanceof CsvError) {
      // csv-parse reports a quote left open at the end of the text, not where it opened.
      const at = error.code === 'CSV_QUOTE_NOT_CLOSED' ? line + 1 : (error as CsvError & { lines?: number }).lines;
      throw dataError(`${name}, line ${at ?? '?'}: ${error.message.replace(/:.*$/s, '').toLowerCase()}`);
    }
    throw error;
  }
  if (rows === 0) throw dataError(`${name}: no rows of data${header ? ' after the header' : ''}`);
  const table: CsvTable = { data: values.finish(), rows, cols };
  if (header) table.header = header;
  return table;
}

/** The number with the fewest decimal digits that reads back as the same float32, so results are exact and compact. */
export function shortestFloat32(value: number): number {
  if (!Number.isFinite(value) || value === 0) return value;
  let lo = 1;
  let hi = 9;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (Math.fround(Number(value.toPrecision(mid))) === value) hi = mid;
    else lo = mid + 1;
  }
  return Number(value.toPrecision(lo));
}

/** CSV (or, with a tab delimiter, TSV) text for rows of float32 values, in chunks of about a megabyte so a large result never sits in one string. */
export function* csvChunks(data: Float32Array, rows: number, cols: number, header: string[] | undefined, delimiter = ','): Generator<string> {
  const field = (text: string) => (text.includes(delimiter) || /["\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text);
  let chunk = header ? `${header.map(field).join(delimiter)}\n` : '';
  const cells = new Array<string>(cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) cells[c] = String(shortestFloat32(data[r * cols + c]));
    chunk += `${cells.join(delimiter)}\n`;
    if (chunk.length >= 1 << 20) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk) yield chunk;
}
