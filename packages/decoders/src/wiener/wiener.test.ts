import {
  ChannelCountError,
  InvalidOptionError,
  NonFiniteValueError,
  type RecordedSession,
  Rng,
} from '@edge-bci/core';
import { describe, expect, it } from 'vitest';
import { NotFittedError } from '../errors.js';
import { predictSession } from '../evaluate.js';
import { normaliseRows } from '../normaliser-stats.js';
import { DEFAULT_WIENER_LAMBDAS, WienerDecoder } from './wiener.js';

/** Uniform [0, 1) draws from the SDK's seeded generator. */
function rng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.uniform();
}

function gauss(r: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

interface Synthetic {
  session: RecordedSession;
  /** true weights in count space: [output][lag][channel], lag 0 = current bin */
  w: number[][][];
  b: number[];
}

/**
 * y(t) = b + sum over lags and channels of w[o][lag][c] x(t - lag)[c] + noise, with the window
 * kept inside each segment. With `poisonSegmentStarts`, the targets of the first history-1
 * bins of every segment are large garbage: a fit that used windows straddling a segment start
 * would be visibly wrong.
 */
function synthetic(opts: {
  bins: number;
  channels: number;
  history: number;
  noise: number;
  segmentStarts?: number[];
  seed?: number;
  informative?: boolean;
  poisonSegmentStarts?: boolean;
}): Synthetic {
  const { bins, channels: C, history: k, noise } = opts;
  const r = rng(opts.seed ?? 1);
  const mu = Array.from({ length: C }, () => 1 + 4 * r());
  const sd = Array.from({ length: C }, () => 0.5 + 2 * r());
  const counts = new Float32Array(bins * C);
  for (let t = 0; t < bins; t++) for (let c = 0; c < C; c++) counts[t * C + c] = mu[c] + sd[c] * gauss(r);
  const w = [0, 1].map(() => Array.from({ length: k }, () => Array.from({ length: C }, () => gauss(r) / C)));
  const b = [0.5, -1.5];
  const starts = opts.segmentStarts ?? [0];
  const names = ['pos_x', 'pos_y', 'vel_x', 'vel_y'];
  const kin = new Float64Array(bins * 4);
  let seg = 0;
  for (let t = 0; t < bins; t++) {
    while (seg + 1 < starts.length && starts[seg + 1] <= t) seg++;
    const s0 = starts[seg];
    for (let o = 0; o < 2; o++) {
      let v: number;
      if (opts.informative === false) {
        v = gauss(r);
      } else if (opts.poisonSegmentStarts && t - k + 1 < s0) {
        v = 1000 * gauss(r);
      } else {
        v = b[o];
        for (let lag = 0; lag < k && t - lag >= s0; lag++) {
          for (let c = 0; c < C; c++) v += w[o][lag][c] * counts[(t - lag) * C + c];
        }
        v += noise * gauss(r);
      }
      kin[t * 4 + 2 + o] = v;
      kin[t * 4 + o] = t;
    }
  }
  return {
    session: {
      metadata: {
        channels: C,
        channelLabels: Array.from({ length: C }, (_, i) => `elec${i}`),
        binWidthUs: 20_000,
        kinematicNames: names,
      },
      bins,
      counts,
      kinematics: kin,
      startUs: Float64Array.from({ length: bins }, (_, i) => i * 20_000),
      segmentStarts: starts,
      markers: [],
    },
    w,
    b,
  };
}

function r2(
  pred: Float32Array,
  session: RecordedSession,
  from: number,
  to: number,
  skip: Set<number>,
): number {
  let total = 0;
  for (let o = 0; o < 2; o++) {
    let mean = 0;
    let n = 0;
    for (let t = from; t < to; t++) {
      if (skip.has(t)) continue;
      mean += session.kinematics[t * 4 + 2 + o];
      n++;
    }
    mean /= n;
    let sse = 0;
    let sst = 0;
    for (let t = from; t < to; t++) {
      if (skip.has(t)) continue;
      const y = session.kinematics[t * 4 + 2 + o];
      sse += (y - pred[(t - from) * 2 + o]) ** 2;
      sst += (y - mean) ** 2;
    }
    total += 1 - sse / sst;
  }
  return total / 2;
}

/** Bins whose window reaches before their segment start (zero-padded at run time). */
function warmupBins(starts: number[], from: number, k: number): Set<number> {
  const s = new Set<number>();
  for (const st of [from, ...starts.filter((x) => x > from)]) for (let i = 0; i < k - 1; i++) s.add(st + i);
  return s;
}

describe('WienerDecoder fitting', () => {
  it('recovers known weights (R2 near 1) and picks a small lambda for informative features', async () => {
    const k = 4;
    const C = 8;
    const starts = [0, 1500, 2600];
    const syn = synthetic({ bins: 4000, channels: C, history: k, noise: 0.05, segmentStarts: starts });
    const dec = new WienerDecoder({ history: k });
    const report = await dec.fit(syn.session, { trainBins: 3000 });
    expect(dec.fitted).toBe(true);
    expect(dec.outputNames).toEqual(['vel_x', 'vel_y']);
    expect(report.chosen?.lambda).toBeLessThanOrEqual(100);
    expect(report.bins).toBe(3000 - 3 * (k - 1));
    // In z-space the weights are w * std (window position p = k-1-lag).
    const { kernel } = dec.weights;
    let maxErr = 0;
    for (let o = 0; o < 2; o++) {
      for (let lag = 0; lag < k; lag++) {
        for (let c = 0; c < C; c++) {
          const expected = syn.w[o][lag][c] * dec.normaliser.std[c];
          maxErr = Math.max(maxErr, Math.abs(kernel[(o * k + (k - 1 - lag)) * C + c] - expected));
        }
      }
    }
    expect(maxErr).toBeLessThan(0.01);
    const pred = predictSession(dec, syn.session, 3000, 4000);
    expect(r2(pred, syn.session, 3000, 4000, warmupBins(starts, 3000, k))).toBeGreaterThan(0.99);
  });

  it('chooses a large lambda when the features carry no information', async () => {
    const syn = synthetic({ bins: 2000, channels: 10, history: 5, noise: 1, informative: false, seed: 7 });
    const dec = new WienerDecoder({ history: 5 });
    const report = await dec.fit(syn.session);
    expect(report.chosen?.lambda).toBeGreaterThanOrEqual(1e4);
    expect(dec.lambdaScores).toHaveLength(DEFAULT_WIENER_LAMBDAS.length);
    // The validation R2 of the smallest penalty is worse than that of the chosen one.
    expect(dec.lambdaScores[0].r2).toBeLessThan(report.chosen?.validationR2 as number);
  });

  it('never learns across segment starts', async () => {
    const k = 5;
    const starts = [0, 300, 302, 650, 1000];
    const syn = synthetic({
      bins: 1400,
      channels: 6,
      history: k,
      noise: 0,
      segmentStarts: starts,
      poisonSegmentStarts: true,
    });
    const dec = new WienerDecoder({ history: k, lambdas: [1e-6] });
    await dec.fit(syn.session);
    // Noise-free data: exact recovery is only possible if no poisoned (straddling) row was used.
    const { kernel, bias } = dec.weights;
    const { mean, std } = dec.normaliser;
    let maxErr = 0;
    const expBias = [...syn.b];
    for (let o = 0; o < 2; o++) {
      for (let lag = 0; lag < k; lag++) {
        for (let c = 0; c < 6; c++) {
          maxErr = Math.max(
            maxErr,
            Math.abs(kernel[(o * k + k - 1 - lag) * 6 + c] - syn.w[o][lag][c] * std[c]),
          );
          expBias[o] += syn.w[o][lag][c] * mean[c];
        }
      }
    }
    expect(maxErr).toBeLessThan(1e-3);
    expect(Math.abs(bias[0] - expBias[0])).toBeLessThan(1e-3);
    expect(Math.abs(bias[1] - expBias[1])).toBeLessThan(1e-3);
  });

  it('does not penalise the bias: a huge lambda leaves the mean of the targets', async () => {
    const k = 3;
    const syn = synthetic({
      bins: 800,
      channels: 4,
      history: k,
      noise: 0.1,
      segmentStarts: [0, 400],
      seed: 11,
    });
    const dec = new WienerDecoder({ history: k, lambdas: [1e12] });
    await dec.fit(syn.session);
    const { kernel, bias } = dec.weights;
    expect(Math.max(...Array.from(kernel, Math.abs))).toBeLessThan(1e-6);
    for (let o = 0; o < 2; o++) {
      let mean = 0;
      let n = 0;
      for (const [lo, hi] of [
        [k - 1, 400],
        [400 + k - 1, 800],
      ]) {
        for (let t = lo; t < hi; t++) {
          mean += syn.session.kinematics[t * 4 + 2 + o];
          n++;
        }
      }
      expect(bias[o]).toBeCloseTo(mean / n, 3);
    }
  });

  it('refits on all training bins with the chosen lambda (same weights as a single-lambda fit)', async () => {
    const syn = synthetic({ bins: 900, channels: 5, history: 4, noise: 2, segmentStarts: [0, 500], seed: 5 });
    const grid = new WienerDecoder({ history: 4, lambdas: [1, 30, 1000], validationFraction: 0.3 });
    const report = await grid.fit(syn.session, { trainBins: 800 });
    const lambda = report.chosen?.lambda as number;
    expect(grid.lambdaScores.map((s) => s.lambda)).toEqual([1, 30, 1000]);
    const single = new WienerDecoder({ history: 4, lambdas: [lambda] });
    await single.fit(syn.session, { trainBins: 800 });
    const a = grid.weights;
    const b = single.weights;
    for (let i = 0; i < a.kernel.length; i++) expect(a.kernel[i]).toBeCloseTo(b.kernel[i], 5);
    for (let o = 0; o < 2; o++) expect(a.bias[o]).toBeCloseTo(b.bias[o], 5);
  });

  it('honours target, targetColumns and trainBins, and rejects bad input', async () => {
    const syn = synthetic({ bins: 600, channels: 4, history: 3, noise: 0.1 });
    const dec = new WienerDecoder({ history: 3, lambdas: [1] });
    await dec.fit(syn.session, { target: 'position' });
    expect(dec.outputNames).toEqual(['pos_x', 'pos_y']);
    await dec.fit(syn.session, { targetColumns: [3] });
    expect(dec.outputNames).toEqual(['vel_y']);
    expect(dec.outputs).toBe(1);
    await expect(dec.fit(syn.session, { trainBins: 0 })).rejects.toThrow(InvalidOptionError);
    const bad = { ...syn.session, kinematics: syn.session.kinematics.slice() };
    bad.kinematics[10 * 4 + 2] = Number.NaN;
    await expect(dec.fit(bad)).rejects.toThrow(NonFiniteValueError);
    const badCounts = { ...syn.session, counts: syn.session.counts.slice() };
    badCounts.counts[5] = Number.POSITIVE_INFINITY;
    await expect(dec.fit(badCounts)).rejects.toThrow(NonFiniteValueError);
    expect(() => new WienerDecoder({ history: 0 })).toThrow(InvalidOptionError);
    expect(() => new WienerDecoder({ lambdas: [] })).toThrow(InvalidOptionError);
    expect(() => new WienerDecoder({ lambdas: [1, -1] })).toThrow(InvalidOptionError);
    expect(() => new WienerDecoder({ validationFraction: 0 })).toThrow(InvalidOptionError);
    expect(() => new WienerDecoder({ validationFraction: 1 })).toThrow(InvalidOptionError);
  });

  it('reports progress from 0 to 1', async () => {
    const syn = synthetic({ bins: 500, channels: 4, history: 3, noise: 0.1 });
    const seen: number[] = [];
    await new WienerDecoder({ history: 3 }).fit(syn.session, { onProgress: (f) => seen.push(f) });
    expect(seen.at(-1)).toBe(1);
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThanOrEqual(seen[i - 1]);
  });
});

describe('WienerDecoder streaming', () => {
  const k = 4;
  const C = 5;
  const starts = [0, 250, 260, 400];
  const syn = synthetic({ bins: 600, channels: C, history: k, noise: 0.2, segmentStarts: starts, seed: 3 });

  it('step bin by bin equals a batch prediction computed from the weights', async () => {
    const dec = new WienerDecoder({ history: k });
    await dec.fit(syn.session, { trainBins: 300 });
    const pred = predictSession(dec, syn.session, 200, 600);
    const z = normaliseRows(syn.session.counts, dec.normaliser, 0, 600);
    const { kernel, bias } = dec.weights;
    let maxDiff = 0;
    for (let t = 200; t < 600; t++) {
      const segStart = Math.max(200, ...starts.filter((s) => s <= t));
      for (let o = 0; o < 2; o++) {
        let v = bias[o];
        for (let p = 0; p < k; p++) {
          const src = t - (k - 1 - p);
          if (src < segStart) continue; // zero padding after a reset
          for (let c = 0; c < C; c++) v += kernel[(o * k + p) * C + c] * z[src * C + c];
        }
        maxDiff = Math.max(maxDiff, Math.abs(v - pred[(t - 200) * 2 + o]));
      }
    }
    expect(maxDiff).toBeLessThan(1e-5);
  });

  it('keeps a ring buffer with a fill count, and reset restores the initial state', async () => {
    const dec = new WienerDecoder({ history: k, lambdas: [1] });
    await dec.fit(syn.session);
    const st = dec.initialState();
    expect(st.ring.length).toBe(k * C);
    const out = new Float32Array(2);
    const f = Float32Array.of(1, 2, 3, 4, 5);
    for (let i = 0; i < 6; i++) dec.step(f, st, out);
    expect(st.filled).toBe(k);
    expect(st.steps).toBe(6);
    const first = Array.from(out);
    dec.reset(st);
    expect(st).toEqual(dec.initialState());
    for (let i = 0; i < 6; i++) dec.step(f, st, out);
    expect(Array.from(out)).toEqual(first);
    // With a full window of identical bins the output is b + sum_p W_p f.
    const { kernel, bias } = dec.weights;
    let v = bias[0];
    for (let i = 0; i < k * C; i++) v += kernel[i] * f[i % C];
    expect(out[0]).toBeCloseTo(v, 4);
  });

  it('rejects a wrong channel count and non-finite features without touching the state', async () => {
    const dec = new WienerDecoder({ history: k, lambdas: [1] });
    expect(() => dec.step(new Float32Array(C), dec.initialState(), new Float32Array(2))).toThrow(
      NotFittedError,
    );
    await dec.fit(syn.session);
    const st = dec.initialState();
    const out = new Float32Array(2);
    expect(() => dec.step(new Float32Array(C + 1), st, out)).toThrow(ChannelCountError);
    expect(() => dec.step(new Float32Array(C), st, new Float32Array(1))).toThrow(ChannelCountError);
    const nan = Float32Array.of(0, 1, Number.NaN, 2, 3);
    try {
      dec.step(nan, st, out);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(NonFiniteValueError);
      expect((e as NonFiniteValueError).index).toBe(2);
    }
    expect(() => dec.step(Float32Array.of(0, Number.NEGATIVE_INFINITY, 0, 0, 0), st, out)).toThrow(
      NonFiniteValueError,
    );
    expect(st).toEqual(dec.initialState());
    const other = { ...syn.session, metadata: { ...syn.session.metadata, channels: C + 1 } };
    expect(() => predictSession(dec, other)).toThrow(ChannelCountError);
  });

  it('describe() reports parameters, footprint, MACs and state size', async () => {
    const dec = new WienerDecoder({ history: k, lambdas: [2] });
    await dec.fit(syn.session);
    const d = dec.describe();
    expect(d).toMatchObject({
      kind: 'wiener',
      inputs: 5,
      outputs: 2,
      outputNames: ['vel_x', 'vel_y'],
      params: 2 * (4 * 5 + 1),
      footprintBytes: 4 * 2 * (4 * 5 + 1),
      macsPerStep: 2 * 4 * 5,
      stateSize: 4 * 5,
    });
    expect(d.config).toMatchObject({ history: 4, lambda: 2, target: 'velocity' });
  });
});
