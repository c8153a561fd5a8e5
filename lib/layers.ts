// Dense layer configuration: Keras names, checked and turned into the native layer table.
import type { NativeLayerSpec } from './binding';
import { typeError, rangeError } from './errors';
import { integer, knownKeys, objectArg, oneOf, optionalNumber } from './validate';

export const ACTIVATIONS = [
  'linear',
  'relu',
  'leakyRelu',
  'elu',
  'selu',
  'sigmoid',
  'tanh',
  'softplus',
  'silu',
  'swish',
  'gelu',
  'softmax',
] as const;
export type ActivationName = (typeof ACTIVATIONS)[number];

export const INITIALIZERS = ['glorotUniform', 'glorotNormal', 'heUniform', 'heNormal', 'lecunNormal', 'zeros'] as const;
export type InitializerName = (typeof INITIALIZERS)[number];

/** One dense layer: `y = activation(x · Wᵀ + b)`, W stored `[units, inputs]` as in PyTorch's nn.Linear. */
export interface DenseLayerConfig {
  /** Output width. */
  units: number;
  /** Activation after the affine map. Default `'linear'`. */
  activation?: ActivationName;
  /** Slope for `leakyRelu` (default 0.3, as tf.keras) or scale for `elu` (default 1). */
  alpha?: number;
  /** For `softmax`: the size of each group of columns normalised on its own (one group per character slot). Default: the whole row. */
  groupSize?: number;
  /** Weight initializer. Default `'glorotUniform'`, as in Keras. Biases start at zero. */
  kernelInitializer?: InitializerName;
  /** Dropout rate applied to this layer's output while training, in [0, 1). Default 0. */
  dropout?: number;
}

/** A layer as a model reports it (see `summary()` and `layers`). */
export interface LayerInfo {
  name: string;
  inputs: number;
  units: number;
  activation: ActivationName;
  parameters: number;
  /** The `leakyRelu` slope or `elu` scale, for those activations. */
  alpha?: number;
  /** The softmax group size, when the layer normalises groups of columns rather than the whole row. */
  groupSize?: number;
}

const LAYER_KEYS = ['units', 'activation', 'alpha', 'groupSize', 'kernelInitializer', 'dropout'] as const;

export function nativeLayers(name: string, layers: unknown, inputDim: number, prefix: string): NativeLayerSpec[] {
  if (!Array.isArray(layers)) throw typeError(name, 'an array of layer configs', layers);
  if (layers.length === 0) throw rangeError(`${name}.length`, 'at least 1', 0);
  const out: NativeLayerSpec[] = [];
  let inputs = inputDim;
  // By index: forEach would skip a sparse array's holes, which must be refused like any non-object.
  for (let i = 0; i < layers.length; i++) {
    const raw: unknown = layers[i];
    const where = `${name}[${i}]`;
    const config = objectArg(where, raw);
    knownKeys(where, config, LAYER_KEYS);
    const units = integer(`${where}.units`, config.units, 1, 1 << 24);
    const activation = config.activation === undefined ? 'linear' : oneOf(`${where}.activation`, config.activation, ACTIVATIONS);
    const spec: NativeLayerSpec = { name: `${prefix}.${i}`, inputs, units, activation };
    if (activation === 'leakyRelu' || activation === 'elu') {
      spec.alpha = optionalNumber(`${where}.alpha`, config.alpha, activation === 'leakyRelu' ? 0.3 : 1, { min: 0, max: 1e6, maxExclusive: true, float32: true });
    } else if (config.alpha !== undefined) {
      throw rangeError(`${where}.alpha`, "used only with 'leakyRelu' or 'elu'", config.alpha);
    }
    if (config.groupSize !== undefined) {
      if (activation !== 'softmax') throw rangeError(`${where}.groupSize`, "used only with 'softmax'", config.groupSize);
      const group = integer(`${where}.groupSize`, config.groupSize, 1, units);
      if (units % group !== 0) throw rangeError(`${where}.groupSize`, `a divisor of units (${units})`, group);
      spec.group = group;
    }
    if (config.kernelInitializer !== undefined) {
      spec.kernelInitializer = oneOf(`${where}.kernelInitializer`, config.kernelInitializer, INITIALIZERS);
    }
    spec.dropout = optionalNumber(`${where}.dropout`, config.dropout, 0, { min: 0, max: 1, maxExclusive: true, float32: true });
    out.push(spec);
    inputs = units;
  }
  return out;
}

export function layerInfo(spec: NativeLayerSpec): LayerInfo {
  const info: LayerInfo = {
    name: spec.name,
    inputs: spec.inputs,
    units: spec.units,
    activation: spec.activation as ActivationName,
    parameters: spec.inputs * spec.units + spec.units,
  };
  if (spec.alpha !== undefined) info.alpha = spec.alpha;
  if (spec.group !== undefined) info.groupSize = spec.group;
  return info;
}
