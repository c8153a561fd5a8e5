// `autoencoder demo`: trains an autoencoder on the MNIST digits of the mnist package and draws what
// it learned, a first look at the library that needs no data of one's own.
import * as path from 'node:path';
import { Argument, type Command } from 'commander';
import { backendInfo, setThreads } from '../../backend';
import { prepareFolder, saveModel, writeOutput } from '../files';
import { countText, durationText, lossText } from '../format';
import { PIXELS, SIDE, splitDigits, type Digits } from '../mnist';
import { buildAutoencoder, describeNetwork } from '../network';
import { addOutputModeOptions, nonNegativeInteger, pathName, positiveInteger } from '../options';
import { project2d } from '../pca';
import { latentPicture, lossPicture, reconstructionsPicture } from '../pictures';
import { runTraining } from '../training';
import { runTextDemo } from './demo-text';

export interface DemoCommandOptions {
  quick?: boolean;
  out: string;
  epochs?: number;
  seed: number;
  threads?: number;
  json?: boolean;
  quiet?: boolean;
}

const FULL = { digits: undefined, epochs: 30 };
const QUICK = { digits: 4000, epochs: 6 };
const BATCH_SIZE = 64;
const VALIDATION_SPLIT = 0.1;

export function registerDemo(program: Command): void {
  addOutputModeOptions(
    program
      .command('demo')
      .addArgument(
        new Argument('[dataset]', 'mnist: digits; names: a variational autoencoder that invents first names; spam: anomaly detection on e-mail')
          .choices(['mnist', 'names', 'spam'])
          .default('mnist'),
      )
      .description('train on a bundled data set and draw what the model learned (mnist by default)')
      .option('--quick', `a short run: ${countText(QUICK.digits)} digits, ${QUICK.epochs} epochs`)
      .option('--out <dir>', 'folder for model.safetensors and the pictures', pathName, 'autoencoder-demo')
      .option('--epochs <n>', `training epochs (mnist: ${FULL.epochs}, ${QUICK.epochs} with --quick; names: 60, 8; spam: 30, 10)`, positiveInteger)
      .option('--seed <n>', 'seed of the train/test split, the weights and the shuffles', nonNegativeInteger, 1)
      .option('--threads <n>', 'threads for the matrix products (default: all cores)', positiveInteger),
  ).action(async (dataset: 'mnist' | 'names' | 'spam', options: DemoCommandOptions) =>
    dataset === 'mnist' ? runDemo(options) : runTextDemo(dataset, options),
  );
}

/** One test digit of each class, in class order: the columns of the reconstructions picture. */
function onePerDigit(test: Digits): number[] {
  const first = new Map<number, number>();
  test.labels.forEach((label, i) => first.has(label) || first.set(label, i));
  return [...first.entries()].sort((a, b) => a[0] - b[0]).map(([, i]) => i);
}

async function runDemo(options: DemoCommandOptions): Promise<void> {
  const started = process.hrtime.bigint();
  const plan = options.quick ? QUICK : FULL;
  const epochs = options.epochs ?? plan.epochs;
  const say = (line: string) => options.quiet || options.json || process.stdout.write(`${line}\n`);
  if (options.threads !== undefined) setThreads(options.threads);

  const { train, test } = splitDigits(options.seed, 0.1, plan.digits);
  const model = buildAutoencoder({ inputDim: PIXELS, layers: [256, 64], activation: 'relu', latent: 16, outputActivation: 'sigmoid', seed: options.seed });
  // Made once the digits have loaded: a missing data package leaves no folder behind.
  await prepareFolder(options.out);
  const validationRows = Math.floor(train.count * VALIDATION_SPLIT);
  const trainRows = train.count - validationRows;
  say(`MNIST autoencoder: ${describeNetwork(model)}`);
  say(`training on ${countText(trainRows)} digits (${countText(validationRows)} held out for validation), testing on ${countText(test.count)}`);

  const history = await runTraining(model, train.images, {
    fit: { epochs, batchSize: BATCH_SIZE, loss: 'binaryCrossentropy', optimizer: { type: 'adam', learningRate: 1e-3 }, validationSplit: VALIDATION_SPLIT, seed: options.seed },
    trainRows,
    json: options.json ?? false,
    quiet: options.quiet ?? false,
    interrupted: (done) => `interrupted after ${done} of ${epochs} epochs; nothing written`,
  });

  const testLoss = model.evaluate(test.images, { loss: 'binaryCrossentropy' });
  const testMse = model.evaluate(test.images, { loss: 'mse' });
  const trainSeconds = history.epochs.reduce((sum, e) => sum + e.seconds, 0);
  const samplesPerSecond = (trainRows * history.epochs.length) / trainSeconds;

  const columns = onePerDigit(test);
  const originals = new Float32Array(columns.length * PIXELS);
  columns.forEach((row, i) => originals.set(test.images.subarray(row * PIXELS, (row + 1) * PIXELS), i * PIXELS));
  const reconstructions = model.reconstruct(originals).data;
  const latent = model.encode(test.images);
  const files = {
    model: path.join(options.out, 'model.safetensors'),
    reconstructions: path.join(options.out, 'reconstructions.png'),
    latent: path.join(options.out, 'latent.png'),
    loss: path.join(options.out, 'loss.png'),
  };
  await saveModel(model, files.model);
  const images = { originals, reconstructions, count: columns.length, side: SIDE, range: [0, 1] as [number, number], captions: columns.map((r) => String(test.labels[r])) };
  const pictures = [
    [files.reconstructions, reconstructionsPicture(images, 'test digits and their reconstructions')],
    [files.latent, latentPicture(project2d(latent.data, latent.rows, latent.cols), `latent space of the ${countText(test.count)} test digits`, { values: test.labels, name: 'digit' })],
    [files.loss, lossPicture(history.loss, history.valLoss, 'binary cross-entropy per epoch', 'loss')],
  ] as const;
  for (const [file, canvas] of pictures) await writeOutput(file, canvas.toPNG());

  const backend = backendInfo();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (options.json) {
    const summary = {
      network: describeNetwork(model),
      rows: { train: trainRows, validation: validationRows, test: test.count },
      epochs: history.epochs,
      testLoss: { binaryCrossentropy: testLoss, mse: testMse },
      trainSeconds,
      seconds,
      samplesPerSecond,
      backend,
      files,
    };
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  }
  say(`test reconstruction loss: ${lossText(testLoss)} binary cross-entropy (${lossText(testMse)} mean squared error)`);
  say(`trained ${history.epochs.length} epochs in ${durationText(trainSeconds)}, ${countText(samplesPerSecond)} samples/s; ${durationText(seconds)} in all`);
  say(`backend: ${backend.backend}, ${backend.blas} GEMM, ${backend.simd}, ${backend.threads} threads`);
  say(`wrote ${Object.values(files).join(', ')}`);
}
