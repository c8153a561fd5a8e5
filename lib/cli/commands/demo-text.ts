// `autoencoder demo names` and `autoencoder demo spam`: the two real-data examples (examples/ in
// the repository, compiled beside the library), run with their pictures written to a folder.
import * as path from 'node:path';
import { backendInfo, setThreads } from '../../backend';
import { CliError, EXIT } from '../errors';
import { prepareFolder, writeOutput } from '../files';
import { durationText } from '../format';
import { project2d } from '../pca';
import { histogramPicture, latentPicture } from '../pictures';
import { interruptible } from '../training';
import type { DemoCommandOptions } from './demo';

interface NamesReport {
  heldOutCharacterAccuracy: number;
  newAndWellFormed: number;
  samples: number;
  examples: string[];
  seconds: number;
  latent: { means: Float32Array; rows: number; cols: number; gender: Uint8Array };
}

interface SpamReport {
  auc: number;
  threshold: number;
  precision: number;
  recall: number;
  hamScores: number[];
  spamScores: number[];
  seconds: number;
}

/** The compiled example module; its corpus comes from a package that only the repository installs. */
function example<T>(file: string): T {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(path.resolve(__dirname, '..', '..', '..', 'examples', file)) as T;
  } catch (error) {
    const missing = /Cannot find module '(@stdlib\/[^']+)'/.exec((error as Error).message)?.[1];
    if (missing) throw new CliError(`this demo needs the ${missing} package (npm install ${missing})`, EXIT.unavailable);
    throw error;
  }
}

/**
 * Runs an example with the command's settings; the first Ctrl-C stops its training after the
 * current batch. The output folder is made once the example has loaded: a missing data package
 * leaves none behind.
 */
async function runExample<T>(run: (o: object) => Promise<T>, options: DemoCommandOptions): Promise<T> {
  const log = options.quiet || options.json ? undefined : (line: string) => process.stdout.write(`${line}\n`);
  if (options.threads !== undefined) setThreads(options.threads);
  await prepareFolder(options.out);
  return interruptible((signal) => run({ quick: options.quick, epochs: options.epochs, seed: options.seed, signal, log }), {
    json: options.json ?? false,
    quiet: options.quiet ?? false,
    interrupted: () => 'interrupted; nothing written',
  });
}

export async function runTextDemo(dataset: 'names' | 'spam', options: DemoCommandOptions): Promise<void> {
  const say = (line: string) => options.quiet || options.json || process.stdout.write(`${line}\n`);
  if (dataset === 'names') {
    const { namesDemo } = example<{ namesDemo: (o: object) => Promise<NamesReport> }>('names-vae.js');
    const r = await runExample(namesDemo, options);
    const file = path.join(options.out, 'names-latent.png');
    const { means, rows, cols, gender } = r.latent;
    const picture = latentPicture(project2d(means, rows, cols), `latent means of ${rows} held-out names`, {
      values: gender,
      name: 'name',
      classNames: ['female', 'male', 'both'],
    });
    await writeOutput(file, picture.toPNG());
    if (options.json) {
      process.stdout.write(`${JSON.stringify({ ...r, latent: undefined, picture: file, backend: backendInfo() }, null, 2)}\n`);
    }
    say(`held-out character accuracy ${(100 * r.heldOutCharacterAccuracy).toFixed(1)}%; new and well formed ${(100 * r.newAndWellFormed).toFixed(1)}% of ${r.samples} samples`);
    say(`generated: ${r.examples.join(', ')}`);
    say(`${durationText(r.seconds)}; wrote ${file}`);
    return;
  }
  const { spamDemo } = example<{ spamDemo: (o: object) => Promise<SpamReport> }>('spam-anomaly.js');
  const r = await runExample(spamDemo, options);
  const file = path.join(options.out, 'spam-scores.png');
  // Scores near 1e-4 would print as long tick labels; show them in units of their power of ten.
  const power = Math.floor(Math.log10(Math.max(...r.hamScores, ...r.spamScores)));
  const unit = (v: number) => v / 10 ** power;
  const picture = histogramPicture(
    [
      { name: 'held-out ham', values: r.hamScores.map(unit) },
      { name: 'spam', values: r.spamScores.map(unit) },
    ],
    'reconstruction error of ham and spam',
    `mean squared error (x 1e${power})`,
    unit(r.threshold),
  );
  await writeOutput(file, picture.toPNG());
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ ...r, hamScores: undefined, spamScores: undefined, picture: file, backend: backendInfo() }, null, 2)}\n`);
  }
  say(`ROC AUC ${r.auc.toFixed(4)}; at the threshold chosen on ham alone: precision ${(100 * r.precision).toFixed(1)}%, recall ${(100 * r.recall).toFixed(1)}%`);
  say(`${durationText(r.seconds)}; wrote ${file}`);
}
