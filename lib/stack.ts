// The common base of every model: a range of layers inside one native model. An Encoder and a
// Decoder that belong to an Autoencoder are ranges of the autoencoder's native model, so the three
// share one set of weights.
import { types } from 'node:util';
import { native, type NativeLayerSpec, type NativeModel } from './binding';
import { type AsyncPredictOptions, type DataInput, type Matrix, type PredictOptions, checkResultSize, lengthOf, matrix, outputInto, precisionOption, predictionOptions, toRows } from './data';
import { codedError, disposedError, typeError, rangeError } from './errors';
import { layerInfo, type DenseLayerConfig, type LayerInfo } from './layers';
import { checkReceivers } from './validate';
import { writeFileAtomic } from './atomic-file';
import { encodeModel, expectTensors, type Architecture, type ModelFile } from './model-file';
import { formatError } from './safetensors';
import { toOnnxBytes } from './onnx';

const NO_OPTIONS: Readonly<Record<string, unknown>> = Object.freeze({});

/** A copy of `array`'s elements, read straight from its buffer (no getters, no species constructor); empty when detached. */
function copyOf(array: Float32Array): Float32Array {
  const copy = new Float32Array(lengthOf(array));
  if (copy.length > 0) copy.set(array);
  return copy;
}

/** One named parameter tensor, laid out as PyTorch's nn.Linear (`weight` is `[out, in]`). */
export interface WeightTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** @internal The native model and the specs of all its layers. */
export interface SharedModel {
  native: NativeModel;
  layers: NativeLayerSpec[];
  disposed: boolean;
  /** True while `fitStream` runs: between its chunks no native fit holds the model, yet it is busy. */
  streaming?: boolean;
  /** A variational model: this layer emits [mean | log-variance] and the next reads a sample. */
  variationalLayer?: number;
}

/** @internal */
export function createShared(
  layers: NativeLayerSpec[],
  latentLayer: number,
  seed: number,
  variational = false,
  backend: 'cpu' | 'cuda' = 'cpu',
): SharedModel {
  const shared: SharedModel = {
    native: new native.NativeModel({ layers, latentLayer, variational }, seed, backend),
    layers,
    disposed: false,
  };
  if (variational) shared.variationalLayer = latentLayer;
  return shared;
}

export abstract class LayerStack {
  #shared: SharedModel;
  #first: number;
  #last: number;
  #kind: string;

  // A method called on an object that is not a model throws a coded TypeError naming "this".
  static {
    checkReceivers(this, 'an Autoencoder, Encoder or Decoder', (value) => #shared in value);
  }

  protected constructor(kind: string, shared: SharedModel, first: number, last: number) {
    this.#kind = kind;
    this.#shared = shared;
    this.#first = first;
    this.#last = last;
  }

  /** Where the weights live and every computation runs: 'cpu' or 'cuda' (see the `backend` option). */
  get backend(): 'cpu' | 'cuda' {
    return this.#shared.native.backend;
  }

  /** Width of each input row. */
  get inputDim(): number {
    return this.#shared.layers[this.#first].inputs;
  }

  /** Width of each output row. */
  get outputDim(): number {
    return this.#shared.layers[this.#last - 1].units;
  }

  /** The layers, in order. */
  get layers(): LayerInfo[] {
    return this.#shared.layers.slice(this.#first, this.#last).map(layerInfo);
  }

  /** Number of trainable parameters. */
  get parameterCount(): number {
    return this.layers.reduce((sum, l) => sum + l.parameters, 0);
  }

  /** True once `dispose()` has released the native memory. */
  get disposed(): boolean {
    return this.#shared.disposed;
  }

  /** True while a fit or an asynchronous prediction runs on these weights. */
  get busy(): boolean {
    return !this.#shared.disposed && (this.#shared.streaming === true || this.#shared.native.busy);
  }

  /** The output of these layers for each row of `x`; into `options.out` when given. */
  predict(x: DataInput, options?: PredictOptions): Matrix {
    return this.forward('x', x, options);
  }

  /** `predict` on a worker thread: for large inputs, so the event loop stays free. The input is copied first. */
  predictAsync(x: DataInput, options?: AsyncPredictOptions): Promise<Matrix> {
    return this.forwardAsync('x', x, options);
  }

  /** A table of the layers, their output shapes and parameter counts. */
  summary(): string {
    const header = ['Layer', 'Activation', 'Output shape', 'Params'];
    const body = this.layers.map((l) => [l.name, l.activation, `(batch, ${l.units})`, l.parameters.toLocaleString('en-US')]);
    const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
    const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
    const rule = '-'.repeat(line(header).length);
    return [
      `${this.#kind} (input ${this.inputDim} → output ${this.outputDim})`,
      rule,
      line(header),
      rule,
      ...body.map(line),
      rule,
      `Total params: ${this.parameterCount.toLocaleString('en-US')}`,
    ].join('\n');
  }

  /** Copies of the parameter tensors, `weight` then `bias` for each layer. */
  getWeights(): WeightTensor[] {
    const model = this.nativeModel();
    return this.#tensorNames().map(({ name, shape }) => ({ name, shape, data: model.getTensor(name) }));
  }

  /**
   * Replaces the parameters. `weights` is what `getWeights()` returns (matched by name), or an
   * array of Float32Arrays in the same order. Every tensor is checked before any is written.
   */
  setWeights(weights: ReadonlyArray<WeightTensor | Float32Array>): void {
    const model = this.nativeModel();
    const expected = this.#tensorNames();
    if (!Array.isArray(weights)) throw typeError('weights', 'an array of tensors', weights);
    if (weights.length !== expected.length) throw rangeError('weights.length', `${expected.length}`, weights.length);
    // Tensors with names are matched by name, in any order; bare Float32Arrays by position. util.types
    // rather than `instanceof`, which a Proxy of a Float32Array passes (its length getter then throws).
    // Each item is read once and its data copied, so that nothing (a getter, another thread writing a
    // shared buffer) changes a tensor between its checks and its write: all are written or none.
    const items: { bare: boolean; name: unknown; data: Float32Array }[] = [];
    for (let i = 0; i < expected.length; i++) {
      const item: unknown = weights[i];
      if (types.isFloat32Array(item)) {
        items.push({ bare: true, name: undefined, data: copyOf(item) });
        continue;
      }
      const tensor = item as { name?: unknown; data?: unknown } | null | undefined;
      const data = tensor?.data;
      if (!types.isFloat32Array(data)) throw typeError(`weights[${i}]`, 'a Float32Array or { name, data }', item);
      items.push({ bare: false, name: tensor?.name, data: copyOf(data) });
    }
    const positional = items.some((item) => item.bare);
    const byName = new Map<unknown, number>();
    if (!positional) {
      items.forEach(({ name }, i) => {
        if (!expected.some((e) => e.name === name)) {
          throw rangeError(`weights[${i}].name`, `one of ${expected.map((e) => `'${e.name}'`).join(', ')}`, name);
        }
        if (byName.has(name)) throw rangeError(`weights[${i}].name`, `a name not given before ('${String(name)}' is weights[${byName.get(name)}])`, name);
        byName.set(name, i);
      });
    }
    const values = expected.map(({ name, shape }, position) => {
      const i = positional ? position : (byName.get(name) as number);
      const item = items[i];
      if (positional && !item.bare && item.name !== name) {
        throw rangeError(`weights[${i}].name`, `'${name}'`, item.name);
      }
      const data = item.data;
      const size = shape.reduce((a, b) => a * b, 1);
      if (data.length !== size) throw rangeError(`weights[${i}].length`, `${size} (shape [${shape.join(', ')}])`, data.length);
      for (let k = 0; k < size; k++) {
        if (!Number.isFinite(data[k])) {
          throw codedError(RangeError, 'ERR_NON_FINITE', `weights[${i}] (${name}) holds a non-finite value at index ${k}`);
        }
      }
      return { name, data };
    });
    for (const { name, data } of values) model.setTensor(name, data);
  }

  /** Writes these layers to `path` as an ONNX model (see `toONNXBuffer`), atomically as `save` does. */
  async toONNX(path: string): Promise<void> {
    if (typeof path !== 'string' || path.length === 0) throw typeError('path', 'a non-empty string', path);
    await writeFileAtomic(path, this.toONNXBuffer());
  }

  /** These layers as an ONNX model (opset 13): input 'input' and output 'output', both `[batch, width]` float32. */
  toONNXBuffer(): Uint8Array {
    const meanOf = this.#shared.variationalLayer;
    return toOnnxBytes({
      name: this.#kind,
      layers: this.layers,
      weights: this.getWeights(),
      ...(meanOf !== undefined && meanOf >= this.#first ? { meanOf: meanOf - this.#first } : {}),
    });
  }

  /**
   * The model as safetensors bytes: the weights (PyTorch nn.Linear names and layouts) and, in the
   * metadata, the architecture, the library and format versions and a SHA-256 checksum.
   */
  toBuffer(): Buffer {
    return encodeModel(this.architecture(), this.getWeights().map((w) => [w.name, { shape: w.shape, data: w.data }]));
  }

  /** Saves the model to `path` atomically and durably: a crash leaves the old file or the new one, whole. */
  async save(path: string): Promise<void> {
    if (typeof path !== 'string' || path.length === 0) throw typeError('path', 'a non-empty string', path);
    await writeFileAtomic(path, this.toBuffer());
  }

  /** @internal What a model file records to rebuild this model. */
  protected abstract architecture(): Architecture;

  /** @internal The layer configs of this stack, as a constructor takes them. */
  protected layerConfigs(): DenseLayerConfig[] {
    return this.#shared.layers.slice(this.#first, this.#last).map((l) => {
      const config: DenseLayerConfig = { units: l.units, activation: l.activation as DenseLayerConfig['activation'] };
      if (l.alpha !== undefined) config.alpha = l.alpha;
      if (l.group !== undefined) config.groupSize = l.group;
      if (l.kernelInitializer !== undefined) config.kernelInitializer = l.kernelInitializer as DenseLayerConfig['kernelInitializer'];
      if (l.dropout) config.dropout = l.dropout;
      return config;
    });
  }

  /** @internal Copies this stack's tensors from a model file, after checking every name and shape. */
  protected loadTensors(file: ModelFile, allowExtra: (name: string) => boolean): void {
    const tensors = this.checkedTensors(file, allowExtra);
    const model = this.nativeModel();
    for (const [name, data] of Object.entries(tensors)) model.setTensor(name, data);
  }

  /** @internal This stack's tensors in a model file, by name, once every name, shape and value is checked. */
  protected checkedTensors(file: ModelFile, allowExtra: (name: string) => boolean): Record<string, Float32Array> {
    const expected = this.#tensorNames();
    const data = expectTensors(file, expected, allowExtra);
    const tensors: Record<string, Float32Array> = {};
    data.forEach((values, i) => {
      const bad = values.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) throw formatError(file.source, `tensor '${expected[i].name}' holds a non-finite value at index ${bad}`);
      tensors[expected[i].name] = values;
    });
    return tensors;
  }

  /** Releases the native memory now. Shared weights (an autoencoder and its encoder and decoder) go together. A running fit stops after its current batch. */
  dispose(): void {
    if (this.#shared.disposed) return;
    this.#shared.disposed = true;
    this.#shared.native.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  /** @internal `predict` under the caller's argument name, so that errors name what the caller passed (decode's `z`). */
  protected forward(name: string, x: DataInput, options: PredictOptions | undefined): Matrix {
    const rows = toRows(name, x, this.inputDim);
    // No options, the one-row loop's common case, allocates no options object.
    const o = options === undefined ? NO_OPTIONS : predictionOptions(options, ['out', 'precision']);
    const given = outputInto(o.out, rows.rows, this.outputDim, name, rows.data);
    const out = this.nativeModel().predict(rows.data, rows.rows, this.#first, this.#last, given, precisionOption(o));
    return matrix(out, rows.rows, this.outputDim);
  }

  /** @internal */
  protected async forwardAsync(name: string, x: DataInput, options: unknown): Promise<Matrix> {
    const rows = toRows(name, x, this.inputDim);
    const precision = precisionOption(predictionOptions(options, ['precision']));
    checkResultSize('the output', rows.rows, this.outputDim);
    const out = await this.nativeModel().predictAsync(rows.data, rows.rows, this.#first, this.#last, precision);
    return matrix(out, rows.rows, this.outputDim);
  }

  /** @internal */
  protected nativeModel(): NativeModel {
    if (this.#shared.disposed) throw disposedError(this.#kind);
    if (this.#shared.streaming) throw codedError(Error, 'ERR_BUSY', 'the model is training; await fitStream() or call dispose() first');
    return this.#shared.native;
  }

  /** @internal */
  protected get shared(): SharedModel {
    return this.#shared;
  }

  /** @internal Moves this stack onto another native model (when an autoencoder adopts it). */
  protected rebind(shared: SharedModel, first: number, last: number): void {
    this.#shared = shared;
    this.#first = first;
    this.#last = last;
  }

  /** @internal */
  protected get range(): [number, number] {
    return [this.#first, this.#last];
  }

  #tensorNames(): { name: string; shape: number[] }[] {
    return this.#shared.layers.slice(this.#first, this.#last).flatMap((l) => [
      { name: `${l.name}.weight`, shape: [l.units, l.inputs] },
      { name: `${l.name}.bias`, shape: [l.units] },
    ]);
  }
}

/** @internal Lets Autoencoder move an Encoder or Decoder onto its own native model. */
export function rebindStack(stack: LayerStack, shared: SharedModel, first: number, last: number): void {
  (stack as unknown as { rebind(s: SharedModel, f: number, l: number): void }).rebind(shared, first, last);
}

/** @internal */
export function sharedOf(stack: LayerStack): SharedModel {
  return (stack as unknown as { shared: SharedModel }).shared;
}
