// The design document's TensorFlow example (input_dim 100, hidden_dim 32) ported to
// native-autoencoder: Encoder = two Dense relu layers, Decoder = Dense relu + Dense sigmoid,
// trained on learnable data. Run: npm start   (or: npx tsx examples/design-tutorial.ts [--quick])
import { Autoencoder, Decoder, Encoder, backendInfo } from 'native-autoencoder';

const inputDim = 100;
const hiddenDim = 32;
const quick = process.argv.includes('--quick');

// Learnable data in [0, 1]: x = sigmoid(z · M), with z of width 8, so 32 latent units suffice.
function makeData(rows: number, cols: number, seed: number): Float32Array {
  let state = seed >>> 0;
  const uniform = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
  const width = 8;
  const m = Array.from({ length: width * cols }, normal);
  const x = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const z = Array.from({ length: width }, normal);
    for (let c = 0; c < cols; c++) {
      let s = 0;
      for (let k = 0; k < width; k++) s += z[k] * m[k * cols + c];
      x[r * cols + c] = 1 / (1 + Math.exp(-s));
    }
  }
  return x;
}

async function main(): Promise<void> {
  const encoder = new Encoder({
    inputDim,
    layers: [
      { units: hiddenDim, activation: 'relu' },
      { units: hiddenDim, activation: 'relu' },
    ],
    seed: 5,
  });
  const decoder = new Decoder({
    latentDim: hiddenDim,
    layers: [
      { units: hiddenDim, activation: 'relu' },
      { units: inputDim, activation: 'sigmoid' },
    ],
    seed: 6,
  });
  const autoencoder = new Autoencoder({ encoder, decoder, seed: 7 });
  // The same network in one line: new Autoencoder({ inputDim: 100, latentDim: 32 })

  const x = makeData(quick ? 2048 : 8192, inputDim, 1);
  const info = backendInfo();
  console.log(`native-autoencoder ${info.version} · ${info.backend}, BLAS ${info.blas}, SIMD ${info.simd}, ${info.threads} threads`);
  console.log(autoencoder.summary());

  const before = autoencoder.evaluate(x, { loss: 'mse' });
  const history = await autoencoder.fit(x, {
    epochs: quick ? 5 : 20,
    batchSize: 64,
    loss: 'mse',
    optimizer: { type: 'adam', learningRate: 1e-3 },
    validationSplit: 0.1,
    onEpochEnd: ({ epoch, loss, valLoss, samplesPerSecond }) =>
      console.log(
        `epoch ${String(epoch + 1).padStart(2)}  loss ${loss.toFixed(5)}  val ${valLoss?.toFixed(5)}  ` +
          `${Math.round(samplesPerSecond).toLocaleString('en-US')} samples/s`,
      ),
  });
  const after = autoencoder.evaluate(x, { loss: 'mse' });
  console.log(`MSE before training ${before.toFixed(5)}, after ${after.toFixed(5)} (${(before / after).toFixed(1)}× lower)`);

  // Inference, as the tutorial's last step: compress to latent vectors, then rebuild.
  const z = autoencoder.encode(x.subarray(0, 5 * inputDim));
  const back = autoencoder.decode(z);
  const scores = autoencoder.reconstructionError(x.subarray(0, 5 * inputDim));
  console.log(`encoded 5 rows to ${z.rows}×${z.cols}, decoded to ${back.rows}×${back.cols}; anomaly scores:`,
    Array.from(scores, (s) => s.toFixed(5)).join(' '));
  if (!(after < before / 2) || history.loss[history.loss.length - 1] >= history.loss[0]) {
    console.error('the loss did not fall as expected');
    process.exitCode = 1;
  }
  autoencoder.dispose();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
