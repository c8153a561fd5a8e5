// Output shapes of every inference method for every input form; summary(), layers, getWeights() names and shapes, parameterCount.
import { describe, expect, it } from 'vitest';
import { Autoencoder, Decoder, Encoder, type DataInput, type Matrix } from 'native-autoencoder';
import { syntheticData, toFloat32Rows, toNumberRows } from './helpers';

const INPUT = 12;
const LATENT = 5;
const ROWS = 7;

/** The same rows in each accepted input form. */
function forms(flat: Float32Array, cols: number): [string, DataInput][] {
  return [
    ['a flat Float32Array', flat],
    ['number[][]', toNumberRows(flat, cols)],
    ['an array of Float32Array rows', toFloat32Rows(flat, cols)],
    ['a { data, rows, cols } Matrix', { data: flat, rows: flat.length / cols, cols }],
  ];
}

function expectMatrix(m: Matrix, rows: number, cols: number): void {
  expect(m.data).toBeInstanceOf(Float32Array);
  expect(m.rows).toBe(rows);
  expect(m.cols).toBe(cols);
  expect(m.data.length).toBe(rows * cols);
  expect(m.data.every(Number.isFinite)).toBe(true);
}

function expectScores(scores: Float32Array, rows: number): void {
  expect(scores).toBeInstanceOf(Float32Array);
  expect(scores.length).toBe(rows);
  expect(scores.every((s) => Number.isFinite(s) && s >= 0)).toBe(true);
}

const x = syntheticData(ROWS, INPUT, 1);
const z = syntheticData(ROWS, LATENT, 2);

describe.each(forms(x, INPUT))('Autoencoder inference on %s', (_, input) => {
  const ae = new Autoencoder({ inputDim: INPUT, latentDim: LATENT, seed: 3 });

  it('predict and reconstruct return rows × inputDim', () => {
    expectMatrix(ae.predict(input), ROWS, INPUT);
    expectMatrix(ae.reconstruct(input), ROWS, INPUT);
  });

  it('predictAsync and reconstructAsync return rows × inputDim, the values predict gives', async () => {
    expectMatrix(await ae.predictAsync(input), ROWS, INPUT);
    const rebuilt = await ae.reconstructAsync(input);
    expectMatrix(rebuilt, ROWS, INPUT);
    expect(rebuilt.data).toEqual(ae.predict(input).data);
  });

  it('encode and encodeAsync return rows × latentDim', async () => {
    expectMatrix(ae.encode(input), ROWS, LATENT);
    expectMatrix(await ae.encodeAsync(input), ROWS, LATENT);
    expectMatrix(ae.encoder.encode(input), ROWS, LATENT);
    expectMatrix(await ae.encoder.encodeAsync(input), ROWS, LATENT);
  });

  it('reconstructionError and reconstructionErrorAsync return one score per row for every metric', async () => {
    expectScores(ae.reconstructionError(input), ROWS);
    expectScores(await ae.reconstructionErrorAsync(input), ROWS);
    for (const metric of ['mse', 'mae', 'binaryCrossentropy'] as const) {
      expectScores(ae.reconstructionError(input, { metric }), ROWS);
      expectScores(await ae.reconstructionErrorAsync(input, { metric }), ROWS);
    }
  });
});

describe.each(forms(z, LATENT))('Autoencoder decoding of %s', (_, latent) => {
  const ae = new Autoencoder({ inputDim: INPUT, latentDim: LATENT, seed: 3 });

  it('decode and decodeAsync return rows × inputDim', async () => {
    expectMatrix(ae.decode(latent), ROWS, INPUT);
    expectMatrix(await ae.decodeAsync(latent), ROWS, INPUT);
    expectMatrix(ae.decoder.decode(latent), ROWS, INPUT);
    expectMatrix(await ae.decoder.decodeAsync(latent), ROWS, INPUT);
  });
});

describe('standalone Encoder and Decoder', () => {
  const encoder = new Encoder({ inputDim: INPUT, layers: [{ units: 9, activation: 'tanh' }, { units: 3 }], seed: 4 });
  const decoder = new Decoder({
    latentDim: 3,
    layers: [
      { units: 6, activation: 'elu' },
      { units: 10, activation: 'softmax', groupSize: 5 },
    ],
    seed: 5,
  });

  it('report their widths', () => {
    expect([encoder.inputDim, encoder.outputDim, encoder.latentDim]).toEqual([INPUT, 3, 3]);
    expect([decoder.inputDim, decoder.outputDim, decoder.latentDim]).toEqual([3, 10, 3]);
  });

  it.each(forms(x, INPUT))('encode %s to rows × the last layer width', async (_, input) => {
    expectMatrix(encoder.encode(input), ROWS, 3);
    expectMatrix(await encoder.encodeAsync(input), ROWS, 3);
    expectMatrix(encoder.predict(input), ROWS, 3);
  });

  it('decodes to rows × the last layer width, each softmax group summing to 1', async () => {
    const out = decoder.decode(encoder.encode(x));
    expectMatrix(out, ROWS, 10);
    expectMatrix(await decoder.decodeAsync(encoder.encode(x)), ROWS, 10);
    for (let g = 0; g < ROWS * 2; g++) {
      const sum = out.data.subarray(g * 5, g * 5 + 5).reduce((a, b) => a + b, 0);
      expect(sum).toBeCloseTo(1, 5);
    }
  });
});

describe('the design-document network (inputDim 100, latentDim 32)', () => {
  const ae = new Autoencoder({ inputDim: 100, latentDim: 32, seed: 6 });
  const expected = [
    { name: 'encoder.0', inputs: 100, units: 32, activation: 'relu', parameters: 3232 },
    { name: 'encoder.1', inputs: 32, units: 32, activation: 'relu', parameters: 1056 },
    { name: 'decoder.0', inputs: 32, units: 32, activation: 'relu', parameters: 1056 },
    { name: 'decoder.1', inputs: 32, units: 100, activation: 'sigmoid', parameters: 3300 },
  ];

  it('has the layers of the design document and their parameter count', () => {
    expect(ae.layers).toEqual(expected);
    expect(ae.encoder.layers).toEqual(expected.slice(0, 2));
    expect(ae.decoder.layers).toEqual(expected.slice(2));
    expect(ae.parameterCount).toBe(8644);
    expect(ae.encoder.parameterCount).toBe(3232 + 1056);
    expect(ae.decoder.parameterCount).toBe(1056 + 3300);
    expect([ae.inputDim, ae.outputDim, ae.latentDim]).toEqual([100, 100, 32]);
  });

  it('summary() mentions every layer, its activation, its parameters and the total', () => {
    const summary = ae.summary();
    const lines = summary.split('\n');
    for (const layer of expected) {
      const line = lines.find((l) => l.startsWith(layer.name));
      expect(line, layer.name).toBeDefined();
      expect(line).toContain(layer.activation);
      expect(line).toContain(`(batch, ${layer.units})`);
      expect(line).toContain(layer.parameters.toLocaleString('en-US'));
    }
    expect(summary).toContain('Total params: 8,644');
    expect(summary).toContain('input 100');
    expect(ae.encoder.summary()).toContain('Total params: 4,288');
    expect(ae.encoder.summary()).not.toContain('decoder.0');
  });

  it('getWeights() lists weight [out, in] then bias [out] for each layer', () => {
    const weights = ae.getWeights();
    expect(weights.map((w) => [w.name, w.shape])).toEqual(
      expected.flatMap((l) => [
        [`${l.name}.weight`, [l.units, l.inputs]],
        [`${l.name}.bias`, [l.units]],
      ]),
    );
    for (const w of weights) {
      expect(w.data).toBeInstanceOf(Float32Array);
      expect(w.data.length).toBe(w.shape.reduce((a, b) => a * b, 1));
    }
    expect(weights.reduce((n, w) => n + w.data.length, 0)).toBe(ae.parameterCount);
    expect(ae.encoder.getWeights().map((w) => w.name)).toEqual(weights.slice(0, 4).map((w) => w.name));
    expect(ae.decoder.getWeights().map((w) => w.name)).toEqual(weights.slice(4).map((w) => w.name));
  });

  it('starts with zero biases and non-zero weights', () => {
    for (const w of ae.getWeights()) {
      if (w.name.endsWith('.bias')) expect(w.data.every((v) => v === 0)).toBe(true);
      else expect(w.data.some((v) => v !== 0)).toBe(true);
    }
  });

  it('weight [out, in] layout: row j of encoder.0.weight holds the inputs of unit j', () => {
    // With a one-hot input e_i and zero biases, unit j's pre-activation is W[j][i]; relu keeps the positive ones.
    const w = ae.encoder.getWeights()[0];
    const probe = new Encoder({ inputDim: 100, layers: [{ units: 32 }], seed: 1 });
    probe.setWeights([w.data, new Float32Array(32)]);
    const onehot = new Float32Array(100);
    onehot[7] = 1;
    const out = probe.encode(onehot).data;
    for (let j = 0; j < 32; j++) expect(out[j]).toBe(w.data[j * 100 + 7]);
  });
});
