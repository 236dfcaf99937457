export type {
  Decoder,
  DecoderDescription,
  DecoderState,
  DecodeTarget,
  FitOptions,
  FitReport,
  NormaliserStats,
} from './decoder.js';
export {
  type DecoderLoader,
  loadDecoder,
  registerDecoderKind,
  registeredDecoderKinds,
} from './decoder-registry.js';
export { ModelFormatError, NotFittedError, NotPositiveDefiniteError } from './errors.js';
export { predictSession } from './evaluate.js';
export {
  KALMAN_KIND,
  type KalmanConfig,
  KalmanDecoder,
  type KalmanModel,
  type KalmanState,
  type KalmanStateModel,
  resolveKalmanConfig,
} from './kalman/kalman.js';
export { choleskyInPlace, choleskySolveInPlace, matVec, solveSpd } from './kernels/linalg.js';
export { createDecoder, DECODER_KINDS, type DecoderKind, NEURAL_FAMILIES, outputColumns } from './kinds.js';
export { MLP_KIND, type MlpConfig, mlpFamily } from './mlp/mlp.js';
export {
  type LoadedModel,
  loadModelDir,
  MODEL_FORMAT,
  MODEL_FORMAT_VERSION,
  type ModelMetadata,
  type ModelWeight,
  type SavedModel,
  SDK_VERSION,
  saveModelDir,
} from './model-io.js';
export type { NetworkDims, NeuralFamily, StreamEngine, TrainingConfig, WeightMap } from './neural/family.js';
export { NeuralDecoder, type NeuralFitOptions, type NeuralState } from './neural/neural-decoder.js';
export { computeNormaliserStats, DEFAULT_MIN_STD } from './normaliser-stats.js';
export { resolveTargetColumns, type TargetColumns } from './targets.js';
export { loadTf, TF_BACKENDS, type TfBackendName, type TfHandle } from './tf/backend.js';
export { type TrainableModel, type TrainOptions, type TrainReport, trainModel } from './training/trainer.js';
export { buildWindows, type TrainingWindows, targetScaling } from './training/windows.js';
export {
  DEFAULT_WIENER_LAMBDAS,
  type LambdaScore,
  WIENER_KIND,
  type WienerConfig,
  WienerDecoder,
  type WienerState,
} from './wiener/wiener.js';
