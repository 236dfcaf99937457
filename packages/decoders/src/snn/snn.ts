/**
 * Spiking decoder: one or more layers of leaky integrate-and-fire (LIF) neurons read out by a
 * non-spiking leaky integrator whose membrane potential is the velocity (snnTorch conventions).
 *
 * Layer l, neuron j, step t (every operation rounded to float32, in this order, by both the
 * TensorFlow.js forward pass and the streaming engine):
 *   I_t = W x_t + b                          (layer 0: the z-scored counts of the last `history`
 *                                             bins, a dense product; later layers: the spikes of
 *                                             the layer below, so only accumulates)
 *   U_t = (beta * U_{t-1} + I_t) - S_{t-1} * theta        (reset by subtraction)
 *   A_t = theta, or theta + adaptStrength * a_{t-1} with `adaptive`
 *   S_t = Heaviside(U_t - A_t)               (S = 1 iff U_t > A_t)
 *   a_t = rho * a_{t-1} + S_t                (`adaptive` only: spike-triggered threshold trace)
 * Readout: M_t = beta_out * M_{t-1} + (W_out S_t + b_out), and M_t is the (scaled) velocity.
 * All state starts at zero at the start of a window or a stream.
 *
 * Choices (documented here because the methods leave them open):
 * - beta is learnable per neuron (clipped to [0, 1] in the forward pass and the same clip when
 *   streaming) when `learnBeta`, else fixed at `beta` for every neuron; the readout's beta_out is
 *   per output and learnable under the same flag (initial `readoutBeta`).
 * - theta is fixed (`threshold`). The reset term uses S_{t-1} with its gradient cut (detached, as
 *   snnTorch does by default); the spike itself passes the surrogate gradient: fast sigmoid
 *   1 / (1 + k |U - A|)^2 (k = `surrogateSlope`, default 25), or ATan
 *   (alpha/2) / (1 + (pi alpha (U - A) / 2)^2) (alpha = `surrogateSlope`).
 * - `adaptive` (SpikeFPN-style threshold adaptation, on the LIF above): the decay rho is learnable per
 *   neuron, parameterised directly (not as exp(-1/rho)) so that both paths use the same float32
 *   value, clipped to [exp(-1/0.64), exp(-1/1.1)] and initialised at exp(-1/0.87).
 *
 * Equivalence: the elementwise membrane arithmetic is identical float32 in both paths; the matrix
 * products differ in summation order (TensorFlow.js sums in float32, the engine in float64 rounded
 * once), about one ulp. A spike can therefore differ only when U_t lies within about 1e-7 of the
 * threshold, which for continuous inputs happens with probability ~0 in short tests; over a long
 * recording it may flip a rare spike, moving the output by one readout weight that then decays.
 *
 * Training runs layer by layer over time (the "temporal fusion" idea): one matrix product projects
 * the whole window into a layer, the window is unstacked once along time (contiguous copies), the
 * LIF recurrence loops over steps on [batch, units] tensors, and the spikes are stacked once for the
 * next product. An optional firing-rate regulariser pulls each neuron's mean rate toward
 * `targetRate`.
 *
 * Costs reported (NeuroBench): `macsPerStep` counts the dense input products (history x inputs x
 * first layer) plus one leak multiply per neuron and readout unit; `spikeStats()` reports the
 * accumulates actually done on spikes (each spike adds its fan-out row into the next layer or the
 * readout) and the activation sparsity (1 - fraction of hidden neuron-steps with a spike), both
 * averaged over every step the engine has run, across all its states, since it was created
 * (before the first step: 0 and 1). `stateSize` counts membranes, last spikes (0/1, kept as floats),
 * adaptation traces, the readout and the (history - 1) past input bins.
 *
 * Defaults (measured on contdata95, 70 % train, one WASM core): two LIF layers [256, 128], beta 0.9
 * learnable, theta 1, fast sigmoid k = 25, inverted dropout 0.2 on spikes, windows of 30 bins with
 * 10 of burn-in at stride 4, Adam 3e-3, batch 128, stopped by the 240 s budget: mean R2 0.877,
 * 24,706 MACs + about 5,100 ACs a step, activation sparsity 0.89. Dropout was what lifted one layer
 * of 256 from 0.81 to 0.85; the second layer gave 0.88; a 5-bin input history gave 0.85 at five
 * times the MACs, so history stays 1 and the membranes carry the memory.
 */
import { InvalidOptionError, type Rng } from '@edge-bci/core';
import type { Tensor, Tensor1D, Tensor2D, Tensor3D, Variable } from '@tensorflow/tfjs-core';
import { matVec } from '../kernels/linalg.js';
import type { NetworkDims, NeuralFamily, StreamEngine, TrainingConfig, WeightMap } from '../neural/family.js';
import { glorotUniform } from '../neural/init.js';
import type { Tf } from '../tf/backend.js';
import { matMul2d } from '../tf/ops.js';
import type { TrainableModel } from '../training/trainer.js';

export const SNN_KIND = 'snn';

export type SnnSurrogate = 'fastSigmoid' | 'atan';

export interface SnnConfig extends TrainingConfig {
  /** Bins of input the first layer sees (1: the current bin only). */
  readonly history: number;
  /** LIF neurons per spiking layer (one or more layers). */
  readonly hidden: readonly number[];
  /** Membrane decay per step (initial value when `learnBeta`). */
  readonly beta: number;
  /** Learn beta per neuron (and beta_out per output). */
  readonly learnBeta: boolean;
  /** Initial decay of the non-spiking readout. */
  readonly readoutBeta: number;
  /** Firing threshold theta. */
  readonly threshold: number;
  readonly surrogate: SnnSurrogate;
  /** k of the fast sigmoid, or alpha of ATan. */
  readonly surrogateSlope: number;
  /** Spike-triggered adaptive thresholds. */
  readonly adaptive: boolean;
  /** How far each unit of the spike trace raises the threshold (beta_a). */
  readonly adaptStrength: number;
  /** Weight of the firing-rate regulariser (0: off). */
  readonly rateRegularisation: number;
  /** Mean spikes per neuron per step the regulariser pulls toward. */
  readonly targetRate: number;
  /** Dropout rate on the spikes fed to the next layer and the readout, while training. */
  readonly dropout: number;
}

const defaults: SnnConfig = {
  history: 1,
  hidden: [256, 128],
  beta: 0.9,
  learnBeta: true,
  readoutBeta: 0.8,
  threshold: 1,
  surrogate: 'fastSigmoid',
  surrogateSlope: 25,
  adaptive: false,
  adaptStrength: 0.07,
  rateRegularisation: 0,
  targetRate: 0.1,
  dropout: 0.2,
  windowBins: 30,
  stride: 4,
  burnInBins: 10,
  epochs: 60,
  batchSize: 128,
  learningRate: 3e-3,
  patience: 5,
  maxSeconds: 240,
  validationFraction: 0.1,
};

/** Bounds of the adaptation decay: exp(-1/rho) for rho in [0.64, 1.1], initial rho 0.87. */
const ADAPT_MIN = Math.fround(Math.exp(-1 / 0.64));
const ADAPT_MAX = Math.fround(Math.exp(-1 / 1.1));
const ADAPT_INIT = Math.exp(-1 / 0.87);

function shapes(d: NetworkDims, c: SnnConfig): Map<string, number[]> {
  const m = new Map<string, number[]>();
  let fanIn = d.inputs;
  c.hidden.forEach((h, l) => {
    // Layer 0's kernel is [history, inputs, hidden] (oldest bin first); later ones [below, hidden].
    m.set(`snn/lif${l}/kernel`, l === 0 ? [c.history, d.inputs, h] : [fanIn, h]);
    m.set(`snn/lif${l}/bias`, [h]);
    if (c.learnBeta) m.set(`snn/lif${l}/beta`, [h]);
    if (c.adaptive) m.set(`snn/lif${l}/adapt`, [h]);
    fanIn = h;
  });
  m.set('snn/out/kernel', [fanIn, d.outputs]);
  m.set('snn/out/bias', [d.outputs]);
  if (c.learnBeta) m.set('snn/out/beta', [d.outputs]);
  return m;
}

const clip = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);

interface SnnState {
  /** The last `history` inputs, oldest first (zeros before the first bin). */
  readonly window: Float32Array;
  /** Per layer: membrane potential, last spikes (0/1), adaptation trace. */
  readonly u: Float32Array[];
  readonly s: Float32Array[];
  readonly a: Float32Array[];
  /** Readout membrane potential. */
  readonly m: Float32Array;
}

function stream(w: WeightMap, d: NetworkDims, c: SnnConfig): StreamEngine<SnnState> {
  const Hh = c.history;
  const C = d.inputs;
  const M = d.outputs;
  const L = c.hidden.length;
  const get = (n: string) => w.get(n)!.data;
  const theta = Math.fround(c.threshold);
  const adaptStrength = Math.fround(c.adaptStrength);
  const fixedBeta = Math.fround(c.beta);
  const layers = c.hidden.map((h, l) => {
    const fanIn = l === 0 ? Hh * C : c.hidden[l - 1]!;
    const k = get(`snn/lif${l}/kernel`);
    let kernel = k;
    if (l === 0) {
      // Transposed to [hidden, history * inputs] rows: each neuron's current is one dot product.
      kernel = new Float32Array(h * fanIn);
      for (let r = 0; r < fanIn; r++) for (let j = 0; j < h; j++) kernel[j * fanIn + r] = k[r * h + j]!;
    }
    // Spike-fed layers keep [below, hidden]: row i is the fan-out a spike of neuron i adds.
    const beta = new Float32Array(h);
    if (c.learnBeta) {
      const raw = get(`snn/lif${l}/beta`);
      for (let j = 0; j < h; j++) beta[j] = clip(raw[j]!, 0, 1);
    } else beta.fill(fixedBeta);
    const rho = new Float32Array(h);
    if (c.adaptive) {
      const raw = get(`snn/lif${l}/adapt`);
      for (let j = 0; j < h; j++) rho[j] = clip(raw[j]!, ADAPT_MIN, ADAPT_MAX);
    }
    return {
      units: h,
      fanIn,
      kernel,
      bias: get(`snn/lif${l}/bias`),
      beta,
      rho,
      current: new Float32Array(h),
    };
  });
  const last = c.hidden[L - 1]!;
  const outK = get('snn/out/kernel');
  const outB = get('snn/out/bias');
  const outBeta = new Float32Array(M);
  if (c.learnBeta) {
    const raw = get('snn/out/beta');
    for (let k = 0; k < M; k++) outBeta[k] = clip(raw[k]!, 0, 1);
  } else outBeta.fill(Math.fround(c.readoutBeta));
  const acc = new Float64Array(Math.max(M, ...c.hidden));
  const neurons = c.hidden.reduce((a, b) => a + b, 0);
  // Counters over every step this engine has run (all states).
  let steps = 0;
  let spikes = 0;
  let acs = 0;

  const active = new Int32Array(Math.max(...c.hidden));

  /**
   * acc[0..n) = the sum of the rows of `kernel` ([rows, n]) whose spike is 1, four rows a pass
   * (float64, one rounding later); returns the number of spikes.
   */
  const accumulate = (kernel: Float32Array, s: Float32Array, rows: number, n: number): number => {
    let count = 0;
    for (let i = 0; i < rows; i++) if (s[i] !== 0) active[count++] = i;
    acc.fill(0, 0, n);
    let q = 0;
    for (; q + 4 <= count; q += 4) {
      const b0 = active[q]! * n;
      const b1 = active[q + 1]! * n;
      const b2 = active[q + 2]! * n;
      const b3 = active[q + 3]! * n;
      for (let j = 0; j < n; j++)
        acc[j]! += kernel[b0 + j]! + kernel[b1 + j]! + kernel[b2 + j]! + kernel[b3 + j]!;
    }
    for (; q < count; q++) {
      const b = active[q]! * n;
      for (let j = 0; j < n; j++) acc[j]! += kernel[b + j]!;
    }
    return count;
  };

  return {
    stateSize: (Hh - 1) * C + neurons * (c.adaptive ? 3 : 2) + M,
    macsPerStep: Hh * C * c.hidden[0]! + neurons + M,
    initialState: () => ({
      window: new Float32Array(Hh > 1 ? Hh * C : 0),
      u: c.hidden.map((h) => new Float32Array(h)),
      s: c.hidden.map((h) => new Float32Array(h)),
      a: c.hidden.map((h) => new Float32Array(c.adaptive ? h : 0)),
      m: new Float32Array(M),
    }),
    reset(st) {
      st.window.fill(0);
      for (let l = 0; l < L; l++) {
        st.u[l]!.fill(0);
        st.s[l]!.fill(0);
        st.a[l]!.fill(0);
      }
      st.m.fill(0);
    },
    step(x, st, out) {
      let input: Float32Array;
      if (Hh > 1) {
        st.window.copyWithin(0, C);
        st.window.set(x, (Hh - 1) * C);
        input = st.window;
      } else input = x;
      for (let l = 0; l < L; l++) {
        const Ly = layers[l]!;
        const H = Ly.units;
        const I = Ly.current;
        if (l === 0) {
          matVec(Ly.kernel, H, Ly.fanIn, input, acc);
          for (let j = 0; j < H; j++) I[j] = Math.fround(Math.fround(acc[j]!) + Ly.bias[j]!);
        } else {
          const n = accumulate(Ly.kernel, st.s[l - 1]!, Ly.fanIn, H);
          acs += n * H;
          for (let j = 0; j < H; j++) I[j] = Math.fround(Math.fround(acc[j]!) + Ly.bias[j]!);
        }
        const u = st.u[l]!;
        const s = st.s[l]!;
        const a = st.a[l]!;
        let fired = 0;
        for (let j = 0; j < H; j++) {
          const uj = Math.fround(Math.fround(Math.fround(Ly.beta[j]! * u[j]!) + I[j]!) - s[j]! * theta);
          u[j] = uj;
          let sj: number;
          if (c.adaptive) {
            const thr = Math.fround(theta + Math.fround(adaptStrength * a[j]!));
            sj = uj > thr ? 1 : 0;
            a[j] = Math.fround(Math.fround(Ly.rho[j]! * a[j]!) + sj);
          } else sj = uj > theta ? 1 : 0;
          s[j] = sj;
          fired += sj;
        }
        spikes += fired;
      }
      const n = accumulate(outK, st.s[L - 1]!, last, M);
      acs += n * M;
      for (let k = 0; k < M; k++) {
        const r = Math.fround(Math.fround(acc[k]!) + outB[k]!);
        const mk = Math.fround(Math.fround(outBeta[k]! * st.m[k]!) + r);
        st.m[k] = mk;
        out[k] = mk;
      }
      steps++;
    },
    spikeStats: () =>
      steps === 0
        ? { acsPerStep: 0, activationSparsity: 1 }
        : { acsPerStep: acs / steps, activationSparsity: 1 - spikes / (steps * neurons) },
  };
}

type Fn1 = (x: Tensor) => Tensor;

/** Heaviside forward (d > 0), surrogate gradient backward. */
export function snnSpikeFunction(tf: Tf, c: SnnConfig): Fn1 {
  const k = c.surrogateSlope;
  return tf.customGrad((...args) => {
    const [d, save] = args as unknown as [Tensor, (t: Tensor[]) => void];
    // The gradient reads d: it must go through save(), or customGrad frees it.
    save([d]);
    return {
      value: tf.cast(tf.greater(d, 0), 'float32'),
      gradFunc: (dy, saved) => {
        const sd = (saved as Tensor[])[0]!;
        if (c.surrogate === 'atan') {
          // (alpha / 2) / (1 + (pi alpha d / 2)^2)
          const z = tf.square(tf.mul(sd, (Math.PI * k) / 2));
          return [tf.div(tf.mul(dy as Tensor, k / 2), tf.add(z, 1))];
        }
        // 1 / (1 + k |d|)^2
        return [tf.div(dy as Tensor, tf.square(tf.add(tf.mul(tf.abs(sd), k), 1)))];
      },
    };
  }) as unknown as Fn1;
}

/** s * theta with the gradient cut (the reset term). */
function detachedScale(tf: Tf, theta: number): Fn1 {
  return tf.customGrad((...args) => {
    const [s] = args as unknown as [Tensor];
    return { value: tf.mul(s, theta), gradFunc: (dy) => [tf.zerosLike(dy as Tensor)] };
  }) as unknown as Fn1;
}

function build(tf: Tf, d: NetworkDims, c: SnnConfig, rng: Rng): TrainableModel {
  const vars = new Map<string, Variable>();
  for (const [name, shape] of shapes(d, c)) {
    const size = shape.reduce((a, b) => a * b, 1);
    let data: Float32Array;
    if (name.endsWith('kernel')) {
      const fanIn = shape.length === 3 ? shape[0]! * shape[1]! : shape[0]!;
      data = glorotUniform(rng, fanIn, shape[shape.length - 1]!, size);
    } else if (name.endsWith('beta')) {
      data = new Float32Array(size).fill(name.startsWith('snn/out') ? c.readoutBeta : c.beta);
    } else if (name.endsWith('adapt')) {
      data = new Float32Array(size).fill(ADAPT_INIT);
    } else data = new Float32Array(size);
    // The variable keeps its own reference to the data; the temporary tensor is freed by tidy.
    vars.set(
      name,
      tf.tidy(() => tf.variable(tf.tensor(data, shape), true, name)),
    );
  }
  const spike = snnSpikeFunction(tf, c);
  const resetTerm = detachedScale(tf, c.threshold);
  const v = (n: string) => vars.get(n)!;
  const Hh = c.history;
  // Stacked spikes [T * B, units] of each layer from the last forward pass (for the regulariser).
  let lastSpikes: Tensor2D[] = [];

  return {
    variables: vars,
    forward(x: Tensor3D, training: boolean): Tensor3D {
      const [B, T, C] = x.shape;
      // Time-major so that every per-step slice below is contiguous.
      let xt = tf.transpose(x, [1, 0, 2]) as Tensor3D;
      if (Hh > 1) {
        const padded = tf.pad(xt, [
          [Hh - 1, 0],
          [0, 0],
          [0, 0],
        ]);
        const lags = Array.from({ length: Hh }, (_, l) => tf.slice(padded, [l, 0, 0], [T, B, C]));
        xt = tf.concat(lags, 2) as Tensor3D;
      }
      let input = tf.reshape(xt, [T * B, Hh * C]) as Tensor2D;
      lastSpikes = [];
      c.hidden.forEach((H, l) => {
        const kernel =
          l === 0
            ? (tf.reshape(v('snn/lif0/kernel'), [Hh * C, H]) as Tensor2D)
            : (v(`snn/lif${l}/kernel`) as Tensor2D);
        const current = tf.add(matMul2d(tf, input, kernel), v(`snn/lif${l}/bias`) as Tensor1D);
        const currents = tf.unstack(tf.reshape(current, [T, B, H]));
        const beta: Tensor | number = c.learnBeta ? tf.clipByValue(v(`snn/lif${l}/beta`), 0, 1) : c.beta;
        const rho = c.adaptive ? tf.clipByValue(v(`snn/lif${l}/adapt`), ADAPT_MIN, ADAPT_MAX) : undefined;
        let u: Tensor | undefined;
        let s: Tensor | undefined;
        let a: Tensor | undefined;
        const out: Tensor[] = [];
        for (let t = 0; t < T; t++) {
          // At t = 0 the state is zero: beta * 0 + I - 0 * theta is exactly I.
          u = u === undefined ? currents[t]! : tf.sub(tf.add(tf.mul(u, beta), currents[t]!), resetTerm(s!));
          const thr: Tensor | number =
            a === undefined ? c.threshold : tf.add(tf.mul(a, c.adaptStrength), c.threshold);
          s = spike(tf.sub(u, thr));
          if (rho) a = a === undefined ? s : tf.add(tf.mul(a, rho), s);
          out.push(s);
        }
        input = tf.reshape(tf.stack(out), [T * B, H]) as Tensor2D;
        lastSpikes.push(input);
        // Inverted dropout (kept spikes scaled by 1 / (1 - p) while training; plain spikes after).
        if (training && c.dropout > 0)
          input = tf.dropout(input, c.dropout, undefined, rng.int(2 ** 31)) as Tensor2D;
      });
      const r = tf.add(matMul2d(tf, input, v('snn/out/kernel') as Tensor2D), v('snn/out/bias') as Tensor1D);
      const rs = tf.unstack(tf.reshape(r, [T, B, d.outputs]));
      const outBeta: Tensor | number = c.learnBeta ? tf.clipByValue(v('snn/out/beta'), 0, 1) : c.readoutBeta;
      // While training only the steps after the burn-in are scored: return just those.
      const first = training ? Math.min(c.burnInBins, T - 1) : 0;
      const ys: Tensor[] = [];
      let m: Tensor | undefined;
      for (let t = 0; t < T; t++) {
        m = m === undefined ? rs[t]! : tf.add(tf.mul(m, outBeta), rs[t]!);
        if (t >= first) ys.push(m);
      }
      return tf.stack(ys, 1) as Tensor3D;
    },
    regulariser() {
      if (!(c.rateRegularisation > 0) || lastSpikes.length === 0) return undefined;
      const terms = lastSpikes.map((s) => tf.mean(tf.squaredDifference(tf.mean(s, 0), c.targetRate)));
      lastSpikes = [];
      return tf.mul(tf.addN(terms), c.rateRegularisation) as import('@tensorflow/tfjs-core').Scalar;
    },
  };
}

export const snnFamily: NeuralFamily<SnnConfig> = {
  kind: SNN_KIND,
  defaults,
  validate(c) {
    if (!(Number.isInteger(c.history) && c.history >= 1))
      throw new InvalidOptionError('history', 'must be a whole number >= 1');
    if (!(c.hidden.length >= 1 && c.hidden.every((h) => Number.isInteger(h) && h >= 1)))
      throw new InvalidOptionError('hidden', 'must list one or more layer sizes');
    if (!(c.beta >= 0 && c.beta <= 1)) throw new InvalidOptionError('beta', 'must be in [0, 1]');
    if (!(c.readoutBeta >= 0 && c.readoutBeta <= 1))
      throw new InvalidOptionError('readoutBeta', 'must be in [0, 1]');
    if (!(c.threshold > 0 && Number.isFinite(c.threshold)))
      throw new InvalidOptionError('threshold', 'must be a positive number');
    if (c.surrogate !== 'fastSigmoid' && c.surrogate !== 'atan')
      throw new InvalidOptionError('surrogate', "must be 'fastSigmoid' or 'atan'");
    if (!(c.surrogateSlope > 0 && Number.isFinite(c.surrogateSlope)))
      throw new InvalidOptionError('surrogateSlope', 'must be a positive number');
    if (!(c.adaptStrength >= 0 && Number.isFinite(c.adaptStrength)))
      throw new InvalidOptionError('adaptStrength', 'must be >= 0');
    if (!(c.rateRegularisation >= 0 && Number.isFinite(c.rateRegularisation)))
      throw new InvalidOptionError('rateRegularisation', 'must be >= 0');
    if (!(c.targetRate >= 0 && c.targetRate <= 1))
      throw new InvalidOptionError('targetRate', 'must be in [0, 1]');
    if (!(c.dropout >= 0 && c.dropout < 1)) throw new InvalidOptionError('dropout', 'must be in [0, 1)');
    if (typeof c.learnBeta !== 'boolean') throw new InvalidOptionError('learnBeta', 'must be true or false');
    if (typeof c.adaptive !== 'boolean') throw new InvalidOptionError('adaptive', 'must be true or false');
  },
  build,
  shapes,
  stream,
};
