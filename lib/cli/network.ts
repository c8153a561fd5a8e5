// The networks the command builds: a mirrored stack of dense layers around a linear latent layer,
// described by a few settings rather than a layer list.
import { Autoencoder } from '../autoencoder';
import { Decoder } from '../decoder';
import { Encoder } from '../encoder';
import type { ActivationName } from '../layers';

export interface NetworkSpec {
  inputDim: number;
  /** Hidden widths of the encoder; the decoder uses them in reverse. */
  layers: number[];
  activation: ActivationName;
  latent: number;
  outputActivation: ActivationName;
  seed?: number;
}

export function buildAutoencoder(spec: NetworkSpec): Autoencoder {
  const hidden = (units: number) => ({ units, activation: spec.activation });
  // The halves draw their own initial weights (the autoencoder adopts them), so each needs a seed too.
  const seeded = (offset: number) => (spec.seed === undefined ? {} : { seed: (spec.seed + offset) % Number.MAX_SAFE_INTEGER });
  return new Autoencoder({
    encoder: new Encoder({ inputDim: spec.inputDim, layers: [...spec.layers.map(hidden), { units: spec.latent }], ...seeded(0) }),
    decoder: new Decoder({
      latentDim: spec.latent,
      layers: [...[...spec.layers].reverse().map(hidden), { units: spec.inputDim, activation: spec.outputActivation }],
      ...seeded(1),
    }),
    ...seeded(0),
  });
}

/** The network in one line, such as "784 → 256 relu → 16 (latent) → 256 relu → 784 sigmoid". */
export function describeNetwork(model: Autoencoder): string {
  const latent = model.encoder.layers.length - 1;
  return [
    String(model.inputDim),
    ...model.layers.map((l, i) => (i === latent && l.activation === 'linear' ? `${l.units} (latent)` : `${l.units} ${l.activation}${i === latent ? ' (latent)' : ''}`)),
  ].join(' → ');
}
