export { type BinningStats, type BinSpikesOptions, binSpikes, createBinningStats } from './bin-spikes.js';
export {
  type BoundedBufferOptions,
  type BufferStats,
  boundedBuffer,
  createBufferStats,
  type OverflowPolicy,
} from './bounded-buffer.js';
export { type DecodeOptions, decode, type StreamingDecoder } from './decode.js';
export { BufferOverflowError, InvalidFrameError } from './errors.js';
export { type HistoryWindowOptions, historyWindow } from './history-window.js';
export { type IntegrateVelocityOptions, integrateVelocity } from './integrate-velocity.js';
export {
  type NormaliseOptions,
  Normaliser,
  type NormaliserMode,
  type NormaliserOptions,
  type NormaliserSnapshot,
  normalise,
} from './normalise.js';
export { appendLatency, latencyBetween, stampLatency } from './stamp-latency.js';
