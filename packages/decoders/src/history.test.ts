import { InvalidOptionError, Rng } from '@edge-bci/core';
import { describe, expect, it } from 'vitest';
import {
  accumulateHistoryNormalEquations,
  buildHistoryRow,
  countRunBins,
  createHistoryDesign,
  validHistoryRuns,
} from './history.js';
import { accumulateXtX, accumulateXtY } from './kernels/linalg.js';

/** Uniform [0, 1) draws from the SDK's seeded generator. */
function rng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.uniform();
}

describe('validHistoryRuns', () => {
  it('skips the first history-1 bins of every segment and drops segments shorter than the window', () => {
    expect(validHistoryRuns([0, 10, 12, 30], 3, 0, 40)).toEqual([
      { lo: 2, hi: 10 },
      { lo: 14, hi: 30 },
      { lo: 32, hi: 40 },
    ]);
    expect(validHistoryRuns([0], 1, 0, 5)).toEqual([{ lo: 0, hi: 5 }]);
  });

  it('treats fromBin and extra breaks as segment starts', () => {
    expect(validHistoryRuns([0, 10], 3, 5, 20, [15])).toEqual([
      { lo: 7, hi: 10 },
      { lo: 12, hi: 15 },
      { lo: 17, hi: 20 },
    ]);
  });

  it('never yields a bin whose window crosses a segment start (random segmentations)', () => {
    const r = rng(1);
    for (let trial = 0; trial < 50; trial++) {
      const bins = 30 + Math.floor(r() * 70);
      const starts = [0];
      for (let t = 1; t < bins; t++) if (r() < 0.1) starts.push(t);
      const k = 1 + Math.floor(r() * 6);
      const from = Math.floor(r() * 10);
      const runs = validHistoryRuns(starts, k, from, bins);
      const valid = new Set<number>();
      for (const { lo, hi } of runs) for (let t = lo; t < hi; t++) valid.add(t);
      for (let t = from; t < bins; t++) {
        const segStart = Math.max(from, ...starts.filter((s) => s <= t));
        expect(valid.has(t)).toBe(t - k + 1 >= segStart);
      }
      expect(countRunBins(runs)).toBe(valid.size);
    }
  });

  it('rejects a bad history', () => {
    expect(() => validHistoryRuns([0], 0, 0, 10)).toThrow(InvalidOptionError);
  });
});

describe('design rows', () => {
  it('buildHistoryRow lays out the window oldest first, then the bias', () => {
    const f = Float32Array.from({ length: 12 }, (_, i) => i); // 6 bins x 2 channels
    const row = new Float64Array(8);
    buildHistoryRow(f, 2, 3, 4, row, 1);
    expect(Array.from(row)).toEqual([0, 4, 5, 6, 7, 8, 9, 1]);
  });

  it.each([
    [7, 3, 2],
    [5, 1, 1],
    [6, 4, 3],
    [1, 5, 2],
    [12, 2, 2],
  ])('structured normal equations equal row-by-row accumulation (C=%i, k=%i, outputs=%i)', (C, k, m) => {
    const bins = 120;
    const r = rng(C * 100 + k);
    const f = Float32Array.from({ length: bins * C }, () => r() * 4 - 2);
    const y = Float64Array.from({ length: bins * m }, () => r() - 0.5);
    const runs = validHistoryRuns([0, 17, 19, 60, 61], k, 0, bins, [90]);
    const n = k * C + 1;
    const xtx = new Float64Array(n * n);
    const xty = new Float64Array(n * m);
    const rows = accumulateHistoryNormalEquations(createHistoryDesign(f, bins, C, k), y, m, runs, xtx, xty);
    const refX = new Float64Array(n * n);
    const refY = new Float64Array(n * m);
    const row = new Float64Array(n);
    let refRows = 0;
    for (const { lo, hi } of runs) {
      for (let t = lo; t < hi; t++) {
        buildHistoryRow(f, C, k, t, row);
        accumulateXtX(refX, row, n);
        accumulateXtY(refY, row, y, n, m, 0, t * m);
        refRows++;
      }
    }
    expect(rows).toBe(refRows);
    let maxDiff = 0;
    for (let i = 0; i < n; i++)
      for (let j = i; j < n; j++) maxDiff = Math.max(maxDiff, Math.abs(xtx[i * n + j] - refX[i * n + j]));
    expect(maxDiff).toBeLessThan(1e-10);
    for (let i = 0; i < n * m; i++) expect(xty[i]).toBeCloseTo(refY[i], 10);
    expect(xtx[n * n - 1]).toBe(refRows);
  });
});
