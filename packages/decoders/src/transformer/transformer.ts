/**
 * Causal Transformer over a sliding window of the last W bins (pre-norm blocks):
 *
 *   h_t = W_in x_t + b_in
 *   for each layer: h += W_o MHA(LN1(h))_t + b_o;  h += W_2 act(W_1 LN2(h) + b_1) + b_2
 *   y_t = W_out LN(h_t) + b_out
 *
 * Step t attends to itself and the W - 1 steps before it (s with 0 <= t - s < W, only steps that
 * exist: at the start of a segment fewer). Positions are relative: each head adds a learned bias per
 * distance t - s (0..W-1, initialised as ALiBi's linear penalty) to its attention logits, so a step's
 * output depends only on the last W inputs of each layer and never on where a window started. The
 * TensorFlow.js forward pass over a whole sequence uses exactly that banded causal mask, and the
 * streaming engine keeps per layer ring buffers of the last W keys and values: a step costs O(W d).
 *
 * Weight layout (row-major, TensorFlow's [in, out] for kernels): `transformer/in/*`,
 * `transformer/layer{l}/{ln1,attn/query,attn/key,attn/value,attn/out,attn/relBias,ln2,ffn/dense0,
 * ffn/dense1}/*`, `transformer/ln/*`, `transformer/out/*`. The key projection has no bias (a key
 * bias adds the same amount to every logit of a query and cancels in the softmax).
 */
import { InvalidOptionError, type Rng } from '@edge-bci/core';
import type { Tensor, Tensor1D, Tensor2D, Tensor3D, Variable } from '@tensorflow/tfjs-core';
import { matVec } from '../kernels/linalg.js';
import type { NetworkDims, NeuralFamily, StreamEngine, TrainingConfig, WeightMap } from '../neural/family.js';
import { glorotUniform } from '../neural/init.js';
import type { Tf } from '../tf/backend.js';
import { matMul2d } from '../tf/ops.js';

export const TRANSFORMER_KIND = 'transformer';

export interface TransformerConfig extends TrainingConfig {
  /** Width of the residual stream. */
  readonly dModel: number;
  /** Attention heads (must divide dModel). */
  readonly heads: number;
  readonly layers: number;
  /** W: bins each step attends to (itself and the W - 1 before it). */
  readonly attentionWindow: number;
  /** Feedforward hidden width as a multiple of dModel (rounded). */
  readonly ffnMultiplier: number;
  readonly activation: 'gelu' | 'relu';
  /** Dropout rate on the input projection, the attention and feedforward outputs while training. */
  readonly dropout: number;
}

/**
 * Sized on contdata95 (first 70 % to train; 100 s of training each): dModel 32 reached mean R2 0.960
 * with 21,000 MACs a step, dModel 48 0.949 (44,000 MACs, still improving), one layer of 64 with W 16
 * 0.933, dModel 32 with W 16 0.952, with stride 2 0.959. With these defaults the benchmark measured
 * R2 0.963, 175 s of training (38 epochs, early stop) and a 25 us step (p50; p99 49 us). Windows of
 * 24 bins with the first W - 1 unscored (the scored steps see a full window in the first layer;
 * deeper layers see a slightly shorter history at the earliest scored steps), every 4th start.
 */
const defaults: TransformerConfig = {
  dModel: 32,
  heads: 4,
  layers: 2,
  attentionWindow: 12,
  ffnMultiplier: 2,
  activation: 'gelu',
  dropout: 0.1,
  windowBins: 24,
  stride: 4,
  burnInBins: 11,
  epochs: 60,
  batchSize: 128,
  learningRate: 2e-3,
  patience: 6,
  maxSeconds: 240,
  validationFraction: 0.1,
};

const P = 'transformer';
const LN_EPS = 1e-5;
/** Logit added where a step may not attend (outside the window or in the future). */
const MASKED = -1e9;
/** GELU, tanh approximation: 0.5 x (1 + tanh(a)) = x sigmoid(2a), a = sqrt(2/pi) (x + 0.044715 x^3). */
const GELU_K = 2 * Math.sqrt(2 / Math.PI);
const GELU_C = 0.044715;

function ffnHidden(c: TransformerConfig): number {
  return Math.round(c.dModel * c.ffnMultiplier);
}

/** ALiBi slopes for `heads` heads: 2^(-8 (h + 1) / heads). */
function alibiSlope(h: number, heads: number): number {
  return 2 ** ((-8 * (h + 1)) / heads);
}

function shapes(d: NetworkDims, c: TransformerConfig): Map<string, number[]> {
  const D = c.dModel;
  const F = ffnHidden(c);
  const m = new Map<string, number[]>();
  m.set(`${P}/in/kernel`, [d.inputs, D]);
  m.set(`${P}/in/bias`, [D]);
  for (let l = 0; l < c.layers; l++) {
    const L = `${P}/layer${l}`;
    m.set(`${L}/ln1/gamma`, [D]);
    m.set(`${L}/ln1/beta`, [D]);
    m.set(`${L}/attn/query/kernel`, [D, D]);
    m.set(`${L}/attn/query/bias`, [D]);
    m.set(`${L}/attn/key/kernel`, [D, D]);
    m.set(`${L}/attn/value/kernel`, [D, D]);
    m.set(`${L}/attn/value/bias`, [D]);
    m.set(`${L}/attn/out/kernel`, [D, D]);
    m.set(`${L}/attn/out/bias`, [D]);
    m.set(`${L}/attn/relBias`, [c.heads, c.attentionWindow]);
    m.set(`${L}/ln2/gamma`, [D]);
    m.set(`${L}/ln2/beta`, [D]);
    m.set(`${L}/ffn/dense0/kernel`, [D, F]);
    m.set(`${L}/ffn/dense0/bias`, [F]);
    m.set(`${L}/ffn/dense1/kernel`, [F, D]);
    m.set(`${L}/ffn/dense1/bias`, [D]);
  }
  m.set(`${P}/ln/gamma`, [D]);
  m.set(`${P}/ln/beta`, [D]);
  m.set(`${P}/out/kernel`, [D, d.outputs]);
  m.set(`${P}/out/bias`, [d.outputs]);
  return m;
}

function initialValue(name: string, shape: readonly number[], c: TransformerConfig, rng: Rng): Float32Array {
  const size = shape.reduce((a, b) => a * b, 1);
  if (name.endsWith('/kernel')) return glorotUniform(rng, shape[0]!, shape[1]!, size);
  if (name.endsWith('/gamma')) return new Float32Array(size).fill(1);
  if (name.endsWith('/relBias')) {
    const W = c.attentionWindow;
    const v = new Float32Array(size);
    for (let h = 0; h < c.heads; h++) for (let j = 0; j < W; j++) v[h * W + j] = -alibiSlope(h, c.heads) * j;
    return v;
  }
  return new Float32Array(size);
}

// ---------------------------------------------------------------------------------------------
// Training / reference forward pass (TensorFlow.js)
// ---------------------------------------------------------------------------------------------

type BatchMatMul = (a: Tensor3D, b: Tensor3D) => Tensor3D;
const bmmCache = new WeakMap<Tf, BatchMatMul>();

/**
 * a [n, p, k] @ b [n, k, q] with a gradient made of explicit transposes and plain batched products
 * (autodiff's own gradient uses transposed products, slow on WASM).
 */
function batchMatMul(tf: Tf, a: Tensor3D, b: Tensor3D): Tensor3D {
  let f = bmmCache.get(tf);
  if (!f) {
    f = tf.customGrad((...args) => {
      const [xa, xb, save] = args as unknown as [Tensor3D, Tensor3D, (t: Tensor[]) => void];
      save([xa, xb]);
      return {
        value: tf.matMul(xa, xb),
        gradFunc: (dy, saved) => {
          const [sa, sb] = saved as [Tensor3D, Tensor3D];
          const g = dy as Tensor3D;
          return [tf.matMul(g, tf.transpose(sb, [0, 2, 1])), tf.matMul(tf.transpose(sa, [0, 2, 1]), g)];
        },
      };
    }) as unknown as BatchMatMul;
    bmmCache.set(tf, f);
  }
  return f(a, b);
}

function layerNorm(tf: Tf, x: Tensor2D, gamma: Variable, beta: Variable): Tensor2D {
  const xc = tf.sub(x, tf.mean(x, -1, true));
  const inv = tf.rsqrt(tf.add(tf.mean(tf.square(xc), -1, true), LN_EPS));
  return tf.add(tf.mul(tf.mul(xc, inv), gamma), beta) as Tensor2D;
}

function dense(tf: Tf, x: Tensor2D, kernel: Variable, bias?: Variable): Tensor2D {
  const y = matMul2d(tf, x, kernel as Tensor2D);
  return bias ? (tf.add(y, bias as Tensor1D) as Tensor2D) : y;
}

function activate(tf: Tf, x: Tensor2D, kind: TransformerConfig['activation']): Tensor2D {
  if (kind === 'relu') return tf.relu(x);
  const inner = tf.mul(tf.add(x, tf.mul(tf.mul(tf.square(x), x), GELU_C)), GELU_K);
  return tf.mul(x, tf.sigmoid(inner)) as Tensor2D;
}

/**
 * Constants of the banded causal mask between Tq queries and Tk keys, query i being `shift` steps
 * after key i (distance t - s = i + shift - j): `onehot` [W, Tq*Tk] selects the relative bias of
 * each allowed distance (a zero column outside the band), `mask` [Tq, Tk] is 0 inside the band
 * (0 <= t - s < W) and MASKED outside.
 */
function bandConstants(
  tf: Tf,
  Tq: number,
  Tk: number,
  shift: number,
  W: number,
): { onehot: Tensor2D; mask: Tensor2D } {
  const onehot = new Float32Array(W * Tq * Tk);
  const mask = new Float32Array(Tq * Tk).fill(MASKED);
  for (let i = 0; i < Tq; i++) {
    for (let j = Math.max(0, i + shift - W + 1); j <= Math.min(Tk - 1, i + shift); j++) {
      onehot[(i + shift - j) * Tq * Tk + i * Tk + j] = 1;
      mask[i * Tk + j] = 0;
    }
  }
  return { onehot: tf.tensor2d(onehot, [W, Tq * Tk]), mask: tf.tensor2d(mask, [Tq, Tk]) };
}

/** Queries per block when a sequence is longer than this (the reference pass over a long sequence). */
const QUERY_BLOCK = 128;

/**
 * Banded causal attention of every head: qh [B*H, T, dh] (already scaled), kt [B*H, dh, T],
 * vh [B*H, T, dh] -> [B*H, T, dh]. Windows (T <= QUERY_BLOCK) take one masked T x T product; a long
 * sequence goes in blocks of queries, each against only the keys its band reaches, so memory stays
 * O(T W) instead of O(T^2).
 */
function attend(
  tf: Tf,
  qh: Tensor3D,
  kt: Tensor3D,
  vh: Tensor3D,
  rel: Variable,
  B: number,
  H: number,
  W: number,
): Tensor3D {
  const T = qh.shape[1];
  const dh = qh.shape[2];
  const block = (q: Tensor3D, k: Tensor3D, v: Tensor3D, shift: number): Tensor3D => {
    const Tq = q.shape[1];
    const Tk = k.shape[2];
    const { onehot, mask } = bandConstants(tf, Tq, Tk, shift, W);
    // Relative bias by distance per head [H, Tq, Tk] plus the band mask, broadcast over the batch.
    const bias = tf.add(tf.reshape(matMul2d(tf, rel as Tensor2D, onehot), [H, Tq, Tk]), mask);
    const logits = tf.add(tf.reshape(batchMatMul(tf, q, k), [B, H, Tq, Tk]), bias);
    return batchMatMul(tf, tf.reshape(tf.softmax(logits), [B * H, Tq, Tk]) as Tensor3D, v);
  };
  if (T <= QUERY_BLOCK) return block(qh, kt, vh, 0);
  const parts: Tensor3D[] = [];
  for (let t0 = 0; t0 < T; t0 += QUERY_BLOCK) {
    const Tq = Math.min(QUERY_BLOCK, T - t0);
    const k0 = Math.max(0, t0 - W + 1);
    const Tk = t0 + Tq - k0;
    parts.push(
      block(
        tf.slice(qh, [0, t0, 0], [B * H, Tq, dh]),
        tf.slice(kt, [0, 0, k0], [B * H, dh, Tk]),
        tf.slice(vh, [0, k0, 0], [B * H, Tk, dh]),
        t0 - k0,
      ),
    );
  }
  return tf.concat(parts, 1);
}

function build(tf: Tf, d: NetworkDims, c: TransformerConfig, rng: Rng) {
  const vars = new Map<string, Variable>();
  for (const [name, shape] of shapes(d, c)) {
    const data = initialValue(name, shape, c, rng);
    // The variable keeps its own reference to the data; the temporary tensor is freed by tidy.
    vars.set(
      name,
      tf.tidy(() => tf.variable(tf.tensor(data, shape), true, name)),
    );
  }
  const v = (name: string) => vars.get(name)!;
  // Dropout masks from the seeded generator, so a fit is reproducible.
  const dropRng = rng.fork('dropout');
  const D = c.dModel;
  const H = c.heads;
  const dh = D / H;
  const W = c.attentionWindow;
  const scale = 1 / Math.sqrt(dh);
  return {
    variables: vars,
    forward(x: Tensor3D, training: boolean): Tensor3D {
      const [B, T, C] = x.shape;
      const drop = (t: Tensor2D): Tensor2D =>
        training && c.dropout > 0
          ? (tf.dropout(t, c.dropout, undefined, dropRng.int(2 ** 31)) as Tensor2D)
          : t;
      let h = drop(dense(tf, tf.reshape(x, [B * T, C]) as Tensor2D, v(`${P}/in/kernel`), v(`${P}/in/bias`)));
      for (let l = 0; l < c.layers; l++) {
        const L = `${P}/layer${l}`;
        const a = layerNorm(tf, h, v(`${L}/ln1/gamma`), v(`${L}/ln1/beta`));
        // [B*T, D] -> [B, T, H, dh] -> per head.
        const q = tf.mul(dense(tf, a, v(`${L}/attn/query/kernel`), v(`${L}/attn/query/bias`)), scale);
        const k = dense(tf, a, v(`${L}/attn/key/kernel`));
        const val = dense(tf, a, v(`${L}/attn/value/kernel`), v(`${L}/attn/value/bias`));
        const qh = tf.reshape(tf.transpose(tf.reshape(q, [B, T, H, dh]), [0, 2, 1, 3]), [B * H, T, dh]);
        const kt = tf.reshape(tf.transpose(tf.reshape(k, [B, T, H, dh]), [0, 2, 3, 1]), [B * H, dh, T]);
        const vh = tf.reshape(tf.transpose(tf.reshape(val, [B, T, H, dh]), [0, 2, 1, 3]), [B * H, T, dh]);
        const o = attend(tf, qh as Tensor3D, kt as Tensor3D, vh as Tensor3D, v(`${L}/attn/relBias`), B, H, W);
        const ctx = tf.reshape(tf.transpose(tf.reshape(o, [B, H, T, dh]), [0, 2, 1, 3]), [
          B * T,
          D,
        ]) as Tensor2D;
        h = tf.add(h, drop(dense(tf, ctx, v(`${L}/attn/out/kernel`), v(`${L}/attn/out/bias`))));
        const a2 = layerNorm(tf, h, v(`${L}/ln2/gamma`), v(`${L}/ln2/beta`));
        const f = activate(
          tf,
          dense(tf, a2, v(`${L}/ffn/dense0/kernel`), v(`${L}/ffn/dense0/bias`)),
          c.activation,
        );
        h = tf.add(h, drop(dense(tf, f, v(`${L}/ffn/dense1/kernel`), v(`${L}/ffn/dense1/bias`))));
      }
      const y = dense(
        tf,
        layerNorm(tf, h, v(`${P}/ln/gamma`), v(`${P}/ln/beta`)),
        v(`${P}/out/kernel`),
        v(`${P}/out/bias`),
      );
      return tf.reshape(y, [B, T, d.outputs]);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Streaming engine (plain JavaScript, allocation-free)
// ---------------------------------------------------------------------------------------------

interface TransformerState {
  /** Per layer: the last W keys and values, [W x dModel] ring buffers. */
  readonly keys: Float32Array[];
  readonly values: Float32Array[];
  /** Ring slot the next step writes. */
  slot: number;
  /** Steps held (at most W). */
  filled: number;
}

/** [in, out] row-major -> [out, in] row-major, so each output is one contiguous dot product. */
function transposed(k: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let j = 0; j < cols; j++) t[j * rows + r] = k[r * cols + j]!;
  return t;
}

function layerNormInto(x: Float32Array, gamma: Float32Array, beta: Float32Array, out: Float32Array): void {
  const n = x.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += x[i]!;
  mean /= n;
  let variance = 0;
  for (let i = 0; i < n; i++) {
    const e = x[i]! - mean;
    variance += e * e;
  }
  const inv = 1 / Math.sqrt(variance / n + LN_EPS);
  for (let i = 0; i < n; i++) out[i] = (x[i]! - mean) * inv * gamma[i]! + beta[i]!;
}

function stream(w: WeightMap, d: NetworkDims, c: TransformerConfig): StreamEngine<TransformerState> {
  const get = (n: string) => w.get(n)!.data;
  const C = d.inputs;
  const M = d.outputs;
  const D = c.dModel;
  const H = c.heads;
  const dh = D / H;
  const W = c.attentionWindow;
  const F = ffnHidden(c);
  const scale = 1 / Math.sqrt(dh);
  const gelu = c.activation === 'gelu';
  const inT = transposed(get(`${P}/in/kernel`), C, D);
  const inB = get(`${P}/in/bias`);
  const layers = Array.from({ length: c.layers }, (_, l) => {
    const L = `${P}/layer${l}`;
    // Query, key and value rows stacked: one matVec gives [q | k | v].
    // The 1/sqrt(dh) logit scale is folded into the query rows.
    const qkv = new Float32Array(3 * D * D);
    qkv.set(transposed(get(`${L}/attn/query/kernel`), D, D), 0);
    for (let i = 0; i < D * D; i++) qkv[i] = qkv[i]! * scale;
    qkv.set(transposed(get(`${L}/attn/key/kernel`), D, D), D * D);
    qkv.set(transposed(get(`${L}/attn/value/kernel`), D, D), 2 * D * D);
    const qkvB = new Float32Array(3 * D);
    qkvB.set(get(`${L}/attn/query/bias`), 0);
    for (let i = 0; i < D; i++) qkvB[i] = qkvB[i]! * scale;
    qkvB.set(get(`${L}/attn/value/bias`), 2 * D);
    return {
      ln1g: get(`${L}/ln1/gamma`),
      ln1b: get(`${L}/ln1/beta`),
      qkv,
      qkvB,
      outT: transposed(get(`${L}/attn/out/kernel`), D, D),
      outB: get(`${L}/attn/out/bias`),
      rel: get(`${L}/attn/relBias`),
      ln2g: get(`${L}/ln2/gamma`),
      ln2b: get(`${L}/ln2/beta`),
      f0T: transposed(get(`${L}/ffn/dense0/kernel`), D, F),
      f0B: get(`${L}/ffn/dense0/bias`),
      f1T: transposed(get(`${L}/ffn/dense1/kernel`), F, D),
      f1B: get(`${L}/ffn/dense1/bias`),
    };
  });
  const lnG = get(`${P}/ln/gamma`);
  const lnB = get(`${P}/ln/beta`);
  const readT = transposed(get(`${P}/out/kernel`), D, M);
  const readB = get(`${P}/out/bias`);
  // Scratch shared by every state (a step runs to completion before the next).
  const h = new Float32Array(D);
  const a = new Float32Array(D);
  const qkvOut = new Float32Array(3 * D);
  const ctx = new Float32Array(D);
  const proj = new Float32Array(D);
  const hid = new Float32Array(F);
  const probs = new Float64Array(W);
  const rowOf = new Int32Array(W);
  const macs = C * D + c.layers * (3 * D * D + 2 * W * D + D * D + 2 * D * F) + D * M;
  return {
    stateSize: c.layers * 2 * W * D,
    macsPerStep: macs,
    initialState: () => ({
      keys: Array.from({ length: c.layers }, () => new Float32Array(W * D)),
      values: Array.from({ length: c.layers }, () => new Float32Array(W * D)),
      slot: 0,
      filled: 0,
    }),
    reset(s) {
      for (const k of s.keys) k.fill(0);
      for (const v of s.values) v.fill(0);
      s.slot = 0;
      s.filled = 0;
    },
    step(x, s, out) {
      const slot = s.slot;
      const n = Math.min(s.filled + 1, W);
      matVec(inT, D, C, x, h, inB);
      // Ring offset of the step j bins back (j = 0: this step), the same in every layer.
      for (let j = 0; j < n; j++) rowOf[j] = (slot - j < 0 ? slot - j + W : slot - j) * D;
      for (let l = 0; l < layers.length; l++) {
        const L = layers[l]!;
        const keys = s.keys[l]!;
        const values = s.values[l]!;
        layerNormInto(h, L.ln1g, L.ln1b, a);
        matVec(L.qkv, 3 * D, D, a, qkvOut, L.qkvB);
        // This step's key and value go into the ring (so it attends to itself).
        const base = slot * D;
        for (let i = 0; i < D; i++) {
          keys[base + i] = qkvOut[D + i]!;
          values[base + i] = qkvOut[2 * D + i]!;
        }
        for (let hd = 0; hd < H; hd++) {
          const off = hd * dh;
          const relOff = hd * W;
          let max = Number.NEGATIVE_INFINITY;
          for (let j = 0; j < n; j++) {
            const ko = rowOf[j]! + off;
            let z = L.rel[relOff + j]!;
            for (let i = 0; i < dh; i++) z += qkvOut[off + i]! * keys[ko + i]!;
            probs[j] = z;
            if (z > max) max = z;
          }
          let sum = 0;
          for (let j = 0; j < n; j++) {
            const e = Math.exp(probs[j]! - max);
            probs[j] = e;
            sum += e;
          }
          const inv = 1 / sum;
          for (let i = 0; i < dh; i++) {
            let acc = 0;
            for (let j = 0; j < n; j++) acc += probs[j]! * values[rowOf[j]! + off + i]!;
            ctx[off + i] = acc * inv;
          }
        }
        matVec(L.outT, D, D, ctx, proj, L.outB);
        for (let i = 0; i < D; i++) h[i] = h[i]! + proj[i]!;
        layerNormInto(h, L.ln2g, L.ln2b, a);
        matVec(L.f0T, F, D, a, hid, L.f0B);
        if (gelu) {
          for (let i = 0; i < F; i++) {
            const z = hid[i]!;
            hid[i] = z / (1 + Math.exp(-GELU_K * (z + GELU_C * z * z * z)));
          }
        } else {
          for (let i = 0; i < F; i++) if (hid[i]! < 0) hid[i] = 0;
        }
        matVec(L.f1T, D, F, hid, proj, L.f1B);
        for (let i = 0; i < D; i++) h[i] = h[i]! + proj[i]!;
      }
      layerNormInto(h, lnG, lnB, a);
      matVec(readT, M, D, a, out, readB);
      s.slot = slot + 1 === W ? 0 : slot + 1;
      s.filled = n;
    },
  };
}

function requireInteger(name: string, value: number, min: number): void {
  if (!(Number.isInteger(value) && value >= min))
    throw new InvalidOptionError(name, `must be a whole number >= ${min}`);
}

export const transformerFamily: NeuralFamily<TransformerConfig> = {
  kind: TRANSFORMER_KIND,
  defaults,
  validate(c) {
    requireInteger('dModel', c.dModel, 1);
    requireInteger('heads', c.heads, 1);
    if (c.dModel % c.heads !== 0) throw new InvalidOptionError('heads', `must divide dModel (${c.dModel})`);
    requireInteger('layers', c.layers, 1);
    requireInteger('attentionWindow', c.attentionWindow, 1);
    if (!(Number.isFinite(c.ffnMultiplier) && Math.round(c.dModel * c.ffnMultiplier) >= 1))
      throw new InvalidOptionError('ffnMultiplier', 'must give a feedforward width >= 1');
    if (c.activation !== 'gelu' && c.activation !== 'relu')
      throw new InvalidOptionError('activation', "must be 'gelu' or 'relu'");
    if (!(c.dropout >= 0 && c.dropout < 1)) throw new InvalidOptionError('dropout', 'must be in [0, 1)');
    if (!(Number.isInteger(c.windowBins) && c.windowBins >= c.attentionWindow))
      throw new InvalidOptionError(
        'windowBins',
        `must be a whole number >= attentionWindow (${c.attentionWindow})`,
      );
  },
  build,
  shapes,
  stream,
};
