// ONNX export: ONNX Runtime, given the exported model, computes what `predict` computes, for every
// activation and for the reference networks, at any batch size.
// onnx-proto's typings name the global `Long` without referencing @types/long.
/// <reference types="long" />
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import {
  ACTIVATIONS,
  Autoencoder,
  Decoder,
  Encoder,
  type ActivationName,
  type DenseLayerConfig,
  type LayerStack,
} from 'native-autoencoder';
import { expectCoded, mulberry32, rejection, syntheticData, thrown } from './helpers';

// onnxruntime-common's typings name browser types (for its web backends) that this Node-only
// program does not load; opaque stand-ins keep the type check strict without the whole DOM library.
declare global {
  interface ImageData {}
  interface ImageBitmap {}
  interface HTMLImageElement {}
  interface WebGLRenderingContext {}
  interface WebGLTexture {}
}

const TOLERANCE = 1e-5;
// The cores are shared with the native library's own tests; one ORT thread keeps the load modest.
const SESSION_OPTIONS: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, interOpNumThreads: 1 };
const PACKAGE_VERSION = (JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'native-autoencoder-onnx-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function uniform(length: number, seed: number, lo: number, hi: number): Float32Array {
  const next = mulberry32(seed);
  return Float32Array.from({ length }, () => lo + (hi - lo) * next());
}

/** Largest |a - b| over the arrays, after checking |a - b| <= TOLERANCE · max(1, |b|) everywhere. */
function expectClose(actual: Float32Array, expected: Float32Array): number {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  let bad = -1;
  for (let i = 0; i < expected.length; i++) {
    const diff = Math.abs(actual[i] - expected[i]);
    if (!(diff <= TOLERANCE * Math.max(1, Math.abs(expected[i]))) && bad < 0) bad = i;
    worst = Math.max(worst, diff);
  }
  if (bad >= 0) expect.fail(`index ${bad}: onnx ${actual[bad]} vs predict ${expected[bad]} (max abs diff ${worst})`);
  return worst;
}

async function onnxPredict(session: ort.InferenceSession, x: Float32Array, rows: number, cols: number): Promise<Float32Array> {
  const result = await session.run({ input: new ort.Tensor('float32', x, [rows, cols]) });
  const output = result.output;
  expect(output.dims).toEqual([rows, output.dims[1]]);
  return output.data as Float32Array;
}

/** Compares ONNX Runtime with `predict` at each batch size; returns the largest absolute difference. */
async function expectSameOutputs(
  stack: LayerStack,
  session: ort.InferenceSession,
  batches: number[],
  input: (rows: number, seed: number) => Float32Array,
): Promise<number> {
  let worst = 0;
  for (const rows of batches) {
    const x = input(rows * stack.inputDim, rows);
    const expected = stack.predict(x);
    expect(expected.cols).toBe(stack.outputDim);
    worst = Math.max(worst, expectClose(await onnxPredict(session, x, rows, stack.inputDim), expected.data));
  }
  return worst;
}

const unitInputs = (length: number, seed: number) => uniform(length, 1000 + seed, 0, 1);

/** Random weights and biases, scaled so that pre-activations fall on both sides of zero. */
function randomizeWeights(stack: LayerStack, seed: number): void {
  const next = mulberry32(seed);
  stack.setWeights(
    stack.getWeights().map((w) => {
      const scale = w.shape.length === 2 ? 2 / Math.sqrt(w.shape[1]) : 0.5;
      return Float32Array.from(w.data, () => scale * (2 * next() - 1));
    }),
  );
}

interface ActivationCase {
  title: string;
  activation: ActivationName;
  layers: DenseLayerConfig[];
}

const twice = (config: DenseLayerConfig, second: DenseLayerConfig = config): DenseLayerConfig[] => [
  { ...config, units: 12 },
  { ...second, units: 6 },
];

const ACTIVATION_CASES: ActivationCase[] = [
  ...ACTIVATIONS.filter((a) => a !== 'leakyRelu' && a !== 'elu' && a !== 'softmax').map((activation) => ({
    title: activation,
    activation,
    layers: twice({ units: 0, activation }),
  })),
  { title: 'leakyRelu (default alpha)', activation: 'leakyRelu', layers: twice({ units: 0, activation: 'leakyRelu' }) },
  { title: 'leakyRelu alpha 0.05', activation: 'leakyRelu', layers: twice({ units: 0, activation: 'leakyRelu', alpha: 0.05 }) },
  { title: 'elu alpha 0.7', activation: 'elu', layers: twice({ units: 0, activation: 'elu', alpha: 0.7 }) },
  { title: 'softmax over the whole row', activation: 'softmax', layers: twice({ units: 0, activation: 'softmax' }) },
  {
    title: 'softmax with groupSize 4 then 3',
    activation: 'softmax',
    layers: twice({ units: 0, activation: 'softmax', groupSize: 4 }, { units: 0, activation: 'softmax', groupSize: 3 }),
  },
  {
    title: 'gelu with dropout (identity at inference)',
    activation: 'gelu',
    layers: twice({ units: 0, activation: 'gelu', dropout: 0.5 }, { units: 0, activation: 'linear', dropout: 0.2 }),
  },
];

describe('every activation', () => {
  it('has a case', () => {
    expect(new Set(ACTIVATION_CASES.map((c) => c.activation))).toEqual(new Set(ACTIVATIONS));
  });

  it.each(ACTIVATION_CASES)('$title matches predict at batch sizes 1, 7 and 32', async ({ layers }) => {
    const encoder = new Encoder({ inputDim: 8, layers, seed: 3 });
    randomizeWeights(encoder, 11);
    const session = await ort.InferenceSession.create(encoder.toONNXBuffer(), SESSION_OPTIONS);
    try {
      await expectSameOutputs(encoder, session, [1, 7, 32], (length, seed) => uniform(length, seed, -3, 3));
    } finally {
      await session.release();
      encoder.dispose();
    }
  });
});

describe('the reference networks', () => {
  it('W1: 100 → 32 relu → 32 relu → 32 relu → 100 sigmoid, trained one epoch, through a file', async () => {
    const ae = new Autoencoder({
      encoder: new Encoder({ inputDim: 100, layers: [{ units: 32, activation: 'relu' }, { units: 32, activation: 'relu' }], seed: 1 }),
      decoder: new Decoder({ latentDim: 32, layers: [{ units: 32, activation: 'relu' }, { units: 100, activation: 'sigmoid' }], seed: 2 }),
      seed: 3,
    });
    await ae.fit(syntheticData(256, 100, 4), { epochs: 1, batchSize: 32, seed: 5 });
    expect(ae.getWeights().find((w) => w.name === 'decoder.1.bias')!.data.some((v) => v !== 0)).toBe(true);
    const file = path.join(dir, 'w1.onnx');
    await ae.toONNX(file);
    expect(fs.readdirSync(dir).filter((f) => f.includes('w1'))).toEqual(['w1.onnx']);
    const session = await ort.InferenceSession.create(file, SESSION_OPTIONS);
    try {
      expect(session.inputNames).toEqual(['input']);
      expect(session.outputNames).toEqual(['output']);
      await expectSameOutputs(ae, session, [1, 7, 64], unitInputs);
    } finally {
      await session.release();
      ae.dispose();
    }
  });

  describe('W2: 784 → 512 relu → 256 relu → 64 linear → 256 relu → 512 relu → 784 sigmoid, trained one epoch', () => {
    let ae: Autoencoder;
    beforeAll(async () => {
      ae = new Autoencoder({
        encoder: new Encoder({
          inputDim: 784,
          layers: [{ units: 512, activation: 'relu' }, { units: 256, activation: 'relu' }, { units: 64, activation: 'linear' }],
          seed: 1,
        }),
        decoder: new Decoder({
          latentDim: 64,
          layers: [{ units: 256, activation: 'relu' }, { units: 512, activation: 'relu' }, { units: 784, activation: 'sigmoid' }],
          seed: 2,
        }),
        seed: 3,
      });
      await ae.fit(syntheticData(128, 784, 6), { epochs: 1, batchSize: 32, seed: 7 });
    });
    afterAll(() => ae.dispose());

    it('the autoencoder matches predict', async () => {
      const session = await ort.InferenceSession.create(ae.toONNXBuffer(), SESSION_OPTIONS);
      try {
        await expectSameOutputs(ae, session, [1, 7, 32], unitInputs);
      } finally {
        await session.release();
      }
    });

    it('encoder.toONNX alone matches encode', async () => {
      const file = path.join(dir, 'w2-encoder.onnx');
      await ae.encoder.toONNX(file);
      const session = await ort.InferenceSession.create(file, SESSION_OPTIONS);
      try {
        expect(session.inputNames).toEqual(['input']);
        for (const rows of [1, 7]) {
          const x = unitInputs(rows * 784, rows);
          expectClose(await onnxPredict(session, x, rows, 784), ae.encode(x).data);
        }
      } finally {
        await session.release();
      }
    });

    it('decoder.toONNX alone matches decode', async () => {
      const file = path.join(dir, 'w2-decoder.onnx');
      await ae.decoder.toONNX(file);
      const model = onnx.ModelProto.decode(fs.readFileSync(file));
      expect(model.graph!.initializer!.map((t) => t.name)).toEqual(ae.decoder.getWeights().map((w) => w.name));
      const session = await ort.InferenceSession.create(file, SESSION_OPTIONS);
      try {
        for (const rows of [1, 7]) {
          const z = ae.encode(unitInputs(rows * 784, rows)).data;
          expectClose(await onnxPredict(session, z, rows, 64), ae.decode(z).data);
        }
      } finally {
        await session.release();
      }
    });
  });

  it('W3: 4096 → 2048 relu → 256 linear → 2048 relu → 4096 sigmoid, one training step', async () => {
    const ae = new Autoencoder({
      encoder: new Encoder({ inputDim: 4096, layers: [{ units: 2048, activation: 'relu' }, { units: 256, activation: 'linear' }], seed: 1 }),
      decoder: new Decoder({ latentDim: 256, layers: [{ units: 2048, activation: 'relu' }, { units: 4096, activation: 'sigmoid' }], seed: 2 }),
      seed: 3,
    });
    try {
      expect(ae.parameterCount).toBe(17_834_240);
      await ae.fit(syntheticData(8, 4096, 8), { epochs: 1, batchSize: 8, seed: 9 });
      const session = await ort.InferenceSession.create(ae.toONNXBuffer(), SESSION_OPTIONS);
      try {
        await expectSameOutputs(ae, session, [1, 7], unitInputs);
      } finally {
        await session.release();
      }
    } finally {
      ae.dispose();
    }
  });
});

describe('the model file', () => {
  const ae = new Autoencoder({
    encoder: new Encoder({ inputDim: 10, layers: [{ units: 6, activation: 'leakyRelu', alpha: 0.1 }, { units: 4 }], seed: 1 }),
    decoder: new Decoder({ latentDim: 4, layers: [{ units: 10, activation: 'softmax', groupSize: 5 }], seed: 2 }),
    seed: 3,
  });
  afterAll(() => ae.dispose());

  it('records the producer, IR and opset versions, a dynamic batch, the raw weights and the layers', () => {
    const model = onnx.ModelProto.toObject(onnx.ModelProto.decode(ae.toONNXBuffer()), { longs: Number, defaults: true });
    expect(model.irVersion).toBe(7);
    expect(model.opsetImport).toEqual([{ domain: '', version: 13 }]);
    expect(model.producerName).toBe('native-autoencoder');
    expect(model.producerVersion).toBe(PACKAGE_VERSION);
    const graph = model.graph;
    expect(graph.input.map((v: onnx.IValueInfoProto) => v.name)).toEqual(['input']);
    expect(graph.output.map((v: onnx.IValueInfoProto) => v.name)).toEqual(['output']);
    const dims = (v: onnx.IValueInfoProto) => v.type!.tensorType!.shape!.dim!.map((d) => d.dimParam || d.dimValue);
    expect(dims(graph.input[0])).toEqual(['batch', 10]);
    expect(dims(graph.output[0])).toEqual(['batch', 10]);
    expect(graph.node.map((n: onnx.INodeProto) => n.opType)).toEqual(['Gemm', 'LeakyRelu', 'Gemm', 'Gemm', 'Reshape', 'Softmax', 'Reshape']);
    const gemm = graph.node[0] as onnx.INodeProto;
    expect(gemm.attribute).toEqual([expect.objectContaining({ name: 'transB', i: 1 })]);

    const decoded = onnx.ModelProto.decode(ae.toONNXBuffer());
    for (const w of ae.getWeights()) {
      const t = decoded.graph!.initializer!.find((i) => i.name === w.name)!;
      expect(t.dataType).toBe(onnx.TensorProto.DataType.FLOAT);
      expect(t.dims!.map(Number)).toEqual(w.shape);
      expect(Buffer.from(t.rawData!).equals(Buffer.from(w.data.buffer, w.data.byteOffset, w.data.byteLength))).toBe(true);
    }
    const layers = model.metadataProps.find((p: onnx.IStringStringEntryProto) => p.key === 'layers');
    expect(JSON.parse(layers.value)).toEqual(ae.layers);
    expect(ae.layers[0]).toMatchObject({ activation: 'leakyRelu', alpha: expect.closeTo(0.1, 6) });
    expect(ae.layers[2]).toMatchObject({ activation: 'softmax', groupSize: 5 });
  });

  it('replaces an existing file and leaves no temporary file behind', async () => {
    const file = path.join(dir, 'replace.onnx');
    fs.writeFileSync(file, 'old');
    await ae.toONNX(file);
    expect(fs.readFileSync(file).equals(Buffer.from(ae.toONNXBuffer()))).toBe(true);
    expect(fs.readdirSync(dir).filter((f) => f.includes('replace'))).toEqual(['replace.onnx']);
  });

  it('a failed write leaves no partial file', async () => {
    const folder = path.join(dir, 'occupied.onnx');
    fs.mkdirSync(folder);
    await rejection(ae.toONNX(folder));
    expect(fs.readdirSync(dir).filter((f) => f.includes('occupied'))).toEqual(['occupied.onnx']);
    expect(fs.readdirSync(folder)).toEqual([]);
    await rejection(ae.toONNX(path.join(dir, 'missing', 'model.onnx')));
    expect(fs.existsSync(path.join(dir, 'missing'))).toBe(false);
  });

  it.each([[''], [undefined], [42], [null]])('refuses the path %j with ERR_INVALID_ARG_TYPE', async (bad) => {
    expectCoded(await rejection(ae.toONNX(bad as string)), TypeError, 'ERR_INVALID_ARG_TYPE', 'path');
  });

  it('refuses a disposed model with ERR_DISPOSED', async () => {
    const model = new Autoencoder({ inputDim: 6, latentDim: 3, seed: 4 });
    model.dispose();
    const file = path.join(dir, 'disposed.onnx');
    expectCoded(await rejection(model.toONNX(file)), Error, 'ERR_DISPOSED');
    expectCoded(await rejection(model.encoder.toONNX(file)), Error, 'ERR_DISPOSED');
    expectCoded(thrown(() => model.decoder.toONNXBuffer()), Error, 'ERR_DISPOSED');
    expect(fs.existsSync(file)).toBe(false);
  });
});
