export type {
  Decoder,
  DecoderDescription,
  DecoderState,
  DecodeTarget,
  FitOptions,
  FitReport,
  NormaliserStats,
} from './decoder.js';
