import { InvalidOptionError, NonFiniteValueError } from '../errors.js';

export interface LatencySummary {
  readonly count: number;
  readonly min: number;
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

/**
 * A latency histogram with bounded memory for runs of any length: log-spaced buckets with a
 * relative resolution of `precision` (default 1 %), so a percentile is within that fraction of the
 * exact value. Exact min, max, mean and count are kept beside the buckets. Values are in whatever
 * unit the caller records (the SDK uses microseconds); values below `floor` share the first bucket.
 */
export class LatencyHistogram {
  private readonly logBase: number;
  private readonly floor: number;
  private counts: Float64Array;
  private n = 0;
  private sum = 0;
  private lo = Number.POSITIVE_INFINITY;
  private hi = Number.NEGATIVE_INFINITY;

  constructor(options: { precision?: number; floor?: number } = {}) {
    const precision = options.precision ?? 0.01;
    if (!(precision > 0 && precision < 1)) throw new InvalidOptionError('precision', 'must be in (0, 1)');
    this.floor = options.floor ?? 0.01;
    if (!(this.floor > 0)) throw new InvalidOptionError('floor', 'must be > 0');
    this.logBase = Math.log1p(precision);
    this.counts = new Float64Array(256);
  }

  private bucketOf(v: number): number {
    return v <= this.floor ? 0 : 1 + Math.floor(Math.log(v / this.floor) / this.logBase);
  }

  private valueOf(bucket: number): number {
    // Midpoint (geometric) of the bucket, clamped to the exact extremes.
    const v = bucket === 0 ? this.floor : this.floor * Math.exp((bucket - 0.5) * this.logBase);
    return Math.min(this.hi, Math.max(this.lo, v));
  }

  record(value: number): void {
    if (!Number.isFinite(value)) throw new NonFiniteValueError('latency', this.n, value);
    const b = this.bucketOf(Math.max(0, value));
    if (b >= this.counts.length) {
      const grown = new Float64Array(Math.max(b + 1, this.counts.length * 2));
      grown.set(this.counts);
      this.counts = grown;
    }
    this.counts[b]! += 1;
    this.n += 1;
    this.sum += value;
    if (value < this.lo) this.lo = value;
    if (value > this.hi) this.hi = value;
  }

  get count(): number {
    return this.n;
  }

  /** The value below which a fraction `q` (0..1) of the recorded values fall (NaN when empty). */
  quantile(q: number): number {
    if (!(q >= 0 && q <= 1)) throw new InvalidOptionError('quantile', 'must be in [0, 1]');
    if (this.n === 0) return Number.NaN;
    if (q === 0) return this.lo;
    if (q === 1) return this.hi;
    const rank = Math.ceil(q * this.n);
    let seen = 0;
    for (let b = 0; b < this.counts.length; b++) {
      seen += this.counts[b]!;
      if (seen >= rank) return this.valueOf(b);
    }
    return this.hi;
  }

  summary(): LatencySummary {
    return {
      count: this.n,
      min: this.n ? this.lo : Number.NaN,
      mean: this.n ? this.sum / this.n : Number.NaN,
      p50: this.quantile(0.5),
      p90: this.quantile(0.9),
      p99: this.quantile(0.99),
      max: this.n ? this.hi : Number.NaN,
    };
  }

  reset(): void {
    this.counts.fill(0);
    this.n = 0;
    this.sum = 0;
    this.lo = Number.POSITIVE_INFINITY;
    this.hi = Number.NEGATIVE_INFINITY;
  }
}
