/**
 * Non-stationarity knobs of the simulator: how the recorded population changes with time.
 *
 * Every knob is a function of *array time* h, in hours since the decoder's "day 0":
 * h = startHours + (session time). A session with `startHours: 24` is day 2 of the same array:
 * the same neurons, with every drift process continued to hour 24 (see `simulator.ts`).
 */
import { InvalidOptionError } from '../errors.js';
import type { Rng } from './rng.js';

export interface DriftOptions {
  /**
   * Random walk of each channel's baseline rate: b(h) = b0 * exp(baselineDrift * W(h)), W a standard
   * Brownian motion in hours, independent per channel. 0.3 means a typical change of ~30 % in one
   * hour (~60 % in four). Per sqrt(hour), >= 0.
   */
  baselineDrift: number;
  /**
   * Signed, deterministic, common change of every channel's modulation (direction and speed terms):
   * depth(h) = depth0 * (1 + gainChange)^h. -0.1 loses 10 % of the tuning per hour. Per hour, > -1.
   */
  gainChange: number;
  /** Every preferred direction rotates by pdRotation * h degrees (positive: counter-clockwise). */
  pdRotation: number;
  /**
   * Fraction of channels that are dead (report no spikes, not even artifacts) for the whole session.
   * round(deadChannels * channels) of them, chosen by the seed; the set only grows with the fraction.
   */
  deadChannels: number;
  /**
   * Movement-artifact bursts per minute (Poisson). A burst lasts 50-200 ms and adds a common rate of
   * 100-300 Hz, weighted per channel, to ~85 % of the channels.
   */
  noiseBursts: number;
  /** Hours since "day 0" at the start of the session; drift is evaluated at startHours + t. 0-100000. */
  startHours: number;
  /** Multiplies every channel's baseline and modulation (not artifacts). 1 = as drawn. >= 0. */
  rateScale: number;
}

export type DriftKnob = keyof DriftOptions;

/** The values every knob takes when not given: no drift at all. */
export const DEFAULT_DRIFT: Readonly<DriftOptions> = Object.freeze({
  baselineDrift: 0,
  gainChange: 0,
  pdRotation: 0,
  deadChannels: 0,
  noiseBursts: 0,
  startHours: 0,
  rateScale: 1,
});

/** One line of help per knob, e.g. for `--drift name=value`. */
export interface DriftKnobInfo {
  readonly name: DriftKnob;
  readonly default: number;
  readonly unit: string;
  readonly description: string;
}

/** Every drift knob with a one-line description, in a stable order (for CLI help). */
export const DRIFT_KNOBS: readonly DriftKnobInfo[] = Object.freeze([
  {
    name: 'baselineDrift',
    default: 0,
    unit: '1/sqrt(h)',
    description: 'random walk of each baseline rate (log-scale SD after one hour, e.g. 0.3)',
  },
  {
    name: 'gainChange',
    default: 0,
    unit: '1/h',
    description: 'signed fractional change of all modulation depths per hour (compounding, > -1)',
  },
  {
    name: 'pdRotation',
    default: 0,
    unit: 'deg/h',
    description: 'rotation of all preferred directions per hour (positive: counter-clockwise)',
  },
  {
    name: 'deadChannels',
    default: 0,
    unit: 'fraction',
    description: 'fraction of channels that are silent for the whole session, chosen by the seed',
  },
  {
    name: 'noiseBursts',
    default: 0,
    unit: '1/min',
    description: 'movement-artifact bursts per minute (50-200 ms, large common rate on most channels)',
  },
  {
    name: 'startHours',
    default: 0,
    unit: 'h',
    description: 'hours since day 0 at session start (same array, drift continued, new behaviour)',
  },
  {
    name: 'rateScale',
    default: 1,
    unit: 'x',
    description: 'multiplier on every baseline and modulation depth',
  },
]);

const KNOB_NAMES: ReadonlySet<string> = new Set(DRIFT_KNOBS.map((k) => k.name));

function check(name: DriftKnob, value: number, ok: boolean, rule: string): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || !ok) {
    throw new InvalidOptionError(`drift.${name}`, `must be a finite number ${rule}, got ${String(value)}`);
  }
}

/** Fill in defaults and validate; unknown knob names throw (they are usually typos). */
export function resolveDrift(drift: Partial<DriftOptions> = {}): Readonly<DriftOptions> {
  if (drift === null || typeof drift !== 'object') {
    throw new InvalidOptionError('drift', 'must be an object of knob values');
  }
  for (const key of Object.keys(drift)) {
    if (!KNOB_NAMES.has(key)) {
      throw new InvalidOptionError(
        'drift',
        `unknown knob '${key}'; known: ${DRIFT_KNOBS.map((k) => k.name).join(', ')}`,
      );
    }
  }
  const d: DriftOptions = { ...DEFAULT_DRIFT };
  for (const key of Object.keys(drift) as DriftKnob[]) {
    const v = drift[key];
    if (v !== undefined) d[key] = v;
  }
  check('baselineDrift', d.baselineDrift, d.baselineDrift >= 0, '>= 0');
  check('gainChange', d.gainChange, d.gainChange > -1, '> -1');
  check('pdRotation', d.pdRotation, true, '');
  check('deadChannels', d.deadChannels, d.deadChannels >= 0 && d.deadChannels <= 1, 'in [0, 1]');
  check('noiseBursts', d.noiseBursts, d.noiseBursts >= 0 && d.noiseBursts <= 600, 'in [0, 600]');
  check('startHours', d.startHours, d.startHours >= 0 && d.startHours <= 1e5, 'in [0, 100000]');
  check('rateScale', d.rateScale, d.rateScale >= 0 && d.rateScale <= 100, 'in [0, 100]');
  return Object.freeze(d);
}

/**
 * Parse knob assignments as a command line gives them: 'baselineDrift=0.3', or several separated by
 * commas, or an array of such strings. Returns only the knobs named; `resolveDrift` validates.
 */
export function parseDrift(specs: string | readonly string[]): Partial<DriftOptions> {
  const out: Partial<DriftOptions> = {};
  const parts = (typeof specs === 'string' ? [specs] : specs).flatMap((s) => s.split(','));
  for (const raw of parts) {
    const part = raw.trim();
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = (eq < 0 ? part : part.slice(0, eq)).trim();
    const text = eq < 0 ? '' : part.slice(eq + 1).trim();
    if (!KNOB_NAMES.has(name)) {
      throw new InvalidOptionError(
        'drift',
        `unknown knob '${name}'; known: ${DRIFT_KNOBS.map((k) => k.name).join(', ')}`,
      );
    }
    const value = text === '' ? Number.NaN : Number(text);
    if (!Number.isFinite(value)) {
      throw new InvalidOptionError(`drift.${name}`, `expected ${name}=<number>, got '${part}'`);
    }
    out[name as DriftKnob] = value;
  }
  return out;
}

/** Minute knots per hour of the Brownian paths. */
const KNOTS_PER_HOUR = 60;

/**
 * Independent standard Brownian motions W_i(h), W_i(0) = 0, unit variance per hour, one per channel,
 * evaluated at any array time h >= 0. The path is piecewise linear between one-minute knots and
 * depends only on (stream, channel, h): querying hour 48 directly gives the same value as walking
 * there. Whole-hour knots are a sequential walk (O(h) draws to reach hour h, O(channels) memory;
 * going back in time replays the walk from 0); the minute knots inside hour j are a Brownian bridge
 * drawn from a stream forked for (channel, j), so no earlier minutes are needed.
 */
export class BrownianPaths {
  readonly count: number;
  private readonly root: Rng;
  private coarseRng: Rng[] = [];
  /** W_i(coarseHour) and W_i(coarseHour + 1). */
  private coarseHour = -1;
  private readonly w0: Float64Array;
  private readonly w1: Float64Array;
  private fineHour = -1;
  /** (count x (KNOTS_PER_HOUR + 1)) bridge values of hour `fineHour`, zero at both ends. */
  private readonly fine: Float64Array;

  constructor(root: Rng, count: number) {
    this.root = root;
    this.count = count;
    this.w0 = new Float64Array(count);
    this.w1 = new Float64Array(count);
    this.fine = new Float64Array(count * (KNOTS_PER_HOUR + 1));
  }

  /** Write W_i(hours) for every channel i into `out`. */
  valuesAt(hours: number, out: Float64Array): void {
    const j = Math.floor(hours);
    const f = hours - j;
    this.ensureCoarse(j);
    this.ensureFine(j);
    const m = f * KNOTS_PER_HOUR;
    const k = Math.min(KNOTS_PER_HOUR - 1, Math.floor(m));
    const g = m - k;
    const stride = KNOTS_PER_HOUR + 1;
    for (let i = 0; i < this.count; i++) {
      const w0 = this.w0[i]!;
      const w1 = this.w1[i]!;
      const b0 = this.fine[i * stride + k]!;
      const b1 = this.fine[i * stride + k + 1]!;
      out[i] = w0 + f * (w1 - w0) + b0 + g * (b1 - b0);
    }
  }

  /** Position the hour walk so that w0 = W(j), w1 = W(j + 1). */
  private ensureCoarse(j: number): void {
    if (j < this.coarseHour || this.coarseHour < 0) {
      this.coarseRng = [];
      for (let i = 0; i < this.count; i++) {
        const rng = this.root.fork(`hours/${i}`);
        this.coarseRng.push(rng);
        this.w0[i] = 0;
        this.w1[i] = rng.normal();
      }
      this.coarseHour = 0;
    }
    for (; this.coarseHour < j; this.coarseHour++) {
      for (let i = 0; i < this.count; i++) {
        this.w0[i] = this.w1[i]!;
        this.w1[i] = this.w1[i]! + this.coarseRng[i]!.normal();
      }
    }
  }

  private ensureFine(j: number): void {
    if (this.fineHour === j) return;
    const stride = KNOTS_PER_HOUR + 1;
    const sd = Math.sqrt(1 / KNOTS_PER_HOUR);
    for (let i = 0; i < this.count; i++) {
      const rng = this.root.fork(`minutes/${i}/${j}`);
      const o = i * stride;
      this.fine[o] = 0;
      for (let k = 1; k <= KNOTS_PER_HOUR; k++) this.fine[o + k] = this.fine[o + k - 1]! + sd * rng.normal();
      // Brownian bridge: B(t) - t * B(1) is zero at both ends of the hour.
      const end = this.fine[o + KNOTS_PER_HOUR]!;
      for (let k = 1; k <= KNOTS_PER_HOUR; k++)
        this.fine[o + k] = this.fine[o + k]! - (k / KNOTS_PER_HOUR) * end;
    }
    this.fineHour = j;
  }
}

/** Shortest and longest artifact burst (ms, inclusive). */
export const BURST_DURATION_MS: readonly [number, number] = [50, 200];
/** Range of the common rate a burst adds (Hz, before the per-channel weight). */
export const BURST_RATE_HZ: readonly [number, number] = [100, 300];

/**
 * Movement-artifact bursts: a Poisson process of onsets at `perMinute`, each lasting 50-200 ms with a
 * common rate of 100-300 Hz. When a burst starts during another, it replaces the other's rate and
 * extends its end. Driven with step indices (1 ms) in increasing order.
 */
export class NoiseBurstProcess {
  private readonly rng: Rng;
  private readonly meanGapMs: number;
  private nextOnsetMs: number;
  private endStep = 0;
  private rateHz = 0;
  private bursts = 0;

  constructor(perMinute: number, rng: Rng) {
    this.rng = rng;
    this.meanGapMs = perMinute > 0 ? 60_000 / perMinute : Number.POSITIVE_INFINITY;
    this.nextOnsetMs = this.gap();
  }

  /** Number of bursts started so far. */
  get count(): number {
    return this.bursts;
  }

  private gap(): number {
    return -Math.log(1 - this.rng.uniform()) * this.meanGapMs;
  }

  /** Common artifact rate (Hz) during step `step` ([step, step + 1) ms), 0 outside bursts. */
  rateAt(step: number): number {
    while (step + 1 > this.nextOnsetMs) {
      // The onset falls inside this step.
      const [d0, d1] = BURST_DURATION_MS;
      this.endStep = Math.max(this.endStep, step + d0 + this.rng.int(d1 - d0 + 1));
      this.rateHz = this.rng.range(BURST_RATE_HZ[0], BURST_RATE_HZ[1]);
      this.bursts++;
      this.nextOnsetMs += this.gap();
    }
    return step < this.endStep ? this.rateHz : 0;
  }
}
