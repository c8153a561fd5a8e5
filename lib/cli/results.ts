// Writing a command's results: CSV to stdout or a file, TSV for a .tsv file, NumPy for a .npy file,
// or JSON with --json.
import { once } from 'node:events';
import { csvChunks, shortestFloat32 } from './csv';
import { formatOfName } from './data';
import { writeOutput } from './files';
import { npyBytes, writeFloat32LE } from './npy';

export interface Result {
  data: Float32Array;
  rows: number;
  cols: number;
  /** Column names for the CSV header. */
  columns: string[];
  /** Write a 1-D .npy array (one value per row) rather than a column. */
  vector?: boolean;
}

/**
 * `{"columns": […], "rows": [[…], …]}` with the values as CSV writes them, in chunks of about a
 * megabyte as csvChunks makes them; a value beyond float32 is null, as JSON has no infinities.
 */
function* jsonChunks(result: Result): Generator<string> {
  let chunk = `{"columns":${JSON.stringify(result.columns)},"rows":[`;
  for (let r = 0; r < result.rows; r++) {
    const row = Array.from(result.data.subarray(r * result.cols, (r + 1) * result.cols), shortestFloat32);
    chunk += `${r === 0 ? '' : ','}${JSON.stringify(row)}`;
    if (chunk.length >= 1 << 20) {
      yield chunk;
      chunk = '';
    }
  }
  yield `${chunk}]}\n`;
}

/** Writes `result` to `out`, or to stdout when `out` is undefined; returns the format written. */
export async function writeResult(result: Result, out: string | undefined, options: { header: boolean; json: boolean }): Promise<string> {
  const header = options.header ? result.columns : undefined;
  if (out === undefined) {
    const chunks = options.json ? jsonChunks(result) : csvChunks(result.data, result.rows, result.cols, header);
    for (const chunk of chunks) {
      // Waiting for 'drain' keeps a large result from piling up in memory when the reader is slow.
      if (!process.stdout.write(chunk)) await once(process.stdout, 'drain');
    }
    return options.json ? 'json' : 'csv';
  }
  // By the names the readers know, so that what one command writes another reads.
  const format = formatOfName(out);
  if (format === 'npy') {
    await writeOutput(out, npyBytes(result.data, result.vector ? [result.rows] : [result.rows, result.cols]));
  } else if (format === 'f32') {
    const bytes = Buffer.alloc(result.data.length * 4);
    writeFloat32LE(bytes, 0, result.data);
    await writeOutput(out, bytes);
  } else {
    const chunks = [...csvChunks(result.data, result.rows, result.cols, header, format === 'tsv' ? '\t' : ',')];
    await writeOutput(out, Buffer.concat(chunks.map((chunk) => Buffer.from(chunk))));
  }
  return format;
}
