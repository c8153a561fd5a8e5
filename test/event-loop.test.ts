// The event loop stays free while a multi-second fit runs on its native thread.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { Autoencoder, Decoder, Encoder } from 'native-autoencoder';
import { syntheticData } from './helpers';

const D = 784;
const ROWS = 4096;
const BATCH = 128;
const TARGET_MS = 7000;

// The W2 network: 784-512-256-64-256-512-784.
function w2(): Autoencoder {
  const encoder = new Encoder({
    inputDim: D,
    layers: [
      { units: 512, activation: 'relu' },
      { units: 256, activation: 'relu' },
      { units: 64, activation: 'relu' },
    ],
    seed: 1,
  });
  const decoder = new Decoder({
    latentDim: 64,
    layers: [
      { units: 256, activation: 'relu' },
      { units: 512, activation: 'relu' },
      { units: D, activation: 'sigmoid' },
    ],
    seed: 2,
  });
  return new Autoencoder({ encoder, decoder, seed: 3 });
}

describe('event loop', () => {
  it('p99 delay stays under 20 ms (10 ms timer resolution) during a W2 fit of several seconds', async () => {
    const x = syntheticData(ROWS, D, 41);
    const ae = w2();
    // Size the fit to about seven seconds on this machine, from the time of one epoch.
    const calibrationStart = performance.now();
    await ae.fit(x, { batchSize: BATCH });
    const epochMs = performance.now() - calibrationStart;
    const epochs = Math.min(40, Math.max(3, Math.ceil(TARGET_MS / epochMs)));

    let batches = 0;
    let epochsSeen = 0;
    const histogram = monitorEventLoopDelay({ resolution: 10 });
    histogram.enable();
    const started = performance.now();
    const history = await ae.fit(x, {
      epochs,
      batchSize: BATCH,
      onBatchEnd: () => batches++,
      onEpochEnd: () => epochsSeen++,
    });
    const seconds = (performance.now() - started) / 1000;
    histogram.disable();

    const ms = (ns: number) => (ns / 1e6).toFixed(2);
    console.log(
      `event loop during a ${seconds.toFixed(2)} s W2 fit (${epochs} epochs × ${ROWS} rows, batch ${BATCH}): ` +
        `p50 ${ms(histogram.percentile(50))} ms, p99 ${ms(histogram.percentile(99))} ms, max ${ms(histogram.max)} ms ` +
        `(${histogram.count} samples at 10 ms resolution; the delays include the 10 ms interval)`,
    );
    expect(seconds).toBeGreaterThan(3);
    expect(histogram.count).toBeGreaterThan(200);
    expect(histogram.percentile(99) / 1e6).toBeLessThan(20);
    expect(batches).toBe(epochs * (ROWS / BATCH));
    expect(epochsSeen).toBe(epochs);
    expect(history.loss[epochs - 1]).toBeLessThan(history.loss[0]);
  });
});
