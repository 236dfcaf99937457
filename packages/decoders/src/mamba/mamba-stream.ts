/**
 * The Mamba decoder one bin at a time, in plain JavaScript on preallocated Float32Arrays: the
 * recurrent (step) form of the selective state space model, which carries per layer the last
 * dConv inputs of the depthwise convolution and the d_inner x dState scan state.
 */
import { matVec } from '../kernels/linalg.js';
import type { NetworkDims, StreamEngine, WeightMap } from '../neural/family.js';
import {
  innerWidth,
  layerWeight,
  type MambaConfig,
  mambaMacs,
  mambaStateSize,
  NORM_EPS,
  resolvedDtRank,
} from './mamba-config.js';

export interface MambaLayerState {
  /** The last dConv inputs of each channel, oldest first: [d_inner x dConv]. */
  readonly conv: Float32Array;
  /** The selective scan state: [d_inner x dState]. */
  readonly ssm: Float32Array;
}

export interface MambaState {
  readonly layers: readonly MambaLayerState[];
}

/** [rows, cols] row-major -> [cols, rows] row-major. */
function transpose(w: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = w[r * cols + c]!;
  return t;
}

/** softplus(x) = log(1 + e^x), without overflow. */
function softplus(x: number): number {
  return x > 20 ? x : x < -20 ? Math.exp(x) : Math.log1p(Math.exp(x));
}

function silu(x: number): number {
  return x / (1 + Math.exp(-x));
}

/** out = norm(x) * weight (+ bias): RMSNorm without bias, LayerNorm with. */
function normalise(
  x: Float32Array,
  n: number,
  weight: Float32Array,
  bias: Float32Array | undefined,
  out: Float32Array,
): void {
  if (bias === undefined) {
    let ss = 0;
    for (let i = 0; i < n; i++) ss += x[i]! * x[i]!;
    const inv = 1 / Math.sqrt(ss / n + NORM_EPS);
    for (let i = 0; i < n; i++) out[i] = x[i]! * inv * weight[i]!;
  } else {
    let s = 0;
    for (let i = 0; i < n; i++) s += x[i]!;
    const mean = s / n;
    let v = 0;
    for (let i = 0; i < n; i++) v += (x[i]! - mean) * (x[i]! - mean);
    const inv = 1 / Math.sqrt(v / n + NORM_EPS);
    for (let i = 0; i < n; i++) out[i] = (x[i]! - mean) * inv * weight[i]! + bias[i]!;
  }
}

interface LayerWeights {
  readonly normW: Float32Array;
  readonly normB: Float32Array | undefined;
  /** in_proj halves as [d_inner, dModel] rows. */
  readonly inXT: Float32Array;
  readonly inZT: Float32Array;
  /** Convolution taps per channel: [d_inner, dConv], oldest tap first. */
  readonly convW: Float32Array;
  readonly convB: Float32Array;
  /** x_proj parts as [out, d_inner] rows. */
  readonly xDtT: Float32Array;
  readonly xBT: Float32Array;
  readonly xCT: Float32Array;
  /** dt_proj as [d_inner, dtRank] rows. */
  readonly dtT: Float32Array;
  readonly dtB: Float32Array;
  /** A = -exp(A_log): [d_inner, dState]. */
  readonly A: Float32Array;
  readonly D: Float32Array;
  /** out_proj as [dModel, d_inner] rows. */
  readonly outT: Float32Array;
}

export function mambaStream(w: WeightMap, d: NetworkDims, c: MambaConfig): StreamEngine<MambaState> {
  const get = (name: string): Float32Array => {
    const v = w.get(name);
    if (!v) throw new Error(`mamba: missing weight ${name}`);
    return v.data;
  };
  const C = d.inputs;
  const M = d.outputs;
  const dm = c.dModel;
  const di = innerWidth(c);
  const N = c.dState;
  const K = c.dConv;
  const R = resolvedDtRank(c);
  const layerNorm = c.norm === 'layer';

  const inT = transpose(get('mamba/input/kernel'), C, dm);
  const inB = get('mamba/input/bias');
  const layers: LayerWeights[] = [];
  for (let i = 0; i < c.layers; i++) {
    const lw = (part: string) => get(layerWeight(i, part));
    const aLog = lw('A_log');
    const A = new Float32Array(di * N);
    for (let j = 0; j < A.length; j++) A[j] = -Math.exp(aLog[j]!);
    layers.push({
      normW: lw('norm/weight'),
      normB: layerNorm ? lw('norm/bias') : undefined,
      inXT: transpose(lw('in_proj_x'), dm, di),
      inZT: transpose(lw('in_proj_z'), dm, di),
      convW: transpose(lw('conv/kernel'), K, di),
      convB: lw('conv/bias'),
      xDtT: transpose(lw('x_proj_dt'), di, R),
      xBT: transpose(lw('x_proj_B'), di, N),
      xCT: transpose(lw('x_proj_C'), di, N),
      dtT: transpose(lw('dt_proj/kernel'), R, di),
      dtB: lw('dt_proj/bias'),
      A,
      D: lw('D'),
      outT: transpose(lw('out_proj'), di, dm),
    });
  }
  const normFW = get('mamba/norm_f/weight');
  const normFB = layerNorm ? get('mamba/norm_f/bias') : undefined;
  const roT = transpose(get('mamba/readout/kernel'), dm, M);
  const roB = get('mamba/readout/bias');

  // Scratch shared by every state: nothing in it survives a step.
  const resid = new Float32Array(dm);
  const u = new Float32Array(dm);
  const xs = new Float32Array(di);
  const zs = new Float32Array(di);
  const xc = new Float32Array(di);
  const dtLow = new Float32Array(R);
  const Bv = new Float32Array(N);
  const Cv = new Float32Array(N);
  const delta = new Float32Array(di);
  const gated = new Float32Array(di);
  const blockOut = new Float32Array(dm);

  const newState = (): MambaState => ({
    layers: Array.from({ length: c.layers }, () => ({
      conv: new Float32Array(di * K),
      ssm: new Float32Array(di * N),
    })),
  });

  return {
    stateSize: mambaStateSize(c),
    macsPerStep: mambaMacs(d, c),
    initialState: newState,
    reset(s) {
      for (const l of s.layers) {
        l.conv.fill(0);
        l.ssm.fill(0);
      }
    },
    step(x, s, out) {
      matVec(inT, dm, C, x, resid, inB);
      for (let li = 0; li < layers.length; li++) {
        const L = layers[li]!;
        const st = s.layers[li]!;
        normalise(resid, dm, L.normW, L.normB, u);
        matVec(L.inXT, di, dm, u, xs);
        matVec(L.inZT, di, dm, u, zs);
        // Causal depthwise convolution: shift each channel's window, append the new input.
        const conv = st.conv;
        for (let i = 0; i < di; i++) {
          const base = i * K;
          for (let k = 0; k < K - 1; k++) conv[base + k] = conv[base + k + 1]!;
          conv[base + K - 1] = xs[i]!;
          let acc = L.convB[i]!;
          for (let k = 0; k < K; k++) acc += L.convW[base + k]! * conv[base + k]!;
          xc[i] = silu(acc);
        }
        matVec(L.xDtT, R, di, xc, dtLow);
        matVec(L.xBT, N, di, xc, Bv);
        matVec(L.xCT, N, di, xc, Cv);
        matVec(L.dtT, di, R, dtLow, delta, L.dtB);
        // Selective scan: h = exp(Delta A) h + Delta x B; y = C.h + D x; gate with SiLU(z).
        const h = st.ssm;
        const A = L.A;
        for (let i = 0; i < di; i++) {
          const dt = softplus(delta[i]!);
          const xi = xc[i]!;
          const dx = dt * xi;
          let y = 0;
          const base = i * N;
          for (let n = 0; n < N; n++) {
            const v = Math.exp(dt * A[base + n]!) * h[base + n]! + dx * Bv[n]!;
            h[base + n] = v;
            y += v * Cv[n]!;
          }
          gated[i] = (y + L.D[i]! * xi) * silu(zs[i]!);
        }
        matVec(L.outT, dm, di, gated, blockOut);
        for (let j = 0; j < dm; j++) resid[j] = resid[j]! + blockOut[j]!;
      }
      normalise(resid, dm, normFW, normFB, u);
      matVec(roT, M, dm, u, out, roB);
    },
  };
}
