// An Autoencoder and its Encoder and Decoder share one set of weights: training, setWeights, adoption and dispose act on all three.
import { describe, expect, it } from 'vitest';
import { Autoencoder, Decoder, Encoder } from 'native-autoencoder';
import { expectCoded, sameBits, sameWeights, syntheticData, thrown } from './helpers';

const D = 20;
const x = syntheticData(128, D, 71);

const encoder = (seed: number) => new Encoder({ inputDim: D, layers: [{ units: 12, activation: 'relu' }, { units: 6 }], seed });
const decoder = (seed: number) => new Decoder({ latentDim: 6, layers: [{ units: 12, activation: 'relu' }, { units: D, activation: 'sigmoid' }], seed });

describe('after fit', () => {
  it('the encoder and decoder hold the trained weights and compose to the autoencoder', async () => {
    const ae = new Autoencoder({ inputDim: D, latentDim: 8, seed: 1 });
    const encoderBefore = ae.encoder.getWeights();
    const decoderBefore = ae.decoder.getWeights();
    await ae.fit(x, { epochs: 3, optimizer: { type: 'adam', learningRate: 0.01 } });
    const all = ae.getWeights();
    expect(sameWeights(ae.encoder.getWeights(), encoderBefore)).toBe(false);
    expect(sameWeights(ae.decoder.getWeights(), decoderBefore)).toBe(false);
    expect(sameWeights(ae.encoder.getWeights(), all.slice(0, 4))).toBe(true);
    expect(sameWeights(ae.decoder.getWeights(), all.slice(4))).toBe(true);

    const z = ae.encoder.encode(x);
    expect(sameBits(z.data, ae.encode(x).data)).toBe(true);
    expect(sameBits(ae.decoder.decode(z).data, ae.decode(z).data)).toBe(true);
    expect(sameBits(ae.decoder.decode(z).data, ae.predict(x).data)).toBe(true);
  });
});

describe('setWeights', () => {
  it('on the encoder changes the autoencoder output, and only its half of the weights', () => {
    const ae = new Autoencoder({ inputDim: D, latentDim: 6, seed: 1 });
    const other = new Autoencoder({ inputDim: D, latentDim: 6, seed: 2 });
    const before = ae.predict(x).data;
    const decoderBefore = ae.decoder.getWeights();
    ae.encoder.setWeights(other.encoder.getWeights());
    expect(sameBits(ae.predict(x).data, before)).toBe(false);
    expect(sameWeights(ae.getWeights().slice(0, 4), other.encoder.getWeights())).toBe(true);
    expect(sameWeights(ae.decoder.getWeights(), decoderBefore)).toBe(true);
    // With the other model's decoder too, the two autoencoders agree.
    ae.decoder.setWeights(other.decoder.getWeights().map((w) => w.data));
    expect(sameBits(ae.predict(x).data, other.predict(x).data)).toBe(true);
  });

  it('on the autoencoder changes what its encoder encodes', () => {
    const ae = new Autoencoder({ inputDim: D, latentDim: 6, seed: 1 });
    const other = new Autoencoder({ inputDim: D, latentDim: 6, seed: 2 });
    ae.setWeights(other.getWeights());
    expect(sameBits(ae.encoder.encode(x).data, other.encode(x).data)).toBe(true);
  });
});

describe('adoption of a standalone Encoder and Decoder', () => {
  it('keeps their weights and their outputs', () => {
    const enc = encoder(1);
    const dec = decoder(2);
    const weights = [...enc.getWeights(), ...dec.getWeights()];
    const z = enc.encode(x).data;
    const rebuilt = dec.decode(enc.encode(x)).data;
    const ae = new Autoencoder({ encoder: enc, decoder: dec, seed: 3 });
    expect(ae.encoder).toBe(enc);
    expect(ae.decoder).toBe(dec);
    expect(sameWeights(ae.getWeights(), weights)).toBe(true);
    expect(sameBits(enc.encode(x).data, z)).toBe(true);
    expect(sameBits(ae.predict(x).data, rebuilt)).toBe(true);
    expect(ae.latentDim).toBe(6);
  });

  it('then trains them: the adopted encoder sees the new weights', async () => {
    const enc = encoder(1);
    const ae = new Autoencoder({ encoder: enc, decoder: decoder(2), seed: 3 });
    const z = enc.encode(x).data;
    await ae.fit(x, { epochs: 2, optimizer: { type: 'adam', learningRate: 0.01 } });
    expect(sameBits(enc.encode(x).data, z)).toBe(false);
    expect(sameBits(enc.encode(x).data, ae.encode(x).data)).toBe(true);
  });

  it('twice throws ERR_IN_USE and leaves both the first autoencoder and the other half untouched', () => {
    const enc = encoder(1);
    const ae = new Autoencoder({ encoder: enc, decoder: decoder(2) });
    const before = ae.predict(x).data;
    const spare = decoder(4);
    expectCoded(thrown(() => new Autoencoder({ encoder: enc, decoder: spare })), Error, 'ERR_IN_USE');
    expectCoded(thrown(() => new Autoencoder({ encoder: encoder(5), decoder: ae.decoder })), Error, 'ERR_IN_USE');
    expect(sameBits(ae.predict(x).data, before)).toBe(true);
    expect(spare.disposed).toBe(false);
    expect(spare.decode(enc.encode(x)).rows).toBe(128);
  });

  it('of halves that do not fit together is refused', () => {
    const narrow = new Decoder({ latentDim: 5, layers: [{ units: D }] });
    expectCoded(thrown(() => new Autoencoder({ encoder: encoder(1), decoder: narrow })), RangeError, 'ERR_OUT_OF_RANGE', 'config.decoder.latentDim');
    const wide = new Decoder({ latentDim: 6, layers: [{ units: D + 1 }] });
    expectCoded(thrown(() => new Autoencoder({ encoder: encoder(1), decoder: wide })), RangeError, 'ERR_OUT_OF_RANGE');
    expectCoded(thrown(() => new Autoencoder({ encoder: encoder(1) } as never)), TypeError, 'ERR_INVALID_ARG_TYPE', 'config.decoder');
  });

  it('of a disposed half throws ERR_DISPOSED', () => {
    const dec = decoder(2);
    dec.dispose();
    expectCoded(thrown(() => new Autoencoder({ encoder: encoder(1), decoder: dec })), Error, 'ERR_DISPOSED');
  });
});

describe('dispose', () => {
  it('of the autoencoder disposes its encoder and decoder', () => {
    const ae = new Autoencoder({ encoder: encoder(1), decoder: decoder(2) });
    const { encoder: enc, decoder: dec } = ae;
    ae.dispose();
    expect([enc.disposed, dec.disposed]).toEqual([true, true]);
    expectCoded(thrown(() => enc.encode(x)), Error, 'ERR_DISPOSED');
    expectCoded(thrown(() => dec.getWeights()), Error, 'ERR_DISPOSED');
  });

  it('of the encoder disposes the shared weights: the autoencoder and decoder go with it', () => {
    const ae = new Autoencoder({ inputDim: D, latentDim: 6, seed: 1 });
    ae.encoder.dispose();
    expect([ae.disposed, ae.decoder.disposed]).toEqual([true, true]);
    expectCoded(thrown(() => ae.predict(x)), Error, 'ERR_DISPOSED');
  });
});
