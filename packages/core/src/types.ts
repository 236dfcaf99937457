/**
 * The data model of the SDK. Times are microseconds (`Us`) as plain numbers:
 * device times on the acquisition clock, host times on `performance.now()`'s clock.
 * Channel data is carried in typed arrays, one entry per channel in `SessionMetadata.channelLabels` order.
 */

/** Spike counts per channel over one sub-bin, as an acquisition device reports them. */
export interface SpikeCountFrame {
  readonly kind: 'counts';
  /** Frame sequence number as sent by the source; consecutive frames differ by one. */
  readonly seq: number;
  /** Start of the sub-bin on the device clock. */
  readonly deviceTimeUs: number;
  /** Width of the sub-bin. */
  readonly durationUs: number;
  /** Spike count per channel. */
  readonly counts: Uint16Array;
  /** Ground-truth kinematics over the sub-bin, when the source knows them (simulator, replay). */
  readonly kinematics?: Float64Array;
  /** Host time (performance clock, us) at which the last byte of the frame arrived. */
  readonly receivedUs?: number;
}

/** Individual spike events over one sub-bin. */
export interface SpikeEventFrame {
  readonly kind: 'events';
  readonly seq: number;
  readonly deviceTimeUs: number;
  readonly durationUs: number;
  /** Channel index of each event. */
  readonly channels: Uint16Array;
  /** Offset of each event from `deviceTimeUs`, in microseconds. */
  readonly offsetsUs: Uint32Array;
  readonly kinematics?: Float64Array;
  readonly receivedUs?: number;
}

export type Frame = SpikeCountFrame | SpikeEventFrame;

/**
 * An explicit hole in a stream: data for [startUs, endUs) on the device clock is missing.
 * Gaps are never filled with zeros; every stage passes them on.
 */
export interface Gap {
  readonly kind: 'gap';
  readonly startUs: number;
  readonly endUs: number;
  /** Why the data is missing, e.g. 'sequence', 'time', 'dropped', 'corrupt', 'disconnect'. */
  readonly reason: string;
  /** Frames known to be lost (from sequence numbers), when known. */
  readonly lostFrames?: number;
  /** Bins covered by the gap, when the gap is on the bin level. */
  readonly bins?: number;
  /** Index of the first bin covered by the gap, when on the bin level. */
  readonly firstBin?: number;
  readonly latency?: LatencyTrace;
}

/** Latency stamps: host times (us, performance clock) at which an item left each stage, in order. */
export interface LatencyTrace {
  /** When the item's data was complete at the source (e.g. last frame of a bin received). */
  readonly originUs: number;
  readonly stages: ReadonlyArray<readonly [stage: string, atUs: number]>;
}

/** Spike counts per channel over one bin. */
export interface Bin {
  readonly kind: 'bin';
  /** Bin index since the start of the stream (or session). */
  readonly index: number;
  /** Start of the bin on the device clock. */
  readonly startUs: number;
  readonly widthUs: number;
  /** Spike count per channel. */
  readonly counts: Float32Array;
  /** Ground-truth kinematics for the bin when known (see `SessionMetadata.kinematicNames`). */
  readonly kinematics?: Float64Array;
  readonly latency?: LatencyTrace;
}

export type BinEvent = Bin | Gap;

/** Normalised features for one bin (what a decoder consumes). */
export interface FeatureBin {
  readonly kind: 'features';
  readonly index: number;
  readonly startUs: number;
  readonly widthUs: number;
  readonly features: Float32Array;
  readonly kinematics?: Float64Array;
  readonly latency?: LatencyTrace;
}

export type FeatureEvent = FeatureBin | Gap;

/** A window of the last k feature vectors, oldest first, flattened row-major (k x channels). */
export interface HistoryBin {
  readonly kind: 'history';
  readonly index: number;
  readonly startUs: number;
  readonly widthUs: number;
  readonly depth: number;
  readonly window: Float32Array;
  readonly kinematics?: Float64Array;
  readonly latency?: LatencyTrace;
}

/** What a decoder produced for one bin. */
export interface DecodedBin {
  readonly kind: 'decoded';
  readonly index: number;
  readonly startUs: number;
  readonly widthUs: number;
  /** Decoder output, e.g. [vx, vy] or [px, py]. */
  readonly output: Float32Array;
  readonly kinematics?: Float64Array;
  readonly latency?: LatencyTrace;
}

export type DecodedEvent = DecodedBin | Gap;

/** Integrated cursor state after one bin. */
export interface CursorSample {
  readonly kind: 'cursor';
  readonly index: number;
  readonly startUs: number;
  readonly widthUs: number;
  readonly position: Float32Array;
  readonly velocity: Float32Array;
  /** True when the position hit a bound of the workspace this bin. */
  readonly clamped: boolean;
  readonly kinematics?: Float64Array;
  readonly latency?: LatencyTrace;
}

export type CursorEvent = CursorSample | Gap;

/** A point in a session where continuity breaks: trial start, file join, reset. Decoders never learn across it. */
export interface SessionMarker {
  readonly kind: 'marker';
  /** Index of the first bin after the marker. */
  readonly bin: number;
  readonly label: string;
  /** True when continuity breaks here (trials cut out and joined); false for a label on a continuous recording. */
  readonly break: boolean;
}

export interface SessionMetadata {
  /** Number of channels (or sorted units). */
  readonly channels: number;
  /** One label per channel, e.g. 'elec12' or 'ee01u1'. */
  readonly channelLabels: readonly string[];
  readonly binWidthUs: number;
  /** Names of the kinematic columns, e.g. ['pos_x', 'pos_y', 'vel_x', 'vel_y']. */
  readonly kinematicNames: readonly string[];
  /** Free-form description of where the session came from. */
  readonly source?: Readonly<Record<string, unknown>>;
  /** ISO time at which the session was recorded or generated. */
  readonly createdAt?: string;
}

/**
 * A whole session in memory, dense and row-major: what fitting and offline evaluation use.
 * Bins that were missing are not present; `segments` says where continuity breaks
 * (gaps, trial boundaries, file joins), so history windows never straddle them.
 */
export interface RecordedSession {
  readonly metadata: SessionMetadata;
  /** Number of bins present. */
  readonly bins: number;
  /** bins x channels spike counts. */
  readonly counts: Float32Array;
  /** bins x kinematicNames.length, at the precision of the source (float64 keeps recordings exact). */
  readonly kinematics: Float64Array;
  /** Device start time of each bin. */
  readonly startUs: Float64Array;
  /** Sorted bin indices at which a new continuous segment begins; always starts with 0 when bins > 0. */
  readonly segmentStarts: readonly number[];
  readonly markers: readonly SessionMarker[];
}
