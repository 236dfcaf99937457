import { InvalidOptionError, type RecordedSession } from '@edge-bci/core';
import type { NormaliserStats } from '../decoder.js';

/** Training windows: N sequences of T bins, inputs normalised, targets scaled. */
export interface WindowSet {
  /** N x T x inputs, row-major. */
  readonly x: Float32Array;
  /** N x T x outputs, row-major. */
  readonly y: Float32Array;
  readonly count: number;
}

export interface TrainingWindows {
  readonly windowBins: number;
  readonly inputs: number;
  readonly outputs: number;
  readonly train: WindowSet;
  readonly validation: WindowSet;
}

export interface WindowOptions {
  readonly trainBins: number;
  readonly windowBins: number;
  /** Bins between the starts of consecutive windows (default 1). */
  readonly stride?: number;
  readonly targetColumns: readonly number[];
  readonly normaliser: NormaliserStats;
  /** Per-output mean and std the targets are scaled by (y - mean) / std. */
  readonly outputMean: Float32Array;
  readonly outputStd: Float32Array;
  /** The last fraction of the training bins is held out for early stopping (default 0.1). */
  readonly validationFraction?: number;
}

/**
 * Cuts the training bins into windows of `windowBins` consecutive bins that never straddle a
 * segment start (gap, trial join) nor the train/validation split, so no network learns across a
 * join. Windows start at every `stride` bins inside each continuous run.
 */
export function buildWindows(session: RecordedSession, o: WindowOptions): TrainingWindows {
  const T = o.windowBins;
  const stride = o.stride ?? 1;
  const C = session.metadata.channels;
  const K = session.metadata.kinematicNames.length;
  const M = o.targetColumns.length;
  if (!(Number.isInteger(T) && T >= 1))
    throw new InvalidOptionError('windowBins', 'must be a whole number >= 1');
  if (!(Number.isInteger(stride) && stride >= 1))
    throw new InvalidOptionError('stride', 'must be a whole number >= 1');
  const vf = o.validationFraction ?? 0.1;
  const split = Math.floor(o.trainBins * (1 - vf));
  const runsIn = (from: number, to: number): Array<[number, number]> => {
    const cuts = [from, ...session.segmentStarts.filter((s) => s > from && s < to), to];
    const runs: Array<[number, number]> = [];
    for (let i = 0; i + 1 < cuts.length; i++) runs.push([cuts[i]!, cuts[i + 1]!]);
    return runs;
  };
  const make = (from: number, to: number): WindowSet => {
    const starts: number[] = [];
    for (const [a, b] of runsIn(from, to)) for (let s = a; s + T <= b; s += stride) starts.push(s);
    const x = new Float32Array(starts.length * T * C);
    const y = new Float32Array(starts.length * T * M);
    const { mean, std } = o.normaliser;
    starts.forEach((s, n) => {
      for (let t = 0; t < T; t++) {
        const bin = s + t;
        const xo = (n * T + t) * C;
        for (let c = 0; c < C; c++) x[xo + c] = (session.counts[bin * C + c]! - mean[c]!) / std[c]!;
        const yo = (n * T + t) * M;
        for (let m = 0; m < M; m++) {
          const v = session.kinematics[bin * K + o.targetColumns[m]!]!;
          if (!Number.isFinite(v))
            throw new InvalidOptionError('kinematics', `bin ${bin} has a non-finite target`);
          y[yo + m] = (v - o.outputMean[m]!) / o.outputStd[m]!;
        }
      }
    });
    return { x, y, count: starts.length };
  };
  const train = make(0, split);
  const validation = make(split, o.trainBins);
  if (train.count === 0) {
    throw new InvalidOptionError('trainBins', `no continuous run of ${T} bins in the training part`);
  }
  return { windowBins: T, inputs: C, outputs: M, train, validation };
}

/** Mean and std (floored at 1e-6) of target columns over bins [0, trainBins). */
export function targetScaling(
  session: RecordedSession,
  trainBins: number,
  columns: readonly number[],
): { mean: Float32Array; std: Float32Array } {
  const K = session.metadata.kinematicNames.length;
  const mean = new Float32Array(columns.length);
  const std = new Float32Array(columns.length);
  columns.forEach((c, m) => {
    let s = 0;
    let ss = 0;
    for (let i = 0; i < trainBins; i++) {
      const v = session.kinematics[i * K + c]!;
      s += v;
      ss += v * v;
    }
    const mu = s / trainBins;
    mean[m] = mu;
    std[m] = Math.max(1e-6, Math.sqrt(Math.max(0, ss / trainBins - mu * mu)));
  });
  return { mean, std };
}
