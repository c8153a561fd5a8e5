// Corrupt model files: every check of the reader refuses a crafted file with ERR_MODEL_FORMAT naming the source and the check; truncations and random bit flips never load as a different model.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { Autoencoder, Decoder, Encoder } from 'native-autoencoder';
import { mulberry32, rejection, syntheticData, thrown } from './helpers';

const dir = mkdtempSync(join(tmpdir(), 'na-model-corrupt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const D = 6;
const x = syntheticData(8, D, 3);
const z = Float32Array.from({ length: 8 * 2 }, (_, i) => Math.cos(i));

function referenceModel(l2: number): Autoencoder {
  return new Autoencoder({
    encoder: new Encoder({ inputDim: D, layers: [{ units: 4, activation: 'leakyRelu', alpha: 0.2 }, { units: 2 }], seed: 1 }),
    decoder: new Decoder({ latentDim: 2, layers: [{ units: 4, activation: 'relu', dropout: 0.1 }, { units: D, activation: 'softmax', groupSize: 3 }], seed: 2 }),
    seed: 3,
    regularization: { l2 },
    noise: { type: 'gaussian', stddev: 0.05 },
  });
}

/** A small autoencoder; of two l2 values whose JSON differs by one character, the one whose header ends in padding, so that damage can hit it. */
const reference = [0.001, 0.0001].map(referenceModel).find((m) => {
  const file = m.toBuffer();
  return file.subarray(8, 8 + Number(file.readBigUInt64LE(0))).toString('latin1').endsWith(' ');
})!;
const referenceFile = reference.toBuffer();
const referenceEncoderFile = reference.encoder.toBuffer();
const headerLength = Number(referenceFile.readBigUInt64LE(0));
const referenceHeaderText = referenceFile.subarray(8, 8 + headerLength).toString('utf8');
const referenceHeader = JSON.parse(referenceHeaderText) as Record<string, unknown>;

type Entry = { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
type Loader = typeof Autoencoder | typeof Encoder | typeof Decoder;

/** A model file taken apart: metadata, tensor entries in header order, data section. */
interface Parts {
  metadata: Record<string, unknown>;
  tensors: [string, unknown][];
  data: Buffer;
}

function split(file: Buffer): Parts {
  const length = Number(file.readBigUInt64LE(0));
  const { __metadata__: metadata, ...tensors } = JSON.parse(file.subarray(8, 8 + length).toString('utf8')) as Record<string, unknown>;
  return { metadata: { ...(metadata as Record<string, unknown>) }, tensors: Object.entries(tensors), data: Buffer.from(file.subarray(8 + length)) };
}

/** An 8-byte length, then any header bytes (padded with spaces to a multiple of 8), then data. */
function frame(header: Buffer | string, data: Buffer): Buffer {
  const text = Buffer.from(header);
  return u64(BigInt(text.length + ((8 - (text.length % 8)) % 8)), Buffer.concat([text, Buffer.alloc((8 - (text.length % 8)) % 8, 0x20), data]));
}

/** An 8-byte little-endian length in front of `rest`. */
function u64(value: bigint, rest: Buffer): Buffer {
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(value);
  return Buffer.concat([prefix, rest]);
}

/**
 * Reassembles parts. The checksum is recomputed (so the check under test is the one that fails)
 * unless `checksum` says to keep the one in the metadata or to leave it out.
 */
function assemble(parts: Parts, checksum: 'recompute' | 'keep' | 'omit' = 'recompute'): Buffer {
  const { checksum: stored, ...rest } = parts.metadata;
  const tensors = Object.fromEntries(parts.tensors);
  let metadata: Record<string, unknown> = rest;
  if (checksum === 'keep') metadata = { ...rest, checksum: stored };
  if (checksum === 'recompute') {
    const digest = createHash('sha256').update(JSON.stringify({ __metadata__: rest, ...tensors })).update(parts.data).digest('hex');
    metadata = { ...rest, checksum: `sha256:${digest}` };
  }
  return frame(JSON.stringify({ __metadata__: metadata, ...tensors }), parts.data);
}

/** The reference file with changes made to its parts. */
function edited(change: (p: Parts) => void, checksum: 'recompute' | 'keep' | 'omit' = 'recompute', file = referenceFile): Buffer {
  const parts = split(file);
  change(parts);
  return assemble(parts, checksum);
}

function entry(p: Parts, name: string): Entry {
  const found = p.tensors.find(([n]) => n === name);
  if (!found) throw new Error(`no tensor ${name}`);
  return found[1] as Entry;
}

function offsets(p: Parts, name: string): [number, number] {
  return entry(p, name).data_offsets as [number, number];
}

/** Edits the architecture held in the metadata. */
function architecture(change: (a: Record<string, any>) => void, file = referenceFile): Buffer {
  return edited((p) => {
    const arch = JSON.parse(p.metadata.architecture as string) as Record<string, any>;
    change(arch);
    p.metadata.architecture = JSON.stringify(arch);
  }, 'recompute', file);
}

/** Replaces text in the architecture JSON (for what JSON.stringify cannot write, such as an own '__proto__' key). */
function architectureText(from: string, to: string): Buffer {
  return edited((p) => {
    const text = p.metadata.architecture as string;
    if (!text.includes(from)) throw new Error(`architecture has no ${from}`);
    p.metadata.architecture = text.replace(from, to);
  });
}

function setFloat(p: Parts, name: string, index: number, value: number): void {
  p.data.writeFloatLE(value, offsets(p, name)[0] + index * 4);
}

const dataLength = referenceFile.length - 8 - headerLength;

/** [what is wrong, the file, the loader, the check the message must name]. */
const cases: [string, Buffer, Loader, string | RegExp][] = [
  // The frame.
  ['a file shorter than 8 bytes', referenceFile.subarray(0, 5), Autoencoder, 'file of 5 bytes is shorter than the 8-byte header length'],
  ['an empty file', Buffer.alloc(0), Encoder, 'file of 0 bytes is shorter than the 8-byte header length'],
  ['a header length over the cap', u64(16n * 1024n * 1024n + 1n, referenceFile.subarray(8)), Autoencoder, 'header length 16777217 exceeds the cap of 16777216 bytes'],
  ['a header length of 2^64 - 1', u64(2n ** 64n - 1n, referenceFile.subarray(8)), Decoder, 'header length 18446744073709551615 exceeds the cap'],
  [
    'a header length past the end of the file',
    u64(BigInt(referenceFile.length - 7), referenceFile.subarray(8)),
    Autoencoder,
    `header length ${referenceFile.length - 7} runs past the end of the ${referenceFile.length}-byte file`,
  ],
  // The header text.
  ['a header that is not UTF-8 (a 0xff byte)', frame(Buffer.from(referenceHeaderText.trimEnd().replace('native-autoencoder', 'native-autoencode\u00ff'), 'latin1'), split(referenceFile).data), Autoencoder, /^.*: header is not UTF-8 JSON \(.*utf-8.*\)$/i],
  ['a header with an overlong UTF-8 sequence', frame(Buffer.concat([Buffer.from('{"__metadata__":{"format":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}}')]), Buffer.alloc(0)), Autoencoder, /header is not UTF-8 JSON \(.*utf-8.*\)$/i],
  ['a header that is not JSON', frame('{"__metadata__":{', split(referenceFile).data), Autoencoder, /header is not UTF-8 JSON \(.*JSON.*\)$/],
  ['a header with text after the JSON', frame(`${referenceHeaderText.trimEnd()}x`, split(referenceFile).data), Autoencoder, /header is not UTF-8 JSON \(/],
  ['a header that is a JSON array', frame('[]', Buffer.alloc(0)), Autoencoder, 'header is not a JSON object'],
  ['a header that is JSON null', frame('null', Buffer.alloc(0)), Encoder, 'header is not a JSON object'],
  ['a header that is a JSON string', frame('"{}"', Buffer.alloc(0)), Decoder, 'header is not a JSON object'],
  // The metadata.
  ['no __metadata__', frame(JSON.stringify(Object.fromEntries(split(referenceFile).tensors)), split(referenceFile).data), Autoencoder, '__metadata__ is missing or not an object'],
  ['__metadata__ an array', frame('{"__metadata__":[]}', Buffer.alloc(0)), Autoencoder, '__metadata__ is missing or not an object'],
  ['__metadata__ a string', frame('{"__metadata__":"x"}', Buffer.alloc(0)), Autoencoder, '__metadata__ is missing or not an object'],
  ['a metadata value that is a number', edited((p) => (p.metadata.format_version = 1)), Autoencoder, '__metadata__.format_version is not a string'],
  ['a metadata value that is an object', edited((p) => (p.metadata.architecture = { kind: 'Autoencoder' })), Autoencoder, '__metadata__.architecture is not a string'],
  // Tensor entries.
  ['a tensor entry that is not an object', edited((p) => (p.tensors[1][1] = [1, 2])), Autoencoder, "tensor 'encoder.0.bias' is not an object"],
  ['an unknown dtype', edited((p) => (entry(p, 'encoder.0.weight').dtype = 'F33')), Autoencoder, `tensor 'encoder.0.weight' has unknown dtype "F33"`],
  ['a dtype named like an Object.prototype key', edited((p) => (entry(p, 'encoder.0.bias').dtype = 'constructor')), Autoencoder, `tensor 'encoder.0.bias' has unknown dtype "constructor"`],
  ['a missing dtype', edited((p) => delete entry(p, 'encoder.0.bias').dtype), Autoencoder, "tensor 'encoder.0.bias' has unknown dtype undefined"],
  ['a negative dimension', edited((p) => (entry(p, 'encoder.0.weight').shape = [4, -6])), Autoencoder, "tensor 'encoder.0.weight' has a shape that is not a list of non-negative integers"],
  ['a fractional dimension', edited((p) => (entry(p, 'encoder.0.weight').shape = [4, 6.5])), Autoencoder, 'has a shape that is not a list of non-negative integers'],
  ['a dimension given as a string', edited((p) => (entry(p, 'encoder.0.weight').shape = [4, '6'])), Autoencoder, 'has a shape that is not a list of non-negative integers'],
  ['a shape that is not a list', edited((p) => (entry(p, 'encoder.0.bias').shape = 4)), Autoencoder, 'has a shape that is not a list of non-negative integers'],
  ['data_offsets of one number', edited((p) => (entry(p, 'encoder.0.bias').data_offsets = [96])), Autoencoder, "tensor 'encoder.0.bias' has data_offsets that are not [begin, end] with 0 <= begin <= end"],
  ['data_offsets of three numbers', edited((p) => (entry(p, 'encoder.0.bias').data_offsets = [96, 112, 112])), Autoencoder, 'has data_offsets that are not [begin, end]'],
  ['a negative data offset', edited((p) => (entry(p, 'encoder.0.weight').data_offsets = [-4, 92])), Autoencoder, 'has data_offsets that are not [begin, end]'],
  ['a data offset given as a string', edited((p) => (entry(p, 'encoder.0.weight').data_offsets = ['0', 96])), Autoencoder, 'has data_offsets that are not [begin, end]'],
  ['data_offsets with begin > end', edited((p) => (entry(p, 'encoder.0.weight').data_offsets = [96, 0])), Autoencoder, "tensor 'encoder.0.weight' has data_offsets that are not [begin, end] with 0 <= begin <= end"],
  ['a shape × dtype size other than the offsets span', edited((p) => (entry(p, 'encoder.0.weight').shape = [4, 5])), Autoencoder, "tensor 'encoder.0.weight': shape [4, 5] of F32 needs 80 bytes but data_offsets span 96"],
  ['a shape whose size overflows', edited((p) => (entry(p, 'encoder.0.weight').shape = [2 ** 40, 2 ** 40])), Autoencoder, "tensor 'encoder.0.weight': shape × dtype size overflows"],
  // The layout of the data section.
  [
    'a gap between tensors',
    edited((p) => {
      const [begin, end] = offsets(p, 'decoder.1.bias');
      entry(p, 'decoder.1.bias').data_offsets = [begin + 4, end + 4];
      p.data = Buffer.concat([p.data.subarray(0, begin), Buffer.alloc(4), p.data.subarray(begin)]);
    }),
    Autoencoder,
    `tensor 'decoder.1.bias' starts at byte ${dataLength - 24 + 4} of the data, expected ${dataLength - 24} (gap or overlap)`,
  ],
  [
    'overlapping tensors',
    edited((p) => {
      const [begin, end] = offsets(p, 'decoder.1.bias');
      entry(p, 'decoder.1.bias').data_offsets = [begin - 4, end - 4];
      p.data = p.data.subarray(0, p.data.length - 4);
    }),
    Autoencoder,
    `tensor 'decoder.1.bias' starts at byte ${dataLength - 28} of the data, expected ${dataLength - 24} (gap or overlap)`,
  ],
  ['two tensors at the same offsets', edited((p) => (entry(p, 'encoder.1.bias').data_offsets = offsets(p, 'encoder.1.bias').map((o) => o - 8))), Autoencoder, '(gap or overlap)'],
  ['extra bytes after the last tensor', edited((p) => (p.data = Buffer.concat([p.data, Buffer.alloc(4)]))), Autoencoder, `tensors end at byte ${dataLength} of the data but the file holds ${dataLength + 4} data bytes`],
  ['a data section shorter than the tensors', edited((p) => (p.data = p.data.subarray(0, dataLength - 4))), Autoencoder, `tensors end at byte ${dataLength} of the data but the file holds ${dataLength - 4} data bytes`],
  // The checksum.
  ['a flipped data byte under the old checksum', edited((p) => (p.data[5] ^= 0x10), 'keep'), Autoencoder, 'checksum of the header and tensor data does not match __metadata__.checksum'],
  ['a changed metadata value under the old checksum', edited((p) => (p.metadata.library_version = '9.9.9'), 'keep'), Autoencoder, 'does not match __metadata__.checksum'],
  ['a changed activation under the old checksum', edited((p) => (p.metadata.architecture = (p.metadata.architecture as string).replace('"relu"', '"selu"')), 'keep'), Decoder, 'does not match __metadata__.checksum'],
  ['a checksum that is not SHA-256', edited((p) => (p.metadata.checksum = 'md5:0123'), 'keep'), Autoencoder, 'does not match __metadata__.checksum'],
  ['no checksum', edited(() => undefined, 'omit'), Autoencoder, '__metadata__.checksum is missing'],
  // The model-file metadata.
  ['another format', edited((p) => (p.metadata.format = 'gguf')), Autoencoder, "__metadata__.format is not 'native-autoencoder'"],
  ['no format', edited((p) => delete p.metadata.format), Encoder, "__metadata__.format is not 'native-autoencoder'"],
  ['a newer format version', edited((p) => (p.metadata.format_version = '2')), Autoencoder, /format version 2 is newer than the version 1 this library \(\d+\.\d+\.\d+.*\) reads/],
  ['a non-integer format version', edited((p) => (p.metadata.format_version = '1.5')), Autoencoder, 'format_version "1.5" is not a positive integer'],
  ['format version 0', edited((p) => (p.metadata.format_version = '0')), Autoencoder, 'format_version "0" is not a positive integer'],
  ['format version " 1"', edited((p) => (p.metadata.format_version = ' 1')), Autoencoder, 'format_version " 1" is not a positive integer'],
  ['format version "0x1"', edited((p) => (p.metadata.format_version = '0x1')), Autoencoder, 'format_version "0x1" is not a positive integer'],
  ['no format version', edited((p) => delete p.metadata.format_version), Decoder, 'format_version undefined is not a positive integer'],
  ['an architecture that is not JSON', edited((p) => (p.metadata.architecture = '{kind: Autoencoder}')), Autoencoder, '__metadata__.architecture is not JSON'],
  ['no architecture', edited((p) => delete p.metadata.architecture), Autoencoder, '__metadata__.architecture is not JSON'],
  ['an unknown architecture kind', architecture((a) => (a.kind = 'Transformer')), Autoencoder, 'architecture kind "Transformer" is not one of Encoder, Decoder, Autoencoder'],
  ['an architecture without a kind', architecture((a) => delete a.kind), Encoder, 'architecture kind undefined is not one of Encoder, Decoder, Autoencoder'],
  ['an architecture that is null', edited((p) => (p.metadata.architecture = 'null')), Autoencoder, 'architecture kind undefined is not one of'],
  ['an architecture that is a string', edited((p) => (p.metadata.architecture = '"Autoencoder"')), Autoencoder, 'architecture kind undefined is not one of'],
  ['an Encoder file loaded as an Autoencoder', referenceEncoderFile, Autoencoder, 'holds an Encoder, not an Autoencoder'],
  ['an Encoder file loaded as a Decoder', referenceEncoderFile, Decoder, 'Encoder file holds no decoder'],
  // The layer configs in the architecture.
  ["an unknown activation 'evil'", architecture((a) => (a.encoder.layers[0].activation = 'evil')), Autoencoder, /the autoencoder in the architecture is invalid: .*"config\.layers\[0\]\.activation".*evil/],
  ['units -1', architecture((a) => (a.decoder.layers[0].units = -1)), Autoencoder, /the autoencoder in the architecture is invalid: .*"config\.layers\[0\]\.units".*-1/],
  ["a 'path' key in a layer", architecture((a) => (a.encoder.layers[1].path = '/etc/passwd')), Autoencoder, /the autoencoder in the architecture is invalid: .*"config\.layers\[1\]\.path"/],
  ["a '__proto__' key in a layer", architectureText('{"units":4,', '{"__proto__":{"units":99},"units":4,'), Autoencoder, /the autoencoder in the architecture is invalid: .*"config\.layers\[0\]\.__proto__"/],
  ["an unknown activation in an Encoder file", architecture((a) => (a.layers[0].activation = 'evil'), referenceEncoderFile), Encoder, /the encoder in the architecture is invalid: .*"config\.layers\[0\]\.activation"/],
  ["an unknown activation in the decoder half, read by Decoder.load", architecture((a) => (a.decoder.layers[1].activation = 'evil')), Decoder, /the decoder in the architecture is invalid: .*"config\.layers\[1\]\.activation"/],
  ['a groupSize that does not divide units', architecture((a) => (a.decoder.layers[1].groupSize = 4)), Autoencoder, /the autoencoder in the architecture is invalid: .*groupSize/],
  ['no encoder in an Autoencoder architecture', architecture((a) => delete a.encoder), Autoencoder, /the autoencoder in the architecture is invalid: .*"config\.inputDim"/],
  ['mismatched halves', architecture((a) => (a.decoder.latentDim = 3)), Autoencoder, /the autoencoder in the architecture is invalid: .*latentDim/],
  ['a negative l2', architecture((a) => (a.regularization.l2 = -1)), Autoencoder, /the autoencoder in the architecture is invalid: .*"config\.regularization\.l2"/],
  ['an unknown noise type', architecture((a) => (a.noise = { type: 'salt', rate: 0.1 })), Autoencoder, /the autoencoder in the architecture is invalid: .*"config\.noise\.type"/],
  // The tensors against the architecture.
  [
    'a missing tensor',
    edited((p) => {
      p.tensors = p.tensors.filter(([n]) => n !== 'decoder.1.bias');
      p.data = p.data.subarray(0, dataLength - 24);
    }),
    Autoencoder,
    "tensor 'decoder.1.bias' is missing",
  ],
  [
    'a missing tensor of the half that Encoder.load reads',
    edited((p) => {
      const [begin, end] = offsets(p, 'encoder.1.bias');
      p.tensors = p.tensors.filter(([n]) => n !== 'encoder.1.bias');
      for (const [, e] of p.tensors) {
        const o = (e as Entry).data_offsets as number[];
        if (o[0] >= end) (e as Entry).data_offsets = [o[0] - (end - begin), o[1] - (end - begin)];
      }
      p.data = Buffer.concat([p.data.subarray(0, begin), p.data.subarray(end)]);
    }),
    Encoder,
    "tensor 'encoder.1.bias' is missing",
  ],
  ...extraTensorCases(),
  ['a weight of the wrong shape', edited((p) => (entry(p, 'encoder.0.weight').shape = [6, 4])), Autoencoder, "tensor 'encoder.0.weight' has shape [6, 4]; the architecture needs [4, 6]"],
  ['a bias of the wrong rank', edited((p) => (entry(p, 'decoder.0.bias').shape = [2, 2])), Decoder, "tensor 'decoder.0.bias' has shape [2, 2]; the architecture needs [4]"],
  ['an I32 tensor', edited((p) => (entry(p, 'encoder.0.bias').dtype = 'I32')), Autoencoder, "tensor 'encoder.0.bias' is I32; this library reads F32"],
  [
    'an F16 tensor',
    edited((p) => {
      entry(p, 'decoder.1.bias').dtype = 'F16';
      entry(p, 'decoder.1.bias').shape = [12];
    }),
    Autoencoder,
    "tensor 'decoder.1.bias' is F16; this library reads F32",
  ],
  ['a NaN weight', edited((p) => setFloat(p, 'encoder.1.weight', 3, NaN)), Autoencoder, "tensor 'encoder.1.weight' holds a non-finite value at index 3"],
  ['an infinite bias', edited((p) => setFloat(p, 'decoder.1.bias', 5, -Infinity)), Decoder, "tensor 'decoder.1.bias' holds a non-finite value at index 5"],
];

/** Extra tensors: in any file, and those that would only belong in another kind of file. */
function extraTensorCases(): [string, Buffer, Loader, string | RegExp][] {
  const withExtra = (name: string, file: Buffer, training?: string) =>
    edited((p) => {
      p.tensors.push([name, { dtype: 'F32', shape: [1], data_offsets: [p.data.length, p.data.length + 4] }]);
      p.data = Buffer.concat([p.data, Buffer.alloc(4)]);
      if (training !== undefined) p.metadata.training = training;
    }, 'recompute', file);
  return [
    ['an unexpected extra tensor', withExtra('extra.weight', referenceFile), Autoencoder, "unexpected tensor 'extra.weight' for this architecture"],
    ['an extra tensor read by Encoder.load', withExtra('extra.weight', referenceFile), Encoder, "unexpected tensor 'extra.weight' for this architecture"],
    ['an extra tensor read by Decoder.load', withExtra('extra.weight', referenceFile), Decoder, "unexpected tensor 'extra.weight' for this architecture"],
    ['an extra encoder layer', withExtra('encoder.2.bias', referenceFile), Autoencoder, "unexpected tensor 'encoder.2.bias' for this architecture"],
    ['an optimizer slot outside a checkpoint', withExtra('optimizer.s1.encoder.0.bias', referenceFile), Autoencoder, "unexpected tensor 'optimizer.s1.encoder.0.bias' for this architecture"],
    ['an optimizer slot in an Encoder file', withExtra('optimizer.s1.encoder.0.bias', referenceEncoderFile), Encoder, "unexpected tensor 'optimizer.s1.encoder.0.bias' for this architecture"],
    ['an optimizer slot in an Encoder file that claims training state', withExtra('optimizer.s1.encoder.0.bias', referenceEncoderFile, '{}'), Encoder, "unexpected tensor 'optimizer.s1.encoder.0.bias'"],
    ['a decoder tensor in an Encoder file', withExtra('decoder.0.bias', referenceEncoderFile), Encoder, "unexpected tensor 'decoder.0.bias' for this architecture"],
  ];
}

function loaderName(loader: Loader): string {
  return loader === Autoencoder ? 'Autoencoder' : loader === Encoder ? 'Encoder' : 'Decoder';
}

function expectFormatError(error: unknown, source: string, check: string | RegExp): void {
  expect(error).toBeInstanceOf(Error);
  expect(error).toHaveProperty('code', 'ERR_MODEL_FORMAT');
  const message = (error as Error).message;
  expect(message.startsWith(`${source}: `)).toBe(true);
  if (typeof check === 'string') expect(message).toContain(check);
  else expect(message).toMatch(check);
}

describe('every check refuses its crafted file', () => {
  it('the reference file itself loads with every loader', () => {
    expect(Autoencoder.fromBuffer(referenceFile).toBuffer().equals(referenceFile)).toBe(true);
    expect(Encoder.fromBuffer(referenceFile).toBuffer().equals(referenceEncoderFile)).toBe(true);
    expect(Decoder.fromBuffer(referenceFile).toBuffer().equals(reference.decoder.toBuffer())).toBe(true);
    // assemble() rebuilds it exactly, so each crafted file differs from a valid one only where the case says.
    expect(assemble(split(referenceFile)).equals(referenceFile)).toBe(true);
    expect(assemble(split(referenceEncoderFile)).equals(referenceEncoderFile)).toBe(true);
  });

  cases.forEach(([what, file, loader, check], i) => {
    it(`${what}: ${loaderName(loader)}.fromBuffer names 'buffer', ${loaderName(loader)}.load names the path`, async () => {
      expectFormatError(thrown(() => loader.fromBuffer(file)), 'buffer', check);
      const path = join(dir, `case-${i}.safetensors`);
      writeFileSync(path, file);
      expectFormatError(await rejection(loader.load(path)), path, check);
    });
  });
});

describe('damaged copies of a valid file', () => {
  it('every truncation is refused with ERR_MODEL_FORMAT', () => {
    for (let length = 0; length < referenceFile.length; length++) {
      const error = thrown(() => Autoencoder.fromBuffer(referenceFile.subarray(0, length)));
      if ((error as { code?: unknown }).code !== 'ERR_MODEL_FORMAT') throw new Error(`truncation to ${length} bytes: ${String(error)}`);
    }
    console.log(`truncations: ${referenceFile.length} tried (0..${referenceFile.length - 1} bytes), all refused`);
  });

  /** Each loader's view of the reference: a loaded copy must equal it bit for bit. */
  const views = [
    { loader: Autoencoder as Loader, file: referenceFile, input: x, output: reference.predict(x).data },
    { loader: Encoder as Loader, file: referenceEncoderFile, input: x, output: reference.encode(x).data },
    { loader: Decoder as Loader, file: reference.decoder.toBuffer(), input: z, output: reference.decode(z).data },
  ];
  const paddingStart = 8 + referenceHeaderText.trimEnd().length;

  /** True when the damaged file differs only inside the header and the header still parses to the same JSON value. */
  function sameMeaning(damaged: Buffer): boolean {
    if (!damaged.subarray(0, 8).equals(referenceFile.subarray(0, 8))) return false;
    if (!damaged.subarray(8 + headerLength).equals(referenceFile.subarray(8 + headerLength))) return false;
    try {
      const text = new TextDecoder('utf-8', { fatal: true }).decode(damaged.subarray(8, 8 + headerLength));
      return isDeepStrictEqual(JSON.parse(text), referenceHeader);
    } catch {
      return false;
    }
  }

  function attack(kind: string, seed: number, damage: (file: Buffer, random: () => number) => number): void {
    const random = mulberry32(seed);
    let rejected = 0;
    let acceptedPadding = 0;
    let acceptedSameJson = 0;
    const tries = 1000;
    for (let i = 0; i < tries; i++) {
      const damaged = Buffer.from(referenceFile);
      const at = damage(damaged, random);
      const { loader, file, input, output } = views[i % 3];
      let model: Autoencoder | Encoder | Decoder;
      try {
        model = loader.fromBuffer(damaged);
      } catch (error) {
        if (!(error instanceof Error) || (error as { code?: unknown }).code !== 'ERR_MODEL_FORMAT') {
          throw new Error(`${kind} #${i} at byte ${at}: refused with something other than ERR_MODEL_FORMAT: ${String(error)}`);
        }
        rejected++;
        continue;
      }
      if (!sameMeaning(damaged)) throw new Error(`${kind} #${i} at byte ${at} (${loaderName(loader)}): a changed file was accepted`);
      const out = model.predict(input).data;
      expect(Buffer.from(out.buffer, out.byteOffset, out.byteLength).equals(Buffer.from(output.buffer, output.byteOffset, output.byteLength))).toBe(true);
      expect(model.toBuffer().equals(file)).toBe(true);
      if (at >= paddingStart && at < 8 + headerLength) acceptedPadding++;
      else acceptedSameJson++;
    }
    console.log(
      `${kind}: ${tries} tried on a ${referenceFile.length}-byte file (header ${headerLength} bytes, ${8 + headerLength - paddingStart} of them padding), ` +
        `${rejected} refused with ERR_MODEL_FORMAT, ${acceptedPadding + acceptedSameJson} loaded unchanged ` +
        `(${acceptedPadding} in the header padding, ${acceptedSameJson} elsewhere with the same JSON)`,
    );
  }

  it('1,000 random single-bit flips are refused, or load the same model', () => {
    attack('single-bit flips', 0xb17f, (file, random) => {
      const at = Math.floor(random() * file.length);
      file[at] ^= 1 << Math.floor(random() * 8);
      return at;
    });
  });

  it('1,000 random byte overwrites are refused, or load the same model', () => {
    attack('byte overwrites', 0x0b7e, (file, random) => {
      const at = Math.floor(random() * file.length);
      file[at] = (file[at] + 1 + Math.floor(random() * 255)) % 256;
      return at;
    });
  });

  it('whitespace written over the header padding still loads the same model', () => {
    expect(8 + headerLength - paddingStart).toBeGreaterThan(0);
    const damaged = Buffer.from(referenceFile);
    damaged[8 + headerLength - 1] = 0x0a;
    expect(sameMeaning(damaged)).toBe(true);
    expect(Autoencoder.fromBuffer(damaged).toBuffer().equals(referenceFile)).toBe(true);
  });
});

describe('architectures that claim more than the file holds', () => {
  it('are refused with ERR_MODEL_FORMAT before a model of that size is allocated', () => {
    const huge = edited((p) => {
      const arch = JSON.parse(p.metadata.architecture as string) as { encoder: { inputDim: number; layers: { units: number }[] } };
      arch.encoder.inputDim = 2 ** 22;
      arch.encoder.layers[0].units = 2 ** 22;
      p.metadata.architecture = JSON.stringify(arch);
    });
    const before = process.memoryUsage().rss;
    const error = thrown(() => Autoencoder.fromBuffer(huge));
    expect(error).toHaveProperty('code', 'ERR_MODEL_FORMAT');
    expect((error as Error).message).toMatch(/^buffer: the architecture declares \d+ parameters, but the file holds \d+ values$/);
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 2 ** 20);
  });
});

describe('checkpoints with damaged training state', () => {
  it('refuse to resume with ERR_MODEL_FORMAT naming the file and the field, the weights unchanged', async () => {
    const good = join(dir, 'reference.ckpt');
    await referenceModel(0.001).fit(x, { epochs: 1, batchSize: 4, checkpoint: { path: good } });
    const cases: [string, (training: Record<string, unknown>) => unknown, string][] = [
      ['not an object', () => null, '__metadata__.training is not a JSON object'],
      ['an array', () => [1, 2], '__metadata__.training is not a JSON object'],
      ['an all-zero generator (drawing from it would never end)', (t) => ({ ...t, rng: ['0', '0', '0', '0'] }), 'training.rng is all zeros'],
      ['a negative epoch', (t) => ({ ...t, epoch: -1 }), 'training.epoch is -1'],
      ['a fractional step', (t) => ({ ...t, step: 1.5 }), 'training.step is 1.5'],
      ['a step beyond 2^53', (t) => ({ ...t, step: 1e300 }), 'training.step is 1e+300'],
      ['a negative wait', (t) => ({ ...t, wait: -3 }), 'training.wait is -3'],
      ['a best epoch below -1', (t) => ({ ...t, bestEpoch: -2 }), 'training.bestEpoch is -2'],
      ['a best monitor that is text', (t) => ({ ...t, bestMonitor: 'x' }), 'training.bestMonitor is "x"'],
    ];
    for (const [label, change, message] of cases) {
      const file = join(dir, 'damaged.ckpt');
      writeFileSync(file, edited((p) => {
        p.metadata.training = JSON.stringify(change(JSON.parse(p.metadata.training as string) as Record<string, unknown>));
      }, 'recompute', readFileSync(good)));
      const target = referenceModel(0.001);
      const before = target.getWeights();
      const error = await rejection(target.fit(x, { epochs: 2, batchSize: 4, resumeFrom: file }));
      expect(error, label).toHaveProperty('code', 'ERR_MODEL_FORMAT');
      expect((error as Error).message, label).toContain(`${file}: ${message}`);
      expect(isDeepStrictEqual(target.getWeights(), before), label).toBe(true);
    }
  });
});

