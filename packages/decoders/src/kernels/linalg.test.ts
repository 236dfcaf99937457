import { Rng } from '@edge-bci/core';
import { describe, expect, it } from 'vitest';
import { NotPositiveDefiniteError } from '../errors.js';
import {
  accumulateXtX,
  accumulateXtXBlock,
  accumulateXtY,
  choleskyInPlace,
  choleskySolveInPlace,
  dot,
  matVec,
  quadFormUpper,
  solveSpd,
  symmetrizeUpper,
} from './linalg.js';

/** Uniform [0, 1) draws from the SDK's seeded generator. */
function rng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.uniform();
}

function randomSpd(n: number, seed: number): Float64Array {
  const r = rng(seed);
  const b = Float64Array.from({ length: n * n }, () => r() - 0.5);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += b[k * n + i] * b[k * n + j];
      a[i * n + j] = s + (i === j ? 0.1 : 0);
    }
  }
  return a;
}

describe("X'X and X'Y accumulation", () => {
  it('matches a hand-computed case', () => {
    const xtx = new Float64Array(4);
    accumulateXtX(xtx, Float64Array.of(1, 2), 2);
    accumulateXtX(xtx, Float64Array.of(3, 4), 2);
    expect(xtx[0]).toBe(10);
    expect(xtx[1]).toBe(14);
    expect(xtx[3]).toBe(20);
    expect(xtx[2]).toBe(0); // lower triangle untouched
    symmetrizeUpper(xtx, 2);
    expect(Array.from(xtx)).toEqual([10, 14, 14, 20]);
    const xty = new Float64Array(2);
    accumulateXtY(xty, Float64Array.of(1, 2), Float64Array.of(5), 2, 1);
    accumulateXtY(xty, Float64Array.of(3, 4), Float64Array.of(-1), 2, 1);
    expect(Array.from(xty)).toEqual([2, 6]);
  });

  it('rank-4 block update equals one update per row, for row counts not divisible by 4', () => {
    const n = 13;
    const rows = 11;
    const r = rng(3);
    const block = Float64Array.from({ length: rows * n }, () => (r() < 0.2 ? 0 : r() - 0.5));
    const a = new Float64Array(n * n);
    const b = new Float64Array(n * n);
    accumulateXtXBlock(a, block, rows, n);
    for (let i = 0; i < rows; i++) accumulateXtX(b, block, n, i * n);
    for (let i = 0; i < n; i++) {
      for (let j = i; j < n; j++) expect(a[i * n + j]).toBeCloseTo(b[i * n + j], 12);
    }
  });
});

describe('Cholesky', () => {
  it('factors and solves a hand-computed 2 x 2 system', () => {
    const a = Float64Array.of(4, 2, 2, 3);
    const u = a.slice();
    choleskyInPlace(u, 2);
    expect(u[0]).toBe(2);
    expect(u[1]).toBe(1);
    expect(u[3]).toBeCloseTo(Math.SQRT2, 15);
    const x = Float64Array.of(2, 1);
    choleskySolveInPlace(u, 2, x, 1);
    expect(x[0]).toBeCloseTo(0.5, 15);
    expect(x[1]).toBeCloseTo(0, 15);
  });

  it.each([1, 3, 8, 9, 37, 64])('solves a random SPD system of size %i with a tiny residual', (n) => {
    const a = randomSpd(n, n);
    // Only the upper triangle is read: poison the lower one.
    const upper = a.slice();
    for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) upper[i * n + j] = Number.NaN;
    const m = 3;
    const r = rng(100 + n);
    const b = Float64Array.from({ length: n * m }, () => r() - 0.5);
    const x = solveSpd(upper, n, b, m);
    let maxRes = 0;
    let maxB = 0;
    for (let i = 0; i < n; i++) {
      for (let o = 0; o < m; o++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += a[i * n + j] * x[j * m + o];
        maxRes = Math.max(maxRes, Math.abs(s - b[i * m + o]));
        maxB = Math.max(maxB, Math.abs(b[i * m + o]));
      }
    }
    expect(maxRes / maxB).toBeLessThan(1e-10);
    // Inputs are left alone.
    expect(Number.isNaN(upper[n * n - n])).toBe(n > 1);
  });

  it('throws NotPositiveDefiniteError for an indefinite matrix, naming the pivot', () => {
    const a = Float64Array.of(1, 2, 2, 1);
    expect(() => choleskyInPlace(a.slice(), 2, 'test matrix')).toThrow(NotPositiveDefiniteError);
    try {
      choleskyInPlace(a.slice(), 2, 'test matrix');
    } catch (e) {
      expect((e as NotPositiveDefiniteError).pivot).toBe(1);
      expect((e as NotPositiveDefiniteError).code).toBe('NOT_POSITIVE_DEFINITE');
      expect((e as Error).message).toContain('test matrix');
    }
  });

  it('throws for singular (PSD but not PD) and negative-diagonal matrices', () => {
    expect(() => choleskyInPlace(Float64Array.of(1, 1, 1, 1), 2)).toThrow(NotPositiveDefiniteError);
    expect(() => choleskyInPlace(new Float64Array(25), 5)).toThrow(NotPositiveDefiniteError);
    expect(() => choleskyInPlace(Float64Array.of(-1), 1)).toThrow(NotPositiveDefiniteError);
    // A rank-deficient 6 x 6 Gram matrix (rows in a 3-dimensional subspace), blocked path included.
    const g = new Float64Array(36);
    const r = rng(9);
    for (let k = 0; k < 10; k++) {
      const c = [r(), r(), r()];
      const row = Float64Array.of(c[0], c[1], c[2], c[0] + c[1], c[1] - c[2], 2 * c[0]);
      accumulateXtX(g, row, 6);
    }
    expect(() => choleskyInPlace(g, 6)).toThrow(NotPositiveDefiniteError);
  });
});

describe('matVec, dot, quadFormUpper', () => {
  it('matVec computes W x + b into the given output', () => {
    const w = Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, -1, -2, -3, -4, -5);
    const x = Float32Array.of(1, 0, -1, 2, 0.5);
    const out = new Float32Array(3);
    const ret = matVec(w, 3, 5, x, out, Float32Array.of(0.5, 0, 1));
    expect(ret).toBe(out);
    expect(Array.from(out)).toEqual([1 - 3 + 8 + 2.5 + 0.5, 6 - 8 + 18 + 5, -1 + 3 - 8 - 2.5 + 1]);
    matVec(w, 3, 5, x, out);
    expect(out[0]).toBe(8.5);
  });

  it('dot handles offsets and lengths that are not multiples of 4', () => {
    const a = Float64Array.from({ length: 11 }, (_, i) => i + 1);
    const b = Float32Array.from({ length: 11 }, (_, i) => 11 - i);
    let ref = 0;
    for (let i = 0; i < 7; i++) ref += a[2 + i] * b[1 + i];
    expect(dot(a, 2, b, 1, 7)).toBe(ref);
    expect(dot(a, 0, b, 0, 0)).toBe(0);
  });

  it("quadFormUpper equals x'Ax for the full symmetric matrix", () => {
    const n = 9;
    const a = randomSpd(n, 5);
    const r = rng(6);
    const x = Float64Array.from({ length: n }, () => r() - 0.5);
    let ref = 0;
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) ref += x[i] * a[i * n + j] * x[j];
    const upper = a.slice();
    for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) upper[i * n + j] = 0;
    expect(quadFormUpper(upper, n, x)).toBeCloseTo(ref, 12);
    // Strided: column 1 of an n x 2 matrix.
    const x2 = new Float64Array(2 * n);
    for (let i = 0; i < n; i++) x2[i * 2 + 1] = x[i];
    expect(quadFormUpper(upper, n, x2, 1, 2)).toBeCloseTo(ref, 12);
  });
});
