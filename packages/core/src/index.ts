export {
  ChannelCountError,
  EdgeBciError,
  FileFormatError,
  InvalidOptionError,
  NonFiniteValueError,
} from './errors.js';
export type {
  Bin,
  BinEvent,
  CursorEvent,
  CursorSample,
  DecodedBin,
  DecodedEvent,
  FeatureBin,
  FeatureEvent,
  Frame,
  Gap,
  HistoryBin,
  LatencyTrace,
  RecordedSession,
  SessionMarker,
  SessionMetadata,
  SpikeCountFrame,
  SpikeEventFrame,
} from './types.js';
export { type ClockUs, hostClockUs } from './util/clock.js';
export { crc32 } from './util/crc32.js';
