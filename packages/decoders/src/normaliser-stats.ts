import { InvalidOptionError, NonFiniteValueError, type RecordedSession } from '@edge-bci/core';
import type { NormaliserStats } from './decoder.js';

/**
 * Default floor on the per-channel standard deviation, in spike counts per bin.
 *
 * Why not something tiny like 1e-3: a channel that is silent in training has std 0, and one
 * that fired once in 20,000 bins has std ~0.007. With a tiny floor, such a channel waking up
 * at run time produces z-scores in the hundreds or thousands and swamps every other input.
 * Flooring at 0.1 count/bin (the std of a Poisson channel at 0.01 spikes/bin, i.e. 0.5 Hz at
 * 20 ms bins) caps one spike on a near-silent channel at 10 standard units. Channels silent
 * in training are constant 0 after z-scoring, so a ridge-regularised decoder gives them zero
 * weight anyway; the floor only has to keep their values bounded.
 */
export const DEFAULT_MIN_STD = 0.1;

/**
 * Per-channel mean and (population) standard deviation of the spike counts over bins
 * [0, trainBins), the std floored at `minStd`. Two passes in float64; stored as float32.
 */
export function computeNormaliserStats(
  session: RecordedSession,
  trainBins: number = session.bins,
  minStd: number = DEFAULT_MIN_STD,
): NormaliserStats {
  const C = session.metadata.channels;
  if (!Number.isInteger(trainBins) || trainBins < 1 || trainBins > session.bins) {
    throw new InvalidOptionError('trainBins', `must be an integer in [1, ${session.bins}], got ${trainBins}`);
  }
  if (!(minStd > 0) || !Number.isFinite(minStd)) {
    throw new InvalidOptionError('minStd', `must be a finite number > 0, got ${minStd}`);
  }
  const counts = session.counts;
  if (counts.length < trainBins * C) {
    throw new InvalidOptionError(
      'session',
      `counts has ${counts.length} values, expected ${session.bins * C}`,
    );
  }
  const sum = new Float64Array(C);
  for (let t = 0; t < trainBins; t++) {
    const r = t * C;
    for (let c = 0; c < C; c++) sum[c] += counts[r + c];
  }
  const mean = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    mean[c] = sum[c] / trainBins;
    if (!Number.isFinite(mean[c])) {
      // Locate the culprit for the error message.
      for (let t = 0; t < trainBins; t++) {
        const v = counts[t * C + c];
        if (!Number.isFinite(v)) throw new NonFiniteValueError('session counts', t * C + c, v);
      }
    }
  }
  const ss = new Float64Array(C);
  for (let t = 0; t < trainBins; t++) {
    const r = t * C;
    for (let c = 0; c < C; c++) {
      const dv = counts[r + c] - mean[c];
      ss[c] += dv * dv;
    }
  }
  const outMean = new Float32Array(C);
  const outStd = new Float32Array(C);
  for (let c = 0; c < C; c++) {
    outMean[c] = mean[c];
    outStd[c] = Math.max(Math.sqrt(ss[c] / trainBins), minStd);
  }
  return { mean: outMean, std: outStd };
}

/**
 * z-scores `bins` rows of `counts` (bins x channels, row-major, starting at row `fromBin`) into
 * `out`, as `(x - mean) / std` rounded to float32: the same arithmetic as streaming
 * normalisation of one bin with {@link normaliseBin}.
 */
export function normaliseRows(
  counts: Float32Array,
  stats: NormaliserStats,
  fromBin: number,
  bins: number,
  out: Float32Array = new Float32Array(bins * stats.mean.length),
): Float32Array {
  const C = stats.mean.length;
  const { mean, std } = stats;
  for (let t = 0; t < bins; t++) {
    const src = (fromBin + t) * C;
    const dst = t * C;
    for (let c = 0; c < C; c++) out[dst + c] = (counts[src + c] - mean[c]) / std[c];
  }
  return out;
}

/** z-scores one bin of counts (starting at `offset` in `counts`) into `out`; allocates nothing. */
export function normaliseBin(
  counts: Float32Array,
  stats: NormaliserStats,
  out: Float32Array,
  offset = 0,
): Float32Array {
  const { mean, std } = stats;
  const C = mean.length;
  for (let c = 0; c < C; c++) out[c] = (counts[offset + c] - mean[c]) / std[c];
  return out;
}
