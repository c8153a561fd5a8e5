// Export of a layer stack as an ONNX model (opset 13), so that a trained network runs wherever
// ONNX Runtime or another ONNX engine runs, without this package.
// onnx-proto's typings name the global `Long` (from @types/long, a dependency of protobufjs) without
// referencing it, and tsconfig lists only the node types.
/// <reference types="long" />
import * as os from 'node:os';
import { onnx } from 'onnx-proto';
import { codedError } from './errors';
import type { LayerInfo } from './layers';

// package.json lies outside tsc's rootDir, so it is required at run time rather than imported.
const { version: LIBRARY_VERSION } = require('../../package.json') as { version: string };

/** What an export needs from a stack: its name, layers and `getWeights()` tensors. */
export interface OnnxSource {
  name: string;
  layers: LayerInfo[];
  weights: { name: string; shape: number[]; data: Float32Array }[];
  /** A variational model: the index of the layer whose output is [mean | log-variance]; the next layer reads the mean. */
  meanOf?: number;
}

const ONNX_INPUT = 'input';
const ONNX_OUTPUT = 'output';
// IR version 7 arrived with opset 13 (ONNX 1.8); a newer one would shut out runtimes of that era.
const IR_VERSION = 7;
const OPSET = 13;
// Protobuf lengths are signed 32-bit, and larger weights would need ONNX external data.
const MAX_WEIGHT_BYTES = 2 ** 31 - 2 ** 24;

// The constants of the native kernels (native/core/activation.h), written out in full so that the
// exported SELU does not rely on a runtime's defaults.
const SELU_ALPHA = 1.6732632423543772848170429916717;
const SELU_GAMMA = 1.0507009873554804934193349852946;
const GELU_C = 0.7978845608028654; // sqrt(2 / pi)
const GELU_K = 0.044715;

const { DataType } = onnx.TensorProto;
const { AttributeType } = onnx.AttributeProto;
const littleEndian = os.endianness() === 'LE';

/** The ONNX ModelProto of `source`, serialized. */
export function toOnnxBytes(source: OnnxSource): Uint8Array {
  const graph = new GraphBuilder();
  const byName = new Map(source.weights.map((w) => [w.name, w]));
  const weightBytes = source.weights.reduce((sum, w) => sum + w.data.byteLength, 0);
  if (weightBytes > MAX_WEIGHT_BYTES) {
    throw codedError(RangeError, 'ERR_OUT_OF_RANGE', `The weights (${weightBytes} bytes) are too large for one ONNX file (at most ${MAX_WEIGHT_BYTES} bytes)`);
  }
  let x = ONNX_INPUT;
  source.layers.forEach((layer, i) => {
    const out = i === source.layers.length - 1 ? ONNX_OUTPUT : `${layer.name}.output`;
    const weight = byName.get(`${layer.name}.weight`);
    const bias = byName.get(`${layer.name}.bias`);
    if (!weight || !bias) throw new Error(`internal: missing the weights of layer ${layer.name}`);
    graph.initializer(floatTensor(weight.name, weight.shape, weight.data));
    graph.initializer(floatTensor(bias.name, bias.shape, bias.data));
    const linear = layer.activation === 'linear';
    // W is [out, in] (PyTorch layout), hence transB.
    const z = graph.node('Gemm', [x, weight.name, bias.name], linear ? out : `${layer.name}.gemm`, [int('transB', 1)]);
    if (!linear) activation(graph, layer, z, out);
    x = out;
    if (i === source.meanOf && i < source.layers.length - 1) {
      // The decoder reads the mean: the first half of each [mean | log-variance] row.
      const half = layer.units / 2;
      x = graph.node(
        'Slice',
        [x, graph.shape(`${layer.name}.mean.starts`, [0]), graph.shape(`${layer.name}.mean.ends`, [half]), graph.shape(`${layer.name}.mean.axes`, [1])],
        `${layer.name}.mean`,
      );
    }
  });

  const first = source.layers[0];
  const last = source.layers[source.layers.length - 1];
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: OPSET }],
    producerName: 'native-autoencoder',
    producerVersion: LIBRARY_VERSION,
    graph: {
      name: source.name,
      node: graph.nodes,
      initializer: graph.initializers,
      input: [valueInfo(ONNX_INPUT, first.inputs)],
      output: [valueInfo(ONNX_OUTPUT, last.units)],
    },
    metadataProps: [{ key: 'layers', value: JSON.stringify(source.layers) }],
  });
  return onnx.ModelProto.encode(model).finish();
}

function activation(graph: GraphBuilder, layer: LayerInfo, z: string, out: string): void {
  const tmp = (suffix: string) => `${layer.name}.${suffix}`;
  switch (layer.activation) {
    case 'relu':
      graph.node('Relu', [z], out);
      return;
    case 'leakyRelu':
      graph.node('LeakyRelu', [z], out, [float('alpha', layer.alpha ?? 0.3)]);
      return;
    case 'elu':
      graph.node('Elu', [z], out, [float('alpha', layer.alpha ?? 1)]);
      return;
    case 'selu':
      graph.node('Selu', [z], out, [float('alpha', SELU_ALPHA), float('gamma', SELU_GAMMA)]);
      return;
    case 'sigmoid':
      graph.node('Sigmoid', [z], out);
      return;
    case 'tanh':
      graph.node('Tanh', [z], out);
      return;
    case 'softplus':
      graph.node('Softplus', [z], out);
      return;
    case 'silu':
    case 'swish':
      graph.node('Mul', [z, graph.node('Sigmoid', [z], tmp('sigmoid'))], out);
      return;
    case 'gelu': {
      // Opset 13 has no Gelu, so the tanh form 0.5·z·(1 + tanh(c·(z + k·z³))) is spelled out, with
      // products grouped as the native kernel groups them: (k·z)·(z·z) + z.
      const kz = graph.node('Mul', [z, graph.scalar('gelu.k', GELU_K)], tmp('kz'));
      const z2 = graph.node('Mul', [z, z], tmp('z2'));
      const kz3 = graph.node('Mul', [kz, z2], tmp('kz3'));
      const sum = graph.node('Add', [kz3, z], tmp('sum'));
      const inner = graph.node('Mul', [sum, graph.scalar('gelu.c', GELU_C)], tmp('inner'));
      const t = graph.node('Tanh', [inner], tmp('tanh'));
      const onePlus = graph.node('Add', [t, graph.scalar('gelu.one', 1)], tmp('one_plus'));
      const half = graph.node('Mul', [z, graph.scalar('gelu.half', 0.5)], tmp('half'));
      graph.node('Mul', [half, onePlus], out);
      return;
    }
    case 'softmax': {
      const group = layer.groupSize;
      if (group === undefined || group === layer.units) {
        graph.node('Softmax', [z], out, [int('axis', -1)]);
        return;
      }
      // Softmax normalises one axis only, so each group of columns gets an axis of its own.
      const grouped = graph.shape(`${layer.name}.groups`, [-1, layer.units / group, group]);
      const flat = graph.shape(`${layer.name}.units`, [-1, layer.units]);
      const r = graph.node('Reshape', [z, grouped], tmp('grouped'));
      const s = graph.node('Softmax', [r], tmp('softmax'), [int('axis', -1)]);
      graph.node('Reshape', [s, flat], out);
      return;
    }
    default:
      throw new Error(`internal: no ONNX form for activation '${layer.activation}'`);
  }
}

class GraphBuilder {
  readonly nodes: onnx.INodeProto[] = [];
  readonly initializers: onnx.ITensorProto[] = [];
  #names = new Set<string>();

  /** Adds a node and returns the name of its output. */
  node(op: string, inputs: string[], output: string, attribute: onnx.IAttributeProto[] = []): string {
    this.nodes.push({
      name: `${output}:${op}`,
      opType: op,
      input: inputs,
      output: [output],
      attribute,
    });
    return output;
  }

  initializer(tensor: onnx.ITensorProto): string {
    const name = tensor.name as string;
    if (!this.#names.has(name)) {
      this.#names.add(name);
      this.initializers.push(tensor);
    }
    return name;
  }

  /** A float32 scalar, shared by every node that uses the same name. */
  scalar(name: string, value: number): string {
    return this.#names.has(name) ? name : this.initializer(floatTensor(name, [], Float32Array.of(value)));
  }

  /** An int64 vector (a Reshape shape, Slice bounds). */
  shape(name: string, dims: number[]): string {
    const data = new Uint8Array(dims.length * 8);
    const view = new DataView(data.buffer);
    dims.forEach((d, i) => view.setBigInt64(i * 8, BigInt(d), true));
    return this.initializer({ name, dims: [dims.length], dataType: DataType.INT64, rawData: data });
  }
}

function int(name: string, value: number): onnx.IAttributeProto {
  return { name, type: AttributeType.INT, i: value };
}

function float(name: string, value: number): onnx.IAttributeProto {
  return { name, type: AttributeType.FLOAT, f: value };
}

// raw_data is little-endian by the ONNX spec; on a little-endian host that is the array's own memory.
function floatTensor(name: string, dims: number[], values: Float32Array): onnx.ITensorProto {
  let raw: Uint8Array;
  if (littleEndian) {
    raw = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  } else {
    raw = new Uint8Array(values.byteLength);
    const view = new DataView(raw.buffer);
    values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  }
  return { name, dims, dataType: DataType.FLOAT, rawData: raw };
}

function valueInfo(name: string, width: number): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: DataType.FLOAT,
        shape: { dim: [{ dimParam: 'batch' }, { dimValue: width }] },
      },
    },
  };
}
