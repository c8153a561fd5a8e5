// Model files: safetensors whose __metadata__ holds the architecture, the library and format
// versions and a checksum. Tensor names and layouts follow PyTorch's nn.Linear, so a PyTorch user
// loads the weights with safetensors' own loader.
import { readFile } from 'node:fs/promises';
import { types } from 'node:util';
import type { DenseLayerConfig } from './layers';
import type { NoiseConfig, RegularizationConfig } from './fit';
import { decodeSafetensors, encodeSafetensors, formatError, type Tensor } from './safetensors';
import { typeError } from './errors';

/** The newest file format this version reads and the one it writes. */
export const FORMAT_VERSION = 1;
const FORMAT_NAME = 'native-autoencoder';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { version: LIBRARY_VERSION } = require('../../package.json') as { version: string };

export interface EncoderArchitecture {
  kind: 'Encoder';
  inputDim: number;
  layers: DenseLayerConfig[];
}
export interface DecoderArchitecture {
  kind: 'Decoder';
  latentDim: number;
  layers: DenseLayerConfig[];
}
export interface AutoencoderArchitecture {
  kind: 'Autoencoder' | 'VariationalAutoencoder';
  encoder: Omit<EncoderArchitecture, 'kind'>;
  decoder: Omit<DecoderArchitecture, 'kind'>;
  regularization?: RegularizationConfig;
  noise?: NoiseConfig;
}
export type Architecture = EncoderArchitecture | DecoderArchitecture | AutoencoderArchitecture;
const KINDS = ['Encoder', 'Decoder', 'Autoencoder', 'VariationalAutoencoder'];

export interface ModelFile {
  architecture: Architecture;
  metadata: Record<string, string>;
  tensors: Map<string, Tensor>;
  source: string;
}

export function encodeModel(
  architecture: Architecture,
  tensors: [string, Tensor][],
  extraMetadata: Record<string, string> = {},
): Buffer {
  return encodeSafetensors(tensors, {
    format: FORMAT_NAME,
    format_version: String(FORMAT_VERSION),
    library_version: LIBRARY_VERSION,
    architecture: JSON.stringify(architecture),
    ...extraMetadata,
  });
}

/** Decodes and checks a model file; the architecture's details are checked when the model is built from it. */
export function decodeModel(bytes: Uint8Array, source: string): ModelFile {
  const { metadata, tensors } = decodeSafetensors(bytes, source);
  if (metadata.format !== FORMAT_NAME) throw formatError(source, `__metadata__.format is not '${FORMAT_NAME}'`);
  // Digits only: Number() would also read ' 1', '1.0', '0x1' or '1e0' as version 1.
  if (!/^[1-9][0-9]*$/.test(metadata.format_version ?? '')) {
    throw formatError(source, `format_version ${JSON.stringify(metadata.format_version)} is not a positive integer`);
  }
  const version = Number(metadata.format_version);
  if (version > FORMAT_VERSION) {
    throw formatError(source, `format version ${version} is newer than the version ${FORMAT_VERSION} this library (${LIBRARY_VERSION}) reads`);
  }
  if (metadata.checksum === undefined) throw formatError(source, '__metadata__.checksum is missing');
  let architecture: unknown;
  try {
    architecture = JSON.parse(metadata.architecture ?? '');
  } catch {
    throw formatError(source, '__metadata__.architecture is not JSON');
  }
  const kind = (architecture as { kind?: unknown } | null)?.kind;
  if (typeof architecture !== 'object' || architecture === null || !KINDS.includes(kind as string)) {
    throw formatError(source, `architecture kind ${JSON.stringify(kind)} is not one of ${KINDS.join(', ')}`);
  }
  return { architecture: architecture as Architecture, metadata, tensors, source };
}

/**
 * The parameters the file's architecture declares (where its widths are numbers): a file that
 * claims far more than it holds fails before a model of that size is allocated and zeroed.
 */
function declaredParameters(arch: Architecture): number {
  const stack = (inputs: unknown, layers: unknown): number => {
    if (typeof inputs !== 'number' || !Array.isArray(layers)) return 0;
    let total = 0;
    let width = inputs;
    for (const layer of layers) {
      const units = (layer as { units?: unknown } | null)?.units;
      if (typeof units !== 'number') break;
      total += (width + 1) * units;
      width = units;
    }
    return total;
  };
  if (arch.kind === 'Encoder') return stack(arch.inputDim, arch.layers);
  if (arch.kind === 'Decoder') return stack(arch.latentDim, arch.layers);
  return stack(arch.encoder?.inputDim, arch.encoder?.layers) + stack(arch.decoder?.latentDim, arch.decoder?.layers);
}

/** Builds a model from a file's architecture, turning any refusal into a format error naming the file. */
export function buildFrom<T>(file: ModelFile, what: string, build: () => T): T {
  const held = [...file.tensors.values()].reduce((sum, t) => sum + t.data.length, 0);
  const declared = declaredParameters(file.architecture);
  // Smaller gaps are left to the checks after building, whose messages name the tensor at fault.
  if (declared > held + DECLARED_BEYOND_HELD) {
    throw formatError(file.source, `the architecture declares ${declared} parameters, but the file holds ${held} values`);
  }
  try {
    return build();
  } catch (error) {
    // The machine's refusals (no GPU, no memory) are not the file's fault: they pass unchanged.
    if (MACHINE_ERRORS.has((error as { code?: string }).code ?? '')) throw error;
    throw formatError(file.source, `${what} in the architecture is invalid: ${(error as Error).message}`);
  }
}

const DECLARED_BEYOND_HELD = 1 << 20;

const MACHINE_ERRORS = new Set(['ERR_CUDA_UNAVAILABLE', 'ERR_CUDA', 'ERR_OUT_OF_MEMORY']);

/**
 * Checks that the file holds exactly the tensors `expected` (plus, in a checkpoint, its optimizer
 * state), with the expected shapes, and returns their data in order.
 */
export function expectTensors(file: ModelFile, expected: { name: string; shape: number[] }[], allowExtra: (name: string) => boolean): Float32Array[] {
  const wanted = new Set(expected.map((e) => e.name));
  for (const name of file.tensors.keys()) {
    if (!wanted.has(name) && !allowExtra(name)) throw formatError(file.source, `unexpected tensor '${name}' for this architecture`);
  }
  return expected.map(({ name, shape }) => {
    const t = file.tensors.get(name);
    if (!t) throw formatError(file.source, `tensor '${name}' is missing`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw formatError(file.source, `tensor '${name}' has shape [${t.shape.join(', ')}]; the architecture needs [${shape.join(', ')}]`);
    }
    return t.data;
  });
}

export async function readModelFile(path: unknown): Promise<ModelFile> {
  if (typeof path !== 'string' || path.length === 0) throw typeError('path', 'a non-empty string', path);
  return decodeModel(await readFile(path), path);
}

export function modelFromBuffer(buffer: unknown): ModelFile {
  // Not `instanceof`, which a Proxy of a Uint8Array passes and whose byteLength getter then throws a TypeError with no code.
  if (!types.isUint8Array(buffer)) throw typeError('buffer', 'a Buffer or Uint8Array', buffer);
  return decodeModel(buffer, 'buffer');
}
