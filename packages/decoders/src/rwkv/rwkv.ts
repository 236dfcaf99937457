/**
 * RWKV-4 decoder: an input projection to d_model, LayerNorm, a stack of RWKV-4 blocks
 * (pre-norm: x + TimeMix(LN(x)), then x + ChannelMix(LN(x))), a final LayerNorm and a linear
 * readout.
 *
 * Time mixing, in the numerically stable recurrent form of RWKV-4 (per channel):
 *   token shift  x_k = x_prev + mu_k (x - x_prev)   (likewise x_v, x_r; x_prev = 0 before the first bin)
 *   r = sigmoid(W_r x_r), k = W_k x_k, v = W_v x_v, w = -exp(time_decay), u = time_first
 *   output       ww = u + k; p = max(pp, ww); e1 = exp(pp - p); e2 = exp(ww - p)
 *                wkv = (e1 aa + e2 v) / (e1 bb + e2)
 *   state        ww = pp + w; p = max(ww, k); e1 = exp(ww - p); e2 = exp(k - p)
 *                aa = e1 aa + e2 v; bb = e1 bb + e2; pp = p
 *   result       W_o (r * wkv)
 * Channel mixing: sigmoid(W_r x_r) * W_v(relu(W_k x_k)^2), with its own token shift.
 * State per layer: x_prev (time mix), x_prev (channel mix), aa, bb, pp (pp starts at -1e30).
 *
 * Training runs the same recurrence over the window, one time step at a time on [batch, d_model]
 * tensors; everything that does not depend on the recurrence (projections, token shift, channel
 * mixing) is computed for the whole window at once, time-major so each step is a contiguous block.
 * The first step uses the closed form of the recurrence from the empty state (wkv = v; aa = v,
 * bb = 1, pp = k), which is exactly what the max trick gives with pp = -1e30 (exp(-1e30 - p) = 0).
 */
import { InvalidOptionError, type Rng } from '@edge-bci/core';
import type { Tensor, Tensor1D, Tensor2D, Tensor3D, Variable } from '@tensorflow/tfjs-core';
import { matVec } from '../kernels/linalg.js';
import type { NetworkDims, NeuralFamily, StreamEngine, TrainingConfig, WeightMap } from '../neural/family.js';
import { glorotUniform } from '../neural/init.js';
import type { Tf } from '../tf/backend.js';
import { matMul2d } from '../tf/ops.js';

export const RWKV_KIND = 'rwkv';

export interface RwkvConfig extends TrainingConfig {
  /** Width of the residual stream (and of the time-mixing attention). */
  readonly dModel: number;
  /** RWKV blocks (time mixing + channel mixing each). */
  readonly layers: number;
  /** Hidden units of the channel-mixing feedforward. */
  readonly ffnHidden: number;
  /** Dropout rate on each block's two residual branches while training. */
  readonly dropout: number;
}

/**
 * Sized for the edge and measured on contdata95 (95 channels, first 70 % to train, WASM, one core):
 * one block of width 48 with a 2x channel-mixing feedforward reaches mean velocity R2 0.957 (width
 * 64 with 128 hidden: 0.958, at 1.7x the MACs), 26,688 MACs a step (step p50 about 26 us, p99 60
 * to 95 us on a loaded machine), about 13 s an epoch, best validation after 6 epochs, 166 s to fit.
 */
const defaults: RwkvConfig = {
  dModel: 48,
  layers: 1,
  ffnHidden: 96,
  dropout: 0.1,
  windowBins: 20,
  stride: 1,
  burnInBins: 5,
  epochs: 30,
  batchSize: 128,
  learningRate: 2e-3,
  patience: 5,
  maxSeconds: 240,
  validationFraction: 0.1,
};

/** LayerNorm epsilon (PyTorch's default, as in RWKV). */
const LN_EPS = 1e-5;
/** pp of the empty state: exp(pp - p) is exactly 0 for any finite p. */
const PP_EMPTY = -1e30;

function shapes(d: NetworkDims, c: RwkvConfig): Map<string, number[]> {
  const D = c.dModel;
  const F = c.ffnHidden;
  const m = new Map<string, number[]>();
  m.set('rwkv/in/kernel', [d.inputs, D]);
  m.set('rwkv/in/bias', [D]);
  m.set('rwkv/ln0/gamma', [D]);
  m.set('rwkv/ln0/beta', [D]);
  for (let l = 0; l < c.layers; l++) {
    const p = `rwkv/block${l}`;
    m.set(`${p}/ln1/gamma`, [D]);
    m.set(`${p}/ln1/beta`, [D]);
    m.set(`${p}/att/time_mix_k`, [D]);
    m.set(`${p}/att/time_mix_v`, [D]);
    m.set(`${p}/att/time_mix_r`, [D]);
    m.set(`${p}/att/time_decay`, [D]);
    m.set(`${p}/att/time_first`, [D]);
    // Kernels are [in, out].
    m.set(`${p}/att/key`, [D, D]);
    m.set(`${p}/att/value`, [D, D]);
    m.set(`${p}/att/receptance`, [D, D]);
    m.set(`${p}/att/output`, [D, D]);
    m.set(`${p}/ln2/gamma`, [D]);
    m.set(`${p}/ln2/beta`, [D]);
    m.set(`${p}/ffn/time_mix_k`, [D]);
    m.set(`${p}/ffn/time_mix_r`, [D]);
    m.set(`${p}/ffn/key`, [D, F]);
    m.set(`${p}/ffn/receptance`, [D, D]);
    m.set(`${p}/ffn/value`, [F, D]);
  }
  m.set('rwkv/ln_out/gamma', [D]);
  m.set('rwkv/ln_out/beta', [D]);
  m.set('rwkv/head/kernel', [D, d.outputs]);
  m.set('rwkv/head/bias', [d.outputs]);
  return m;
}

/**
 * Initial values as in RWKV-4 (RWKV-LM, RWKV-v4 model.py): time_decay spread from -5 (slow decay,
 * long memory) to 3 (almost none) across channels, time_first log(0.3) with a +-0.5 zigzag, token
 * shift mixes from 0 to 1 across channels (less of the current bin in deeper layers); LayerNorms
 * gamma 1, beta 0; matrices Glorot uniform, biases 0.
 */
function initialValue(name: string, shape: readonly number[], c: RwkvConfig, rng: Rng): Float32Array {
  const size = shape.reduce((a, b) => a * b, 1);
  const D = c.dModel;
  const L = c.layers;
  const layer = Number(/block(\d+)/.exec(name)?.[1] ?? 0);
  const ratio0to1 = L > 1 ? layer / (L - 1) : 0;
  const ratio1toAlmost0 = 1 - layer / L;
  const out = new Float32Array(size);
  const leaf = name.slice(name.lastIndexOf('/') + 1);
  const frac = (i: number) => i / D;
  if (leaf === 'gamma') out.fill(1);
  else if (leaf === 'beta' || leaf === 'bias') out.fill(0);
  else if (leaf === 'time_decay') {
    for (let h = 0; h < D; h++) {
      const x = D > 1 ? h / (D - 1) : 0;
      out[h] = -5 + 8 * x ** (0.7 + 1.3 * ratio0to1);
    }
  } else if (leaf === 'time_first') {
    for (let h = 0; h < D; h++) out[h] = Math.log(0.3) + (((h + 1) % 3) - 1) * 0.5;
  } else if (leaf === 'time_mix_k') {
    for (let i = 0; i < D; i++) out[i] = frac(i) ** ratio1toAlmost0;
  } else if (leaf === 'time_mix_v') {
    for (let i = 0; i < D; i++) out[i] = frac(i) ** ratio1toAlmost0 + 0.3 * ratio0to1;
  } else if (leaf === 'time_mix_r') {
    const e = name.includes('/att/') ? 0.5 * ratio1toAlmost0 : ratio1toAlmost0;
    for (let i = 0; i < D; i++) out[i] = frac(i) ** e;
  } else {
    return glorotUniform(rng, shape[0]!, shape[1]!, size);
  }
  return out;
}

/** Multiply-accumulates of one step: every matrix-vector product plus the elementwise products. */
function countMacs(d: NetworkDims, c: RwkvConfig): number {
  const D = c.dModel;
  const F = c.ffnHidden;
  const ln = 3 * D; // variance, normalise, gamma
  // time mix: LN, 3 token shifts, k/v/r/output products, wkv (3 for the output, 3 for the state),
  // r * wkv; channel mix: LN, 2 token shifts, key/receptance/value products, square, gating.
  const block = ln + 3 * D + 4 * D * D + 6 * D + D + (ln + 2 * D + 2 * D * F + D * D + F + D);
  return d.inputs * D + ln + c.layers * block + ln + D * d.outputs;
}

/** Transposes a row-major [rows, cols] matrix to [cols, rows] (each output unit one contiguous row). */
function transpose(w: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let j = 0; j < cols; j++) t[j * rows + r] = w[r * cols + j]!;
  return t;
}

/** out = LayerNorm(x) * gamma + beta over n entries (out may be x). */
function layerNorm(x: Float32Array, gamma: Float32Array, beta: Float32Array, out: Float32Array, n: number) {
  let s = 0;
  for (let i = 0; i < n; i++) s += x[i]!;
  const mean = s / n;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const d = x[i]! - mean;
    v += d * d;
  }
  const inv = 1 / Math.sqrt(v / n + LN_EPS);
  for (let i = 0; i < n; i++) out[i] = (x[i]! - mean) * inv * gamma[i]! + beta[i]!;
}

interface RwkvState {
  /** Per layer, 5 x d_model floats: time-mix x_prev, channel-mix x_prev, aa, bb, pp. */
  readonly data: Float32Array;
}

function stream(w: WeightMap, d: NetworkDims, c: RwkvConfig): StreamEngine<RwkvState> {
  const C = d.inputs;
  const M = d.outputs;
  const D = c.dModel;
  const F = c.ffnHidden;
  const get = (n: string) => {
    const v = w.get(n);
    if (!v) throw new InvalidOptionError('weights', `missing ${n}`);
    return v.data;
  };
  const inT = transpose(get('rwkv/in/kernel'), C, D);
  const inB = get('rwkv/in/bias');
  const ln0g = get('rwkv/ln0/gamma');
  const ln0b = get('rwkv/ln0/beta');
  const blocks = Array.from({ length: c.layers }, (_, l) => {
    const p = `rwkv/block${l}`;
    const decay = get(`${p}/att/time_decay`);
    const wNeg = new Float32Array(D);
    // w = -exp(time_decay), rounded to float32 as TensorFlow.js computes it.
    for (let i = 0; i < D; i++) wNeg[i] = -Math.exp(decay[i]!);
    return {
      ln1g: get(`${p}/ln1/gamma`),
      ln1b: get(`${p}/ln1/beta`),
      mk: get(`${p}/att/time_mix_k`),
      mv: get(`${p}/att/time_mix_v`),
      mr: get(`${p}/att/time_mix_r`),
      w: wNeg,
      u: get(`${p}/att/time_first`),
      wk: transpose(get(`${p}/att/key`), D, D),
      wv: transpose(get(`${p}/att/value`), D, D),
      wr: transpose(get(`${p}/att/receptance`), D, D),
      wo: transpose(get(`${p}/att/output`), D, D),
      ln2g: get(`${p}/ln2/gamma`),
      ln2b: get(`${p}/ln2/beta`),
      fmk: get(`${p}/ffn/time_mix_k`),
      fmr: get(`${p}/ffn/time_mix_r`),
      fk: transpose(get(`${p}/ffn/key`), D, F),
      fr: transpose(get(`${p}/ffn/receptance`), D, D),
      fv: transpose(get(`${p}/ffn/value`), F, D),
    };
  });
  const lnOg = get('rwkv/ln_out/gamma');
  const lnOb = get('rwkv/ln_out/beta');
  const headT = transpose(get('rwkv/head/kernel'), D, M);
  const headB = get('rwkv/head/bias');
  // Scratch, allocated once per engine.
  const h = new Float32Array(D);
  const a = new Float32Array(D);
  const xk = new Float32Array(D);
  const xv = new Float32Array(D);
  const xr = new Float32Array(D);
  const k = new Float32Array(D);
  const v = new Float32Array(D);
  const r = new Float32Array(D);
  const rwkv = new Float32Array(D);
  const branch = new Float32Array(D);
  const ffn = new Float32Array(F);
  const per = 5 * D;
  const reset = (s: RwkvState) => {
    s.data.fill(0);
    for (let l = 0; l < c.layers; l++) s.data.fill(PP_EMPTY, l * per + 4 * D, (l + 1) * per);
  };
  return {
    stateSize: c.layers * per,
    macsPerStep: countMacs(d, c),
    initialState() {
      const s = { data: new Float32Array(c.layers * per) };
      reset(s);
      return s;
    },
    reset,
    step(x, s, out) {
      const st = s.data;
      matVec(inT, D, C, x, h, inB);
      layerNorm(h, ln0g, ln0b, h, D);
      for (let l = 0; l < blocks.length; l++) {
        const B = blocks[l]!;
        const o = l * per;
        const oCm = o + D;
        const oA = o + 2 * D;
        const oB = o + 3 * D;
        const oP = o + 4 * D;
        // Time mixing.
        layerNorm(h, B.ln1g, B.ln1b, a, D);
        for (let i = 0; i < D; i++) {
          const prev = st[o + i]!;
          const diff = a[i]! - prev;
          xk[i] = prev + diff * B.mk[i]!;
          xv[i] = prev + diff * B.mv[i]!;
          xr[i] = prev + diff * B.mr[i]!;
          st[o + i] = a[i]!;
        }
        matVec(B.wk, D, D, xk, k);
        matVec(B.wv, D, D, xv, v);
        matVec(B.wr, D, D, xr, r);
        for (let i = 0; i < D; i++) {
          const ki = k[i]!;
          const vi = v[i]!;
          const aa = st[oA + i]!;
          const bb = st[oB + i]!;
          const pp = st[oP + i]!;
          let ww = B.u[i]! + ki;
          let p = Math.max(pp, ww);
          let e1 = Math.exp(pp - p);
          let e2 = Math.exp(ww - p);
          const wkv = (e1 * aa + e2 * vi) / (e1 * bb + e2);
          rwkv[i] = wkv / (1 + Math.exp(-r[i]!));
          ww = pp + B.w[i]!;
          p = Math.max(ww, ki);
          e1 = Math.exp(ww - p);
          e2 = Math.exp(ki - p);
          st[oA + i] = e1 * aa + e2 * vi;
          st[oB + i] = e1 * bb + e2;
          st[oP + i] = p;
        }
        matVec(B.wo, D, D, rwkv, branch);
        for (let i = 0; i < D; i++) h[i]! += branch[i]!;
        // Channel mixing.
        layerNorm(h, B.ln2g, B.ln2b, a, D);
        for (let i = 0; i < D; i++) {
          const prev = st[oCm + i]!;
          const diff = a[i]! - prev;
          xk[i] = prev + diff * B.fmk[i]!;
          xr[i] = prev + diff * B.fmr[i]!;
          st[oCm + i] = a[i]!;
        }
        matVec(B.fk, F, D, xk, ffn);
        for (let j = 0; j < F; j++) {
          const z = ffn[j]!;
          ffn[j] = z > 0 ? z * z : 0;
        }
        matVec(B.fv, D, F, ffn, branch);
        matVec(B.fr, D, D, xr, r);
        for (let i = 0; i < D; i++) h[i]! += branch[i]! / (1 + Math.exp(-r[i]!));
      }
      layerNorm(h, lnOg, lnOb, a, D);
      matVec(headT, M, D, a, out, headB);
    },
  };
}

function build(tf: Tf, d: NetworkDims, c: RwkvConfig, rng: Rng) {
  const vars = new Map<string, Variable>();
  for (const [name, shape] of shapes(d, c)) {
    const data = initialValue(name, shape, c, rng);
    // The variable keeps its own reference to the data; the temporary tensor is freed by tidy.
    vars.set(
      name,
      tf.tidy(() => tf.variable(tf.tensor(data, shape), true, name)),
    );
  }
  const D = c.dModel;
  const v1 = (n: string) => vars.get(n) as unknown as Tensor1D;
  const v2 = (n: string) => vars.get(n) as unknown as Tensor2D;
  // Dropout masks are drawn from seeds of the build's generator, so training is reproducible.
  const dropRng = rng.fork('dropout');
  const dropout = (x: Tensor2D, training: boolean): Tensor2D =>
    training && c.dropout > 0 ? (tf.dropout(x, c.dropout, undefined, dropRng.int(2 ** 31)) as Tensor2D) : x;

  const layerNorm = (x: Tensor2D, prefix: string): Tensor2D => {
    const { mean, variance } = tf.moments(x, -1, true);
    const norm = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, LN_EPS)));
    return tf.add(tf.mul(norm, v1(`${prefix}/gamma`)), v1(`${prefix}/beta`)) as Tensor2D;
  };
  /** Time-major rows [T * B, D] -> the previous step's rows (zeros before the first step). */
  const shift = (x: Tensor2D, T: number, B: number): Tensor2D => {
    const zeros = tf.zeros([B, D]) as Tensor2D;
    if (T === 1) return zeros;
    return tf.concat([zeros, tf.slice(x, [0, 0], [(T - 1) * B, D])], 0) as Tensor2D;
  };
  const mix = (x: Tensor2D, prev: Tensor2D, mu: Tensor1D): Tensor2D =>
    tf.add(prev, tf.mul(tf.sub(x, prev), mu)) as Tensor2D;

  /** The wkv recurrence over T steps of [B, D] keys and values, from the empty state. */
  const wkvScan = (k: Tensor2D, v: Tensor2D, T: number, B: number, prefix: string): Tensor2D => {
    const ks = tf.unstack(tf.reshape(k, [T, B, D])) as Tensor2D[];
    const vs = tf.unstack(tf.reshape(v, [T, B, D])) as Tensor2D[];
    const w = tf.neg(tf.exp(v1(`${prefix}/time_decay`)));
    const u = v1(`${prefix}/time_first`);
    // Step 0 from the empty state: wkv = v; aa = v, bb = 1, pp = k.
    const outs: Tensor[] = [vs[0]!];
    let aa: Tensor = vs[0]!;
    let bb: Tensor = tf.onesLike(vs[0]!);
    let pp: Tensor = ks[0]!;
    for (let t = 1; t < T; t++) {
      const kt = ks[t]!;
      const vt = vs[t]!;
      const ww = tf.add(u, kt);
      const p = tf.maximum(pp, ww);
      const e1 = tf.exp(tf.sub(pp, p));
      const e2 = tf.exp(tf.sub(ww, p));
      outs.push(tf.div(tf.add(tf.mul(e1, aa), tf.mul(e2, vt)), tf.add(tf.mul(e1, bb), e2)));
      if (t === T - 1) break;
      const ww2 = tf.add(pp, w);
      const p2 = tf.maximum(ww2, kt);
      const f1 = tf.exp(tf.sub(ww2, p2));
      const f2 = tf.exp(tf.sub(kt, p2));
      aa = tf.add(tf.mul(f1, aa), tf.mul(f2, vt));
      bb = tf.add(tf.mul(f1, bb), f2);
      pp = p2;
    }
    return tf.reshape(tf.stack(outs), [T * B, D]) as Tensor2D;
  };

  return {
    variables: vars,
    forward(x: Tensor3D, training: boolean): Tensor3D {
      const [B, T, C] = x.shape;
      // Time-major rows: row t * B + b is step t of sequence b.
      const xt = tf.reshape(tf.transpose(x, [1, 0, 2]), [T * B, C]) as Tensor2D;
      let h = tf.add(matMul2d(tf, xt, v2('rwkv/in/kernel')), v1('rwkv/in/bias')) as Tensor2D;
      h = layerNorm(h, 'rwkv/ln0');
      for (let l = 0; l < c.layers; l++) {
        const p = `rwkv/block${l}`;
        // Time mixing.
        const a = layerNorm(h, `${p}/ln1`);
        const aPrev = shift(a, T, B);
        const k = matMul2d(tf, mix(a, aPrev, v1(`${p}/att/time_mix_k`)), v2(`${p}/att/key`));
        const v = matMul2d(tf, mix(a, aPrev, v1(`${p}/att/time_mix_v`)), v2(`${p}/att/value`));
        const r = tf.sigmoid(
          matMul2d(tf, mix(a, aPrev, v1(`${p}/att/time_mix_r`)), v2(`${p}/att/receptance`)),
        );
        const wkv = wkvScan(k, v, T, B, `${p}/att`);
        const att = matMul2d(tf, tf.mul(r, wkv) as Tensor2D, v2(`${p}/att/output`));
        h = tf.add(h, dropout(att, training)) as Tensor2D;
        // Channel mixing.
        const b = layerNorm(h, `${p}/ln2`);
        const bPrev = shift(b, T, B);
        const kk = tf.square(
          tf.relu(matMul2d(tf, mix(b, bPrev, v1(`${p}/ffn/time_mix_k`)), v2(`${p}/ffn/key`))),
        ) as Tensor2D;
        const rr = tf.sigmoid(
          matMul2d(tf, mix(b, bPrev, v1(`${p}/ffn/time_mix_r`)), v2(`${p}/ffn/receptance`)),
        );
        const ffn = tf.mul(rr, matMul2d(tf, kk, v2(`${p}/ffn/value`))) as Tensor2D;
        h = tf.add(h, dropout(ffn, training)) as Tensor2D;
      }
      const y = tf.add(
        matMul2d(tf, layerNorm(h, 'rwkv/ln_out'), v2('rwkv/head/kernel')),
        v1('rwkv/head/bias'),
      );
      return tf.transpose(tf.reshape(y, [T, B, d.outputs]), [1, 0, 2]) as Tensor3D;
    },
  };
}

const whole = (v: number, min: number) => Number.isInteger(v) && v >= min;

export const rwkvFamily: NeuralFamily<RwkvConfig> = {
  kind: RWKV_KIND,
  defaults,
  validate(c) {
    if (!whole(c.dModel, 1)) throw new InvalidOptionError('dModel', 'must be a whole number >= 1');
    if (!whole(c.layers, 1)) throw new InvalidOptionError('layers', 'must be a whole number >= 1');
    if (!whole(c.ffnHidden, 1)) throw new InvalidOptionError('ffnHidden', 'must be a whole number >= 1');
    if (!(c.dropout >= 0 && c.dropout < 1)) throw new InvalidOptionError('dropout', 'must be in [0, 1)');
  },
  build,
  shapes,
  stream,
};
