/**
 * Dense numeric kernels shared by the decoders: normal equations (X'X, X'Y), Cholesky
 * factorisation and solve, and the float32 matrix-vector product used by streaming steps.
 *
 * Conventions: matrices are row-major typed arrays with explicit dimensions. Symmetric matrices
 * are n x n arrays of which only the upper triangle (j >= i) is read or written unless a
 * function says otherwise. Fitting accumulates in float64; weights used by `step` are float32.
 */
import { NotPositiveDefiniteError } from '../errors.js';

/** Anything indexable by number that holds numbers: typed arrays of either precision. */
export type NumericArray = Float64Array | Float32Array;

/**
 * Adds the outer product `row row'` to the upper triangle of the n x n matrix `xtx`.
 * One pass over the triangle per row; the inner loop runs along contiguous memory.
 * For many rows prefer {@link accumulateXtXBlock}, which does the same work with a quarter of
 * the passes over `xtx`.
 */
export function accumulateXtX(xtx: Float64Array, row: NumericArray, n: number, rowOffset = 0): void {
  for (let i = 0; i < n; i++) {
    const ri = row[rowOffset + i];
    if (ri === 0) continue;
    const base = i * n;
    for (let j = i; j < n; j++) xtx[base + j] += ri * row[rowOffset + j];
  }
}

/**
 * Adds `R' R` to the upper triangle of the n x n matrix `xtx`, where `R` is the block of
 * `rows` rows of length n stored row-major in `block`. Rows are taken four at a time (a rank-4
 * update), so each element of the triangle is loaded and stored once per four rows; the rows
 * themselves stay in L1 cache. This is the kernel that dominates fitting linear decoders.
 */
export function accumulateXtXBlock(xtx: Float64Array, block: Float64Array, rows: number, n: number): void {
  let r = 0;
  for (; r + 4 <= rows; r += 4) {
    const o0 = r * n;
    const o1 = o0 + n;
    const o2 = o1 + n;
    const o3 = o2 + n;
    for (let i = 0; i < n; i++) {
      const a0 = block[o0 + i];
      const a1 = block[o1 + i];
      const a2 = block[o2 + i];
      const a3 = block[o3 + i];
      if (a0 === 0 && a1 === 0 && a2 === 0 && a3 === 0) continue;
      const base = i * n;
      for (let j = i; j < n; j++) {
        xtx[base + j] += a0 * block[o0 + j] + a1 * block[o1 + j] + a2 * block[o2 + j] + a3 * block[o3 + j];
      }
    }
  }
  for (; r < rows; r++) accumulateXtX(xtx, block, n, r * n);
}

/**
 * Adds `row' y` to the n x m matrix `xty` (row-major), for one row of X (length n) and the
 * matching row of Y (length m).
 */
export function accumulateXtY(
  xty: Float64Array,
  row: NumericArray,
  y: NumericArray,
  n: number,
  m: number,
  rowOffset = 0,
  yOffset = 0,
): void {
  for (let i = 0; i < n; i++) {
    const ri = row[rowOffset + i];
    if (ri === 0) continue;
    const base = i * m;
    for (let o = 0; o < m; o++) xty[base + o] += ri * y[yOffset + o];
  }
}

/** Copies the upper triangle of the n x n matrix `a` onto its lower triangle, in place. */
export function symmetrizeUpper(a: Float64Array, n: number): void {
  for (let i = 1; i < n; i++) {
    const base = i * n;
    for (let j = 0; j < i; j++) a[base + j] = a[j * n + i];
  }
}

/**
 * Cholesky factorisation `A = U'U` of a symmetric positive definite n x n matrix, in place.
 * Reads the upper triangle of `a` (row-major) and overwrites it with `U`; the strict lower
 * triangle is left untouched. Right-looking with panels of eight pivots: each pass over the
 * trailing matrix applies eight rank-1 updates at once, and every inner loop runs along a
 * contiguous row.
 *
 * @throws NotPositiveDefiniteError when a pivot is not positive or is so small relative to the
 *   original diagonal entry that the matrix is singular to working precision.
 */
export function choleskyInPlace(a: Float64Array, n: number, where = 'matrix'): void {
  const diag = new Float64Array(n);
  for (let i = 0; i < n; i++) diag[i] = a[i * n + i];
  const tol = Math.max(n, 16) * Number.EPSILON;
  // Finalises pivot row k, whose entries already carry the updates of all earlier pivots.
  const pivot = (k: number): void => {
    const kk = k * n + k;
    const d = a[kk];
    if (!(d > tol * Math.abs(diag[k])) || !Number.isFinite(d))
      throw new NotPositiveDefiniteError(k, d, where);
    const s = Math.sqrt(d);
    a[kk] = s;
    const inv = 1 / s;
    for (let j = kk + 1; j < k * n + n; j++) a[j] *= inv;
  };
  let k = 0;
  for (; k + 8 <= n; k += 8) {
    // Factor the panel: each pivot row first receives the updates of the panel rows above it.
    for (let p = 0; p < 8; p++) {
      const kp = k + p;
      const rp = kp * n;
      for (let q = 0; q < p; q++) {
        const rq = (k + q) * n;
        const f = a[rq + kp];
        for (let j = kp; j < n; j++) a[rp + j] -= f * a[rq + j];
      }
      pivot(kp);
    }
    // Rank-8 update of the trailing upper triangle.
    const r0 = k * n;
    const r1 = r0 + n;
    const r2 = r1 + n;
    const r3 = r2 + n;
    const r4 = r3 + n;
    const r5 = r4 + n;
    const r6 = r5 + n;
    const r7 = r6 + n;
    for (let i = k + 8; i < n; i++) {
      const f0 = a[r0 + i];
      const f1 = a[r1 + i];
      const f2 = a[r2 + i];
      const f3 = a[r3 + i];
      const f4 = a[r4 + i];
      const f5 = a[r5 + i];
      const f6 = a[r6 + i];
      const f7 = a[r7 + i];
      const base = i * n;
      for (let j = i; j < n; j++) {
        a[base + j] -=
          f0 * a[r0 + j] +
          f1 * a[r1 + j] +
          f2 * a[r2 + j] +
          f3 * a[r3 + j] +
          f4 * a[r4 + j] +
          f5 * a[r5 + j] +
          f6 * a[r6 + j] +
          f7 * a[r7 + j];
      }
    }
  }
  for (; k < n; k++) {
    pivot(k);
    const rk = k * n;
    for (let i = k + 1; i < n; i++) {
      const f = a[rk + i];
      if (f === 0) continue;
      const base = i * n;
      for (let j = i; j < n; j++) a[base + j] -= f * a[rk + j];
    }
  }
}

/**
 * Solves `A X = B` given the Cholesky factor `U` of A (upper triangle of `u`, as left by
 * {@link choleskyInPlace}). `b` is n x m row-major (m right-hand sides) and is overwritten
 * with X.
 */
export function choleskySolveInPlace(u: Float64Array, n: number, b: Float64Array, m: number): void {
  // Forward substitution U' Z = B, column-oriented so that U is read along its rows.
  for (let k = 0; k < n; k++) {
    const rk = k * n;
    const inv = 1 / u[rk + k];
    const bk = k * m;
    for (let o = 0; o < m; o++) b[bk + o] *= inv;
    for (let i = k + 1; i < n; i++) {
      const f = u[rk + i];
      if (f === 0) continue;
      const bi = i * m;
      for (let o = 0; o < m; o++) b[bi + o] -= f * b[bk + o];
    }
  }
  // Back substitution U X = Z.
  for (let i = n - 1; i >= 0; i--) {
    const ri = i * n;
    const bi = i * m;
    for (let j = i + 1; j < n; j++) {
      const f = u[ri + j];
      if (f === 0) continue;
      const bj = j * m;
      for (let o = 0; o < m; o++) b[bi + o] -= f * b[bj + o];
    }
    const inv = 1 / u[ri + i];
    for (let o = 0; o < m; o++) b[bi + o] *= inv;
  }
}

/**
 * Solves the symmetric positive definite system `A X = B` without modifying its inputs:
 * `a` is n x n (upper triangle read), `b` is n x m row-major. Returns X (n x m).
 */
export function solveSpd(
  a: Float64Array,
  n: number,
  b: Float64Array,
  m: number,
  where?: string,
): Float64Array {
  const u = a.slice(0, n * n);
  choleskyInPlace(u, n, where);
  const x = b.slice(0, n * m);
  choleskySolveInPlace(u, n, x, m);
  return x;
}

/**
 * Quadratic form `x' A x` for a symmetric n x n matrix of which only the upper triangle is set.
 */
export function quadFormUpper(a: Float64Array, n: number, x: NumericArray, xOffset = 0, xStride = 1): number {
  let s = 0;
  for (let i = 0; i < n; i++) {
    const xi = x[xOffset + i * xStride];
    if (xi === 0) continue;
    const base = i * n;
    let off = 0;
    for (let j = i + 1; j < n; j++) off += a[base + j] * x[xOffset + j * xStride];
    s += xi * (a[base + i] * xi + 2 * off);
  }
  return s;
}

/**
 * Dot product of `len` entries of `a` (from `aOffset`) and `b` (from `bOffset`), with four
 * independent accumulators so the additions pipeline. Sums in float64.
 */
export function dot(a: NumericArray, aOffset: number, b: NumericArray, bOffset: number, len: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = 0;
  for (; i + 4 <= len; i += 4) {
    s0 += a[aOffset + i] * b[bOffset + i];
    s1 += a[aOffset + i + 1] * b[bOffset + i + 1];
    s2 += a[aOffset + i + 2] * b[bOffset + i + 2];
    s3 += a[aOffset + i + 3] * b[bOffset + i + 3];
  }
  for (; i < len; i++) s0 += a[aOffset + i] * b[bOffset + i];
  return s0 + s1 + s2 + s3;
}

/**
 * `out = W x (+ bias)` for a rows x cols row-major float32 matrix `w`, writing into the
 * preallocated `out` (length >= rows). Eight rows at a time, so each x[i] is loaded once per eight
 * products (measured 15 % faster than four rows and about twice one dot product per row in V8, at
 * decoder sizes of 48 to 256 rows). Each row sums in float64 in index order and rounds once on the
 * store (to float32, or not at all into a Float64Array `out`, which the spiking engine uses so
 * thresholds see the same sums as training). Allocates nothing.
 */
export function matVec<O extends Float32Array | Float64Array>(
  w: Float32Array,
  rows: number,
  cols: number,
  x: NumericArray,
  out: O,
  bias?: Float32Array,
): O {
  let r = 0;
  for (; r + 8 <= rows; r += 8) {
    const o0 = r * cols;
    const o1 = o0 + cols;
    const o2 = o1 + cols;
    const o3 = o2 + cols;
    const o4 = o3 + cols;
    const o5 = o4 + cols;
    const o6 = o5 + cols;
    const o7 = o6 + cols;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let s4 = 0;
    let s5 = 0;
    let s6 = 0;
    let s7 = 0;
    for (let i = 0; i < cols; i++) {
      const xi = x[i]!;
      s0 += w[o0 + i]! * xi;
      s1 += w[o1 + i]! * xi;
      s2 += w[o2 + i]! * xi;
      s3 += w[o3 + i]! * xi;
      s4 += w[o4 + i]! * xi;
      s5 += w[o5 + i]! * xi;
      s6 += w[o6 + i]! * xi;
      s7 += w[o7 + i]! * xi;
    }
    if (bias === undefined) {
      out[r] = s0;
      out[r + 1] = s1;
      out[r + 2] = s2;
      out[r + 3] = s3;
      out[r + 4] = s4;
      out[r + 5] = s5;
      out[r + 6] = s6;
      out[r + 7] = s7;
    } else {
      out[r] = s0 + bias[r]!;
      out[r + 1] = s1 + bias[r + 1]!;
      out[r + 2] = s2 + bias[r + 2]!;
      out[r + 3] = s3 + bias[r + 3]!;
      out[r + 4] = s4 + bias[r + 4]!;
      out[r + 5] = s5 + bias[r + 5]!;
      out[r + 6] = s6 + bias[r + 6]!;
      out[r + 7] = s7 + bias[r + 7]!;
    }
  }
  for (; r < rows; r++) {
    const o = r * cols;
    let s = 0;
    for (let i = 0; i < cols; i++) s += w[o + i]! * x[i]!;
    out[r] = bias === undefined ? s : s + bias[r]!;
  }
  return out;
}
