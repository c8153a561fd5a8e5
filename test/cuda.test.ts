// backend: 'cuda': the whole training step on an NVIDIA GPU, checked against the CPU where a GPU is
// present (reported as "skipped: no GPU" elsewhere); and, everywhere, the refusals and the fallback
// of a machine or a build without one.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Autoencoder, Decoder, Encoder, VariationalAutoencoder, backendInfo, defaultBackend, type FitOptions } from 'native-autoencoder';

const info = backendInfo();
const gpu = info.cuda;
const dir = mkdtempSync(join(tmpdir(), 'ae-cuda-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Rows near a low-dimensional surface, in (0, 1).
function data(rows: number, cols: number): Float32Array {
  const x = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) x[r * cols + c] = 1 / (1 + Math.exp(-2 * Math.sin(0.05 * c * (1 + (r % 7)) + r)));
  }
  return x;
}

function network(backend: 'cpu' | 'cuda'): Autoencoder {
  return new Autoencoder({
    encoder: new Encoder({ inputDim: 96, layers: [{ units: 64, activation: 'relu' }, { units: 16, activation: 'linear' }], seed: 1 }),
    decoder: new Decoder({ latentDim: 16, layers: [{ units: 64, activation: 'gelu' }, { units: 96, activation: 'sigmoid' }], seed: 2 }),
    seed: 3,
    backend,
  });
}

function maxRelativeDifference(a: Float32Array | number[], b: Float32Array | number[]): number {
  let scale = 0;
  for (const v of b) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(Math.abs(a[i]), Math.abs(b[i]), 1e-3 * scale));
  }
  return worst;
}

describe('backendInfo() and the CUDA status', () => {
  it('names the GPU, or says why there is none', () => {
    expect(typeof info.cudaBuilt).toBe('boolean');
    if (gpu) {
      expect(info.cudaReason).toBe('');
    } else {
      expect(info.cudaReason).not.toBe('');
      // A build without CUDA says how to get one; a CUDA build says what the machine lacks.
      expect(info.cudaReason).toMatch(info.cudaBuilt ? /driver|device|CUDA runtime|managed memory/ : /npm run build:cuda/);
    }
    expect(info.backend).toBe('cpu');
    expect(info.device).toBe('');
    expect(info.memoryFree).toBe(0);
  });

  it("refuses an unknown backend name, and 'cuda' without a GPU with ERR_CUDA_UNAVAILABLE", () => {
    expect(() => backendInfo('gpu' as never)).toThrow(expect.objectContaining({ name: 'RangeError', message: expect.stringMatching(/backend/) }));
    if (gpu) expect(backendInfo('cuda')).toMatchObject({ backend: 'cuda', device: gpu });
    else expect(() => backendInfo('cuda')).toThrow(expect.objectContaining({ code: 'ERR_CUDA_UNAVAILABLE', message: expect.stringContaining(info.cudaReason) }));
  });
});

describe('the backend option', () => {
  it('checks its value on every model, naming config.backend', () => {
    expect(() => new Autoencoder({ inputDim: 4, latentDim: 2, backend: 'gpu' as never })).toThrow(
      expect.objectContaining({ name: 'RangeError', message: expect.stringMatching(/config\.backend/) }),
    );
    expect(() => new Encoder({ inputDim: 4, layers: [{ units: 2 }], backend: 1 as never })).toThrow(
      expect.objectContaining({ name: 'TypeError', message: expect.stringMatching(/config\.backend/) }),
    );
    expect(() => new Decoder({ latentDim: 2, layers: [{ units: 4 }], backend: null as never })).toThrow(
      expect.objectContaining({ name: 'TypeError', message: expect.stringMatching(/config\.backend/) }),
    );
  });

  it("defaults to 'cpu' (or NATIVE_AUTOENCODER_BACKEND); 'auto' picks CUDA only where backendInfo().cuda names a GPU", () => {
    const expected = process.env.NATIVE_AUTOENCODER_BACKEND === 'cuda' || (process.env.NATIVE_AUTOENCODER_BACKEND === 'auto' && gpu) ? 'cuda' : 'cpu';
    expect(defaultBackend()).toBe(process.env.NATIVE_AUTOENCODER_BACKEND || 'cpu');
    const plain = new Autoencoder({ inputDim: 4, latentDim: 2 });
    expect(plain.backend).toBe(expected);
    expect(plain.encoder.backend).toBe(expected);
    const auto = new VariationalAutoencoder({ inputDim: 4, latentDim: 2, backend: 'auto' });
    expect(auto.backend).toBe(gpu ? 'cuda' : 'cpu');
    plain.dispose();
    auto.dispose();
  });

  it('a bad NATIVE_AUTOENCODER_BACKEND is refused as itself, not blamed on the file a model loads from', async () => {
    const source = new Autoencoder({ inputDim: 4, latentDim: 2, backend: 'cpu' });
    const file = join(dir, 'environment.safetensors');
    await source.save(file);
    const bytes = source.toBuffer();
    const saved = process.env.NATIVE_AUTOENCODER_BACKEND;
    process.env.NATIVE_AUTOENCODER_BACKEND = 'bogus';
    try {
      const refusal = { code: 'ERR_INVALID_ARG_VALUE', message: expect.stringContaining('"NATIVE_AUTOENCODER_BACKEND"') };
      await expect(Autoencoder.load(file)).rejects.toMatchObject(refusal);
      await expect(Encoder.load(file)).rejects.toMatchObject(refusal);
      expect(() => Autoencoder.fromBuffer(bytes)).toThrow(expect.objectContaining(refusal));
      // A model that names its backend does not read it.
      expect(Autoencoder.fromBuffer(bytes, { backend: 'cpu' }).backend).toBe('cpu');
    } finally {
      if (saved === undefined) delete process.env.NATIVE_AUTOENCODER_BACKEND;
      else process.env.NATIVE_AUTOENCODER_BACKEND = saved;
    }
    source.dispose();
  });

  it.runIf(!gpu)("'cuda' without a GPU throws ERR_CUDA_UNAVAILABLE with the reason, and the process goes on", async () => {
    for (const make of [
      () => new Autoencoder({ inputDim: 4, latentDim: 2, backend: 'cuda' }),
      () => new VariationalAutoencoder({ inputDim: 4, latentDim: 2, backend: 'cuda' }),
      () => new Encoder({ inputDim: 4, layers: [{ units: 2 }], backend: 'cuda' }),
      () => new Decoder({ latentDim: 2, layers: [{ units: 4 }], backend: 'cuda' }),
    ]) {
      expect(make).toThrow(expect.objectContaining({ code: 'ERR_CUDA_UNAVAILABLE', message: expect.stringContaining(info.cudaReason) }));
    }
    const ae = new Autoencoder({ inputDim: 4, latentDim: 2, backend: 'auto', seed: 1 });
    expect((await ae.fit(data(16, 4), { epochs: 2 })).loss).toHaveLength(2);
    ae.dispose();
  });

  it("load and fromBuffer take { backend }, checked, and 'cuda' without a GPU is refused", async () => {
    const ae = new Autoencoder({ inputDim: 6, latentDim: 2, seed: 4 });
    const path = join(dir, 'model.safetensors');
    await ae.save(path);
    const bytes = ae.toBuffer();
    await expect(Autoencoder.load(path, { backend: 'tpu' as never })).rejects.toMatchObject({ message: expect.stringMatching(/options\.backend/) });
    await expect(Autoencoder.load(path, { device: 'cuda' } as never)).rejects.toMatchObject({ message: expect.stringMatching(/options\.device/) });
    const loaded = await Encoder.load(path, { backend: 'auto' });
    expect(loaded.backend).toBe(gpu ? 'cuda' : 'cpu');
    if (!gpu) {
      expect(() => Autoencoder.fromBuffer(bytes, { backend: 'cuda' })).toThrow(expect.objectContaining({ code: 'ERR_CUDA_UNAVAILABLE' }));
      await expect(Decoder.load(path, { backend: 'cuda' })).rejects.toMatchObject({ code: 'ERR_CUDA_UNAVAILABLE' });
    }
    ae.dispose();
    loaded.dispose();
  });

  it("rejects precision 'tf32' on the CPU with ERR_TF32_UNAVAILABLE", async () => {
    const ae = new Autoencoder({ inputDim: 4, latentDim: 2, backend: 'cpu' });
    await expect(ae.fit(data(8, 4), { precision: 'tf32' })).rejects.toMatchObject({ code: 'ERR_TF32_UNAVAILABLE' });
    expect((await ae.fit(data(8, 4))).steps).toBe(1);
    ae.dispose();
  });
});

describe.runIf(!!gpu)(gpu ? `on the GPU: ${gpu}` : `on the GPU (skipped: no GPU: ${info.cudaReason})`, () => {
  const options: FitOptions = {
    epochs: 3,
    batchSize: 32,
    shuffle: true,
    loss: 'binaryCrossentropy',
    optimizer: { type: 'adam', learningRate: 1e-3 },
  };

  it('trains to the same losses and weights as the CPU, within 1e-4', async () => {
    const x = data(500, 96);
    const [cpu, cuda] = [network('cpu'), network('cuda')];
    expect(cuda.backend).toBe('cuda');
    const onCpu = await cpu.fit(x, options);
    const onGpu = await cuda.fit(x, options);
    expect(maxRelativeDifference(onGpu.loss, onCpu.loss)).toBeLessThan(1e-4);
    expect(maxRelativeDifference(cuda.predict(x).data, cpu.predict(x).data)).toBeLessThan(1e-4);
    expect(maxRelativeDifference((await cuda.predictAsync(x)).data, cpu.predict(x).data)).toBeLessThan(1e-4);
    cpu.dispose();
    cuda.dispose();
  });

  it("with precision 'tf32', within 3e-3 of float32", async () => {
    const x = data(500, 96);
    const [a, b] = [network('cuda'), network('cuda')];
    const float32 = await a.fit(x, options);
    const tf32 = await b.fit(x, { ...options, precision: 'tf32' });
    expect(maxRelativeDifference(tf32.loss, float32.loss)).toBeLessThan(3e-3);
    a.dispose();
    b.dispose();
  });

  it('saves from the GPU and loads onto the CPU with the same weights', async () => {
    const cuda = network('cuda');
    await cuda.fit(data(64, 96), { epochs: 1 });
    const path = join(dir, 'gpu.safetensors');
    await cuda.save(path);
    const cpu = await Autoencoder.load(path, { backend: 'cpu' });
    for (const w of cuda.getWeights()) expect(cpu.getWeights().find((t) => t.name === w.name)?.data).toEqual(w.data);
    cuda.dispose();
    cpu.dispose();
  });

  it('refuses a model larger than the free device memory with ERR_OUT_OF_MEMORY stating the bytes, and goes on', () => {
    expect(() => new Encoder({ inputDim: 300_000, layers: [{ units: 200_000 }], backend: 'cuda' })).toThrow(
      expect.objectContaining({ code: 'ERR_OUT_OF_MEMORY', message: expect.stringMatching(/\d+ bytes.*free/) }),
    );
    const small = network('cuda');
    expect(small.predict(data(4, 96)).rows).toBe(4);
    small.dispose();
  });

  it('frees device memory on dispose: a hundred 40 MB models in turn leave the free memory as it was', () => {
    const before = backendInfo('cuda').memoryFree;
    for (let i = 0; i < 100; i++) {
      const big = new Encoder({ inputDim: 4096, layers: [{ units: 2500 }], backend: 'cuda', seed: i });
      big.dispose();
    }
    expect(Math.abs(backendInfo('cuda').memoryFree - before)).toBeLessThan(64 * 2 ** 20);
  });
});
