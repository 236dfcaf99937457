import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../errors.js';
import { Rng } from './rng.js';
import {
  CENTER_OUT_RADIUS_MM,
  ENDPOINT_SCATTER_MM,
  HOLD_RANGE_MS,
  MIN_REACH_MM,
  MOVEMENT_RANGE_MS,
  minJerkPosition,
  minJerkVelocity,
  type Reach,
  ReachingTask,
  type TaskName,
  WORKSPACE_HALF_WIDTH_MM,
} from './task.js';

interface Run {
  /** steps x [px, py, vx, vy] */
  samples: Float64Array;
  reaches: Reach[];
  steps: number;
}

function run(name: TaskName, seconds: number, seed = 1): Run {
  const task = new ReachingTask(name, new Rng(seed).fork('task'));
  const steps = seconds * 1000;
  const samples = new Float64Array(steps * 4);
  const reaches: Reach[] = [];
  for (let k = 0; k < steps; k++) {
    if (task.step(samples, 4 * k)) {
      const r = task.currentReach!;
      expect(r.startStep).toBe(k);
      reaches.push(r);
    }
  }
  expect(task.reachCount).toBe(reaches.length);
  return { samples, reaches, steps };
}

/** Reaches that finished before the run ended. */
function finished(r: Run): Reach[] {
  return r.reaches.filter((x) => x.startStep + x.durationMs < r.steps);
}

describe('minimum-jerk profile', () => {
  it('goes from 0 to 1 with zero velocity at both ends', () => {
    expect(minJerkPosition(0)).toBe(0);
    expect(minJerkPosition(1)).toBe(1);
    expect(minJerkPosition(0.5)).toBeCloseTo(0.5, 12);
    expect(minJerkVelocity(0)).toBe(0);
    expect(minJerkVelocity(1)).toBe(0);
    expect(minJerkVelocity(0.5)).toBeCloseTo(1.875, 12);
    const h = 1e-6;
    for (const s of [0.1, 0.3, 0.7, 0.9]) {
      expect(minJerkVelocity(s)).toBeCloseTo((minJerkPosition(s + h) - minJerkPosition(s - h)) / (2 * h), 6);
    }
  });
});

describe.each(['center-out', 'random-target'] as const)('%s task', (name) => {
  const r = run(name, 120);

  it('ends every reach at its target (plus scatter) and at rest', () => {
    const done = finished(r);
    expect(done.length).toBeGreaterThan(60);
    for (const reach of done) {
      const k = reach.startStep + reach.durationMs; // first hold sample
      const o = 4 * k;
      expect(r.samples[o]).toBe(reach.endX);
      expect(r.samples[o + 1]).toBe(reach.endY);
      expect(r.samples[o + 2]).toBe(0);
      expect(r.samples[o + 3]).toBe(0);
      // The last reach sample is within a hair of the endpoint, moving slowly.
      expect(Math.hypot(r.samples[o - 4]! - reach.endX, r.samples[o - 3]! - reach.endY)).toBeLessThan(1e-3);
      expect(Math.hypot(r.samples[o - 2]!, r.samples[o - 1]!)).toBeLessThan(0.1);
      // 2-D scatter of SD 2 mm per axis exceeds 5 SD with probability 4e-6.
      const miss = Math.hypot(reach.endX - reach.targetX, reach.endY - reach.targetY);
      expect(miss).toBeLessThan(5 * ENDPOINT_SCATTER_MM);
    }
    const misses = done.map((x) => Math.hypot(x.endX - x.targetX, x.endY - x.targetY));
    // Mean of a Rayleigh(2 mm) distance is 2.5 mm.
    const mean = misses.reduce((a, b) => a + b, 0) / misses.length;
    expect(mean).toBeGreaterThan(1.5);
    expect(mean).toBeLessThan(3.5);
  });

  it('starts every reach at rest where the last ended', () => {
    for (let i = 1; i < r.reaches.length; i++) {
      const prev = r.reaches[i - 1]!;
      const reach = r.reaches[i]!;
      expect(reach.fromX).toBe(prev.endX);
      expect(reach.fromY).toBe(prev.endY);
      const o = 4 * (reach.startStep - 1); // last hold sample
      expect(r.samples[o + 2]).toBe(0);
      expect(r.samples[o + 3]).toBe(0);
    }
  });

  it('has velocity equal to the derivative of position', () => {
    let maxErr = 0;
    let maxSpeed = 0;
    const s = r.samples;
    for (let k = 1; k < r.steps - 1; k++) {
      for (let a = 0; a < 2; a++) {
        const numeric = (s[4 * (k + 1) + a]! - s[4 * (k - 1) + a]!) / 0.002;
        maxErr = Math.max(maxErr, Math.abs(numeric - s[4 * k + 2 + a]!));
      }
      maxSpeed = Math.max(maxSpeed, Math.hypot(s[4 * k + 2]!, s[4 * k + 3]!));
    }
    expect(maxSpeed).toBeGreaterThan(150);
    // Central differences err by h^2/6 x''' ~ 0.01 mm/s here.
    expect(maxErr).toBeLessThan(0.05);
  });

  it('has movement times of 0.5-1.2 s, longer for longer reaches, and holds of 0.2-0.6 s', () => {
    const done = finished(r);
    for (const reach of done) {
      expect(reach.durationMs).toBeGreaterThanOrEqual(MOVEMENT_RANGE_MS[0]);
      expect(reach.durationMs).toBeLessThanOrEqual(MOVEMENT_RANGE_MS[1]);
      expect(Number.isInteger(reach.durationMs)).toBe(true);
    }
    for (let i = 1; i < r.reaches.length; i++) {
      const prev = r.reaches[i - 1]!;
      const hold = r.reaches[i]!.startStep - (prev.startStep + prev.durationMs);
      expect(hold).toBeGreaterThanOrEqual(HOLD_RANGE_MS[0]);
      expect(hold).toBeLessThanOrEqual(HOLD_RANGE_MS[1]);
    }
    expect(r.reaches[0]!.startStep).toBeGreaterThanOrEqual(HOLD_RANGE_MS[0]);
    if (name === 'random-target') {
      const short = done.filter((x) => Math.hypot(x.endX - x.fromX, x.endY - x.fromY) < 80);
      const long = done.filter((x) => Math.hypot(x.endX - x.fromX, x.endY - x.fromY) > 160);
      const mean = (xs: Reach[]) => xs.reduce((a, x) => a + x.durationMs, 0) / xs.length;
      expect(short.length).toBeGreaterThan(5);
      expect(long.length).toBeGreaterThan(5);
      expect(mean(long)).toBeGreaterThan(mean(short) + 150);
    }
  });

  it('is deterministic for one stream and differs for another', () => {
    const bits = (a: Float64Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    const again = run(name, 20);
    expect(bits(again.samples).equals(bits(r.samples.subarray(0, again.samples.length)))).toBe(true);
    const other = run(name, 20, 2);
    expect(bits(other.samples).equals(bits(again.samples))).toBe(false);
  });
});

describe('center-out targets', () => {
  const r = run('center-out', 120);

  it('alternate outward reaches to the circle and returns to the centre', () => {
    r.reaches.forEach((reach, i) => {
      if (i % 2 === 0) {
        expect(reach.targetIndex).toBeGreaterThanOrEqual(0);
        const angle = (2 * Math.PI * reach.targetIndex) / 8;
        expect(reach.targetX).toBeCloseTo(CENTER_OUT_RADIUS_MM * Math.cos(angle), 10);
        expect(reach.targetY).toBeCloseTo(CENTER_OUT_RADIUS_MM * Math.sin(angle), 10);
      } else {
        expect(reach.targetIndex).toBe(-1);
        expect([reach.targetX, reach.targetY]).toEqual([0, 0]);
      }
    });
  });

  it('visit the 8 targets in shuffled blocks', () => {
    const order = r.reaches.filter((x) => x.targetIndex >= 0).map((x) => x.targetIndex);
    expect(order.length).toBeGreaterThanOrEqual(32);
    for (let b = 0; b + 8 <= order.length; b += 8) {
      expect([...order.slice(b, b + 8)].sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    }
    expect(order.slice(0, 8)).not.toEqual(order.slice(8, 16));
  });
});

describe('random-target targets', () => {
  it('lie in the workspace and are at least MIN_REACH_MM from the hand', () => {
    const r = run('random-target', 120);
    const xs = r.reaches.map((x) => x.targetX);
    for (const reach of r.reaches) {
      expect(Math.abs(reach.targetX)).toBeLessThanOrEqual(WORKSPACE_HALF_WIDTH_MM);
      expect(Math.abs(reach.targetY)).toBeLessThanOrEqual(WORKSPACE_HALF_WIDTH_MM);
      expect(Math.hypot(reach.targetX - reach.fromX, reach.targetY - reach.fromY)).toBeGreaterThanOrEqual(
        MIN_REACH_MM,
      );
    }
    // Spread over the square, not clustered.
    expect(Math.max(...xs) - Math.min(...xs)).toBeGreaterThan(150);
  });
});

describe('ReachingTask options', () => {
  it('rejects an unknown task', () => {
    expect(() => new ReachingTask('zigzag' as TaskName, new Rng(1))).toThrow(InvalidOptionError);
  });
});
