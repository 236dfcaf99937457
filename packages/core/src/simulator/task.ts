/**
 * Hand trajectories of a reaching task, one sample per 1 ms step.
 *
 * The hand alternates between holds and reaches. A reach from x0 to xf of duration T follows the
 * minimum-jerk profile (Flash & Hogan 1985)
 *
 *   x(t) = x0 + (xf - x0) (10 s^3 - 15 s^4 + 6 s^5),   s = t / T
 *   v(t) = (xf - x0) / T (30 s^2 - 60 s^3 + 30 s^4)
 *
 * so position, velocity and acceleration are continuous and velocity is zero at both ends.
 * Every segment lasts a whole number of milliseconds and starts on a step boundary; step k covers
 * [k, k + 1) ms and is sampled at its middle, t = k + 0.5 ms. Units are mm and mm/s.
 *
 * - `center-out`: hold at the centre, reach to one of 8 targets on a circle of radius 80 mm, hold,
 *   reach back to the centre, and so on. Targets come in blocks of 8, each a random permutation,
 *   so every direction is equally common.
 * - `random-target`: targets uniform in a 200 x 200 mm square around the centre, each reach starting
 *   wherever the previous one ended (targets closer than 30 mm to the hand are drawn again).
 *
 * Every reach ends at its target plus an isotropic normal scatter (SD 2 mm per axis), the hand holds
 * there for 200-600 ms (uniform, whole ms), and the movement time is
 * T = clamp((0.4 s + 3.5 ms/mm * D) * exp(0.1 * N(0, 1)), 0.5 s, 1.2 s) for a reach of length D,
 * rounded to whole ms: about 0.68 s for the 80 mm centre-out reach, longer for longer reaches.
 */
import { InvalidOptionError } from '../errors.js';
import type { Rng } from './rng.js';

export type TaskName = 'center-out' | 'random-target';

/** Every task name, for validation and help texts. */
export const TASK_NAMES: readonly TaskName[] = ['center-out', 'random-target'];

/** Radius of the centre-out target circle (mm). */
export const CENTER_OUT_RADIUS_MM = 80;
/** Number of centre-out targets, evenly spaced from angle 0 (+x) counter-clockwise. */
export const CENTER_OUT_TARGETS = 8;
/** Half the side of the square random-target workspace, centred on the origin (mm). */
export const WORKSPACE_HALF_WIDTH_MM = 100;
/** Shortest random-target reach (mm); closer targets are drawn again. */
export const MIN_REACH_MM = 30;
/** Standard deviation of the endpoint scatter per axis (mm). */
export const ENDPOINT_SCATTER_MM = 2;
/** Shortest and longest hold between reaches (ms, inclusive). */
export const HOLD_RANGE_MS: readonly [number, number] = [200, 600];
/** Shortest and longest movement time (ms, inclusive). */
export const MOVEMENT_RANGE_MS: readonly [number, number] = [500, 1200];

/** Normalised minimum-jerk position 10 s^3 - 15 s^4 + 6 s^5 at s in [0, 1]. */
export function minJerkPosition(s: number): number {
  const s3 = s * s * s;
  return s3 * (10 + s * (-15 + 6 * s));
}

/** Derivative of `minJerkPosition` with respect to s: 30 s^2 - 60 s^3 + 30 s^4 = 30 s^2 (1 - s)^2. */
export function minJerkVelocity(s: number): number {
  const u = s * (1 - s);
  return 30 * u * u;
}

/** Movement time (ms) of a reach of length `distanceMm` for one standard normal draw `z`. */
export function movementTimeMs(distanceMm: number, z: number): number {
  const t = (400 + 3.5 * distanceMm) * Math.exp(0.1 * z);
  return Math.min(MOVEMENT_RANGE_MS[1], Math.max(MOVEMENT_RANGE_MS[0], Math.round(t)));
}

/** One reach, as the task planned it. */
export interface Reach {
  /** 0 for the first reach of the session. */
  readonly index: number;
  /** Step (ms since the task started) of the first sample of the reach. */
  readonly startStep: number;
  readonly durationMs: number;
  readonly fromX: number;
  readonly fromY: number;
  /** The target the reach aimed at. */
  readonly targetX: number;
  readonly targetY: number;
  /** Where the reach ended (target plus scatter); the hand holds here afterwards. */
  readonly endX: number;
  readonly endY: number;
  /** Centre-out target number (0-7, 0 at +x, counter-clockwise), -1 for returns and random targets. */
  readonly targetIndex: number;
}

/** A reaching task driven one 1 ms step at a time. Deterministic for one `Rng`. */
export class ReachingTask {
  readonly name: TaskName;
  private readonly rng: Rng;
  /** Steps produced so far; the next sample is step `stepIndex`. */
  private stepIndex = 0;
  private x = 0;
  private y = 0;
  private reaching = false;
  /** Step within the current segment of the next sample, and the segment's length in steps. */
  private k = 0;
  private length = 0;
  private reach: Reach | undefined;
  private reaches = 0;
  private readonly order = new Int32Array(CENTER_OUT_TARGETS);
  private orderPos = CENTER_OUT_TARGETS;

  constructor(name: TaskName, rng: Rng) {
    if (!TASK_NAMES.includes(name)) {
      throw new InvalidOptionError('task', `must be one of ${TASK_NAMES.join(', ')}, got ${String(name)}`);
    }
    this.name = name;
    this.rng = rng;
    this.length = this.drawHoldMs();
  }

  /** Number of samples produced so far (= index of the next step). */
  get steps(): number {
    return this.stepIndex;
  }

  /** True when the last sample was part of a reach, false during a hold. */
  get isReaching(): boolean {
    return this.reaching;
  }

  /** The reach in progress, or the last one; undefined before the first reach. */
  get currentReach(): Reach | undefined {
    return this.reach;
  }

  /** Number of reaches started so far. */
  get reachCount(): number {
    return this.reaches;
  }

  /**
   * Produce the next 1 ms sample: write [pos_x, pos_y, vel_x, vel_y] (mm, mm/s) at the middle of the
   * step into `out[offset, offset + 4)`. Returns true when a reach starts in this step.
   */
  step(out: Float64Array, offset: number): boolean {
    let started = false;
    if (this.k === this.length) {
      started = this.nextSegment();
    }
    const r = this.reach;
    if (this.reaching && r !== undefined) {
      const s = (this.k + 0.5) / this.length;
      const p = minJerkPosition(s);
      const dv = minJerkVelocity(s) * (1000 / this.length); // d/dt of s is 1/T with T in seconds
      const dx = r.endX - r.fromX;
      const dy = r.endY - r.fromY;
      out[offset] = r.fromX + dx * p;
      out[offset + 1] = r.fromY + dy * p;
      out[offset + 2] = dx * dv;
      out[offset + 3] = dy * dv;
    } else {
      out[offset] = this.x;
      out[offset + 1] = this.y;
      out[offset + 2] = 0;
      out[offset + 3] = 0;
    }
    this.k++;
    this.stepIndex++;
    return started;
  }

  private drawHoldMs(): number {
    return HOLD_RANGE_MS[0] + this.rng.int(HOLD_RANGE_MS[1] - HOLD_RANGE_MS[0] + 1);
  }

  /** Close the finished segment and plan the next; true when the next one is a reach. */
  private nextSegment(): boolean {
    this.k = 0;
    if (this.reaching) {
      // Reach done: the hand rests exactly at the endpoint.
      const r = this.reach!;
      this.x = r.endX;
      this.y = r.endY;
      this.reaching = false;
      this.length = this.drawHoldMs();
      return false;
    }
    const rng = this.rng;
    let targetX: number;
    let targetY: number;
    let targetIndex = -1;
    if (this.name === 'center-out') {
      const atCentre = this.reach === undefined || this.reach.targetIndex < 0;
      if (atCentre) {
        if (this.orderPos === CENTER_OUT_TARGETS) this.shuffleBlock();
        targetIndex = this.order[this.orderPos++]!;
        const angle = (2 * Math.PI * targetIndex) / CENTER_OUT_TARGETS;
        targetX = CENTER_OUT_RADIUS_MM * Math.cos(angle);
        targetY = CENTER_OUT_RADIUS_MM * Math.sin(angle);
      } else {
        targetX = 0;
        targetY = 0;
      }
    } else {
      const w = WORKSPACE_HALF_WIDTH_MM;
      do {
        targetX = rng.range(-w, w);
        targetY = rng.range(-w, w);
      } while (Math.hypot(targetX - this.x, targetY - this.y) < MIN_REACH_MM);
    }
    const endX = targetX + ENDPOINT_SCATTER_MM * rng.normal();
    const endY = targetY + ENDPOINT_SCATTER_MM * rng.normal();
    const durationMs = movementTimeMs(Math.hypot(endX - this.x, endY - this.y), rng.normal());
    this.reach = {
      index: this.reaches++,
      startStep: this.stepIndex,
      durationMs,
      fromX: this.x,
      fromY: this.y,
      targetX,
      targetY,
      endX,
      endY,
      targetIndex,
    };
    this.reaching = true;
    this.length = durationMs;
    return true;
  }

  /** A fresh random permutation of the centre-out targets (Fisher–Yates). */
  private shuffleBlock(): void {
    const o = this.order;
    for (let i = 0; i < o.length; i++) o[i] = i;
    for (let i = o.length - 1; i > 0; i--) {
      const j = this.rng.int(i + 1);
      const t = o[i]!;
      o[i] = o[j]!;
      o[j] = t;
    }
    this.orderPos = 0;
  }
}
