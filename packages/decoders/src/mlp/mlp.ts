/**
 * Feedforward network over a history window (the nonlinear counterpart of the Wiener filter):
 * y_t = W3 relu(W2 relu(sum_l W1[l] x_{t-l} + b1) + b2) + b3, l = 0..history-1, with missing past
 * bins (start of a segment) as zeros, exactly as the streaming engine does.
 *
 * Training windows are exactly `history` bins long and score their last step, so the first layer is
 * one matrix product over the flattened window; over a longer sequence (the reference forward pass)
 * every step gets its own zero-padded window, exactly as the streaming engine keeps it.
 */
import { InvalidOptionError, type Rng } from '@edge-bci/core';
import type { Tensor1D, Tensor2D, Tensor3D, Variable } from '@tensorflow/tfjs-core';
import { matVec } from '../kernels/linalg.js';
import type { NetworkDims, NeuralFamily, StreamEngine, TrainingConfig, WeightMap } from '../neural/family.js';
import { glorotUniform } from '../neural/init.js';
import type { Tf } from '../tf/backend.js';
import { matMul2d } from '../tf/ops.js';

export const MLP_KIND = 'mlp';

export interface MlpConfig extends TrainingConfig {
  /** Bins of history the first layer sees. */
  readonly history: number;
  readonly hidden: readonly number[];
  /** Dropout rate on hidden activations while training. */
  readonly dropout: number;
}

// Sized for a streaming step of about 50k multiply-accumulates (tens of microseconds in plain JS).
const defaults: MlpConfig = {
  history: 8,
  hidden: [64, 32],
  dropout: 0.1,
  windowBins: 8,
  stride: 1,
  burnInBins: 7,
  epochs: 60,
  batchSize: 256,
  learningRate: 1e-3,
  patience: 6,
  maxSeconds: 240,
  validationFraction: 0.1,
};

function shapes(d: NetworkDims, c: MlpConfig): Map<string, number[]> {
  const m = new Map<string, number[]>();
  let fanIn = d.inputs;
  c.hidden.forEach((h, i) => {
    // Layer 0's kernel is [history, inputs, hidden] (oldest bin first), like a conv1d filter.
    m.set(`mlp/dense${i}/kernel`, i === 0 ? [c.history, d.inputs, h] : [fanIn, h]);
    m.set(`mlp/dense${i}/bias`, [h]);
    fanIn = h;
  });
  m.set('mlp/out/kernel', [fanIn, d.outputs]);
  m.set('mlp/out/bias', [d.outputs]);
  return m;
}

interface MlpState {
  /** The last `history` inputs, oldest first (zeros before the first bin). */
  readonly window: Float32Array;
}

function stream(w: WeightMap, d: NetworkDims, c: MlpConfig): StreamEngine<MlpState> {
  const H = c.history;
  const C = d.inputs;
  const get = (n: string) => w.get(n)!.data;
  // Pre-transpose every kernel to [out, in] rows so each unit is one contiguous dot product.
  const layers = c.hidden.map((h, i) => {
    const k = get(`mlp/dense${i}/kernel`);
    const fanIn = i === 0 ? H * C : c.hidden[i - 1]!;
    const t = new Float32Array(h * fanIn);
    for (let r = 0; r < fanIn; r++) for (let j = 0; j < h; j++) t[j * fanIn + r] = k[r * h + j]!;
    return { kernelT: t, bias: get(`mlp/dense${i}/bias`), fanIn, units: h, act: new Float32Array(h) };
  });
  const last = c.hidden[c.hidden.length - 1]!;
  const ok = get('mlp/out/kernel');
  const outT = new Float32Array(d.outputs * last);
  for (let r = 0; r < last; r++)
    for (let j = 0; j < d.outputs; j++) outT[j * last + r] = ok[r * d.outputs + j]!;
  const outB = get('mlp/out/bias');
  let macs = d.outputs * last;
  for (const l of layers) macs += l.units * l.fanIn;
  return {
    stateSize: H * C,
    macsPerStep: macs,
    initialState: () => ({ window: new Float32Array(H * C) }),
    reset(s) {
      s.window.fill(0);
    },
    step(x, s, out) {
      s.window.copyWithin(0, C);
      s.window.set(x, (H - 1) * C);
      let input: Float32Array = s.window;
      for (const L of layers) {
        matVec(L.kernelT, L.units, L.fanIn, input, L.act, L.bias);
        for (let j = 0; j < L.units; j++) if (L.act[j]! < 0) L.act[j] = 0;
        input = L.act;
      }
      matVec(outT, d.outputs, last, input, out, outB);
    },
  };
}

function build(tf: Tf, d: NetworkDims, c: MlpConfig, rng: Rng) {
  const vars = new Map<string, Variable>();
  for (const [name, shape] of shapes(d, c)) {
    const size = shape.reduce((a, b) => a * b, 1);
    const isKernel = name.endsWith('kernel');
    const fanIn = shape.length === 3 ? shape[0]! * shape[1]! : shape[0]!;
    const data = isKernel
      ? glorotUniform(rng, fanIn, shape[shape.length - 1]!, size)
      : new Float32Array(size);
    // The variable keeps its own reference to the data; the temporary tensor is freed by tidy.
    vars.set(
      name,
      tf.tidy(() => tf.variable(tf.tensor(data, shape), true, name)),
    );
  }
  const H = c.history;
  // Dropout masks from the seeded generator too, so a fit is reproducible.
  const dropRng = rng.fork('dropout');
  return {
    variables: vars,
    forward(x: Tensor3D, training: boolean): Tensor3D {
      const [B, T, C] = x.shape;
      const w0 = tf.reshape(vars.get('mlp/dense0/kernel')!, [H * C, c.hidden[0]!]) as Tensor2D;
      let h: Tensor2D;
      let steps: number;
      if (training && T === H) {
        // A training window is exactly one history: only its last step is scored.
        h = matMul2d(tf, tf.reshape(x, [B, H * C]), w0);
        steps = 1;
      } else {
        // Every step: zero bins before the sequence, then each step's window of H bins (oldest first).
        const padded = tf.pad(x, [
          [0, 0],
          [H - 1, 0],
          [0, 0],
        ]);
        const lags = Array.from({ length: H }, (_, l) => tf.slice(padded, [0, l, 0], [B, T, C]));
        h = matMul2d(tf, tf.reshape(tf.concat(lags, 2), [B * T, H * C]), w0);
        steps = T;
      }
      h = tf.relu(tf.add(h, vars.get('mlp/dense0/bias') as Tensor1D)) as Tensor2D;
      if (training && c.dropout > 0)
        h = tf.dropout(h, c.dropout, undefined, dropRng.int(2 ** 31)) as Tensor2D;
      for (let i = 1; i < c.hidden.length; i++) {
        h = tf.relu(
          tf.add(
            matMul2d(tf, h, vars.get(`mlp/dense${i}/kernel`) as Tensor2D),
            vars.get(`mlp/dense${i}/bias`) as Tensor1D,
          ),
        ) as Tensor2D;
        if (training && c.dropout > 0)
          h = tf.dropout(h, c.dropout, undefined, dropRng.int(2 ** 31)) as Tensor2D;
      }
      const y = tf.add(
        matMul2d(tf, h, vars.get('mlp/out/kernel') as Tensor2D),
        vars.get('mlp/out/bias') as Tensor1D,
      );
      return tf.reshape(y, [B, steps, d.outputs]);
    },
  };
}

export const mlpFamily: NeuralFamily<MlpConfig> = {
  kind: MLP_KIND,
  defaults,
  validate(c) {
    if (!(Number.isInteger(c.history) && c.history >= 1))
      throw new InvalidOptionError('history', 'must be a whole number >= 1');
    if (!(c.hidden.length >= 1 && c.hidden.every((h) => Number.isInteger(h) && h >= 1))) {
      throw new InvalidOptionError('hidden', 'must list one or more layer sizes');
    }
    if (!(c.dropout >= 0 && c.dropout < 1)) throw new InvalidOptionError('dropout', 'must be in [0, 1)');
  },
  build,
  shapes,
  stream,
};
