/**
 * A population of velocity-tuned channels (threshold crossings of a motor-cortex array) spiking at
 * 1 ms resolution. The model and its defaults are documented in `simulator.ts`.
 */
import type { DriftOptions } from './drift.js';
import { BrownianPaths } from './drift.js';
import { type Rng, RngBank } from './rng.js';

/** Hand speed (mm/s) at which a channel's rate moves by its full modulation depth. */
export const REFERENCE_SPEED_MM_S = 200;
/** Fraction of channels drawn as well tuned; the rest are split evenly between weak and untuned. */
export const TUNED_FRACTION = 0.8;
/** Fraction of channels that pick up artifact bursts. */
export const BURST_PICKUP_FRACTION = 0.85;

const STEP_S = 0.001;
const TWO_POW_32 = 4294967296;

export type ChannelKind = 'tuned' | 'weak' | 'untuned';

/** The day-0 parameters of one channel. Rates in Hz, directions in radians (0 = +x, counter-clockwise). */
export interface ChannelTuning {
  readonly index: number;
  readonly kind: ChannelKind;
  /** Rate with the hand at rest. */
  readonly baselineHz: number;
  /** Rate change for a movement at the reference speed along (+) or against (-) the preferred direction. */
  readonly depthHz: number;
  /** Rate change for a movement at the reference speed in any direction. */
  readonly speedHz: number;
  readonly preferredDirectionRad: number;
  /** Weight of the common artifact rate on this channel (0 for channels that do not pick it up). */
  readonly burstWeight: number;
}

/**
 * Draw the day-0 parameters of channel `index` from its own stream:
 * baseline b = clamp(12 Hz * exp(0.55 N), 5, 40) Hz;
 * tuned (80 %): depth d = b * U(0.4, 0.9) + U(3, 8) Hz, speed term U(0, 0.4) * d;
 * weak (10 %): d = b * U(0.05, 0.2), no speed term; untuned (10 %): no modulation;
 * preferred direction uniform on the circle; artifact pickup (85 %) with weight U(0.5, 1.5).
 */
export function drawChannelTuning(rng: Rng, index: number): ChannelTuning {
  const baselineHz = Math.min(40, Math.max(5, 12 * Math.exp(0.55 * rng.normal())));
  const u = rng.uniform();
  const kind: ChannelKind = u < TUNED_FRACTION ? 'tuned' : u < (1 + TUNED_FRACTION) / 2 ? 'weak' : 'untuned';
  const f = rng.range(0.4, 0.9);
  const extra = rng.range(3, 8);
  const s = rng.range(0, 0.4);
  const w = rng.range(0.05, 0.2);
  let depthHz = 0;
  let speedHz = 0;
  if (kind === 'tuned') {
    depthHz = baselineHz * f + extra;
    speedHz = s * depthHz;
  } else if (kind === 'weak') {
    depthHz = baselineHz * w;
  }
  const preferredDirectionRad = rng.range(-Math.PI, Math.PI);
  const pickup = rng.uniform() < BURST_PICKUP_FRACTION;
  const weight = rng.range(0.5, 1.5);
  return {
    index,
    kind,
    baselineHz,
    depthHz,
    speedHz,
    preferredDirectionRad,
    burstWeight: pickup ? weight : 0,
  };
}

/** The effective parameters of every channel at one array time (drift and `rateScale` applied). */
export interface ChannelState {
  /** Array time (hours since day 0). */
  readonly hours: number;
  readonly baselineHz: Float64Array;
  readonly depthHz: Float64Array;
  readonly speedHz: Float64Array;
  readonly preferredDirectionRad: Float64Array;
  /** 1 for dead channels. */
  readonly dead: Uint8Array;
}

export interface PopulationOptions {
  readonly channels: number;
  /** Whole 1 ms steps a channel stays silent after a spike. */
  readonly refractorySteps: number;
  readonly drift: Readonly<DriftOptions>;
  /** Streams of the array (tuning, dead channels, drift paths): shared by every session of the array. */
  readonly arrayRng: Rng;
  /** Streams of this session (spike noise). */
  readonly sessionRng: Rng;
}

/**
 * The spiking population. Rates (Hz) at each 1 ms step, for hand velocity v (mm/s):
 *
 *   rate_i = max(0, B_i + (Gx_i vx + Gy_i vy) + S_i |v| + A w_i)
 *
 * with coefficients refreshed from the drift state by `setHours` and A the common artifact rate.
 */
export class NeuronPopulation {
  readonly channels: number;
  readonly tuning: readonly ChannelTuning[];
  /** 1 for dead channels. */
  readonly dead: Uint8Array;
  private readonly refractorySteps: number;
  private readonly drift: Readonly<DriftOptions>;
  private readonly baselinePaths: BrownianPaths | undefined;
  private readonly walk: Float64Array;
  private readonly bank: RngBank;
  private readonly refractory: Int32Array;
  // Rate coefficients of the current drift state (see the class comment).
  private readonly B: Float64Array;
  private readonly Gx: Float64Array;
  private readonly Gy: Float64Array;
  private readonly S: Float64Array;
  private readonly W: Float64Array;
  private readonly depth: Float64Array;
  private readonly pd: Float64Array;

  constructor(o: PopulationOptions) {
    const n = o.channels;
    this.channels = n;
    this.refractorySteps = o.refractorySteps;
    this.drift = o.drift;
    const tuning: ChannelTuning[] = [];
    for (let i = 0; i < n; i++) tuning.push(drawChannelTuning(o.arrayRng.fork(`channel/${i}`), i));
    this.tuning = Object.freeze(tuning);
    this.dead = chooseDeadChannels(o.arrayRng, n, o.drift.deadChannels);
    this.baselinePaths =
      o.drift.baselineDrift > 0 ? new BrownianPaths(o.arrayRng.fork('baselineDrift'), n) : undefined;
    this.walk = new Float64Array(n);
    const streams: Rng[] = [];
    for (let i = 0; i < n; i++) streams.push(o.sessionRng.fork(`spikes/${i}`));
    this.bank = new RngBank(streams);
    this.refractory = new Int32Array(n);
    this.B = new Float64Array(n);
    this.Gx = new Float64Array(n);
    this.Gy = new Float64Array(n);
    this.S = new Float64Array(n);
    this.W = new Float64Array(n);
    this.depth = new Float64Array(n);
    this.pd = new Float64Array(n);
    this.setHours(o.drift.startHours);
  }

  /** True when any knob makes the coefficients change with time. */
  get drifting(): boolean {
    const d = this.drift;
    return d.baselineDrift > 0 || d.gainChange !== 0 || d.pdRotation !== 0;
  }

  /** The effective channel parameters at array time `hours`. Allocates; not for hot loops. */
  stateAt(hours: number): ChannelState {
    const n = this.channels;
    const state = {
      hours,
      baselineHz: new Float64Array(n),
      depthHz: new Float64Array(n),
      speedHz: new Float64Array(n),
      preferredDirectionRad: new Float64Array(n),
      dead: this.dead.slice(),
    };
    this.evaluate(hours, state.baselineHz, state.depthHz, state.speedHz, state.preferredDirectionRad);
    return state;
  }

  private evaluate(
    hours: number,
    baseline: Float64Array,
    depth: Float64Array,
    speed: Float64Array,
    pd: Float64Array,
  ): void {
    const d = this.drift;
    const gain = d.rateScale * (d.gainChange === 0 ? 1 : (1 + d.gainChange) ** hours);
    const rotation = (d.pdRotation * hours * Math.PI) / 180;
    if (this.baselinePaths) this.baselinePaths.valuesAt(hours, this.walk);
    for (let i = 0; i < this.channels; i++) {
      const t = this.tuning[i]!;
      const alive = this.dead[i] === 0;
      const drift = this.baselinePaths ? Math.exp(d.baselineDrift * this.walk[i]!) : 1;
      baseline[i] = alive ? d.rateScale * t.baselineHz * drift : 0;
      depth[i] = alive ? gain * t.depthHz : 0;
      speed[i] = alive ? gain * t.speedHz : 0;
      pd[i] = wrapAngle(t.preferredDirectionRad + rotation);
    }
  }

  /** Refresh the rate coefficients for array time `hours`. Allocation-free. */
  setHours(hours: number): void {
    const { depth, pd } = this;
    this.evaluate(hours, this.B, depth, this.S, pd);
    for (let i = 0; i < this.channels; i++) {
      this.Gx[i] = (depth[i]! * Math.cos(pd[i]!)) / REFERENCE_SPEED_MM_S;
      this.Gy[i] = (depth[i]! * Math.sin(pd[i]!)) / REFERENCE_SPEED_MM_S;
      this.S[i] = this.S[i]! / REFERENCE_SPEED_MM_S;
      this.W[i] = this.dead[i] === 0 ? this.tuning[i]!.burstWeight : 0;
    }
  }

  /**
   * Simulate one 1 ms step for hand velocity (vx, vy) in mm/s and common artifact rate `commonHz`,
   * adding each channel's spike (0 or 1) to `counts`. Allocation-free.
   *
   * Every channel draws exactly one random number per step, refractory or not, so a channel's noise
   * is the same whatever the rates: changing a drift knob changes only the spikes it has to.
   */
  step(vx: number, vy: number, commonHz: number, counts: Uint16Array): void {
    const n = this.channels;
    const R = this.refractorySteps;
    const speed = Math.sqrt(vx * vx + vy * vy);
    const { B, Gx, Gy, S, W, refractory, bank } = this;
    for (let i = 0; i < n; i++) {
      const u = bank.uint32(i);
      const left = refractory[i]!;
      if (left > 0) {
        refractory[i] = left - 1;
        continue;
      }
      // Expected spikes this step; <= 0 is a rate floored at zero.
      const x = (B[i]! + Gx[i]! * vx + Gy[i]! * vy + S[i]! * speed + commonHz * W[i]!) * STEP_S;
      if (x <= 0) continue;
      // Hazard p with p / (1 + R p) = x keeps the mean rate at `rate` despite the dead time;
      // p >= 1 when den <= x.
      const den = 1 - R * x;
      if (den <= x || u < (x / den) * TWO_POW_32) {
        counts[i]++;
        refractory[i] = R;
      }
    }
  }
}

/** The angle `a` wrapped into [-pi, pi). */
function wrapAngle(a: number): number {
  return a - 2 * Math.PI * Math.floor((a + Math.PI) / (2 * Math.PI));
}

/**
 * Dead channels: round(fraction * n) of them, the ones with the smallest key U(0, 1) drawn per
 * channel from the array stream. The set for a larger fraction contains the set for a smaller one.
 */
export function chooseDeadChannels(arrayRng: Rng, n: number, fraction: number): Uint8Array {
  const dead = new Uint8Array(n);
  const k = Math.round(fraction * n);
  if (k === 0) return dead;
  const keys = Array.from({ length: n }, (_, i) => ({ i, key: arrayRng.fork(`dead/${i}`).uniform() }));
  keys.sort((a, b) => a.key - b.key || a.i - b.i);
  for (let j = 0; j < k; j++) dead[keys[j]!.i] = 1;
  return dead;
}
