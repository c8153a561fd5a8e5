// `autoencoder train`: trains an autoencoder on a data file, with settings from flags or a JSON
// config file (flags win), and writes the model and the pictures that make sense for the data.
import { readFile, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { Autoencoder } from '../../autoencoder';
import { ACTIVATIONS, type ActivationName } from '../../layers';
import { LOSSES, OPTIMIZERS, type LossName, type OptimizerName } from '../../fit';
import { setThreads } from '../../backend';
import { binaryLayout, readChunks, readTable, type ReadOptions, type Table } from '../data';
import { EXIT, dataError, inputError, outputError, usageError } from '../errors';
import { prepareFolder, refuseOverwritingInputs, removeEmptyOutputFolders, saveModel, writeOutput } from '../files';
import { countText, durationText, lossText } from '../format';
import { buildAutoencoder, describeNetwork } from '../network';
import { addOutputModeOptions, addReadOptions, fraction, nonNegativeInteger, pathName, positiveInteger, positiveNumber, widthList } from '../options';
import { project2d } from '../pca';
import { latentPicture, lossPicture, reconstructionsPicture } from '../pictures';
import { runTraining } from '../training';

interface Settings {
  layers: number[];
  activation: ActivationName;
  latent: number;
  outputActivation: ActivationName;
  loss: LossName;
  optimizer: OptimizerName;
  learningRate: number;
  epochs: number;
  batchSize: number;
  validationSplit: number;
  seed?: number;
  threads?: number;
}

interface Setting {
  flags: string;
  description: string;
  parse?: (value: string) => unknown;
  choices?: readonly string[];
  /** The default, parsed, and as help shows it. */
  fallback?: [unknown, string];
}

/** Every training setting, once: each becomes a flag and a key of the --config file. */
const SETTINGS: Record<keyof Settings, Setting> = {
  layers: { flags: '--layers <widths>', description: 'hidden layer widths of the encoder, mirrored in the decoder', parse: widthList, fallback: [[256, 64], '256,64'] },
  activation: { flags: '--activation <name>', description: 'activation of the hidden layers', choices: ACTIVATIONS, fallback: ['relu', 'relu'] },
  latent: { flags: '--latent <n>', description: 'width of the latent vectors (a linear layer)', parse: positiveInteger, fallback: [16, '16'] },
  outputActivation: { flags: '--output-activation <name>', description: 'activation of the output layer (sigmoid for data in [0, 1], linear otherwise)', choices: ACTIVATIONS, fallback: ['sigmoid', 'sigmoid'] },
  loss: { flags: '--loss <name>', description: 'reconstruction loss', choices: LOSSES, fallback: ['mse', 'mse'] },
  optimizer: { flags: '--optimizer <name>', description: 'optimizer', choices: OPTIMIZERS, fallback: ['adam', 'adam'] },
  learningRate: { flags: '--learning-rate <rate>', description: 'learning rate', parse: positiveNumber, fallback: [0.001, '0.001'] },
  epochs: { flags: '--epochs <n>', description: 'passes over the training rows', parse: positiveInteger, fallback: [10, '10'] },
  batchSize: { flags: '--batch-size <n>', description: 'rows per training step', parse: positiveInteger, fallback: [32, '32'] },
  validationSplit: { flags: '--validation-split <fraction>', description: 'share of the rows, taken from the end of the file, held out for validation', parse: fraction, fallback: [0.1, '0.1'] },
  seed: { flags: '--seed <n>', description: 'seed of the weights and the shuffles (default: random)', parse: nonNegativeInteger },
  threads: { flags: '--threads <n>', description: 'threads for the matrix products (default: all cores)', parse: positiveInteger },
};

const KEYS = Object.keys(SETTINGS) as (keyof Settings)[];

interface TrainOptions extends ReadOptions, Partial<Settings> {
  data: string;
  streamRows?: number;
  config?: string;
  out: string;
  checkpoint?: string;
  resume?: string;
  json?: boolean;
  quiet?: boolean;
}

export function registerTrain(program: Command): void {
  const command = program
    .command('train')
    .description('train an autoencoder on a data file (CSV, TSV, .npy or raw float32) and write the model and pictures')
    .requiredOption('--data <file>', "the training rows ('-' reads CSV from stdin)", pathName)
    .option('--config <file.json>', `settings as JSON, keys ${KEYS.join(', ')}; flags override them`, pathName);
  for (const s of Object.values(SETTINGS)) {
    const option = new Option(s.flags, s.description);
    if (s.parse) option.argParser(s.parse);
    if (s.choices) option.choices(s.choices);
    if (s.fallback) option.default(s.fallback[0], s.fallback[1]);
    command.addOption(option);
  }
  command
    .option('--out <dir>', 'folder for model.safetensors, loss.png, latent.png and (for square rows) reconstructions.png', pathName, 'autoencoder-model')
    .option('--checkpoint <file>', 'save a checkpoint after every epoch; an interrupted run keeps the last one', pathName)
    .option('--resume <file>', 'continue from a checkpoint (same settings; --epochs counts from the start)', pathName)
    .option('--stream-rows <n>', 'train on a .npy or raw float32 file this many rows at a time, never holding it whole (for files larger than memory; no validation split)', positiveInteger);
  addOutputModeOptions(addReadOptions(command))
    .addHelpText(
      'after',
      `
Examples:
  autoencoder train --data rows.csv --epochs 20 --out model
  autoencoder train --data images.npy --layers 256,64 --latent 8 --loss binaryCrossentropy
  autoencoder train --data rows.f32 --dim 100 --config settings.json --checkpoint run.ckpt

Ctrl-C stops after the current batch and writes no model (exit status 130).`,
    )
    .action(async (options: TrainOptions, cmd: Command) => runTrain(options, cmd));
}

/** The --config file's settings, checked by the same parsers as the flags. */
async function readConfig(file: string): Promise<Partial<Settings>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw inputError(file, error);
  }
  let json: unknown;
  try {
    // Editors on Windows often save UTF-8 with a byte-order mark, which JSON.parse refuses.
    json = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    throw dataError(`${file}: not valid JSON (${(error as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw dataError(`${file}: expected a JSON object of settings`);
  const settings: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(json)) {
    if (!Object.hasOwn(SETTINGS, key)) throw usageError(`${file}: unknown setting "${key}" (known: ${KEYS.join(', ')})`);
    const setting = SETTINGS[key as keyof Settings];
    // A list only for the widths, and of numbers: [[4], [2]] joined would read as 4,2.
    const widths = key === 'layers' && Array.isArray(value) && value.every((width) => typeof width === 'number');
    if (!widths && typeof value === 'object' && value !== null) {
      throw usageError(`${file}: "${key}" ${JSON.stringify(value)} must be ${key === 'layers' ? 'a list of widths, such as [256, 64]' : 'a single value'}`);
    }
    const given = widths ? (value as number[]).join(',') : String(value);
    try {
      if (setting.choices && !setting.choices.includes(given)) throw new InvalidArgumentError(`must be one of ${setting.choices.join(', ')}.`);
      settings[key] = setting.parse ? setting.parse(given) : given;
    } catch (error) {
      throw usageError(`${file}: "${key}" ${JSON.stringify(value)} ${(error as Error).message.replace(/\.$/, '')}`);
    }
  }
  return settings as Partial<Settings>;
}

/** Flags given on the command line, then the config file, then the defaults; `given` holds the settings not left to their defaults. */
async function resolveSettings(options: TrainOptions, cmd: Command): Promise<{ settings: Settings; given: Set<keyof Settings> }> {
  const config = options.config ? await readConfig(options.config) : {};
  const settings: Record<string, unknown> = {};
  const given = new Set<keyof Settings>();
  for (const key of KEYS) {
    const fromCli = cmd.getOptionValueSource(key) === 'cli';
    settings[key] = fromCli || !(key in config) ? options[key] : config[key];
    if (fromCli || key in config) given.add(key);
  }
  return { settings: settings as unknown as Settings, given };
}

/** What a run writes into its --out folder. */
const OUTPUT_FILES = ['model.safetensors', 'loss.png', 'latent.png', 'reconstructions.png'];

/**
 * Refuses, before anything trains, a --resume file that cannot be read and a --checkpoint path that
 * could never be written (a folder, a missing folder, the data itself), as the library would only
 * find out after the first epoch.
 */
async function checkCheckpointFiles(options: TrainOptions): Promise<void> {
  const what = async (file: string): Promise<'file' | 'folder' | NodeJS.ErrnoException> => {
    try {
      return (await stat(file)).isDirectory() ? 'folder' : 'file';
    } catch (error) {
      return error as NodeJS.ErrnoException;
    }
  };
  const failure = (code: string, message: string) => Object.assign(new Error(message), { code });
  if (options.resume) {
    const resume = await what(options.resume);
    if (resume !== 'file') throw inputError(options.resume, resume === 'folder' ? failure('EISDIR', 'is a folder') : resume);
  }
  if (options.checkpoint) {
    refuseOverwritingInputs('--checkpoint', options.checkpoint, [['--data', options.data], ['--config', options.config]], 'the checkpoint');
    if (path.resolve(options.checkpoint) === path.resolve(options.out)) {
      throw usageError(`--checkpoint ${options.checkpoint} is the --out folder, which holds the model and pictures`);
    }
    const parent = path.dirname(path.resolve(options.checkpoint));
    // The run would replace the checkpoint with one of its results, and --resume would then refuse it.
    if (parent === path.resolve(options.out) && OUTPUT_FILES.includes(path.basename(options.checkpoint))) {
      throw usageError(`--checkpoint ${options.checkpoint} is a file the run writes into --out; name it otherwise`);
    }
    // The --out folder this run makes holds the checkpoint as well as any folder does.
    const folder = parent === path.resolve(options.out) ? 'folder' : await what(parent);
    if (folder !== 'folder') throw outputError(options.checkpoint, folder === 'file' ? failure('ENOTDIR', 'not a folder') : folder);
    const existing = await what(options.checkpoint);
    if (existing === 'folder') throw outputError(options.checkpoint, failure('EISDIR', 'is a folder'));
    if (existing !== 'file' && existing.code !== 'ENOENT') throw outputError(options.checkpoint, existing);
  }
}

function rangeOf(data: Float32Array): [number, number] {
  let [lo, hi] = [Infinity, -Infinity];
  for (const v of data) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
  return [lo, hi];
}

async function runTrain(options: TrainOptions, cmd: Command): Promise<void> {
  if (options.streamRows !== undefined) return runStreamingTrain(options, cmd);
  const { settings } = await resolveSettings(options, cmd);
  const say = (line: string) => options.quiet || options.json || process.stdout.write(`${line}\n`);
  const warn = (line: string) => options.quiet || process.stderr.write(`autoencoder: warning: ${line}\n`);
  if (settings.threads !== undefined) setThreads(settings.threads);
  await checkCheckpointFiles(options);
  await prepareFolder(options.out);
  // Ctrl-C while the data is read (a slow pipe) ends the run as one during training would.
  const interruptedBeforeTraining = () => {
    removeEmptyOutputFolders();
    process.stderr.write('autoencoder: interrupted before training; no model written\n');
    process.exit(EXIT.interrupted);
  };
  process.once('SIGINT', interruptedBeforeTraining);
  let table: Table;
  let model: Autoencoder;
  try {
    table = await readTable(options.data, options);
    model = buildAutoencoder({ inputDim: table.cols, ...settings });
  } finally {
    process.off('SIGINT', interruptedBeforeTraining);
  }
  const name = options.data === '-' ? '<stdin>' : options.data;
  const [lo, hi] = rangeOf(table.data);
  const bounded = settings.outputActivation === 'sigmoid' || settings.loss === 'binaryCrossentropy';
  if (bounded && (lo < 0 || hi > 1)) {
    warn(`${name} holds values from ${lo} to ${hi}, outside [0, 1], which ${settings.loss === 'binaryCrossentropy' ? 'binary cross-entropy' : 'a sigmoid output'} cannot reconstruct; scale the data or use --output-activation linear --loss mse`);
  }
  if (table.filled > 0) warn(`filled ${countText(table.filled)} missing values (--missing ${options.missing})`);
  if (table.dropped > 0) warn(`left out ${countText(table.dropped)} rows with missing values (--missing drop)`);

  // The library holds out the last rows for validation, as Keras does.
  const validationRows = Math.floor(table.rows * settings.validationSplit * (1 + 1e-12));
  const trainRows = table.rows - validationRows;
  say(`network: ${describeNetwork(model)}`);
  say(`training on ${countText(trainRows)} rows of ${name} (${countText(validationRows)} held out for validation)`);
  const started = process.hrtime.bigint();
  const history = await runTraining(model, table.data, {
    fit: {
      epochs: settings.epochs,
      batchSize: settings.batchSize,
      loss: settings.loss,
      optimizer: { type: settings.optimizer, learningRate: settings.learningRate },
      // A split too small to hold out a row of this file holds out none, as the line above says.
      validationSplit: validationRows > 0 ? settings.validationSplit : 0,
      ...(settings.seed === undefined ? {} : { seed: settings.seed }),
      ...(options.checkpoint ? { checkpoint: { path: options.checkpoint } } : {}),
      ...(options.resume ? { resumeFrom: options.resume } : {}),
    },
    trainRows,
    json: options.json ?? false,
    quiet: options.quiet ?? false,
    interrupted: (done) =>
      options.checkpoint && done > 0
        ? `interrupted; ${options.checkpoint} holds epoch ${done} (continue with --resume ${options.checkpoint})`
        : `interrupted after ${done} of ${settings.epochs} epochs; no model written`,
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const trainSeconds = history.epochs.reduce((sum, e) => sum + e.seconds, 0);
  const samplesPerSecond = trainSeconds > 0 ? (trainRows * history.epochs.length) / trainSeconds : 0;

  const files: Record<string, string> = { model: path.join(options.out, 'model.safetensors') };
  await saveModel(model, files.model);
  if (history.epochs.length > 0) {
    files.loss = path.join(options.out, 'loss.png');
    await writeOutput(files.loss, lossPicture(history.loss, history.valLoss, `loss (${settings.loss}) per epoch`, 'loss').toPNG());
  } else {
    warn(`the checkpoint ${options.resume} has trained ${settings.epochs} epochs or more (--epochs counts from the start), so nothing was trained`);
  }
  // The pictures show held-out rows when there are some.
  const shownFrom = validationRows > 0 ? trainRows : 0;
  const shownRows = Math.min(table.rows - shownFrom, 2000);
  const shown = table.data.subarray(shownFrom * table.cols, (shownFrom + shownRows) * table.cols);
  const which = validationRows > 0 ? 'validation rows' : 'rows';
  if (settings.latent >= 2) {
    const latent = model.encode(shown);
    files.latent = path.join(options.out, 'latent.png');
    await writeOutput(files.latent, latentPicture(project2d(latent.data, latent.rows, latent.cols), `latent space of ${countText(shownRows)} ${which}`).toPNG());
  }
  const side = Math.round(Math.sqrt(table.cols));
  if (side >= 4 && side * side === table.cols) {
    const count = Math.min(10, shownRows);
    const originals = shown.subarray(0, count * table.cols);
    files.reconstructions = path.join(options.out, 'reconstructions.png');
    const picture = reconstructionsPicture(
      { originals, reconstructions: model.reconstruct(originals).data, count, side, range: [lo, hi] },
      `${which} as ${side}x${side} pictures, and their reconstructions`,
    );
    await writeOutput(files.reconstructions, picture.toPNG());
  }

  const last = history.epochs[history.epochs.length - 1];
  if (options.json) {
    const summary = {
      network: describeNetwork(model),
      settings,
      rows: { train: trainRows, validation: validationRows, filled: table.filled, dropped: table.dropped },
      epochs: history.epochs,
      loss: last?.loss,
      valLoss: last?.valLoss,
      trainSeconds,
      seconds,
      samplesPerSecond,
      peakResidentBytes: peakResidentBytes(),
      files,
    };
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  }
  if (last) say(`final loss ${lossText(last.loss)}${last.valLoss === undefined ? '' : `, validation loss ${lossText(last.valLoss)}`} (${settings.loss})`);
  say(`trained ${history.epochs.length} epochs in ${durationText(seconds)}, ${countText(samplesPerSecond)} samples/s`);
  say(`wrote ${Object.values(files).join(', ')}`);
}

/** The most memory the process has held resident so far. */
const peakResidentBytes = () => process.resourceUsage().maxRSS * 1024;

/** `train --stream-rows N`: the rows come from the file chunk by chunk in every epoch (Autoencoder.fitStream). */
async function runStreamingTrain(options: TrainOptions, cmd: Command): Promise<void> {
  const { settings, given } = await resolveSettings(options, cmd);
  const say = (line: string) => options.quiet || options.json || process.stdout.write(`${line}\n`);
  if (options.checkpoint || options.resume) throw usageError('--checkpoint and --resume are not available with --stream-rows');
  if (given.has('validationSplit') && settings.validationSplit > 0) {
    throw usageError('--validation-split is not available with --stream-rows, which holds out no rows');
  }
  if (settings.threads !== undefined) setThreads(settings.threads);
  const layout = await binaryLayout(options.data, options);
  const model = buildAutoencoder({ inputDim: layout.cols, ...settings });
  await prepareFolder(options.out);
  const rows = options.streamRows as number;
  say(`network: ${describeNetwork(model)}`);
  say(`training on ${countText(layout.rows)} rows of ${options.data}, ${countText(rows)} at a time (no validation split)`);
  const started = process.hrtime.bigint();
  const history = await runTraining(model, () => readChunks(options.data, layout, rows, options.missing ?? 'error'), {
    fit: {
      epochs: settings.epochs,
      batchSize: settings.batchSize,
      loss: settings.loss,
      optimizer: { type: settings.optimizer, learningRate: settings.learningRate },
      ...(settings.seed === undefined ? {} : { seed: settings.seed }),
    },
    trainRows: layout.rows,
    json: options.json ?? false,
    quiet: options.quiet ?? false,
    interrupted: (done) => `interrupted after ${done} of ${settings.epochs} epochs; no model written`,
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const files = { model: path.join(options.out, 'model.safetensors'), loss: path.join(options.out, 'loss.png') };
  await saveModel(model, files.model);
  await writeOutput(files.loss, lossPicture(history.loss, [], `${settings.loss} per epoch`, settings.loss).toPNG());
  if (options.json) {
    // Peak resident memory shows that the file was never held whole.
    const summary = { network: describeNetwork(model), rows: layout.rows, streamRows: rows, epochs: history.epochs, seconds, peakResidentBytes: peakResidentBytes(), files };
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  }
  say(`final loss ${lossText(history.loss[history.loss.length - 1])}; ${durationText(seconds)}; wrote ${Object.values(files).join(', ')}`);
}
