import { defer, map, type OperatorFunction } from 'rxjs';
import { ChannelCountError, InvalidOptionError, NonFiniteValueError } from '../errors.js';
import type { BinEvent, FeatureEvent } from '../types.js';
import { type ClockUs, hostClockUs } from '../util/clock.js';
import { appendLatency } from './stamp-latency.js';

export type NormaliserMode = 'frozen' | 'adaptive';

export interface NormaliserOptions {
  /** Per-channel mean of the counts. */
  readonly mean: ArrayLike<number>;
  /** Per-channel standard deviation of the counts (floored at `minStd` when used). */
  readonly std: ArrayLike<number>;
  /** 'frozen' (default) keeps the statistics; 'adaptive' updates them from every bin. */
  readonly mode?: NormaliserMode;
  /** Bins after which an observation's weight in the adaptive statistics has halved (default 600). */
  readonly halfLifeBins?: number;
  /** Floor applied to the standard deviation before dividing (default 1e-3). */
  readonly minStd?: number;
}

/** A deep copy of a normaliser's state, to roll back to; also valid `NormaliserOptions`. */
export interface NormaliserSnapshot {
  readonly mean: Float64Array;
  /** Standard deviation before the `minStd` floor. */
  readonly std: Float64Array;
  readonly mode: NormaliserMode;
  readonly halfLifeBins: number;
  readonly minStd: number;
}

const DEFAULT_HALF_LIFE_BINS = 600;
const DEFAULT_MIN_STD = 1e-3;

/**
 * Per-channel z-scoring of spike counts: `(counts - mean) / max(std, minStd)`.
 *
 * In 'adaptive' mode, `update` moves mean and variance by an exponentially weighted step with weight
 * `alpha = 1 - 2^(-1 / halfLifeBins)` (West's incremental form), so an old bin's influence halves every
 * `halfLifeBins` bins.
 */
export class Normaliser {
  mode: NormaliserMode;
  private meanValues: Float64Array;
  private variance: Float64Array;
  private halfLife: number;
  private floor: number;

  constructor(options: NormaliserOptions) {
    const { mean, std } = options;
    this.mode = options.mode ?? 'frozen';
    this.halfLife = options.halfLifeBins ?? DEFAULT_HALF_LIFE_BINS;
    this.floor = options.minStd ?? DEFAULT_MIN_STD;
    validateSettings(this.mode, this.halfLife, this.floor);
    validateStatistics(mean, std, mean.length, this.floor);
    this.meanValues = Float64Array.from(mean);
    this.variance = Float64Array.from(std, (s) => s * s);
  }

  get channels(): number {
    return this.meanValues.length;
  }

  get halfLifeBins(): number {
    return this.halfLife;
  }

  get minStd(): number {
    return this.floor;
  }

  /** Writes the normalised `counts` into `out` and returns it. */
  apply(counts: ArrayLike<number>, out: Float32Array): Float32Array {
    this.check(counts);
    if (out.length !== this.channels)
      throw new ChannelCountError(this.channels, out.length, 'normalise output');
    for (let c = 0; c < counts.length; c++) {
      out[c] = (counts[c] - this.meanValues[c]) / Math.max(Math.sqrt(this.variance[c]), this.floor);
    }
    return out;
  }

  /** Moves the statistics toward `counts` by one exponentially weighted step (in any mode). */
  update(counts: ArrayLike<number>): void {
    this.check(counts);
    const alpha = 1 - 2 ** (-1 / this.halfLife);
    for (let c = 0; c < counts.length; c++) {
      const diff = counts[c] - this.meanValues[c];
      const step = alpha * diff;
      this.meanValues[c] += step;
      this.variance[c] = (1 - alpha) * (this.variance[c] + diff * step);
    }
  }

  snapshot(): NormaliserSnapshot {
    return {
      mean: this.meanValues.slice(),
      std: this.variance.map(Math.sqrt),
      mode: this.mode,
      halfLifeBins: this.halfLife,
      minStd: this.floor,
    };
  }

  /** Puts back a snapshot's state (copied, so the snapshot can be restored again). */
  restore(snapshot: NormaliserSnapshot): void {
    validateSettings(snapshot.mode, snapshot.halfLifeBins, snapshot.minStd);
    validateStatistics(snapshot.mean, snapshot.std, this.channels, snapshot.minStd);
    this.meanValues = Float64Array.from(snapshot.mean);
    this.variance = Float64Array.from(snapshot.std, (s) => s * s);
    this.mode = snapshot.mode;
    this.halfLife = snapshot.halfLifeBins;
    this.floor = snapshot.minStd;
  }

  private check(counts: ArrayLike<number>): void {
    if (counts.length !== this.channels)
      throw new ChannelCountError(this.channels, counts.length, 'bin counts');
    for (let c = 0; c < counts.length; c++) {
      if (!Number.isFinite(counts[c])) throw new NonFiniteValueError('bin counts', c, counts[c]);
    }
  }
}

function validateSettings(mode: NormaliserMode, halfLifeBins: number, minStd: number): void {
  if (mode !== 'frozen' && mode !== 'adaptive') {
    throw new InvalidOptionError('mode', `must be 'frozen' or 'adaptive', got ${String(mode)}`);
  }
  if (!(Number.isFinite(halfLifeBins) && halfLifeBins > 0)) {
    throw new InvalidOptionError('halfLifeBins', `must be a positive number, got ${halfLifeBins}`);
  }
  if (!(Number.isFinite(minStd) && minStd >= 0)) {
    throw new InvalidOptionError('minStd', `must be a non-negative number, got ${minStd}`);
  }
}

function validateStatistics(
  mean: ArrayLike<number>,
  std: ArrayLike<number>,
  channels: number,
  minStd: number,
): void {
  if (mean.length !== channels) throw new ChannelCountError(channels, mean.length, 'mean');
  if (std.length !== channels) throw new ChannelCountError(channels, std.length, 'std');
  for (let c = 0; c < channels; c++) {
    if (!Number.isFinite(mean[c])) throw new NonFiniteValueError('mean', c, mean[c]);
    if (!Number.isFinite(std[c])) throw new NonFiniteValueError('std', c, std[c]);
    if (!(Math.max(std[c], minStd) > 0)) {
      throw new InvalidOptionError('std', `channel ${c} has std ${std[c]}, not positive after the floor`);
    }
  }
}

export interface NormaliseOptions {
  readonly clock?: ClockUs;
  /** Stage name in the latency trace (default 'normalise'). */
  readonly stage?: string;
}

/**
 * Turns bins into feature bins: `(counts - mean) / std`, a new Float32Array per bin.
 *
 * Given a `Normaliser`, that instance is used (and, in adaptive mode, updated) by every subscription,
 * so its owner (e.g. calibration) can snapshot and restore it; given plain options, each subscription
 * gets its own normaliser. In adaptive mode each bin is normalised with the statistics of the bins
 * before it, and only then updates them, so a bin never sees itself. Gaps pass through (stamped) and
 * never update the statistics.
 */
export function normalise(
  normaliser: Normaliser | NormaliserOptions,
  options: NormaliseOptions = {},
): OperatorFunction<BinEvent, FeatureEvent> {
  const clock = options.clock ?? hostClockUs;
  const stage = options.stage ?? 'normalise';
  const shared = normaliser instanceof Normaliser ? normaliser : undefined;
  // Plain options are validated here, not on subscription; a snapshot is valid options.
  const template = shared ? undefined : new Normaliser(normaliser as NormaliserOptions);
  return (source) =>
    defer(() => {
      const stats = shared ?? new Normaliser(template!.snapshot());
      return source.pipe(
        map((event): FeatureEvent => {
          if (event.kind === 'gap')
            return { ...event, latency: appendLatency(event.latency, stage, clock()) };
          const features = stats.apply(event.counts, new Float32Array(stats.channels));
          if (stats.mode === 'adaptive') stats.update(event.counts);
          return {
            kind: 'features',
            index: event.index,
            startUs: event.startUs,
            widthUs: event.widthUs,
            features,
            ...(event.kinematics && { kinematics: event.kinematics }),
            latency: appendLatency(event.latency, stage, clock()),
          };
        }),
      );
    });
}
