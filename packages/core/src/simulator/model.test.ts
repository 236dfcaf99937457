/**
 * The neural model measured from its output the way one would measure a real recording:
 * rates during holds, refractoriness, tuning by regression, and the effect of every drift knob.
 */

import { describe, expect, it } from 'vitest';
import { pearson } from '../metrics/regression.js';
import type { RecordedSession } from '../types.js';
import { simulateSession } from './simulate-session.js';
import { MotorCortexSimulator, type SimulatorOptions } from './simulator.js';

const BIN_S = 0.05;

/** Mean rate (Hz) per channel over bins whose neural drive is a hand at rest (velocity 0 `lagBins` later). */
function holdRates(s: RecordedSession, lagBins = 2): { rates: Float64Array; seconds: number } {
  const n = s.metadata.channels;
  const sums = new Float64Array(n);
  let bins = 0;
  for (let b = 0; b + lagBins < s.bins; b++) {
    const k = 4 * (b + lagBins);
    if (s.kinematics[k + 2] !== 0 || s.kinematics[k + 3] !== 0) continue;
    bins++;
    for (let i = 0; i < n; i++) sums[i] += s.counts[b * n + i]!;
  }
  const seconds = bins * BIN_S;
  return { rates: sums.map((x) => x / seconds), seconds };
}

/** Bins [from, to) of a session. */
function sliceBins(s: RecordedSession, from: number, to: number): RecordedSession {
  const n = s.metadata.channels;
  return {
    ...s,
    bins: to - from,
    counts: s.counts.subarray(from * n, to * n),
    kinematics: s.kinematics.subarray(from * 4, to * 4),
    startUs: s.startUs.subarray(from, to),
    segmentStarts: [0],
    markers: [],
  };
}

/** Solve the symmetric 4x4 system A x = y (Gaussian elimination; A is well conditioned here). */
function solve4(A: number[][], y: number[]): number[] {
  const m = A.map((row, i) => [...row, y[i]!]);
  for (let c = 0; c < 4; c++) {
    let p = c;
    for (let r = c + 1; r < 4; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[p]![c]!)) p = r;
    [m[c], m[p]] = [m[p]!, m[c]!];
    for (let r = 0; r < 4; r++) {
      if (r === c) continue;
      const f = m[r]![c]! / m[c]![c]!;
      for (let k = c; k < 5; k++) m[r]![k]! -= f * m[c]![k]!;
    }
  }
  return m.map((row, i) => row[4]! / row[i]!);
}

interface Fit {
  /** Fitted rate change (Hz) per unit of velocity / v_ref along x and y. */
  bx: Float64Array;
  by: Float64Array;
  angle: Float64Array;
  depth: Float64Array;
  /** Fraction of count variance explained. */
  r2: Float64Array;
}

/** Regress each channel's rate in bin b on [1, vx, vy, |v|] (in units of 200 mm/s) of bin b + lagBins. */
function fitTuning(s: RecordedSession, lagBins = 2): Fit {
  const n = s.metadata.channels;
  const first = Math.max(0, -lagBins);
  const last = Math.min(s.bins, s.bins - lagBins); // exclusive
  const m = last - first;
  const X = new Float64Array(m * 4);
  for (let t = 0; t < m; t++) {
    const k = 4 * (first + t + lagBins);
    const vx = s.kinematics[k + 2]! / 200;
    const vy = s.kinematics[k + 3]! / 200;
    X.set([1, vx, vy, Math.hypot(vx, vy)], 4 * t);
  }
  const XtX = [0, 1, 2, 3].map((i) =>
    [0, 1, 2, 3].map((j) => {
      let a = 0;
      for (let t = 0; t < m; t++) a += X[4 * t + i]! * X[4 * t + j]!;
      return a;
    }),
  );
  const fit: Fit = {
    bx: new Float64Array(n),
    by: new Float64Array(n),
    angle: new Float64Array(n),
    depth: new Float64Array(n),
    r2: new Float64Array(n),
  };
  const y = new Float64Array(m);
  for (let i = 0; i < n; i++) {
    let mean = 0;
    const Xty = [0, 0, 0, 0];
    for (let t = 0; t < m; t++) {
      const v = s.counts[(first + t) * n + i]! / BIN_S;
      y[t] = v;
      mean += v / m;
      for (let j = 0; j < 4; j++) Xty[j]! += X[4 * t + j]! * v;
    }
    const beta = solve4(XtX, Xty);
    fit.bx[i] = beta[1]!;
    fit.by[i] = beta[2]!;
    fit.angle[i] = Math.atan2(beta[2]!, beta[1]!);
    fit.depth[i] = Math.hypot(beta[1]!, beta[2]!);
    let ssr = 0;
    let sst = 0;
    for (let t = 0; t < m; t++) {
      const o = 4 * t;
      const pred = beta[0]! + beta[1]! * X[o + 1]! + beta[2]! * X[o + 2]! + beta[3]! * X[o + 3]!;
      ssr += (y[t]! - pred) ** 2;
      sst += (y[t]! - mean) ** 2;
    }
    fit.r2[i] = sst > 0 ? 1 - ssr / sst : 0;
  }
  return fit;
}

/** Signed angle a - b wrapped into (-pi, pi]. */
function angleDiff(a: number, b: number): number {
  let d = (a - b) % (2 * Math.PI);
  if (d > Math.PI) d -= 2 * Math.PI;
  if (d <= -Math.PI) d += 2 * Math.PI;
  return d;
}

function median(xs: ArrayLike<number>): number {
  const s = Array.from(xs).sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function tunedChannels(o: SimulatorOptions = {}): number[] {
  return new MotorCortexSimulator(o).tuning.filter((t) => t.kind === 'tuned').map((t) => t.index);
}

describe('rates at rest', () => {
  it('match each channel baseline during holds', () => {
    const s = simulateSession({ seed: 21, seconds: 240 });
    const { rates, seconds } = holdRates(s);
    const truth = new MotorCortexSimulator({ seed: 21 }).tuning;
    expect(seconds).toBeGreaterThan(60);
    let relErr = 0;
    for (let i = 0; i < truth.length; i++) {
      const b = truth[i]!.baselineHz;
      // Poisson SE; refractoriness makes the true SE a little smaller.
      expect(Math.abs(rates[i]! - b) / Math.sqrt(b / seconds)).toBeLessThan(4.5);
      relErr += (rates[i]! - b) / b / truth.length;
    }
    expect(Math.abs(relErr)).toBeLessThan(0.02);
  });

  it('keep their mean despite the refractory period, even at high rates', () => {
    // Baselines of 25-200 Hz: an uncorrected 2 ms dead time would lose up to 30 %.
    const s = simulateSession({ seed: 22, seconds: 120, drift: { rateScale: 5 } });
    const { rates, seconds } = holdRates(s);
    const truth = new MotorCortexSimulator({ seed: 22 }).tuning;
    for (let i = 0; i < truth.length; i++) {
      const b = 5 * truth[i]!.baselineHz;
      expect(Math.abs(rates[i]! - b) / Math.sqrt(b / seconds)).toBeLessThan(4.5);
    }
  });
});

describe('refractory period', () => {
  function minIsiSteps(refractoryMs: number): number {
    const sim = new MotorCortexSimulator({
      seed: 23,
      refractoryMs,
      drift: { noiseBursts: 30, rateScale: 4 },
    });
    const last = new Float64Array(sim.channels).fill(Number.NEGATIVE_INFINITY);
    const counts = new Uint16Array(sim.channels);
    let minIsi = Number.POSITIVE_INFINITY;
    let maxCount = 0;
    for (let k = 0; k < 30_000; k++) {
      sim.nextFrameInto(counts);
      for (let i = 0; i < counts.length; i++) {
        const c = counts[i]!;
        if (c === 0) continue;
        if (c > maxCount) maxCount = c;
        if (k - last[i]! < minIsi) minIsi = k - last[i]!;
        last[i] = k;
      }
    }
    expect(maxCount).toBe(1);
    return minIsi;
  }

  it('keeps spikes of a channel at least refractoryMs apart', () => {
    // A spike in step k may lie anywhere in [k, k + 1) ms; ceil(refractoryMs) dead steps after it
    // keep any two spikes at least refractoryMs apart.
    expect(minIsiSteps(2)).toBe(3);
    expect(minIsiSteps(5)).toBe(6);
    expect(minIsiSteps(1.5)).toBe(3);
    expect(minIsiSteps(0)).toBe(1);
  });
});

describe('velocity tuning', () => {
  const seconds = 180;
  const session = simulateSession({ seed: 24, seconds });
  const sim = new MotorCortexSimulator({ seed: 24 });
  const tuned = tunedChannels({ seed: 24 });

  it('recovers the preferred directions of tuned channels by regression', () => {
    const fit = fitTuning(session);
    expect(tuned.length).toBeGreaterThan(60);
    const errs = tuned.map((i) => Math.abs(angleDiff(fit.angle[i]!, sim.tuning[i]!.preferredDirectionRad)));
    expect(median(errs)).toBeLessThan((5 * Math.PI) / 180);
    expect(Math.max(...errs)).toBeLessThan((20 * Math.PI) / 180);
    // Correlation of fitted and true tuning vectors d u (x and y components stacked).
    const fitted = tuned.flatMap((i) => [fit.bx[i]!, fit.by[i]!]);
    const truth = tuned.flatMap((i) => {
      const t = sim.tuning[i]!;
      return [t.depthHz * Math.cos(t.preferredDirectionRad), t.depthHz * Math.sin(t.preferredDirectionRad)];
    });
    expect(pearson(fitted, truth)).toBeGreaterThan(0.9);
  });

  it('finds little tuning in untuned channels', () => {
    const fit = fitTuning(session);
    const untuned = sim.tuning.filter((t) => t.kind === 'untuned').map((t) => t.index);
    expect(untuned.length).toBeGreaterThan(3);
    const tunedDepth = median(tuned.map((i) => fit.depth[i]!));
    for (const i of untuned) expect(fit.depth[i]!).toBeLessThan(0.25 * tunedDepth);
  });

  it('leads the hand by lagMs', () => {
    const atLag = (s: RecordedSession, lagBins: number) => {
      const fit = fitTuning(s, lagBins);
      return median(tuned.map((i) => fit.r2[i]!));
    };
    // Counts explain the hand best 2 bins (100 ms) later.
    const lags = [-1, 0, 1, 2, 3, 4];
    const r2 = lags.map((l) => atLag(session, l));
    expect(lags[r2.indexOf(Math.max(...r2))]).toBe(2);
    expect(r2[3]! / r2[1]!).toBeGreaterThan(1.15);
    const noLag = simulateSession({ seed: 24, seconds: 90, lagMs: 0 });
    const noLags = [-1, 0, 1, 2];
    const r2NoLag = noLags.map((l) => atLag(noLag, l));
    expect(noLags[r2NoLag.indexOf(Math.max(...r2NoLag))]).toBe(0);
  });
});

describe('drift knobs', () => {
  it('deadChannels silences round(f N) channels chosen by the seed, and nothing else', () => {
    const base = simulateSession({ seed: 25, seconds: 30, drift: { noiseBursts: 10 } });
    const dead = simulateSession({ seed: 25, seconds: 30, drift: { noiseBursts: 10, deadChannels: 0.25 } });
    const sim = new MotorCortexSimulator({ seed: 25, drift: { deadChannels: 0.25 } });
    const list = sim.deadChannels;
    expect(list.length).toBe(24);
    const n = 96;
    for (let i = 0; i < n; i++) {
      let total = 0;
      let same = true;
      for (let b = 0; b < dead.bins; b++) {
        total += dead.counts[b * n + i]!;
        if (dead.counts[b * n + i] !== base.counts[b * n + i]) same = false;
      }
      if (list.includes(i)) expect(total).toBe(0);
      else expect(same).toBe(true); // common random numbers: live channels are untouched
    }
    // A larger fraction kills a superset; another seed kills others.
    const more = new MotorCortexSimulator({ seed: 25, drift: { deadChannels: 0.5 } }).deadChannels;
    expect(more.length).toBe(48);
    for (const i of list) expect(more).toContain(i);
    expect(new MotorCortexSimulator({ seed: 26, drift: { deadChannels: 0.25 } }).deadChannels).not.toEqual(
      list,
    );
    expect(new MotorCortexSimulator({ seed: 25, drift: { deadChannels: 1 } }).deadChannels.length).toBe(96);
  });

  it('baselineDrift moves each baseline by a random walk that shows over hours', () => {
    const drift = { baselineDrift: 0.3 };
    const sim = new MotorCortexSimulator({ seed: 27, drift });
    const s0 = sim.channelState(0);
    const s4 = sim.channelState(4);
    const truth = Array.from(s0.baselineHz, (b, i) => Math.log(s4.baselineHz[i]! / b));
    // log-change after 4 h is N(0, (0.3 * 2)^2); SE of the SD estimate from 96 channels is ~0.05
    const sd = Math.sqrt(truth.reduce((a, x) => a + x * x, 0) / truth.length);
    expect(sd).toBeGreaterThan(0.45);
    expect(sd).toBeLessThan(0.75);
    expect(Array.from(s0.baselineHz)).toEqual(sim.tuning.map((t) => t.baselineHz));

    const day0 = holdRates(simulateSession({ seed: 27, seconds: 120, drift })).rates;
    const later = holdRates(
      simulateSession({ seed: 27, seconds: 120, drift: { ...drift, startHours: 4 } }),
    ).rates;
    const measured = Array.from(day0, (r, i) => Math.log(later[i]! / r));
    expect(pearson(measured, truth)).toBeGreaterThan(0.9);

    // Without the knob the same comparison shows only sampling noise.
    const still = holdRates(simulateSession({ seed: 27, seconds: 120, drift: { startHours: 4 } })).rates;
    const noise = Array.from(day0, (r, i) => Math.log(still[i]! / r));
    expect(Math.sqrt(noise.reduce((a, x) => a + x * x, 0) / noise.length)).toBeLessThan(0.15);
  });

  it('baselineDrift acts within a session, at the rate the drift state says', () => {
    // A fast walk so that two minutes show it: SD of the log change over 80 s is 5 * sqrt(80 / 3600) = 0.75.
    const drift = { baselineDrift: 5 };
    const s = simulateSession({ seed: 28, seconds: 120, drift });
    const sim = new MotorCortexSimulator({ seed: 28, drift });
    const first = holdRates(sliceBins(s, 0, 400)).rates; // 0-20 s
    const last = holdRates(sliceBins(s, 2000, 2400)).rates; // 100-120 s
    const a = sim.channelState(10 / 3600).baselineHz;
    const b = sim.channelState(110 / 3600).baselineHz;
    const expected = Array.from(a, (x, i) => Math.log(b[i]! / x));
    const measured = Array.from(first, (x, i) => Math.log((last[i]! + 1) / (x + 1)));
    expect(pearson(measured, expected)).toBeGreaterThan(0.9);
  });

  it('gainChange scales the modulation depth by (1 + c)^h', () => {
    const tuned = tunedChannels({ seed: 29 });
    const fit0 = fitTuning(simulateSession({ seed: 29, seconds: 180, drift: { gainChange: -0.3 } }));
    const fit2 = fitTuning(
      simulateSession({ seed: 29, seconds: 180, drift: { gainChange: -0.3, startHours: 2 } }),
    );
    const ratio = median(tuned.map((i) => fit2.depth[i]! / fit0.depth[i]!));
    // Expected 0.7^2 = 0.49 (flooring at zero bends the fit a little).
    expect(ratio).toBeGreaterThan(0.44);
    expect(ratio).toBeLessThan(0.56);
    const state = new MotorCortexSimulator({ seed: 29, drift: { gainChange: -0.3 } }).channelState(2);
    expect(
      state.depthHz[tuned[0]!]! / new MotorCortexSimulator({ seed: 29 }).tuning[tuned[0]!]!.depthHz,
    ).toBeCloseTo(0.49, 12);
  });

  it('pdRotation rotates the recovered preferred directions', () => {
    const tuned = tunedChannels({ seed: 30 });
    const drift = { pdRotation: 30 };
    const fit0 = fitTuning(simulateSession({ seed: 30, seconds: 150, drift }));
    const fit2 = fitTuning(simulateSession({ seed: 30, seconds: 150, drift: { ...drift, startHours: 2 } }));
    const turns = tuned.map((i) => (angleDiff(fit2.angle[i]!, fit0.angle[i]!) * 180) / Math.PI);
    expect(median(turns)).toBeGreaterThan(55);
    expect(median(turns)).toBeLessThan(65);
    // Clockwise for negative values.
    const fitNeg = fitTuning(
      simulateSession({ seed: 30, seconds: 150, drift: { pdRotation: -30, startHours: 2 } }),
    );
    const back = tuned.map((i) => (angleDiff(fitNeg.angle[i]!, fit0.angle[i]!) * 180) / Math.PI);
    expect(median(back)).toBeLessThan(-55);
    expect(median(back)).toBeGreaterThan(-65);
  });

  it('noiseBursts raise a common rate on most channels for 50-200 ms at the given rate', () => {
    const sim = new MotorCortexSimulator({ seed: 31, drift: { noiseBursts: 12 } });
    const n = sim.channels;
    const counts = new Uint16Array(n);
    const inBurst = new Float64Array(n);
    const outside = new Float64Array(n);
    let burstMs = 0;
    let run = 0;
    const runs: number[] = [];
    const ms = 300_000;
    for (let k = 0; k < ms; k++) {
      sim.nextFrameInto(counts);
      const burst = sim.noiseBurstThisFrame;
      const target = burst ? inBurst : outside;
      for (let i = 0; i < n; i++) target[i] += counts[i]!;
      if (burst) {
        burstMs++;
        run++;
      } else if (run > 0) {
        runs.push(run);
        run = 0;
      }
    }
    // 12 per minute for 5 minutes: 60 expected, Poisson SD 7.7.
    expect(sim.noiseBurstCount).toBeGreaterThan(35);
    expect(sim.noiseBurstCount).toBeLessThan(85);
    // Episodes are 50-200 ms (longer only when bursts overlap).
    expect(Math.min(...runs)).toBeGreaterThanOrEqual(50);
    expect(median(runs)).toBeGreaterThan(90);
    expect(median(runs)).toBeLessThan(160);
    const rise = Array.from(inBurst, (c, i) => c / (burstMs / 1000) - outside[i]! / ((ms - burstMs) / 1000));
    const raised = rise.filter((r) => r > 40).length;
    expect(raised / n).toBeGreaterThan(0.7);
    expect(median(rise)).toBeGreaterThan(100);
    // Without the knob: no bursts at all.
    const quiet = new MotorCortexSimulator({ seed: 31 });
    for (let k = 0; k < 60_000; k++) quiet.nextFrameInto(counts);
    expect(quiet.noiseBurstCount).toBe(0);
  });

  it('startHours continues the same array: same neurons and drift paths, a new session', () => {
    const drift = { baselineDrift: 0.3, gainChange: 0.1, pdRotation: 10 };
    const day0 = new MotorCortexSimulator({ seed: 32, drift });
    const day2 = new MotorCortexSimulator({ seed: 32, drift: { ...drift, startHours: 48 } });
    expect(day2.tuning).toEqual(day0.tuning);
    expect(day2.hours).toBe(48);
    // The drift state at any array time is the same whichever session asks.
    expect(day2.channelState()).toEqual(day0.channelState(48));
    expect(day2.channelState(50.5)).toEqual(day0.channelState(50.5));
    expect(day0.channelState(0.25)).toEqual(day2.channelState(0.25));
    // A new trajectory and new spike noise, even without drift.
    const a = simulateSession({ seed: 32, seconds: 10 });
    const b = simulateSession({ seed: 32, seconds: 10, drift: { startHours: 24 } });
    expect(b.kinematics).not.toEqual(a.kinematics);
    expect(b.counts).not.toEqual(a.counts);
    // The drifted state changes smoothly: one minute moves log-baselines by ~0.3 / sqrt(60).
    const h = day0.channelState(3);
    const h1 = day0.channelState(3 + 1 / 60);
    const steps = Array.from(h.baselineHz, (x, i) => Math.abs(Math.log(h1.baselineHz[i]! / x)));
    expect(median(steps)).toBeGreaterThan(0.01);
    expect(median(steps)).toBeLessThan(0.07);
  });

  it('rateScale scales every rate; 0 silences the array', () => {
    const one = simulateSession({ seed: 33, seconds: 30 });
    const two = simulateSession({ seed: 33, seconds: 30, drift: { rateScale: 2 } });
    const zero = simulateSession({ seed: 33, seconds: 30, drift: { rateScale: 0 } });
    const sum = (s: RecordedSession) => s.counts.reduce((a, x) => a + x, 0);
    expect(sum(zero)).toBe(0);
    expect(sum(two) / sum(one)).toBeGreaterThan(1.9);
    expect(sum(two) / sum(one)).toBeLessThan(2.1);
  });
});
