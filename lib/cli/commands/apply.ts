// `autoencoder encode | reconstruct | score`: applies a saved model to the rows of a data file and
// writes latent vectors, reconstructions or one anomaly score per row.
import type { Command } from 'commander';
import { Option } from 'commander';
import { Autoencoder, ROW_METRICS, type RowMetric } from '../../autoencoder';
import { readTable, type ReadOptions } from '../data';
import { dataError, inputError } from '../errors';
import { refuseOverwritingInputs } from '../files';
import { addOutputModeOptions, addReadOptions, pathName } from '../options';
import { type Result, writeResult } from '../results';

interface ApplyOptions extends ReadOptions {
  model: string;
  data: string;
  out?: string;
  header: boolean;
  metric?: RowMetric;
  json?: boolean;
  quiet?: boolean;
}

type Action = (model: Autoencoder, x: Float32Array, header: string[] | undefined, options: ApplyOptions) => Result;

const numbered = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i + 1}`);

const ACTIONS: Record<string, { description: string; action: Action }> = {
  encode: {
    description: 'write the latent vector of each row (columns z1, z2, …)',
    action: (model, x) => {
      const z = model.encode(x);
      return { ...z, columns: numbered('z', z.cols) };
    },
  },
  reconstruct: {
    description: "write each row as the model rebuilds it (the input's column names, or x1, x2, …)",
    action: (model, x, header) => {
      const y = model.reconstruct(x);
      return { ...y, columns: header ?? numbered('x', y.cols) };
    },
  },
  score: {
    description: 'write one anomaly score per row: its reconstruction error (high means unusual)',
    action: (model, x, _header, options) => {
      const scores = model.reconstructionError(x, { metric: options.metric ?? 'mse' });
      return { data: scores, rows: scores.length, cols: 1, columns: ['score'], vector: true };
    },
  },
};

export function registerApply(program: Command): void {
  for (const [name, { description, action }] of Object.entries(ACTIONS)) {
    const command = program
      .command(name)
      .description(description)
      .requiredOption('--model <file>', 'a model saved by `autoencoder train` or Autoencoder.save()', pathName)
      .requiredOption('--data <file>', "the rows ('-' reads CSV from stdin)", pathName)
      .option('--out <file>', 'write here instead of stdout (- is stdout): .npy for NumPy, .tsv or .tab for TSV, .f32, .bin or .raw for raw float32, CSV otherwise', pathName)
      .option('--no-header', 'leave out the CSV header row');
    if (name === 'score') command.addOption(new Option('--metric <name>', 'the per-row error').choices(ROW_METRICS).default('mse'));
    addOutputModeOptions(addReadOptions(command))
      .addHelpText('after', `\nExamples:\n  autoencoder ${name} --model model.safetensors --data rows.csv > ${name}.csv\n  autoencoder ${name} --model model.safetensors --data rows.npy --out ${name}.npy`)
      .action(async (options: ApplyOptions) => runApply(name, action, options));
  }
}

async function loadModel(file: string): Promise<Autoencoder> {
  try {
    return await Autoencoder.load(file);
  } catch (error) {
    throw (error as NodeJS.ErrnoException).syscall ? inputError(file, error) : error;
  }
}

async function runApply(name: string, action: Action, options: ApplyOptions): Promise<void> {
  // Standard output by any of its names is written as a stream, never replaced.
  if (options.out !== undefined && ['-', '/dev/stdout', '/dev/fd/1', '/proc/self/fd/1'].includes(options.out)) options.out = undefined;
  refuseOverwritingInputs('--out', options.out, [['--model', options.model], ['--data', options.data]], 'the results');
  const model = await loadModel(options.model);
  const table = await readTable(options.data, options);
  const source = options.data === '-' ? '<stdin>' : options.data;
  if (table.cols !== model.inputDim) {
    throw dataError(`${source} has ${table.cols} columns, but the model ${options.model} reads rows of ${model.inputDim}`);
  }
  // The data goes to stdout, so notes go to stderr; a dropped row shifts every row after it.
  if (!options.quiet && table.dropped > 0) process.stderr.write(`autoencoder: warning: left out ${table.dropped} rows of ${source} with missing values; the output has ${table.rows} rows\n`);
  if (!options.quiet && table.filled > 0) process.stderr.write(`autoencoder: warning: filled ${table.filled} missing values (--missing ${options.missing})\n`);
  const result = action(model, table.data, table.header, options);
  const format = await writeResult(result, options.out, { header: options.header, json: (options.json ?? false) && options.out === undefined });
  // --json asks for the summary, --quiet for nothing else, as with the other commands.
  if (options.out === undefined || (options.quiet && !options.json)) return;
  const summary = { command: name, out: options.out, format, rows: result.rows, cols: result.cols };
  process.stdout.write(options.json ? `${JSON.stringify(summary)}\n` : `wrote ${result.rows} rows of ${result.cols} to ${options.out} (${format})\n`);
}
