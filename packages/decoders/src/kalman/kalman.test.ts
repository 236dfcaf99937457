import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ChannelCountError,
  InvalidOptionError,
  NonFiniteValueError,
  type RecordedSession,
  Rng,
} from '@edge-bci/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelFormatError, NotFittedError, NotPositiveDefiniteError } from '../errors.js';
import { predictSession } from '../evaluate.js';
import { solveSpd } from '../kernels/linalg.js';
import { type LoadedModel, loadModelDir } from '../model-io.js';
import { normaliseRows } from '../normaliser-stats.js';
import { WienerDecoder } from '../wiener/wiener.js';
import { invertSpdInPlace, KalmanDecoder, type KalmanModel } from './kalman.js';

const NAMES = ['pos_x', 'pos_y', 'vel_x', 'vel_y'];
/** True dynamics: damped position integrating a rotating, damped velocity. */
const F_TRUE = [
  [0.98, 0, 0.1, 0],
  [0, 0.98, 0, 0.1],
  [0, 0, 0.9, -0.1],
  [0, 0, 0.1, 0.9],
];
const W_SD = [0.1, 0.1, 1, 1];

interface Simulated {
  session: RecordedSession;
  /** C x 4 observation matrix in count units. */
  H: number[][];
}

/**
 * x_t = F x_{t-1} + w inside each segment (a fresh start state, sd `startSd`, at every segment
 * start); counts_t = base + H x_{t+lag} + noise (the counts lead the kinematics by `lag` bins).
 */
function simulate(opts: {
  bins: number;
  channels: number;
  noise: number;
  seed: number;
  segmentStarts?: number[];
  lag?: number;
  startSd?: number;
}): Simulated {
  const { bins, channels: C, noise } = opts;
  const lag = opts.lag ?? 0;
  const r = new Rng(opts.seed);
  const H = Array.from({ length: C }, () => NAMES.map((_, i) => (i < 2 ? 0.1 : 0.4) * r.normal()));
  const base = Array.from({ length: C }, () => 2 + 3 * r.uniform());
  const starts = opts.segmentStarts ?? [0];
  const kin = new Float64Array(bins * 4);
  const counts = new Float32Array(bins * C);
  for (let k = 0; k < starts.length; k++) {
    const lo = starts[k];
    const hi = k + 1 < starts.length ? starts[k + 1] : bins;
    // Simulate lag extra steps so the last bins of the segment have their (future) state.
    const len = hi - lo + lag;
    const xs: number[][] = [];
    let x = NAMES.map((_, i) => (opts.startSd ?? (i < 2 ? 3 : 2)) * r.normal());
    for (let t = 0; t < len; t++) {
      if (t > 0) x = F_TRUE.map((row, i) => row.reduce((a, f, j) => a + f * x[j], 0) + W_SD[i] * r.normal());
      xs.push(x);
    }
    for (let t = 0; t < hi - lo; t++) {
      for (let i = 0; i < 4; i++) kin[(lo + t) * 4 + i] = xs[t][i];
      const xl = xs[t + lag];
      for (let c = 0; c < C; c++) {
        counts[(lo + t) * C + c] = base[c] + H[c].reduce((a, h, i) => a + h * xl[i], 0) + noise * r.normal();
      }
    }
  }
  return {
    session: {
      metadata: {
        channels: C,
        channelLabels: Array.from({ length: C }, (_, i) => `u${i}`),
        binWidthUs: 50_000,
        kinematicNames: NAMES,
      },
      bins,
      counts,
      kinematics: kin,
      startUs: Float64Array.from({ length: bins }, (_, i) => i * 50_000),
      segmentStarts: starts,
      markers: [],
    },
    H,
  };
}

/** Mean over outputs of R^2 of `pred` (rows x outputs) against kinematic `columns`, bins [from, to). */
function r2(
  pred: Float32Array,
  session: RecordedSession,
  columns: number[],
  from: number,
  to: number,
): number {
  const m = columns.length;
  const K = session.metadata.kinematicNames.length;
  let total = 0;
  for (let o = 0; o < m; o++) {
    let mean = 0;
    for (let t = from; t < to; t++) mean += session.kinematics[t * K + columns[o]];
    mean /= to - from;
    let sse = 0;
    let sst = 0;
    for (let t = from; t < to; t++) {
      const y = session.kinematics[t * K + columns[o]];
      sse += (y - pred[(t - from) * m + o]) ** 2;
      sst += (y - mean) ** 2;
    }
    total += 1 - sse / sst;
  }
  return total / m;
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** Least squares of rows y (length q) on [x, 1] (x length s) over the given (x, y) pairs; returns (s+1) x q. */
function leastSquares(
  pairs: Array<[ArrayLike<number>, ArrayLike<number>]>,
  s: number,
  q: number,
): Float64Array {
  const n = s + 1;
  const xtx = new Float64Array(n * n);
  const xty = new Float64Array(n * q);
  for (const [x, y] of pairs) {
    const row = [...Array.from(x), 1];
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) xtx[i * n + j] += row[i] * row[j];
      for (let o = 0; o < q; o++) xty[i * q + o] += row[i] * y[o];
    }
  }
  return solveSpd(xtx, n, xty, q);
}

describe('KalmanDecoder fitting', () => {
  const sim = simulate({ bins: 6000, channels: 16, noise: 2, seed: 1 });
  const train = 4500;

  it('recovers A and H of a known linear-Gaussian model and beats the raw observation regression', async () => {
    const dec = new KalmanDecoder({ lagBins: 0 });
    const report = await dec.fit(sim.session, { trainBins: train });
    expect(dec.fitted).toBe(true);
    expect(dec.stateNames).toEqual(NAMES);
    expect(dec.outputNames).toEqual(['vel_x', 'vel_y']);
    expect(report.bins).toBe(train);
    expect(report.chosen).toMatchObject({
      lagBins: 0,
      initialState: 'stationary',
      transitionPairs: train - 1,
    });
    const { A, H, W } = dec.model;
    const n = 5;
    for (let i = 0; i < 4; i++) {
      for (let j = 0; j < 4; j++) expect(Math.abs(A[i * n + j] - F_TRUE[i][j])).toBeLessThan(0.02);
      expect(Math.abs(A[i * n + 4])).toBeLessThan(0.1);
      expect(W[i * n + i] / W_SD[i] ** 2).toBeGreaterThan(0.9);
      expect(W[i * n + i] / W_SD[i] ** 2).toBeLessThan(1.1);
    }
    expect(Array.from(A.subarray(20))).toEqual([0, 0, 0, 0, 1]);
    // H is fitted on z-scored counts: in count units it is H_z * std.
    let maxErr = 0;
    for (let c = 0; c < 16; c++) {
      for (let i = 0; i < 4; i++) {
        maxErr = Math.max(maxErr, Math.abs(H[c * n + i] * dec.normaliser.std[c] - sim.H[c][i]));
      }
    }
    expect(maxErr).toBeLessThan(0.05);

    const kalman = r2(predictSession(dec, sim.session, train), sim.session, [2, 3], train, 6000);
    const wiener = new WienerDecoder({ history: 1, lambdas: [1] });
    await wiener.fit(sim.session, { trainBins: train });
    const direct = r2(predictSession(wiener, sim.session, train), sim.session, [2, 3], train, 6000);
    expect(kalman).toBeGreaterThan(direct + 0.05);
    expect(kalman).toBeGreaterThan(0.8);
  });

  it('decodes position from a position-velocity state, and velocity from a velocity-only state', async () => {
    const pos = new KalmanDecoder({ target: 'position', lagBins: 0 });
    await pos.fit(sim.session, { trainBins: train });
    expect(pos.outputNames).toEqual(['pos_x', 'pos_y']);
    expect(r2(predictSession(pos, sim.session, train), sim.session, [0, 1], train, 6000)).toBeGreaterThan(
      0.8,
    );
    const vel = new KalmanDecoder({ state: 'velocity', lagBins: 0 });
    await vel.fit(sim.session, { trainBins: train });
    expect(vel.stateNames).toEqual(['vel_x', 'vel_y']);
    expect(vel.model.A.length).toBe(9);
    expect(r2(predictSession(vel, sim.session, train), sim.session, [2, 3], train, 6000)).toBeGreaterThan(
      0.7,
    );
    // Explicit columns: the state is exactly those columns.
    const cols = new KalmanDecoder({ lagBins: 0 });
    await cols.fit(sim.session, { trainBins: train, targetColumns: [3] });
    expect(cols.stateNames).toEqual(['vel_y']);
    expect(cols.outputNames).toEqual(['vel_y']);
    expect(cols.target).toBe('columns:vel_y');
  });

  it('never fits a pair across a segment start (transition pairs and lagged observation pairs)', async () => {
    const starts = [0, 60, 130, 170, 260, 300];
    // Every segment starts far from where the previous one ended.
    const seg = simulate({
      bins: 400,
      channels: 6,
      noise: 0.5,
      seed: 4,
      segmentStarts: starts,
      lag: 1,
      startSd: 20,
    });
    const session = seg.session;
    const dec = new KalmanDecoder({ lagBins: 1 });
    const report = await dec.fit(session);
    expect(report.chosen?.transitionPairs).toBe(400 - starts.length);
    expect(report.bins).toBe(400 - starts.length);
    const x = (t: number) => session.kinematics.subarray(t * 4, t * 4 + 4);
    const z = normaliseRows(session.counts, dec.normaliser, 0, 400);
    const inside: Array<[ArrayLike<number>, ArrayLike<number>]> = [];
    const all: Array<[ArrayLike<number>, ArrayLike<number>]> = [];
    const obsInside: Array<[ArrayLike<number>, ArrayLike<number>]> = [];
    const obsAll: Array<[ArrayLike<number>, ArrayLike<number>]> = [];
    for (let t = 1; t < 400; t++) {
      all.push([x(t - 1), x(t)]);
      obsAll.push([x(t), z.subarray((t - 1) * 6, t * 6)]);
      if (!starts.includes(t)) {
        inside.push([x(t - 1), x(t)]);
        obsInside.push([x(t), z.subarray((t - 1) * 6, t * 6)]);
      }
    }
    const n = 5;
    const A = dec.model.A;
    const H = dec.model.H;
    const refA = leastSquares(inside, 4, 4);
    const crossA = leastSquares(all, 4, 4);
    const refH = leastSquares(obsInside, 4, 6);
    const crossH = leastSquares(obsAll, 4, 6);
    let errA = 0;
    let sensA = 0;
    for (let o = 0; o < 4; o++) {
      for (let i = 0; i < n; i++) {
        errA = Math.max(errA, Math.abs(A[o * n + i] - refA[i * 4 + o]));
        sensA = Math.max(sensA, Math.abs(crossA[i * 4 + o] - refA[i * 4 + o]));
      }
    }
    let errH = 0;
    let sensH = 0;
    for (let c = 0; c < 6; c++) {
      for (let i = 0; i < n; i++) {
        errH = Math.max(errH, Math.abs(H[c * n + i] - refH[i * 6 + c]));
        sensH = Math.max(sensH, Math.abs(crossH[i * 6 + c] - refH[i * 6 + c]));
      }
    }
    // Crossing pairs would move A and H visibly; the fit matches the within-segment fit exactly.
    expect(sensA).toBeGreaterThan(0.05);
    expect(sensH).toBeGreaterThan(0.01);
    expect(errA).toBeLessThan(1e-5);
    expect(errH).toBeLessThan(1e-5);
  });

  it('takes the prior of a segment start from the training segment starts when there are enough', async () => {
    const starts = Array.from({ length: 40 }, (_, i) => i * 50);
    const seg = simulate({ bins: 2000, channels: 6, noise: 1, seed: 9, segmentStarts: starts, startSd: 1 });
    const dec = new KalmanDecoder();
    const report = await dec.fit(seg.session, { trainBins: 1500 });
    expect(report.chosen?.initialState).toBe('segment-starts');
    const used = starts.filter((b) => b < 1500);
    for (let i = 0; i < 4; i++) {
      const mean = used.reduce((a, b) => a + seg.session.kinematics[b * 4 + i], 0) / used.length;
      expect(dec.model.x0[i]).toBeCloseTo(mean, 5);
    }
    expect(dec.model.x0[4]).toBe(1);
    const st = dec.initialState();
    expect(Array.from(st.x)).toEqual(Array.from(dec.model.x0.subarray(0, 4)));
  });

  it('rejects degenerate input and bad options with named errors', async () => {
    const small = simulate({ bins: 300, channels: 4, noise: 1, seed: 2 }).session;
    const dec = new KalmanDecoder();
    const badKin = { ...small, kinematics: small.kinematics.slice() };
    badKin.kinematics[10 * 4 + 2] = Number.NaN;
    await expect(dec.fit(badKin)).rejects.toThrow(NonFiniteValueError);
    const badCounts = { ...small, counts: small.counts.slice() };
    badCounts.counts[7] = Number.POSITIVE_INFINITY;
    await expect(dec.fit(badCounts)).rejects.toThrow(NonFiniteValueError);
    const constant = { ...small, kinematics: new Float64Array(small.kinematics.length).fill(3) };
    await expect(dec.fit(constant)).rejects.toThrow(NotPositiveDefiniteError);
    await expect(dec.fit(small, { trainBins: 5 })).rejects.toThrow(InvalidOptionError);
    await expect(dec.fit(small, { trainBins: 0 })).rejects.toThrow(InvalidOptionError);
    await expect(dec.fit(small, { target: 'force' as never })).rejects.toThrow(InvalidOptionError);
    await expect(new KalmanDecoder({ state: 'velocity' }).fit(small, { target: 'position' })).rejects.toThrow(
      InvalidOptionError,
    );
    // Bins only in one-bin segments: no transition pair at all.
    const shattered = { ...small, segmentStarts: Array.from({ length: 300 }, (_, i) => i) };
    await expect(dec.fit(shattered)).rejects.toThrow(InvalidOptionError);
    expect(dec.fitted).toBe(false);
    // Explosive kinematics that no channel observes (silent channels): no steady state exists.
    const r = new Rng(3);
    const grow = new Float64Array(300 * 4);
    for (let t = 1; t < 300; t++)
      for (let i = 0; i < 4; i++) grow[t * 4 + i] = 1.05 * grow[(t - 1) * 4 + i] + r.normal();
    const unobserved = { ...small, counts: new Float32Array(small.counts.length), kinematics: grow };
    await expect(dec.fit(unobserved)).rejects.toThrow(InvalidOptionError);
    const full = new KalmanDecoder({ steadyState: false });
    await full.fit(unobserved);
    expect(full.riccatiIterations).toBeNaN();
    for (const bad of [
      { lagBins: -1 },
      { lagBins: 0.5 },
      { qRidge: 0 },
      { wRidge: -1 },
      { minStd: 0 },
      { state: 'acceleration' },
      { target: 'force' },
      { state: 'velocity', target: 'position' },
      { steadyState: 'yes' },
    ]) {
      expect(() => new KalmanDecoder(bad as never)).toThrow(InvalidOptionError);
    }
  });

  it('reports progress from 0 to 1', async () => {
    const seen: number[] = [];
    await new KalmanDecoder().fit(sim.session, { trainBins: train, onProgress: (f) => seen.push(f) });
    expect(seen.at(-1)).toBe(1);
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThanOrEqual(seen[i - 1]);
  });
});

describe('KalmanDecoder filtering', () => {
  const sim = simulate({ bins: 1500, channels: 8, noise: 1.5, seed: 5, segmentStarts: [0, 700, 1100] });

  /** Reference Kalman filter in covariance form, float64, straight from the model (no shortcuts). */
  function referenceFilter(
    model: KalmanModel,
    C: number,
    z: Float32Array,
    from: number,
    to: number,
    lag: number,
  ) {
    const n = 5;
    const s = 4;
    const F = (i: number, j: number) => model.A[i * n + j];
    const Hs = (c: number, i: number) => model.H[c * n + i];
    let x = Array.from(model.x0.subarray(0, s));
    let P = Array.from({ length: s }, (_, i) => Array.from({ length: s }, (_, j) => model.P0[i * n + j]));
    const out: number[][] = [];
    const gains: Float64Array[] = [];
    for (let t = from; t < to; t++) {
      const k = t - from;
      if (k > 0) {
        x = x.map((_, i) => model.A[i * n + s] + x.reduce((a, xj, j) => a + F(i, j) * xj, 0));
        const FP = P.map((_, i) => P.map((_, j) => P.reduce((a, _r, m) => a + F(i, m) * P[m][j], 0)));
        P = P.map((_, i) =>
          P.map((_, j) => model.W[i * n + j] + FP[i].reduce((a, v, m) => a + v * F(j, m), 0)),
        );
      }
      if (k >= lag) {
        // S = Hs P Hs' + Q; K' = S^-1 Hs P.
        const HP = new Float64Array(C * s);
        for (let c = 0; c < C; c++)
          for (let j = 0; j < s; j++) for (let m = 0; m < s; m++) HP[c * s + j] += Hs(c, m) * P[m][j];
        const S = new Float64Array(C * C);
        for (let a = 0; a < C; a++) {
          for (let b = 0; b < C; b++) {
            let v = model.Q[a * C + b];
            for (let m = 0; m < s; m++) v += HP[a * s + m] * Hs(b, m);
            S[a * C + b] = v;
          }
        }
        const Kt = solveSpd(S, C, HP, s); // C x s
        const zt = z.subarray((t - lag) * C, (t - lag + 1) * C);
        const innov = Array.from(
          { length: C },
          (_, c) => zt[c] - model.H[c * n + s] - x.reduce((a, xj, j) => a + Hs(c, j) * xj, 0),
        );
        x = x.map((xi, i) => xi + innov.reduce((a, v, c) => a + Kt[c * s + i] * v, 0));
        const KH = P.map((_, i) =>
          P.map((_, j) =>
            Array.from({ length: C }, (_, c) => Kt[c * s + i] * Hs(c, j)).reduce((a, b) => a + b, 0),
          ),
        );
        P = P.map((_, i) => P.map((_, j) => P[i][j] - KH[i].reduce((a, v, m) => a + v * P[m][j], 0)));
        gains.push(Kt);
      }
      out.push([...x]);
    }
    return { out, gains };
  }

  it('the full filter (information form) equals a covariance-form Kalman filter, lag warm-up included', async () => {
    for (const lag of [0, 2]) {
      const dec = new KalmanDecoder({ steadyState: false, lagBins: lag });
      await dec.fit(sim.session, { trainBins: 1100 });
      const z = normaliseRows(sim.session.counts, dec.normaliser, 0, 1500);
      const ref = referenceFilter(dec.model, 8, z, 1100, 1300, lag);
      const pred = predictSession(dec, sim.session, 1100, 1300);
      let err = 0;
      let scale = 0;
      for (let k = 0; k < 200; k++) {
        for (let o = 0; o < 2; o++) {
          err = Math.max(err, Math.abs(pred[k * 2 + o] - ref.out[k][2 + o]));
          scale = Math.max(scale, Math.abs(ref.out[k][2 + o]));
        }
      }
      expect(err).toBeLessThan(1e-5 * scale);
    }
  });

  it('the steady-state gain is the limit of the full recursion, and the outputs converge to the full filter', async () => {
    const steady = new KalmanDecoder({ lagBins: 0 });
    const full = new KalmanDecoder({ lagBins: 0, steadyState: false });
    await steady.fit(sim.session, { trainBins: 1100 });
    await full.fit(sim.session, { trainBins: 1100 });
    expect(steady.riccatiIterations).toBeGreaterThan(1);
    expect(steady.riccatiIterations).toBeLessThan(1000);
    // Gain of the covariance-form recursion after many steps (independent of the data).
    const z = normaliseRows(sim.session.counts, steady.normaliser, 0, 1500);
    const ref = referenceFilter(steady.model, 8, z, 0, 300, 0);
    const kRef = ref.gains.at(-1) as Float64Array; // C x s
    const kSteady = steady.steadyStateGain; // s x C
    let diff = 0;
    for (let i = 0; i < 4; i++)
      for (let c = 0; c < 8; c++) diff = Math.max(diff, Math.abs(kSteady[i * 8 + c] - kRef[c * 4 + i]));
    expect(diff).toBeLessThan(1e-6 * maxAbs(kSteady));
    // The full filter's covariance converges to the steady-state one.
    const st = full.initialState();
    const out = new Float32Array(2);
    const f = new Float32Array(8);
    for (let i = 0; i < 300; i++) full.step(f, st, out);
    const pss = steady.steadyStateCovariance;
    let pd = 0;
    for (let i = 0; i < 16; i++) pd = Math.max(pd, Math.abs(st.P[i] - pss[i]));
    expect(pd).toBeLessThan(1e-6 * maxAbs(pss));
    // Outputs: different during the transient after a reset, then the difference decays geometrically.
    const a = predictSession(steady, sim.session, 1100, 1500);
    const b = predictSession(full, sim.session, 1100, 1500);
    const scale = maxAbs(b);
    const gap = (from: number, to: number) => {
      let g = 0;
      for (let k = from; k < to; k++)
        for (let o = 0; o < 2; o++) g = Math.max(g, Math.abs(a[k * 2 + o] - b[k * 2 + o]));
      return g;
    };
    expect(gap(0, 10)).toBeGreaterThan(1e-2 * scale);
    expect(gap(100, 200)).toBeLessThan(gap(0, 100));
    expect(gap(200, 300)).toBeLessThan(gap(100, 200));
    expect(gap(300, 400)).toBeLessThan(1e-5 * scale);
  });

  it('keeps x, P and the delay ring in the state, and reset restores the initial state', async () => {
    const dec = new KalmanDecoder({ lagBins: 2, steadyState: false });
    await dec.fit(sim.session);
    const st = dec.initialState();
    expect(st.x.length).toBe(4);
    expect(st.P.length).toBe(16);
    expect(st.delay.length).toBe(2 * 8);
    const out = new Float32Array(2);
    const f = Float32Array.of(1, -1, 0.5, 2, 0, 0, 1, -2);
    for (let i = 0; i < 5; i++) dec.step(f, st, out);
    expect(st.steps).toBe(5);
    const first = Array.from(out);
    dec.reset(st);
    expect(st).toEqual(dec.initialState());
    for (let i = 0; i < 5; i++) dec.step(f, st, out);
    expect(Array.from(out)).toEqual(first);
    // The small SPD inverse used by the step.
    const m = Float64Array.of(4, 1, 0, 1, 3, 1, 0, 1, 2);
    const inv = m.slice();
    invertSpdInPlace(inv, 3);
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        let v = 0;
        for (let k = 0; k < 3; k++) v += m[i * 3 + k] * inv[k * 3 + j];
        expect(v).toBeCloseTo(i === j ? 1 : 0, 12);
      }
    }
    expect(() => invertSpdInPlace(Float64Array.of(1, 2, 2, 1), 2)).toThrow(NotPositiveDefiniteError);
  });

  it('rejects a wrong channel count and non-finite features without touching the state', async () => {
    const dec = new KalmanDecoder();
    expect(() => dec.step(new Float32Array(8), dec.initialState(), new Float32Array(2))).toThrow(
      NotFittedError,
    );
    await expect(dec.save(join(tmpdir(), 'never'))).rejects.toThrow(NotFittedError);
    await dec.fit(sim.session);
    const st = dec.initialState();
    const out = new Float32Array(2);
    expect(() => dec.step(new Float32Array(9), st, out)).toThrow(ChannelCountError);
    expect(() => dec.step(new Float32Array(8), st, new Float32Array(1))).toThrow(ChannelCountError);
    const nan = Float32Array.of(0, 1, 2, Number.NaN, 0, 0, 0, 0);
    try {
      dec.step(nan, st, out);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(NonFiniteValueError);
      expect((e as NonFiniteValueError).index).toBe(3);
    }
    expect(() => dec.step(Float32Array.of(0, 0, 0, 0, 0, 0, 0, Number.NEGATIVE_INFINITY), st, out)).toThrow(
      NonFiniteValueError,
    );
    expect(st).toEqual(dec.initialState());
    const other = { ...sim.session, metadata: { ...sim.session.metadata, channels: 9 } };
    expect(() => predictSession(dec, other)).toThrow(ChannelCountError);
  });

  it('describe() reports parameters, footprint, MACs and state size', async () => {
    const cases: Array<[Record<string, unknown>, Record<string, number>]> = [
      // s = 4, C = 8: steady K (32) + Abar, KH (32) + cbar, Kd, m0 (12); MACs K z + Abar x.
      [{ lagBins: 0 }, { params: 76, macsPerStep: 32 + 16, stateSize: 4 }],
      // + F, b for the lag warm-up; the delay ring is state.
      [{ lagBins: 2 }, { params: 96, macsPerStep: 48, stateSize: 4 + 16 }],
      // full: G (32) + M, F, W, P0 (64) + gd, b, m0 (12); MACs s C + 3 s^2 + 4 s^3.
      [
        { lagBins: 0, steadyState: false },
        { params: 108, macsPerStep: 32 + 48 + 256, stateSize: 4 + 16 },
      ],
      // velocity-only state, s = 2, lag 1: K 16, Abar KH 8, cbar Kd m0 6, F 4, b 2.
      [
        { state: 'velocity', lagBins: 1 },
        { params: 36, macsPerStep: 16 + 4, stateSize: 2 + 8 },
      ],
    ];
    for (const [config, expected] of cases) {
      const dec = new KalmanDecoder(config);
      await dec.fit(sim.session);
      const d = dec.describe();
      expect(d).toMatchObject({
        kind: 'kalman',
        inputs: 8,
        outputs: 2,
        outputNames: ['vel_x', 'vel_y'],
        footprintBytes: 4 * expected.params,
        ...expected,
      });
      const n = config.state === 'velocity' ? 3 : 5;
      expect(d.config).toMatchObject({ ...config, modelParams: 3 * n * n + 8 * n + 64 + n });
    }
  });
});

describe('KalmanDecoder save and load', () => {
  const sim = simulate({ bins: 800, channels: 6, noise: 1, seed: 8, segmentStarts: [0, 500] });
  let root: string;
  let dir: string;
  let dec: KalmanDecoder;
  let model: LoadedModel;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'edge-bci-kalman-'));
    dec = new KalmanDecoder({ lagBins: 1 });
    await dec.fit(sim.session, { trainBins: 600 });
    dir = join(root, 'model');
    await dec.save(dir);
    model = await loadModelDir(dir);
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('save -> fromModel(loadModelDir) gives identical outputs', async () => {
    for (const config of [
      { lagBins: 1 },
      { lagBins: 0, steadyState: false },
      { target: 'position' as const, lagBins: 2 },
    ]) {
      const d = new KalmanDecoder(config);
      await d.fit(sim.session, { trainBins: 600 });
      const where = join(root, JSON.stringify(config).replace(/\W/g, ''));
      await d.save(where);
      const loaded = KalmanDecoder.fromModel(await loadModelDir(where), where);
      expect(loaded.config).toEqual(d.config);
      expect(loaded.outputNames).toEqual(d.outputNames);
      expect(loaded.stateNames).toEqual(d.stateNames);
      expect(loaded.target).toBe(d.target);
      expect(loaded.describe()).toEqual(d.describe());
      expect(Array.from(predictSession(loaded, sim.session))).toEqual(
        Array.from(predictSession(d, sim.session)),
      );
      const viaLoad = await KalmanDecoder.load(where);
      expect(Array.from(predictSession(viaLoad, sim.session, 600))).toEqual(
        Array.from(predictSession(d, sim.session, 600)),
      );
    }
  });

  /** The loaded model with some weights replaced (copies, so other tests are unaffected). */
  function withWeights(
    edit: Record<string, { shape: number[]; data: Float32Array } | undefined>,
  ): LoadedModel {
    const weights = { ...model.weights, ...edit };
    for (const [k, v] of Object.entries(weights)) if (v === undefined) delete weights[k];
    return { ...model, weights } as LoadedModel;
  }
  function edited(name: string, f: (a: Float32Array) => void) {
    const w = model.weights[name];
    const data = w.data.slice();
    f(data);
    return { [name]: { shape: [...w.shape], data } };
  }

  it('rejects malformed models with ModelFormatError', async () => {
    const bad: LoadedModel[] = [
      { ...model, kind: 'wiener' },
      { ...model, config: { ...model.config, stateNames: undefined } },
      { ...model, config: { ...model.config, stateNames: [] } },
      { ...model, config: { ...model.config, lagBins: -2 } },
      { ...model, metadata: { ...model.metadata, outputNames: ['speed'] } },
      withWeights({ 'kalman/Q': undefined }),
      withWeights({ 'kalman/H': { shape: [5, 5], data: new Float32Array(25) } }),
      withWeights(edited('kalman/A', (a) => (a[20] = 0.5))),
      withWeights(edited('kalman/x0', (a) => (a[4] = 0))),
      withWeights(edited('kalman/W', (a) => (a[4] = 1))),
      withWeights(edited('kalman/Q', (a) => (a[1] += 1))), // not symmetric
      withWeights(edited('kalman/Q', (a) => a.fill(0))), // not positive definite
      withWeights(edited('kalman/P0', (a) => (a[0] = -1))), // not positive definite
    ];
    for (const m of bad) expect(() => KalmanDecoder.fromModel(m, dir)).toThrow(ModelFormatError);
    // Damaged files are caught by loadModelDir.
    const bin = await readFile(join(dir, 'weights.bin'));
    const cut = join(root, 'cut');
    await dec.save(cut);
    await writeFile(join(cut, 'weights.bin'), bin.subarray(0, bin.length - 8));
    await expect(loadModelDir(cut)).rejects.toThrow(ModelFormatError);
    await expect(KalmanDecoder.load(join(root, 'missing'))).rejects.toThrow(ModelFormatError);
  });
});
