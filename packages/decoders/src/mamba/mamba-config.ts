/**
 * Options, weight names and shapes of the Mamba decoder, shared by the TensorFlow.js network
 * (training) and the streaming engine.
 */
import { InvalidOptionError } from '@edge-bci/core';
import type { NetworkDims, TrainingConfig } from '../neural/family.js';

export const MAMBA_KIND = 'mamba';

export interface MambaConfig extends TrainingConfig {
  /** Width of the residual stream. */
  readonly dModel: number;
  /** Residual Mamba blocks. */
  readonly layers: number;
  /** d_inner = expand * dModel channels inside each block. */
  readonly expand: number;
  /** State size N of each channel's selective state space. */
  readonly dState: number;
  /** Kernel width of the causal depthwise convolution. */
  readonly dConv: number;
  /** Rank of the Delta projection; 0 means ceil(dModel / 16) as in the reference code. */
  readonly dtRank: number;
  /** Normalisation before each block and before the readout: RMSNorm or LayerNorm. */
  readonly norm: 'rms' | 'layer';
  /** Delta is initialised log-uniform in [dtMin, dtMax] (through the bias of its projection). */
  readonly dtMin: number;
  readonly dtMax: number;
  /** Dropout rate on the residual stream (after the input projection and each block) while training. */
  readonly dropout: number;
}

export const NORM_EPS = 1e-5;

/** The Delta projection's rank the config resolves to. */
export function resolvedDtRank(c: MambaConfig): number {
  return c.dtRank > 0 ? c.dtRank : Math.ceil(c.dModel / 16);
}

export function innerWidth(c: MambaConfig): number {
  return c.expand * c.dModel;
}

/** Weight name of layer `i`'s `part`. */
export function layerWeight(i: number, part: string): string {
  return `mamba/layer${i}/${part}`;
}

/**
 * Every weight with its shape, in the order they are created. Kernels are [in, out] (y = x W);
 * the convolution kernel is [dConv, d_inner] with tap dConv - 1 applied to the newest bin; A_log is
 * [d_inner, dState] with A = -exp(A_log).
 */
export function mambaShapes(d: NetworkDims, c: MambaConfig): Map<string, number[]> {
  const m = new Map<string, number[]>();
  const dm = c.dModel;
  const di = innerWidth(c);
  const n = c.dState;
  const r = resolvedDtRank(c);
  m.set('mamba/input/kernel', [d.inputs, dm]);
  m.set('mamba/input/bias', [dm]);
  for (let i = 0; i < c.layers; i++) {
    m.set(layerWeight(i, 'norm/weight'), [dm]);
    if (c.norm === 'layer') m.set(layerWeight(i, 'norm/bias'), [dm]);
    m.set(layerWeight(i, 'in_proj_x'), [dm, di]);
    m.set(layerWeight(i, 'in_proj_z'), [dm, di]);
    m.set(layerWeight(i, 'conv/kernel'), [c.dConv, di]);
    m.set(layerWeight(i, 'conv/bias'), [di]);
    m.set(layerWeight(i, 'x_proj_dt'), [di, r]);
    m.set(layerWeight(i, 'x_proj_B'), [di, n]);
    m.set(layerWeight(i, 'x_proj_C'), [di, n]);
    m.set(layerWeight(i, 'dt_proj/kernel'), [r, di]);
    m.set(layerWeight(i, 'dt_proj/bias'), [di]);
    m.set(layerWeight(i, 'A_log'), [di, n]);
    m.set(layerWeight(i, 'D'), [di]);
    m.set(layerWeight(i, 'out_proj'), [di, dm]);
  }
  m.set('mamba/norm_f/weight', [dm]);
  if (c.norm === 'layer') m.set('mamba/norm_f/bias', [dm]);
  m.set('mamba/readout/kernel', [dm, d.outputs]);
  m.set('mamba/readout/bias', [d.outputs]);
  return m;
}

/**
 * Multiply-accumulates of one streaming step: every matrix-vector product, the depthwise
 * convolution, the selective scan (dA h, Delta x B and C h per state: 3 d_inner dState), Delta x,
 * the skip D x and the gate. Normalisation adds 2 dModel (LayerNorm 3 dModel) per use. The
 * d_inner dState exponentials and the SiLU/softplus nonlinearities are not counted.
 */
export function mambaMacs(d: NetworkDims, c: MambaConfig): number {
  const dm = c.dModel;
  const di = innerWidth(c);
  const n = c.dState;
  const r = resolvedDtRank(c);
  const normMacs = (c.norm === 'layer' ? 3 : 2) * dm;
  const block =
    normMacs +
    2 * dm * di + // in_proj (x and z)
    c.dConv * di + // depthwise conv
    di * (r + 2 * n) + // x_proj
    r * di + // dt_proj
    3 * di * n + // scan: dA h, (Delta x) B, C h
    di + // Delta x
    di + // D x
    di + // gate y * silu(z)
    di * dm; // out_proj
  return d.inputs * dm + c.layers * block + normMacs + dm * d.outputs;
}

/** Floats of state carried between steps: per layer conv_state [d_inner x dConv] and ssm_state [d_inner x dState]. */
export function mambaStateSize(c: MambaConfig): number {
  return c.layers * innerWidth(c) * (c.dConv + c.dState);
}

const wholeAtLeast = (c: MambaConfig, key: keyof MambaConfig, min: number): void => {
  const v = c[key] as unknown;
  if (!(typeof v === 'number' && Number.isInteger(v) && v >= min))
    throw new InvalidOptionError(key, `must be a whole number >= ${min}`);
};

export function validateMambaConfig(c: MambaConfig): void {
  wholeAtLeast(c, 'dModel', 1);
  wholeAtLeast(c, 'layers', 1);
  wholeAtLeast(c, 'expand', 1);
  wholeAtLeast(c, 'dState', 1);
  wholeAtLeast(c, 'dConv', 1);
  wholeAtLeast(c, 'dtRank', 0);
  if (c.norm !== 'rms' && c.norm !== 'layer')
    throw new InvalidOptionError('norm', "must be 'rms' or 'layer'");
  if (!(c.dtMin > 0 && c.dtMax >= c.dtMin && Number.isFinite(c.dtMax)))
    throw new InvalidOptionError('dtMin', 'dtMin and dtMax must satisfy 0 < dtMin <= dtMax');
  if (!(c.dropout >= 0 && c.dropout < 1)) throw new InvalidOptionError('dropout', 'must be in [0, 1)');
}
