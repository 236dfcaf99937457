import { describe, expect, it } from 'vitest';
import { ChannelCountError, InvalidOptionError, NonFiniteValueError } from '../errors.js';
import { LatencyHistogram } from './latency-histogram.js';
import { correlation, r2, regressionReport, rmse } from './regression.js';

const m = (rows: number[][]) => ({ data: rows.flat(), rows: rows.length, cols: rows[0]!.length });

describe('regression metrics', () => {
  const truth = m([
    [1, 10],
    [2, 20],
    [3, 30],
    [4, 40],
  ]);
  it('gives R2 = 1, correlation 1 and RMSE 0 for a perfect prediction', () => {
    expect(r2(truth, truth)).toEqual([1, 1]);
    expect(correlation(truth, truth)).toEqual([1, 1]);
    expect(rmse(truth, truth)).toEqual([0, 0]);
  });
  it('computes R2 against the mean of the truth', () => {
    // Predicting the mean gives 0; predicting x + 1 gives 1 - 4/5.
    const atMean = m([
      [2.5, 25],
      [2.5, 25],
      [2.5, 25],
      [2.5, 25],
    ]);
    expect(r2(atMean, truth)).toEqual([0, 0]);
    const shifted = m([
      [2, 11],
      [3, 21],
      [4, 31],
      [5, 41],
    ]);
    expect(r2(shifted, truth)[0]).toBeCloseTo(1 - 4 / 5, 12);
    expect(correlation(shifted, truth)[0]).toBeCloseTo(1, 12);
    expect(rmse(shifted, truth)).toEqual([1, 1]);
  });
  it('is negative when worse than the mean', () => {
    const bad = m([
      [4, 40],
      [3, 30],
      [2, 20],
      [1, 10],
    ]);
    expect(r2(bad, truth)[0]).toBeCloseTo(1 - 20 / 5, 12);
    expect(correlation(bad, truth)[0]).toBeCloseTo(-1, 12);
  });
  it('reports named columns and the mean', () => {
    const rep = regressionReport(truth, truth, ['x', 'y']);
    expect(rep.r2).toEqual({ x: 1, y: 1, mean: 1 });
    expect(rep.rows).toBe(4);
  });
  it('rejects mismatched shapes with named errors', () => {
    expect(() => r2(m([[1], [2]]), truth)).toThrow(ChannelCountError);
    expect(() => r2(m([[1, 2]]), m([[1, 2]]))).toThrow(InvalidOptionError);
    expect(() => regressionReport(truth, truth, ['x'])).toThrow(ChannelCountError);
  });
});

describe('LatencyHistogram', () => {
  it('gives percentiles within its precision of the exact values', () => {
    const h = new LatencyHistogram({ precision: 0.01 });
    const values: number[] = [];
    let s = 12345;
    for (let i = 0; i < 20000; i++) {
      s = (s * 1103515245 + 12345) % 2147483648;
      const v = 5 + (s / 2147483648) ** 3 * 5000; // skewed, like latencies
      values.push(v);
      h.record(v);
    }
    values.sort((a, b) => a - b);
    for (const q of [0.5, 0.9, 0.99]) {
      const exact = values[Math.ceil(q * values.length) - 1]!;
      expect(Math.abs(h.quantile(q) - exact) / exact).toBeLessThan(0.011);
    }
    const sum = h.summary();
    expect(sum.count).toBe(20000);
    expect(sum.min).toBe(values[0]);
    expect(sum.max).toBe(values[values.length - 1]);
  });
  it('is empty until something is recorded, and resets', () => {
    const h = new LatencyHistogram();
    expect(Number.isNaN(h.summary().p50)).toBe(true);
    h.record(3);
    expect(h.summary()).toMatchObject({ count: 1, min: 3, max: 3, p50: 3, p99: 3 });
    h.reset();
    expect(h.count).toBe(0);
  });
  it('rejects non-finite values', () => {
    expect(() => new LatencyHistogram().record(Number.NaN)).toThrow(NonFiniteValueError);
  });
  it('grows for very large values without losing the count', () => {
    const h = new LatencyHistogram();
    h.record(1);
    h.record(1e9);
    expect(h.quantile(0.99)).toBe(1e9);
    expect(h.count).toBe(2);
  });
});
