/**
 * History-window designs for linear decoders (Wiener filter and relatives).
 *
 * The design row of bin t holds the features of the last `history` bins, oldest first, then a
 * constant 1 for the bias:
 *
 *     row(t) = [x(t-k+1), ..., x(t-1), x(t), 1]      (length k * channels + 1)
 *
 * which is the layout of a `HistoryBin` window (k x channels, row-major, oldest first) with the
 * bias appended. Because bins are stored row-major, the first k * channels entries are one
 * contiguous slice of the session's feature array.
 *
 * Segment rule: a history window never straddles a continuity break. Bin t is *valid* (gets a
 * design row in fitting) only when all of t-k+1 .. t lie in the same segment (see
 * `RecordedSession.segmentStarts`) and inside the range being fitted. The first k-1 bins of every
 * segment are therefore skipped in fitting rather than padded: the weights only ever learn from
 * real, contiguous history. (At run time the streaming step does pad: after a reset the missing
 * past is zeros, i.e. the channel means in z-scored units, for the first k-1 bins.)
 */
import { InvalidOptionError } from '@edge-bci/core';

/** A run of consecutive valid bins [lo, hi): every bin in it has a full history window. */
export interface HistoryRun {
  readonly lo: number;
  readonly hi: number;
}

/**
 * The runs of bins t in [from, to) whose window t-history+1 .. t lies inside [from, to) and
 * inside one segment. `segmentStarts` is sorted (a 0 entry is implied); `extraBreaks` are
 * further bins at which continuity is treated as broken (e.g. a train/validation split).
 */
export function validHistoryRuns(
  segmentStarts: readonly number[],
  history: number,
  from: number,
  to: number,
  extraBreaks: readonly number[] = [],
): HistoryRun[] {
  if (!Number.isInteger(history) || history < 1) {
    throw new InvalidOptionError('history', `must be an integer >= 1, got ${history}`);
  }
  const breaks = [...new Set([from, ...segmentStarts, ...extraBreaks])]
    .filter((b) => b >= from && b < to)
    .sort((a, b) => a - b);
  const runs: HistoryRun[] = [];
  for (let s = 0; s < breaks.length; s++) {
    const segStart = breaks[s];
    const segEnd = s + 1 < breaks.length ? breaks[s + 1] : to;
    const lo = segStart + history - 1;
    if (lo < segEnd) runs.push({ lo, hi: segEnd });
  }
  return runs;
}

/** Total number of bins covered by `runs`. */
export function countRunBins(runs: readonly HistoryRun[]): number {
  let n = 0;
  for (const r of runs) n += r.hi - r.lo;
  return n;
}

/**
 * Writes the design row of bin `t` (window oldest first, then the bias 1) into `row` at
 * `rowOffset`. `features` is bins x channels row-major; the caller guarantees t >= history-1.
 */
export function buildHistoryRow(
  features: Float32Array | Float64Array,
  channels: number,
  history: number,
  t: number,
  row: Float64Array,
  rowOffset = 0,
): void {
  const width = history * channels;
  const start = (t - history + 1) * channels;
  for (let i = 0; i < width; i++) row[rowOffset + i] = features[start + i];
  row[rowOffset + width] = 1;
}

/**
 * Features of a range of bins prepared for fitting a history design: float64 copies in both
 * row-major (bins x channels) and channel-major (channels x bins) layout.
 */
export interface HistoryDesign {
  readonly bins: number;
  readonly channels: number;
  readonly history: number;
  /** bins x channels, row-major. */
  readonly z: Float64Array;
  /** channels x bins: each channel's series contiguous. */
  readonly zt: Float64Array;
  /** (history * channels) x channels scratch for one run's lagged cross-products. */
  readonly lagged: Float64Array;
}

/** Copies `bins` rows of `features` (bins x channels, row-major) into a {@link HistoryDesign}. */
export function createHistoryDesign(
  features: Float32Array | Float64Array,
  bins: number,
  channels: number,
  history: number,
): HistoryDesign {
  const z = new Float64Array(bins * channels);
  const zt = new Float64Array(bins * channels);
  for (let t = 0; t < bins; t++) {
    const r = t * channels;
    for (let c = 0; c < channels; c++) {
      const v = features[r + c];
      z[r + c] = v;
      zt[c * bins + t] = v;
    }
  }
  return { bins, channels, history, z, zt, lagged: new Float64Array(history * channels * channels) };
}

/**
 * lagged[(k-1-d)*C*C + i*C + j] = sum over u in [lo, hi) of x(u-d)[i] * x(u)[j], for every lag
 * d in 0..k-1 (so block p of `lagged`, rows p*C.., holds the window position p = k-1-d, as in
 * a design row). Register-tiled: 2 x 4 outputs per pass over the run, each channel's series
 * read contiguously; for d = 0 only the tiles touching the upper triangle are computed.
 */
function laggedCrossProducts(design: HistoryDesign, lo: number, hi: number): void {
  const { zt, lagged, channels: C, history: k, bins: T } = design;
  lagged.fill(0);
  for (let d = 0; d < k; d++) {
    const blk = (k - 1 - d) * C * C;
    let i = 0;
    for (; i < C; i += 2) {
      const two = i + 1 < C;
      const a0 = i * T - d;
      const a1 = two ? a0 + T : a0;
      let j = d === 0 ? i - (i % 4) : 0;
      for (; j + 4 <= C; j += 4) {
        const b0 = j * T;
        const b1 = b0 + T;
        const b2 = b1 + T;
        const b3 = b2 + T;
        let s00 = 0;
        let s01 = 0;
        let s02 = 0;
        let s03 = 0;
        let s10 = 0;
        let s11 = 0;
        let s12 = 0;
        let s13 = 0;
        for (let u = lo; u < hi; u++) {
          const x0 = zt[a0 + u];
          const x1 = zt[a1 + u];
          const c0 = zt[b0 + u];
          const c1 = zt[b1 + u];
          const c2 = zt[b2 + u];
          const c3 = zt[b3 + u];
          s00 += x0 * c0;
          s01 += x0 * c1;
          s02 += x0 * c2;
          s03 += x0 * c3;
          s10 += x1 * c0;
          s11 += x1 * c1;
          s12 += x1 * c2;
          s13 += x1 * c3;
        }
        const o = blk + i * C + j;
        lagged[o] = s00;
        lagged[o + 1] = s01;
        lagged[o + 2] = s02;
        lagged[o + 3] = s03;
        if (two) {
          lagged[o + C] = s10;
          lagged[o + C + 1] = s11;
          lagged[o + C + 2] = s12;
          lagged[o + C + 3] = s13;
        }
      }
      for (; j < C; j++) {
        const b0 = j * T;
        let s0 = 0;
        let s1 = 0;
        for (let u = lo; u < hi; u++) {
          const c0 = zt[b0 + u];
          s0 += zt[a0 + u] * c0;
          s1 += zt[a1 + u] * c0;
        }
        lagged[blk + i * C + j] = s0;
        if (two) lagged[blk + (i + 1) * C + j] = s1;
      }
    }
  }
}

/**
 * Adds the normal equations of the history design over `runs` to `xtx` (n x n, upper
 * triangle, n = history * channels + 1) and `xty` (n x outputs), where `y` holds the targets,
 * bins x outputs, for the same bins as `design`. Returns the number of design rows
 * accumulated. The result equals accumulating the outer product of every design row built by
 * {@link buildHistoryRow} (see `accumulateXtX`), but exploits the block-Toeplitz structure:
 *
 * block (age a, age b) of X'X, a = b + d, is L_d(lo-b, hi-b), with
 * L_d(u0, u1) = sum over u in [u0, u1) of x(u-d) x(u)'. Per run only L_d(lo, hi) for
 * d = 0..k-1 is accumulated over the bins (k * channels^2 multiply-adds per bin instead of
 * (k * channels)^2 / 2); the other blocks on each block diagonal follow by sliding the range
 * one bin at a time (two outer products per block). On 22,000 bins x 95 channels x 10 bins
 * of history this is about five times less arithmetic than the row-by-row update.
 */
export function accumulateHistoryNormalEquations(
  design: HistoryDesign,
  y: Float64Array,
  outputs: number,
  runs: readonly HistoryRun[],
  xtx: Float64Array,
  xty: Float64Array,
  onRun?: (rowsDone: number) => void,
): number {
  const { z, lagged, channels: C, history: k } = design;
  const width = k * C;
  const n = width + 1;
  const m = outputs;
  const biasCol = n - 1;
  let rows = 0;
  for (const { lo, hi } of runs) {
    if (hi <= lo) continue;
    if (lo - k + 1 < 0 || hi > design.bins) {
      throw new RangeError(`history run [${lo}, ${hi}) does not fit ${design.bins} bins with history ${k}`);
    }
    laggedCrossProducts(design, lo, hi);
    // Spread each block diagonal d over the blocks (age b+d, age b), sliding the bin range.
    for (let d = 0; d < k; d++) {
      const L = (k - 1 - d) * C * C; // offset of L_d in `lagged`
      for (let b = 0; b + d < k; b++) {
        const pa = k - 1 - (b + d); // block row (position in the window) of the older bin
        const pb = k - 1 - b;
        for (let i = 0; i < C; i++) {
          const src = L + i * C;
          const dst = (pa * C + i) * n + pb * C;
          for (let j = d === 0 ? i : 0; j < C; j++) xtx[dst + j] += lagged[src + j];
        }
        if (b + d + 1 < k) {
          // L_d(lo-b-1, hi-b-1) = L_d(lo-b, hi-b) + x(lo-b-1-d) x(lo-b-1)' - x(hi-b-1-d) x(hi-b-1)'
          const addOld = (lo - b - 1 - d) * C;
          const addNew = (lo - b - 1) * C;
          const subOld = (hi - b - 1 - d) * C;
          const subNew = (hi - b - 1) * C;
          for (let i = 0; i < C; i++) {
            const ai = z[addOld + i];
            const si = z[subOld + i];
            const base = L + i * C;
            // For d = 0 only the upper triangle of L_0 is kept (and used).
            for (let j = d === 0 ? i : 0; j < C; j++)
              lagged[base + j] += ai * z[addNew + j] - si * z[subNew + j];
          }
        }
      }
    }
    // Bias row/column and X'Y, row by row (O(width * outputs) per bin).
    for (let t = lo; t < hi; t++) {
      const h = (t - k + 1) * C;
      const yt = t * m;
      for (let p = 0; p < width; p++) {
        const v = z[h + p];
        xtx[p * n + biasCol] += v;
        const base = p * m;
        for (let o = 0; o < m; o++) xty[base + o] += v * y[yt + o];
      }
      for (let o = 0; o < m; o++) xty[biasCol * m + o] += y[yt + o];
    }
    xtx[biasCol * n + biasCol] += hi - lo;
    rows += hi - lo;
    onRun?.(rows);
  }
  return rows;
}
