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
export { choleskyInPlace, choleskySolveInPlace, matVec, solveSpd } from './kernels/linalg.js';
export { createDecoder, DECODER_KINDS, type DecoderKind, outputColumns } from './kinds.js';
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
export { computeNormaliserStats, DEFAULT_MIN_STD } from './normaliser-stats.js';
export { resolveTargetColumns, type TargetColumns } from './targets.js';
export {
  DEFAULT_WIENER_LAMBDAS,
  type LambdaScore,
  WIENER_KIND,
  type WienerConfig,
  WienerDecoder,
  type WienerState,
} from './wiener/wiener.js';
