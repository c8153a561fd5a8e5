// The common base of every model: a range of layers inside one native model. An Encoder and a
// Decoder that belong to an Autoencoder are ranges of the autoencoder's native model, so the three
// share one set of weights.
import { native, type NativeLayerSpec, type NativeModel } from './binding';
import { type DataInput, type Matrix, matrix, toRows } from './data';
import { codedError, disposedError, typeError, rangeError } from './errors';
import { layerInfo, type LayerInfo } from './layers';

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
}

/** @internal */
export function createShared(layers: NativeLayerSpec[], latentLayer: number, seed: number): SharedModel {
  return { native: new native.NativeModel({ layers, latentLayer }, seed), layers, disposed: false };
}

export abstract class LayerStack {
  #shared: SharedModel;
  #first: number;
  #last: number;
  #kind: string;

  protected constructor(kind: string, shared: SharedModel, first: number, last: number) {
    this.#kind = kind;
    this.#shared = shared;
    this.#first = first;
    this.#last = last;
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
    return !this.#shared.disposed && this.#shared.native.busy;
  }

  /** The output of these layers for each row of `x`. */
  predict(x: DataInput): Matrix {
    const rows = toRows('x', x, this.inputDim);
    const out = this.nativeModel().predict(rows.data, rows.rows, this.#first, this.#last);
    return matrix(out, rows.rows, this.outputDim);
  }

  /** `predict` on a worker thread: for large inputs, so the event loop stays free. The input is copied first. */
  async predictAsync(x: DataInput): Promise<Matrix> {
    const rows = toRows('x', x, this.inputDim);
    const out = await this.nativeModel().predictAsync(rows.data, rows.rows, this.#first, this.#last);
    return matrix(out, rows.rows, this.outputDim);
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
    const values = expected.map(({ name, shape }, i) => {
      const item: unknown = weights[i];
      const data = item instanceof Float32Array ? item : (item as WeightTensor | null)?.data;
      if (!(data instanceof Float32Array)) throw typeError(`weights[${i}]`, 'a Float32Array or { name, data }', item);
      if (!(item instanceof Float32Array) && (item as WeightTensor).name !== name) {
        throw rangeError(`weights[${i}].name`, `'${name}'`, (item as WeightTensor).name);
      }
      const size = shape.reduce((a, b) => a * b, 1);
      if (data.length !== size) throw rangeError(`weights[${i}].length`, `${size} (shape [${shape.join(', ')}])`, data.length);
      for (let k = 0; k < data.length; k++) {
        if (!Number.isFinite(data[k])) {
          throw codedError(RangeError, 'ERR_NON_FINITE', `weights[${i}] (${name}) holds a non-finite value at index ${k}`);
        }
      }
      return { name, data };
    });
    for (const { name, data } of values) model.setTensor(name, data);
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

  /** @internal */
  protected nativeModel(): NativeModel {
    if (this.#shared.disposed) throw disposedError(this.#kind);
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
