import { InvalidOptionError, NonFiniteValueError, type RecordedSession } from '@edge-bci/core';
import { describe, expect, it } from 'vitest';
import { computeNormaliserStats, DEFAULT_MIN_STD, normaliseBin, normaliseRows } from './normaliser-stats.js';

function session(counts: number[], channels: number): RecordedSession {
  const bins = counts.length / channels;
  return {
    metadata: {
      channels,
      channelLabels: Array.from({ length: channels }, (_, i) => `ch${i}`),
      binWidthUs: 20_000,
      kinematicNames: [],
    },
    bins,
    counts: Float32Array.from(counts),
    kinematics: new Float64Array(0),
    startUs: Float64Array.from({ length: bins }, (_, i) => i * 20_000),
    segmentStarts: [0],
    markers: [],
  };
}

describe('computeNormaliserStats', () => {
  // 4 bins x 3 channels: channel 2 is silent.
  const s = session([1, 0, 0, 3, 2, 0, 1, 4, 0, 3, 6, 0], 3);

  it('computes the per-channel mean and population std', () => {
    const st = computeNormaliserStats(s);
    expect(Array.from(st.mean)).toEqual([2, 3, 0]);
    expect(st.std[0]).toBeCloseTo(1, 6);
    expect(st.std[1]).toBeCloseTo(Math.sqrt(5), 6);
  });

  it('floors the std of silent (and near-silent) channels so z-scores stay bounded', () => {
    const st = computeNormaliserStats(s);
    expect(st.std[2]).toBeCloseTo(DEFAULT_MIN_STD, 7);
    const z = normaliseBin(Float32Array.of(2, 3, 1), st, new Float32Array(3));
    expect(z[2]).toBeCloseTo(1 / DEFAULT_MIN_STD, 4);
    expect(Array.from(z).every(Number.isFinite)).toBe(true);
    expect(computeNormaliserStats(s, 4, 2).std[0]).toBe(2);
  });

  it('uses only the training bins', () => {
    const st = computeNormaliserStats(s, 2);
    expect(Array.from(st.mean)).toEqual([2, 1, 0]);
  });

  it('rejects bad trainBins and minStd, and non-finite counts', () => {
    expect(() => computeNormaliserStats(s, 0)).toThrow(InvalidOptionError);
    expect(() => computeNormaliserStats(s, 5)).toThrow(InvalidOptionError);
    expect(() => computeNormaliserStats(s, 4, 0)).toThrow(InvalidOptionError);
    const bad = session([1, 0, Number.NaN, 3], 2);
    expect(() => computeNormaliserStats(bad)).toThrow(NonFiniteValueError);
  });

  it('normaliseRows equals normaliseBin bin by bin', () => {
    const st = computeNormaliserStats(s);
    const rows = normaliseRows(s.counts, st, 1, 3);
    const one = new Float32Array(3);
    for (let t = 0; t < 3; t++) {
      normaliseBin(s.counts, st, one, (t + 1) * 3);
      expect(Array.from(rows.subarray(t * 3, t * 3 + 3))).toEqual(Array.from(one));
    }
  });
});
