// The public entry point of native-autoencoder.
export { Autoencoder, ROW_METRICS, type AutoencoderConfig, type ReconstructionErrorAsyncOptions, type ReconstructionErrorOptions, type RowMetric } from './autoencoder';
export {
  VariationalAutoencoder,
  type LatentDistribution,
  type SampleOptions,
  type VariationalAutoencoderConfig,
} from './variational';
export { TextCodec, type DecodeOptions, type TextCodecOptions } from './text-codec';
export { HashedTfidf, type HashedTfidfOptions } from './text-features';
export { Encoder, type EncoderConfig } from './encoder';
export { Decoder, type DecoderConfig } from './decoder';
export { LayerStack, type WeightTensor } from './stack';
export { ACTIVATIONS, INITIALIZERS, type ActivationName, type DenseLayerConfig, type InitializerName, type LayerInfo } from './layers';
export {
  LOSSES,
  OPTIMIZERS,
  type BatchLogs,
  type CheckpointConfig,
  type EarlyStoppingConfig,
  type EpochLogs,
  type FitOptions,
  type History,
  type LossConfig,
  type LossName,
  type NoiseConfig,
  type OptimizerConfig,
  type OptimizerName,
  type RegularizationConfig,
  type ScheduleConfig,
} from './fit';
export { allocateFloat32, INFERENCE_PRECISIONS, type AsyncPredictOptions, type DataInput, type InferencePrecision, type Matrix, type PredictOptions } from './data';
export { backendInfo, defaultBackend, getThreads, setThreads, type BackendChoice, type BackendInfo, type LoadOptions } from './backend';
export { initDistributed, type DistributedInfo, type DistributedOptions } from './distributed';
export { type CodedError, type ErrorCode } from './errors';
