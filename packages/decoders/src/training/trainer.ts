import { InvalidOptionError, Rng } from '@edge-bci/core';
import type { Scalar, Tensor3D, Variable } from '@tensorflow/tfjs-core';
import type { Tf } from '../tf/backend.js';
import type { TrainingWindows, WindowSet } from './windows.js';

/** A network in training: its variables and a causal forward pass over whole windows. */
export interface TrainableModel {
  /** Every trainable variable, by the weight name it is saved under. */
  readonly variables: ReadonlyMap<string, Variable>;
  /**
   * x [batch, T, inputs] -> predictions [batch, T, outputs], step t seeing only steps <= t. While
   * training, a model may return only the last P < T steps (those the loss scores).
   */
  forward(x: Tensor3D, training: boolean): Tensor3D;
  /** Extra loss terms (e.g. activity regularisation), added inside the gradient tape. */
  regulariser?(): import('@tensorflow/tfjs-core').Scalar | undefined;
}

export interface TrainOptions {
  readonly epochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  /** Stop after this many epochs without a better validation loss. */
  readonly patience: number;
  /** Steps at the start of each window that are not scored (context for recurrent state). */
  readonly burnInBins: number;
  /** Stop (keeping the best weights so far) once training has run this long. */
  readonly maxSeconds: number;
  readonly seed: number;
  readonly onProgress?: (fraction: number, message?: string) => void;
}

export interface TrainReport {
  readonly epochs: number;
  readonly bestEpoch: number;
  readonly bestValidationLoss: number;
  readonly trainLoss: number;
  readonly seconds: number;
  readonly stoppedBy: 'patience' | 'epochs' | 'time';
  readonly samplesPerSecond: number;
}

function batchTensor(
  tf: Tf,
  set: WindowSet,
  which: 'x' | 'y',
  idx: Int32Array,
  from: number,
  to: number,
  width: number,
  T: number,
): Tensor3D {
  const src = set[which];
  const n = to - from;
  const buf = new Float32Array(n * T * width);
  const row = T * width;
  for (let i = 0; i < n; i++)
    buf.set(src.subarray(idx[from + i]! * row, (idx[from + i]! + 1) * row), i * row);
  return tf.tensor3d(buf, [n, T, width]);
}

/**
 * MSE over the scored steps: the last T - burnIn steps of each window. A model may return
 * predictions for only the last steps of a window (fewer than T); they are aligned on the end.
 */
function scoredLoss(tf: Tf, pred: Tensor3D, y: Tensor3D, burnIn: number): Scalar {
  const T = y.shape[1];
  const P = pred.shape[1];
  const S = Math.min(P, T - burnIn);
  const p = S < P ? tf.slice(pred, [0, P - S, 0], [-1, S, -1]) : pred;
  const t = S < T ? tf.slice(y, [0, T - S, 0], [-1, S, -1]) : y;
  return tf.mean(tf.squaredDifference(p, t)) as Scalar;
}

/**
 * Mini-batch Adam on MSE (targets already scaled), shuffled by a seeded generator, early stopping on
 * the validation windows, best weights restored at the end. Runs one batch at a time inside `tidy`
 * so memory stays flat.
 */
export async function trainModel(
  tf: Tf,
  model: TrainableModel,
  data: TrainingWindows,
  o: TrainOptions,
): Promise<TrainReport> {
  if (!(o.burnInBins >= 0 && o.burnInBins < data.windowBins)) {
    throw new InvalidOptionError('burnInBins', `must be in [0, ${data.windowBins - 1}]`);
  }
  const vars = [...model.variables.values()];
  const optimizer = tf.train.adam(o.learningRate);
  const rng = new Rng(o.seed);
  const T = data.windowBins;
  const N = data.train.count;
  const order = new Int32Array(N);
  for (let i = 0; i < N; i++) order[i] = i;
  const valIdx = Int32Array.from({ length: data.validation.count }, (_, i) => i);
  const started = performance.now();
  let best = Number.POSITIVE_INFINITY;
  let bestEpoch = 0;
  let bestValues: Float32Array[] | undefined;
  let epochsRun = 0;
  let lastTrain = Number.NaN;
  let samples = 0;
  let stoppedBy: TrainReport['stoppedBy'] = 'epochs';
  const elapsed = () => (performance.now() - started) / 1000;

  const validationLoss = (): number => {
    const set = data.validation.count > 0 ? data.validation : data.train;
    const idx = data.validation.count > 0 ? valIdx : order;
    let sum = 0;
    let n = 0;
    for (let b = 0; b < set.count; b += o.batchSize) {
      const e = Math.min(set.count, b + o.batchSize);
      const l = tf.tidy(() => {
        const x = batchTensor(tf, set, 'x', idx, b, e, data.inputs, T);
        const y = batchTensor(tf, set, 'y', idx, b, e, data.outputs, T);
        return scoredLoss(tf, model.forward(x, false), y, o.burnInBins).dataSync()[0]!;
      });
      sum += l * (e - b);
      n += e - b;
    }
    return sum / n;
  };

  try {
    for (let epoch = 1; epoch <= o.epochs; epoch++) {
      for (let i = N - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        const t = order[i]!;
        order[i] = order[j]!;
        order[j] = t;
      }
      let sum = 0;
      for (let b = 0; b < N; b += o.batchSize) {
        const e = Math.min(N, b + o.batchSize);
        const loss = tf.tidy(() => {
          const x = batchTensor(tf, data.train, 'x', order, b, e, data.inputs, T);
          const y = batchTensor(tf, data.train, 'y', order, b, e, data.outputs, T);
          const cost = optimizer.minimize(
            () => {
              const l = scoredLoss(tf, model.forward(x, true), y, o.burnInBins);
              const r = model.regulariser?.();
              return r ? (tf.add(l, r) as Scalar) : l;
            },
            true,
            vars,
          );
          return cost!.dataSync()[0]!;
        });
        sum += loss * (e - b);
        samples += e - b;
        o.onProgress?.(
          Math.min(1, Math.max((epoch - 1 + e / N) / o.epochs, elapsed() / o.maxSeconds)),
          `epoch ${epoch} loss ${loss.toFixed(4)}`,
        );
        if (elapsed() > o.maxSeconds) break;
      }
      lastTrain = sum / N;
      epochsRun = epoch;
      const v = validationLoss();
      if (v < best) {
        best = v;
        bestEpoch = epoch;
        bestValues = vars.map((w) => w.dataSync().slice() as Float32Array);
      }
      if (elapsed() > o.maxSeconds) {
        stoppedBy = 'time';
        break;
      }
      if (epoch - bestEpoch >= o.patience) {
        stoppedBy = 'patience';
        break;
      }
    }
    if (bestValues) {
      const values = bestValues;
      tf.tidy(() => {
        vars.forEach((w, i) => {
          w.assign(tf.tensor(values[i]!, w.shape));
        });
      });
    }
  } finally {
    optimizer.dispose();
  }
  o.onProgress?.(1);
  const seconds = elapsed();
  return {
    epochs: epochsRun,
    bestEpoch,
    bestValidationLoss: best,
    trainLoss: lastTrain,
    seconds,
    stoppedBy,
    samplesPerSecond: samples / seconds,
  };
}
