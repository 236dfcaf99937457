/**
 * Kalman filter decoder (Wu et al. 2003): a linear-Gaussian state-space model of the kinematics,
 * observed through the (z-scored) spike counts.
 *
 *     x_t = A x_{t-1} + w,   w ~ N(0, W)        state: [pos_x, pos_y, vel_x, vel_y, 1] (or [vel_x, vel_y, 1])
 *     z_t = H x_t + q,       q ~ N(0, Q)        z: the normalised counts of every channel (C of them)
 *
 * The trailing 1 of the state carries the constant terms (an offset in the dynamics, a baseline per
 * channel in H). It is known exactly, so the filter runs on the s = n - 1 kinematic components and
 * treats the constant as an input: A = [[F, b], [0, 1]], H = [Hs, d].
 *
 * Fitting is least squares on the training bins (closed form): A from the pairs (x_{t-1}, x_t) and
 * H from the pairs (x_t, z_{t-lag}), both only inside one segment (never across a segment start);
 * W and Q are the covariances of the residuals. A ridge `qRidge` is added to the diagonal of Q (in
 * z units, where a channel's variance is at most about 1) so that Q is always invertible, and a
 * tiny relative ridge `wRidge` keeps W positive definite when some kinematics are (almost)
 * deterministic functions of the others (e.g. position integrating velocity).
 *
 * Filtering uses the information form, because Q is C x C (~100 x 100) while the state is tiny:
 *
 *     K = P H' (H P H' + Q)^-1 = (P^-1 + H' Q^-1 H)^-1 H' Q^-1
 *
 * with G = Hs' Q^-1 (s x C) and M = Hs' Q^-1 Hs (s x s) precomputed, so a step of the full filter is
 * O(C s) + O(s^3) and never touches a C x C matrix:
 *
 *     predict  x = F x + b,  P = F P F' + W
 *     update   P = (P^-1 + M)^-1,  x = x + P (G z - G d - M x)
 *
 * With `steadyState` (the default) the Riccati recursion is iterated to convergence at fit time and
 * the constant gain K is used: a step is then x = (I - K Hs)(F x + b) + K (z - d), O(C s).
 *
 * Segment starts and the initial state: `reset` (called by `predictSession` at every segment
 * start) puts the prior of the first bin of a segment into the state: the mean and covariance of
 * the state at the training segment starts when there are enough of them, otherwise of every
 * training bin (the stationary distribution), plus W. The first step of a segment updates that
 * prior without predicting.
 *
 * Lag: neural activity leads movement, so `lagBins` = L pairs the state at bin t with the counts
 * at bin t - L (Wu et al. used ~100-150 ms). At run time the decoder keeps the last L feature
 * vectors and updates with the delayed one; during the first L steps after a reset it only
 * predicts. The default is 1: on contdata95 (50 ms bins, first 70 % to train, velocity from a
 * position-velocity state) the test R^2 was 0.466 with lag 0, 0.535 with lag 1 and 0.472 with lag 2.
 * With shorter bins a larger lag (about 100 ms worth) is worth trying.
 *
 * Saved models hold the fitted model itself (A, W, H, Q, x0, P0, float32); every matrix the step
 * reads (G, M, the steady-state gain, ...) is derived from those float32 values, at fit and at
 * load alike, so a loaded decoder reproduces the fitted one bit for bit. `step` allocates nothing.
 */
import { join } from 'node:path';
import {
  ChannelCountError,
  InvalidOptionError,
  NonFiniteValueError,
  type RecordedSession,
} from '@edge-bci/core';
import type {
  Decoder,
  DecoderDescription,
  DecoderState,
  DecodeTarget,
  FitOptions,
  FitReport,
} from '../decoder.js';
import { ModelFormatError, NotFittedError, NotPositiveDefiniteError } from '../errors.js';
import { countRunBins, type HistoryRun, validHistoryRuns } from '../history.js';
import {
  accumulateXtX,
  accumulateXtXBlock,
  accumulateXtY,
  dot,
  solveSpd,
  symmetrizeUpper,
} from '../kernels/linalg.js';
import { DecoderBase, fittedTarget } from '../metadata.js';
import { type LoadedModel, loadModelDir, MODEL_JSON, requireWeight, saveModelDir } from '../model-io.js';
import { computeNormaliserStats, DEFAULT_MIN_STD, normaliseRows } from '../normaliser-stats.js';
import { explicitTargetColumns, resolveTargetColumns } from '../targets.js';

export const KALMAN_KIND = 'kalman';

/** Kinematic part of the state: position and velocity (x, y each), or velocity only. */
export type KalmanStateModel = 'position-velocity' | 'velocity';

export interface KalmanConfig {
  /** Kinematic state. Default 'position-velocity' ([pos_x, pos_y, vel_x, vel_y] plus the constant). */
  readonly state: KalmanStateModel;
  /** What to output when `FitOptions` does not say. Default 'velocity'. 'position' needs a position state. */
  readonly target: DecodeTarget;
  /** Use the converged (constant) Kalman gain: O(C s) per step instead of O(C s + s^3). Default true. */
  readonly steadyState: boolean;
  /**
   * Bins by which the counts lead the kinematics: the state at bin t is paired with the counts
   * of bin t - lagBins, so the output at bin t uses counts up to bin t - lagBins (and the first
   * lagBins bins of a segment are predicted without an observation). Default 1 (best on 50 ms
   * bins; neural activity leads movement by ~100 ms); 0 uses the current bin.
   */
  readonly lagBins: number;
  /** Ridge added to the diagonal of Q, in z units (a channel's variance is <= ~1). Default 1e-3; > 0. */
  readonly qRidge: number;
  /** Ridge added to the diagonal of W, relative to the mean variance of the kinematic state. Default 1e-6; > 0. */
  readonly wRidge: number;
  /** Floor on the per-channel std of the normaliser (counts per bin). Default `DEFAULT_MIN_STD`. */
  readonly minStd: number;
}

export interface KalmanState extends DecoderState {
  /** Estimate of the kinematic state (s entries, named by `stateNames`; the constant 1 is implicit). */
  readonly x: Float64Array;
  /**
   * Its covariance, s x s row-major: the posterior after the last step (the prior of the next
   * segment's first bin after a reset). With `steadyState` it is the constant steady-state posterior.
   */
  readonly P: Float64Array;
  /** The last `lagBins` feature vectors (lagBins x inputs), in ring order; empty when lagBins = 0. */
  readonly delay: Float32Array;
  /** Ring slot the next feature vector goes to (also the slot of the oldest once full). */
  head: number;
}

/**
 * The fitted linear-Gaussian model in the full-state form x = [kinematics..., 1] (n = s + 1),
 * float32 row-major. The last row of A is [0, ..., 0, 1], and the last row and column of W and P0
 * are zero (the constant is known exactly).
 */
export interface KalmanModel {
  /** n x n state transition. */
  readonly A: Float32Array;
  /** n x n process noise covariance. */
  readonly W: Float32Array;
  /** C x n observation matrix (z-scored counts). */
  readonly H: Float32Array;
  /** C x C observation noise covariance, ridge included. */
  readonly Q: Float32Array;
  /** n: prior mean of the state at the first bin of a segment. */
  readonly x0: Float32Array;
  /** n x n: prior covariance of the state at the first bin of a segment. */
  readonly P0: Float32Array;
}

/** Segment starts needed in the training bins before the prior is taken from them (else: every bin). */
export const KALMAN_MIN_START_SAMPLES = 20;
/** Relative change of P at which the Riccati recursion counts as converged. */
const RICCATI_TOLERANCE = 1e-12;
const RICCATI_MAX_ITERATIONS = 100_000;

export function resolveKalmanConfig(config: Partial<KalmanConfig> = {}): KalmanConfig {
  const state = config.state ?? 'position-velocity';
  if (state !== 'position-velocity' && state !== 'velocity') {
    throw new InvalidOptionError('state', `must be 'position-velocity' or 'velocity', got ${String(state)}`);
  }
  const target = config.target ?? 'velocity';
  if (target !== 'velocity' && target !== 'position') {
    throw new InvalidOptionError('target', `must be 'velocity' or 'position', got ${String(target)}`);
  }
  if (state === 'velocity' && target === 'position') {
    throw new InvalidOptionError('target', "'position' needs state 'position-velocity'");
  }
  const steadyState = config.steadyState ?? true;
  if (typeof steadyState !== 'boolean') {
    throw new InvalidOptionError('steadyState', `must be a boolean, got ${String(steadyState)}`);
  }
  const lagBins = config.lagBins ?? 1;
  if (!Number.isInteger(lagBins) || lagBins < 0) {
    throw new InvalidOptionError('lagBins', `must be an integer >= 0, got ${lagBins}`);
  }
  const qRidge = config.qRidge ?? 1e-3;
  if (typeof qRidge !== 'number' || !(qRidge > 0) || !Number.isFinite(qRidge)) {
    throw new InvalidOptionError('qRidge', `must be a finite number > 0, got ${qRidge}`);
  }
  const wRidge = config.wRidge ?? 1e-6;
  if (typeof wRidge !== 'number' || !(wRidge > 0) || !Number.isFinite(wRidge)) {
    throw new InvalidOptionError('wRidge', `must be a finite number > 0, got ${wRidge}`);
  }
  const minStd = config.minStd ?? DEFAULT_MIN_STD;
  if (typeof minStd !== 'number' || !(minStd > 0) || !Number.isFinite(minStd)) {
    throw new InvalidOptionError('minStd', `must be a finite number > 0, got ${minStd}`);
  }
  return Object.freeze({ state, target, steadyState, lagBins, qRidge, wRidge, minStd });
}

// ---------------------------------------------------------------------------------------------
// Small dense kernels for the s x s matrices of the filter (s <= a handful). They allocate nothing,
// so the streaming step can use them.

/**
 * Inverts a symmetric positive definite n x n matrix in place (Gauss-Jordan without pivoting,
 * which is stable for SPD matrices: every pivot is a Schur complement). n^3 multiply-adds.
 * Allocates nothing (unlike `choleskyInPlace`, which keeps a copy of the diagonal).
 * @throws NotPositiveDefiniteError when a pivot is not positive.
 */
export function invertSpdInPlace(a: Float64Array, n: number, where = 'matrix'): void {
  for (let k = 0; k < n; k++) {
    const rk = k * n;
    const p = a[rk + k];
    if (!(p > 0) || !Number.isFinite(p)) throw new NotPositiveDefiniteError(k, p, where);
    const inv = 1 / p;
    a[rk + k] = 1;
    for (let j = 0; j < n; j++) a[rk + j] *= inv;
    for (let i = 0; i < n; i++) {
      if (i === k) continue;
      const ri = i * n;
      const f = a[ri + k];
      if (f === 0) continue;
      a[ri + k] = 0;
      for (let j = 0; j < n; j++) a[ri + j] -= f * a[rk + j];
    }
  }
}

/** out = F P F' + W for s x s matrices; `t` is s x s scratch. 2 s^3 multiply-adds. */
function predictCovariance(
  F: Float32Array,
  P: Float64Array,
  W: Float32Array,
  s: number,
  out: Float64Array,
  t: Float64Array,
): void {
  for (let i = 0; i < s; i++) {
    for (let j = 0; j < s; j++) {
      let acc = 0;
      for (let k = 0; k < s; k++) acc += F[i * s + k] * P[k * s + j];
      t[i * s + j] = acc;
    }
  }
  for (let i = 0; i < s; i++) {
    for (let j = 0; j < s; j++) {
      let acc = W[i * s + j];
      for (let k = 0; k < s; k++) acc += t[i * s + k] * F[j * s + k];
      out[i * s + j] = acc;
    }
  }
}

const WHERE_PRIOR = 'Kalman prior covariance P';
const WHERE_INFORMATION = "Kalman posterior information P^-1 + H' Q^-1 H";

/** P (prior covariance, s x s) becomes the posterior (P^-1 + M)^-1, in place. 2 s^3 multiply-adds. */
function posteriorCovarianceInPlace(P: Float64Array, M: Float32Array, s: number): void {
  invertSpdInPlace(P, s, WHERE_PRIOR);
  for (let i = 0; i < s * s; i++) P[i] += M[i];
  invertSpdInPlace(P, s, WHERE_INFORMATION);
  symmetrizeUpper(P, s);
}

/** Everything a step reads, derived from a `KalmanModel` (float32, like saved weights). */
interface Runtime {
  /** s x s dynamics of the kinematic state and its offset b (s). */
  readonly F: Float32Array;
  readonly b: Float32Array;
  /** s x s process noise. */
  readonly W: Float32Array;
  /** s x C: Hs' Q^-1. */
  readonly G: Float32Array;
  /** s: G d (the channel baselines seen through G). */
  readonly gd: Float32Array;
  /** s x s: Hs' Q^-1 Hs. */
  readonly M: Float32Array;
  /** Prior of the first bin of a segment: mean (s) and covariance (s x s). */
  readonly m0: Float32Array;
  readonly P0: Float32Array;
  /** Steady state: gain K (s x C), K Hs (s x s), K d (s), (I - K Hs) F (s x s), (I - K Hs) b - K d (s). */
  readonly K: Float32Array;
  readonly KH: Float32Array;
  readonly Kd: Float32Array;
  readonly Abar: Float32Array;
  readonly cbar: Float32Array;
  /** Steady-state posterior covariance (s x s, float64). */
  readonly Pss: Float64Array;
  /** Riccati iterations to convergence (NaN when it did not converge). */
  readonly iterations: number;
}

/**
 * Derives the runtime matrices from the model: G, M by one Cholesky solve with Q, then the
 * steady-state posterior by iterating the Riccati recursion (in float64, on the float32 values
 * the step uses, so the full filter converges to exactly this limit).
 */
function prepareRuntime(model: KalmanModel, n: number, C: number, requireConvergence: boolean): Runtime {
  const s = n - 1;
  const { A, W: Wn, H, Q, x0, P0: P0n } = model;
  const F = new Float32Array(s * s);
  const b = new Float32Array(s);
  const W = new Float32Array(s * s);
  const P0 = new Float32Array(s * s);
  for (let i = 0; i < s; i++) {
    for (let j = 0; j < s; j++) {
      F[i * s + j] = A[i * n + j];
      W[i * s + j] = Wn[i * n + j];
      P0[i * s + j] = P0n[i * n + j];
    }
    b[i] = A[i * n + s];
  }
  const m0 = x0.slice(0, s);
  // X = Q^-1 Hs (C x s); G = X', M = Hs' X.
  const hs = new Float64Array(C * s);
  for (let c = 0; c < C; c++) for (let i = 0; i < s; i++) hs[c * s + i] = H[c * n + i];
  const X = solveSpd(Float64Array.from(Q), C, hs, s, 'Kalman observation noise Q');
  const G = new Float32Array(s * C);
  for (let c = 0; c < C; c++) for (let i = 0; i < s; i++) G[i * C + c] = X[c * s + i];
  const M64 = new Float64Array(s * s);
  for (let c = 0; c < C; c++) {
    for (let i = 0; i < s; i++) {
      const hi = hs[c * s + i];
      for (let j = 0; j < s; j++) M64[i * s + j] += hi * X[c * s + j];
    }
  }
  // Symmetric to working precision; make it exactly so.
  for (let i = 0; i < s; i++) {
    for (let j = i + 1; j < s; j++) {
      const v = 0.5 * (M64[i * s + j] + M64[j * s + i]);
      M64[i * s + j] = v;
      M64[j * s + i] = v;
    }
  }
  const M = Float32Array.from(M64);
  const gd = new Float32Array(s);
  for (let i = 0; i < s; i++) {
    let acc = 0;
    for (let c = 0; c < C; c++) acc += G[i * C + c] * H[c * n + s];
    gd[i] = acc;
  }

  // Riccati recursion from the prior of a segment's first bin.
  let post = Float64Array.from(P0);
  posteriorCovarianceInPlace(post, M, s);
  let next = new Float64Array(s * s);
  const t = new Float64Array(s * s);
  let iterations = Number.NaN;
  for (let it = 1; it <= RICCATI_MAX_ITERATIONS; it++) {
    predictCovariance(F, post, W, s, next, t);
    try {
      posteriorCovarianceInPlace(next, M, s);
    } catch (e) {
      // The covariance overflowed: the recursion diverges (`post` keeps the last finite value).
      if (e instanceof NotPositiveDefiniteError) break;
      throw e;
    }
    let diff = 0;
    let scale = 0;
    for (let i = 0; i < s * s; i++) {
      diff = Math.max(diff, Math.abs(next[i] - post[i]));
      scale = Math.max(scale, Math.abs(next[i]));
    }
    if (!Number.isFinite(scale) || !Number.isFinite(diff)) break;
    [post, next] = [next, post];
    if (diff <= RICCATI_TOLERANCE * scale) {
      iterations = it;
      break;
    }
  }
  if (Number.isNaN(iterations) && requireConvergence) {
    throw new InvalidOptionError(
      'steadyState',
      'the Riccati recursion does not converge (the fitted dynamics are unstable in a direction the channels do not observe); fit with steadyState: false',
    );
  }
  const Pss = post;
  // K = Pss G, K Hs = Pss M, K d = Pss G d.
  const K = new Float32Array(s * C);
  const KH = new Float32Array(s * s);
  const Kd = new Float32Array(s);
  for (let i = 0; i < s; i++) {
    for (let c = 0; c < C; c++) {
      let acc = 0;
      for (let j = 0; j < s; j++) acc += Pss[i * s + j] * G[j * C + c];
      K[i * C + c] = acc;
    }
    for (let j = 0; j < s; j++) {
      let acc = 0;
      for (let k = 0; k < s; k++) acc += Pss[i * s + k] * M[k * s + j];
      KH[i * s + j] = acc;
    }
    let acc = 0;
    for (let j = 0; j < s; j++) acc += Pss[i * s + j] * gd[j];
    Kd[i] = acc;
  }
  // (I - K Hs) F and (I - K Hs) b - K d.
  const Abar = new Float32Array(s * s);
  const cbar = new Float32Array(s);
  for (let i = 0; i < s; i++) {
    for (let j = 0; j < s; j++) {
      let acc = F[i * s + j];
      for (let k = 0; k < s; k++) acc -= KH[i * s + k] * F[k * s + j];
      Abar[i * s + j] = acc;
    }
    let acc = b[i] - Kd[i];
    for (let k = 0; k < s; k++) acc -= KH[i * s + k] * b[k];
    cbar[i] = acc;
  }
  return { F, b, W, G, gd, M, m0, P0, K, KH, Kd, Abar, cbar, Pss, iterations };
}

const EMPTY = new Float32Array(0);
const EMPTY64 = new Float64Array(0);
const EMPTY_MODEL: KalmanModel = { A: EMPTY, W: EMPTY, H: EMPTY, Q: EMPTY, x0: EMPTY, P0: EMPTY };

/** Residual covariance rows are accumulated this many at a time (rank-64 updates of Q). */
const Q_BLOCK_ROWS = 64;

export class KalmanDecoder extends DecoderBase implements Decoder<KalmanState> {
  readonly kind = KALMAN_KIND;
  readonly config: KalmanConfig;

  private _stateNames: readonly string[] = [];
  /** Index in the kinematic state of each output. */
  private _outputIndex: readonly number[] = [];
  private _model: KalmanModel = EMPTY_MODEL;
  private _rt: Runtime | undefined;
  // Scratch for step (shared by every state: a step runs to completion before the next starts).
  private _v: Float64Array = EMPTY64;
  private _u: Float64Array = EMPTY64;
  private _t: Float64Array = EMPTY64;
  private _pn: Float64Array = EMPTY64;

  constructor(config: Partial<KalmanConfig> = {}) {
    super();
    this.config = resolveKalmanConfig(config);
  }

  /** Names of the kinematic state components (the kinematic columns they were fitted on). */
  get stateNames(): readonly string[] {
    return this._stateNames;
  }
  /** The fitted model (views of the decoder's own float32 arrays); empty before fitting. */
  get model(): KalmanModel {
    return this._model;
  }
  /** Steady-state Kalman gain K (s x C row-major, float32); empty before fitting. */
  get steadyStateGain(): Float32Array {
    return this._rt?.K ?? EMPTY;
  }
  /** Steady-state posterior covariance (s x s row-major); empty before fitting. */
  get steadyStateCovariance(): Float64Array {
    return this._rt?.Pss ?? EMPTY64;
  }
  /** Iterations the Riccati recursion took to converge (NaN when it did not). */
  get riccatiIterations(): number {
    return this._rt?.iterations ?? Number.NaN;
  }

  async fit(session: RecordedSession, options: FitOptions = {}): Promise<FitReport> {
    const t0 = performance.now();
    const progress = options.onProgress;
    const { lagBins: L, qRidge, wRidge } = this.config;
    const meta = session.metadata;
    const C = meta.channels;
    const Kc = meta.kinematicNames.length;
    if (!Number.isInteger(C) || C < 1) throw new InvalidOptionError('session', `has ${C} channels`);
    if (session.counts.length !== session.bins * C) {
      throw new InvalidOptionError(
        'session',
        `counts has ${session.counts.length} values, expected ${session.bins * C}`,
      );
    }
    if (session.kinematics.length !== session.bins * Kc) {
      throw new InvalidOptionError(
        'session',
        `kinematics has ${session.kinematics.length} values, expected ${session.bins * Kc}`,
      );
    }
    const trainBins = options.trainBins ?? session.bins;
    if (!Number.isInteger(trainBins) || trainBins < 1 || trainBins > session.bins) {
      throw new InvalidOptionError(
        'trainBins',
        `must be an integer in [1, ${session.bins}], got ${trainBins}`,
      );
    }

    // The state: explicit columns as given, else position + velocity (or velocity) columns.
    const targetKind = options.target ?? this.config.target;
    if (targetKind !== 'velocity' && targetKind !== 'position') {
      throw new InvalidOptionError('target', `must be 'velocity' or 'position', got ${String(targetKind)}`);
    }
    let stateColumns: readonly number[];
    let stateNames: readonly string[];
    let outputIndex: number[];
    if (options.targetColumns !== undefined) {
      const tc = explicitTargetColumns(meta.kinematicNames, options.targetColumns);
      stateColumns = tc.columns;
      stateNames = tc.names;
      outputIndex = tc.columns.map((_, i) => i);
    } else {
      if (this.config.state === 'velocity' && targetKind === 'position') {
        throw new InvalidOptionError('target', "'position' needs state 'position-velocity'");
      }
      const vel = resolveTargetColumns(meta.kinematicNames, 'velocity');
      if (this.config.state === 'velocity') {
        stateColumns = vel.columns;
        stateNames = vel.names;
        outputIndex = [0, 1];
      } else {
        const pos = resolveTargetColumns(meta.kinematicNames, 'position');
        stateColumns = [...pos.columns, ...vel.columns];
        stateNames = [...pos.names, ...vel.names];
        outputIndex = targetKind === 'position' ? [0, 1] : [2, 3];
      }
    }
    const s = stateColumns.length;
    const n = s + 1;

    // Normalised counts and the kinematic state of every training bin.
    const stats = computeNormaliserStats(session, trainBins, this.config.minStd);
    const z = normaliseRows(session.counts, stats, 0, trainBins);
    const xs = new Float64Array(trainBins * s);
    for (let t = 0; t < trainBins; t++) {
      for (let i = 0; i < s; i++) {
        const idx = t * Kc + stateColumns[i];
        const v = session.kinematics[idx];
        if (!Number.isFinite(v)) throw new NonFiniteValueError('session kinematics', idx, v);
        xs[t * s + i] = v;
      }
    }
    progress?.(0.05, 'normalised');

    const segs = session.segmentStarts;
    // Transition pairs (t-1, t) and observation pairs (t - L, t), inside one segment each.
    const transRuns = validHistoryRuns(segs, 2, 0, trainBins);
    const obsRuns = validHistoryRuns(segs, L + 1, 0, trainBins);
    const nTrans = countRunBins(transRuns);
    const nObs = countRunBins(obsRuns);
    if (nTrans <= n || nObs <= n) {
      throw new InvalidOptionError(
        nTrans <= n ? 'trainBins' : 'lagBins',
        `the Kalman filter needs more than ${n} transition and observation pairs inside segments; the training bins give ${nTrans} and ${nObs}`,
      );
    }

    // A: regress x_t on [x_{t-1}, 1].
    const row = new Float64Array(n);
    row[s] = 1;
    const xtx = new Float64Array(n * n);
    const xty = new Float64Array(n * s);
    for (const { lo, hi } of transRuns) {
      for (let t = lo; t < hi; t++) {
        for (let i = 0; i < s; i++) row[i] = xs[(t - 1) * s + i];
        accumulateXtX(xtx, row, n);
        accumulateXtY(xty, row, xs, n, s, 0, t * s);
      }
    }
    const coefA = solveSpd(
      xtx,
      n,
      xty,
      s,
      "Kalman transition regressors sum [x(t-1), 1][x(t-1), 1]' (constant or collinear kinematics?)",
    );
    const A = new Float64Array(n * n);
    for (let o = 0; o < s; o++) for (let i = 0; i < n; i++) A[o * n + i] = coefA[i * s + o];
    A[s * n + s] = 1;
    // W: covariance of the transition residuals.
    const W = new Float64Array(n * n);
    const e = new Float64Array(s);
    for (const { lo, hi } of transRuns) {
      for (let t = lo; t < hi; t++) {
        for (let o = 0; o < s; o++) {
          let acc = xs[t * s + o] - A[o * n + s];
          for (let i = 0; i < s; i++) acc -= A[o * n + i] * xs[(t - 1) * s + i];
          e[o] = acc;
        }
        for (let i = 0; i < s; i++) for (let j = i; j < s; j++) W[i * n + j] += e[i] * e[j];
      }
    }
    // Scale of the state: mean variance of its components over the training bins.
    const stateMean = new Float64Array(s);
    const stateCov = new Float64Array(s * s);
    meanAndCovariance(xs, s, [{ lo: 0, hi: trainBins }], stateMean, stateCov);
    let stateVar = 0;
    for (let i = 0; i < s; i++) stateVar += stateCov[i * s + i] / s;
    for (let i = 0; i < s; i++) {
      for (let j = i; j < s; j++) W[i * n + j] /= nTrans;
      W[i * n + i] += wRidge * stateVar;
    }
    symmetrizeUpperBlock(W, n, s);
    progress?.(0.25, 'transition model');

    // H: regress z_{t-L} on [x_t, 1].
    xtx.fill(0);
    const xtz = new Float64Array(n * C);
    for (const { lo, hi } of obsRuns) {
      for (let t = lo; t < hi; t++) {
        for (let i = 0; i < s; i++) row[i] = xs[t * s + i];
        accumulateXtX(xtx, row, n);
        accumulateXtY(xtz, row, z, n, C, 0, (t - L) * C);
      }
    }
    const coefH = solveSpd(
      xtx,
      n,
      xtz,
      C,
      "Kalman observation regressors sum [x(t), 1][x(t), 1]' (constant or collinear kinematics?)",
    );
    const H = new Float64Array(C * n);
    for (let c = 0; c < C; c++) for (let i = 0; i < n; i++) H[c * n + i] = coefH[i * C + c];
    progress?.(0.35, 'observation model');
    // Q: covariance of the observation residuals, accumulated Q_BLOCK_ROWS rows at a time.
    const Q = new Float64Array(C * C);
    const block = new Float64Array(Q_BLOCK_ROWS * C);
    let rows = 0;
    let done = 0;
    for (const { lo, hi } of obsRuns) {
      for (let t = lo; t < hi; t++) {
        const zo = (t - L) * C;
        const xo = t * s;
        const ro = rows * C;
        for (let c = 0; c < C; c++) {
          let acc = z[zo + c] - H[c * n + s];
          for (let i = 0; i < s; i++) acc -= H[c * n + i] * xs[xo + i];
          block[ro + c] = acc;
        }
        if (++rows === Q_BLOCK_ROWS) {
          accumulateXtXBlock(Q, block, rows, C);
          rows = 0;
          done += Q_BLOCK_ROWS;
          if (done % (Q_BLOCK_ROWS * 64) === 0) progress?.(0.35 + (0.55 * done) / nObs, 'observation noise');
        }
      }
    }
    accumulateXtXBlock(Q, block, rows, C);
    for (let i = 0; i < C; i++) {
      for (let j = i; j < C; j++) Q[i * C + j] /= nObs;
      Q[i * C + i] += qRidge;
    }
    symmetrizeUpper(Q, C);
    progress?.(0.9, 'observation noise');

    // Prior of the first bin of a segment: the training segment starts, or every training bin.
    const starts = [...new Set([0, ...segs])].filter((b) => b >= 0 && b < trainBins);
    const x0 = new Float64Array(n);
    const P0 = new Float64Array(n * n);
    const m = new Float64Array(s);
    const cov = new Float64Array(s * s);
    let initial: string;
    if (starts.length >= KALMAN_MIN_START_SAMPLES) {
      meanAndCovariance(
        xs,
        s,
        starts.map((b) => ({ lo: b, hi: b + 1 })),
        m,
        cov,
      );
      initial = 'segment-starts';
    } else {
      m.set(stateMean);
      cov.set(stateCov);
      initial = 'stationary';
    }
    for (let i = 0; i < s; i++) {
      x0[i] = m[i];
      for (let j = 0; j < s; j++) P0[i * n + j] = cov[i * s + j] + W[i * n + j];
    }
    x0[s] = 1;

    const model: KalmanModel = {
      A: Float32Array.from(A),
      W: Float32Array.from(W),
      H: Float32Array.from(H),
      Q: Float32Array.from(Q),
      x0: Float32Array.from(x0),
      P0: Float32Array.from(P0),
    };
    const rt = prepareRuntime(model, n, C, this.config.steadyState);

    this._stateNames = Object.freeze([...stateNames]);
    this._outputIndex = Object.freeze(outputIndex);
    this._model = model;
    this._setRuntime(rt, s);
    this.setFitted(
      meta,
      stats,
      outputIndex.map((i) => stateNames[i]),
      fittedTarget(options, targetKind, stateNames),
    );
    progress?.(1, 'done');

    return {
      seconds: (performance.now() - t0) / 1000,
      bins: nObs,
      chosen: {
        state: options.targetColumns !== undefined ? 'columns' : this.config.state,
        lagBins: L,
        initialState: initial,
        transitionPairs: nTrans,
        riccatiIterations: rt.iterations,
      },
    };
  }

  private _setRuntime(rt: Runtime, s: number): void {
    this._rt = rt;
    this._v = new Float64Array(s);
    this._u = new Float64Array(s);
    this._t = new Float64Array(s * s);
    this._pn = new Float64Array(s * s);
  }

  initialState(): KalmanState {
    const s = this._stateNames.length;
    const state: KalmanState = {
      steps: 0,
      x: new Float64Array(s),
      P: new Float64Array(s * s),
      delay: new Float32Array(this.config.lagBins * this.inputs),
      head: 0,
    };
    this.reset(state);
    return state;
  }

  reset(state: KalmanState): void {
    const rt = this._rt;
    if (rt !== undefined && state.x.length === rt.m0.length && state.P.length === rt.P0.length) {
      state.x.set(rt.m0);
      if (this.config.steadyState) state.P.set(rt.Pss);
      else state.P.set(rt.P0);
    } else {
      state.x.fill(0);
      state.P.fill(0);
    }
    state.delay.fill(0);
    state.head = 0;
    state.steps = 0;
  }

  /**
   * One bin: `features` are the counts z-scored with `normaliser`. Predicts (except on the first
   * step after a reset, whose prior is the state itself), then updates with the features of
   * `lagBins` bins ago when there are any, and writes the output components of the state into `out`.
   */
  step(features: Float32Array, state: KalmanState, out: Float32Array): Float32Array {
    const rt = this._rt;
    if (!this.fitted || rt === undefined) throw new NotFittedError(this.kind, 'step');
    const C = this.inputs;
    const s = this._stateNames.length;
    const L = this.config.lagBins;
    if (features.length !== C) throw new ChannelCountError(C, features.length, 'features');
    if (out.length < this.outputs) throw new ChannelCountError(this.outputs, out.length, 'out');
    const { x, P, delay } = state;
    if (x.length !== s) throw new ChannelCountError(s, x.length, 'state.x');
    if (P.length !== s * s) throw new ChannelCountError(s * s, P.length, 'state.P');
    if (delay.length !== L * C) throw new ChannelCountError(L * C, delay.length, 'state.delay');
    // Cheap finiteness check: one sum; a NaN or infinity anywhere makes it non-finite.
    let sum = 0;
    for (let c = 0; c < C; c++) sum += features[c];
    if (!Number.isFinite(sum)) {
      for (let c = 0; c < C; c++) {
        if (!Number.isFinite(features[c])) throw new NonFiniteValueError('features', c, features[c]);
      }
    }

    // The observation of this step: the current bin, or the one `L` bins ago (none yet if fewer seen).
    const observe = state.steps >= L;
    let zArr: Float32Array = features;
    let zOff = 0;
    if (L > 0) {
      zArr = delay;
      zOff = state.head * C;
    }
    const first = state.steps === 0;
    const v = this._v;
    if (this.config.steadyState) {
      const { K } = rt;
      if (observe && !first) {
        // x = (I - K Hs)(F x + b) + K (z - d) = Abar x + cbar + K z
        const { Abar, cbar } = rt;
        for (let i = 0; i < s; i++) {
          let acc = cbar[i] + dot(K, i * C, zArr, zOff, C);
          for (let j = 0; j < s; j++) acc += Abar[i * s + j] * x[j];
          v[i] = acc;
        }
      } else if (observe) {
        // First bin, no lag: update the prior in the state: x = x - K Hs x - K d + K z.
        const { KH, Kd } = rt;
        for (let i = 0; i < s; i++) {
          let acc = x[i] - Kd[i] + dot(K, i * C, zArr, zOff, C);
          for (let j = 0; j < s; j++) acc -= KH[i * s + j] * x[j];
          v[i] = acc;
        }
      } else if (!first) {
        // Waiting for the first delayed observation: predict only.
        const { F, b } = rt;
        for (let i = 0; i < s; i++) {
          let acc = b[i];
          for (let j = 0; j < s; j++) acc += F[i * s + j] * x[j];
          v[i] = acc;
        }
      } else {
        v.set(x);
      }
      x.set(v);
    } else {
      const { F, b, W, G, gd, M } = rt;
      const pn = this._pn;
      // Predict (the first bin after a reset keeps the prior in the state).
      if (!first) {
        for (let i = 0; i < s; i++) {
          let acc = b[i];
          for (let j = 0; j < s; j++) acc += F[i * s + j] * x[j];
          v[i] = acc;
        }
        predictCovariance(F, P, W, s, pn, this._t);
      } else {
        v.set(x);
        pn.set(P);
      }
      if (observe) {
        // P = (P^-1 + M)^-1; x = x + P (G z - G d - M x).
        posteriorCovarianceInPlace(pn, M, s);
        const u = this._u;
        for (let i = 0; i < s; i++) {
          let acc = dot(G, i * C, zArr, zOff, C) - gd[i];
          for (let j = 0; j < s; j++) acc -= M[i * s + j] * v[j];
          u[i] = acc;
        }
        for (let i = 0; i < s; i++) {
          let acc = v[i];
          for (let j = 0; j < s; j++) acc += pn[i * s + j] * u[j];
          x[i] = acc;
        }
      } else {
        x.set(v);
      }
      P.set(pn);
    }
    if (L > 0) {
      delay.set(features, state.head * C);
      state.head = state.head + 1 === L ? 0 : state.head + 1;
    }
    state.steps++;
    const idx = this._outputIndex;
    for (let o = 0; o < idx.length; o++) out[o] = x[idx[o]];
    return out;
  }

  /**
   * Cost of one step in the common case (after warm-up), s = kinematic state size, C = inputs:
   * steady state: K z and (I - K Hs) F x, s C + s^2 MACs; full filter: G z, F x, M x and P u
   * (s C + 3 s^2) plus F P F' (2 s^3) and two s x s inversions (2 s^3). `params` counts the
   * numbers the step (and `reset`) read, in the derived runtime form; the saved model (A, W, H,
   * Q, x0, P0, with Q C x C) is larger: `config.modelParams`.
   */
  describe(): DecoderDescription {
    const C = this.inputs;
    const s = this._stateNames.length;
    const L = this.config.lagBins;
    const n = s + 1;
    let params: number;
    let macsPerStep: number;
    let stateSize: number;
    if (this.config.steadyState) {
      // K, Abar, cbar; K Hs and K d for the first bin; m0 for reset; F and b for the lag warm-up.
      params = s * C + 2 * s * s + 3 * s + (L > 0 ? s * s + s : 0);
      macsPerStep = s * C + s * s;
      stateSize = s + L * C;
    } else {
      // G, gd, M, F, b, W, m0, P0.
      params = s * C + 4 * s * s + 3 * s;
      macsPerStep = s * C + 3 * s * s + 4 * s * s * s;
      stateSize = s + s * s + L * C;
    }
    return {
      kind: this.kind,
      inputs: C,
      outputs: this.outputs,
      outputNames: this.outputNames,
      params,
      footprintBytes: params * 4,
      macsPerStep,
      stateSize,
      config: {
        ...this.config,
        stateNames: this._stateNames,
        stateSize: s,
        modelParams: s === 0 ? 0 : 3 * n * n + C * n + C * C + n,
        riccatiIterations: this.riccatiIterations,
      },
    };
  }

  async save(dir: string): Promise<void> {
    if (!this.fitted) throw new NotFittedError(this.kind, 'save');
    const C = this.inputs;
    const n = this._stateNames.length + 1;
    const md = this._model;
    await saveModelDir(dir, {
      kind: this.kind,
      config: { ...this.config, stateNames: this._stateNames },
      topology: {
        class: 'KalmanFilter',
        inputs: C,
        state: n,
        outputs: this.outputs,
        lagBins: this.config.lagBins,
        steadyState: this.config.steadyState,
      },
      metadata: this.savedMetadata(),
      weights: {
        'kalman/A': { shape: [n, n], data: md.A },
        'kalman/W': { shape: [n, n], data: md.W },
        'kalman/H': { shape: [C, n], data: md.H },
        'kalman/Q': { shape: [C, C], data: md.Q },
        'kalman/x0': { shape: [n], data: md.x0 },
        'kalman/P0': { shape: [n, n], data: md.P0 },
      },
    });
  }

  static async load(dir: string): Promise<KalmanDecoder> {
    return KalmanDecoder.fromModel(await loadModelDir(dir), dir);
  }

  /** Builds a decoder from a model already read by `loadModelDir` (validates kind, config, shapes, structure). */
  static fromModel(model: LoadedModel, dir: string): KalmanDecoder {
    const where = join(dir, MODEL_JSON);
    if (model.kind !== KALMAN_KIND)
      throw new ModelFormatError(where, `kind is "${model.kind}", expected "${KALMAN_KIND}"`);
    const { stateNames, ...rest } = model.config as Record<string, unknown>;
    let dec: KalmanDecoder;
    try {
      dec = new KalmanDecoder(rest as Partial<KalmanConfig>);
    } catch (e) {
      throw new ModelFormatError(where, `invalid config: ${(e as Error).message}`, { cause: e });
    }
    if (
      !Array.isArray(stateNames) ||
      stateNames.length === 0 ||
      !stateNames.every((x) => typeof x === 'string')
    ) {
      throw new ModelFormatError(where, 'config.stateNames is missing or not a non-empty array of strings');
    }
    const md = model.metadata;
    const C = md.channelLabels.length;
    if (C < 1) throw new ModelFormatError(where, 'channelLabels is empty');
    if (md.outputNames.length < 1) throw new ModelFormatError(where, 'outputNames is empty');
    const outputIndex = md.outputNames.map((name) => {
      const i = stateNames.indexOf(name);
      if (i < 0) throw new ModelFormatError(where, `output ${name} is not a state component`);
      return i;
    });
    const s = stateNames.length;
    const n = s + 1;
    const m: KalmanModel = {
      A: requireWeight(dir, model, 'kalman/A', [n, n]),
      W: requireWeight(dir, model, 'kalman/W', [n, n]),
      H: requireWeight(dir, model, 'kalman/H', [C, n]),
      Q: requireWeight(dir, model, 'kalman/Q', [C, C]),
      x0: requireWeight(dir, model, 'kalman/x0', [n]),
      P0: requireWeight(dir, model, 'kalman/P0', [n, n]),
    };
    // The constant component: A's last row is [0 ... 0 1], x0 ends in 1, W and P0 ignore it.
    for (let j = 0; j < n; j++) {
      if (m.A[s * n + j] !== (j === s ? 1 : 0))
        throw new ModelFormatError(where, 'kalman/A: the last row must be [0, ..., 0, 1]');
      for (const [name, w] of [
        ['W', m.W],
        ['P0', m.P0],
      ] as const) {
        if (w[s * n + j] !== 0 || w[j * n + s] !== 0)
          throw new ModelFormatError(where, `kalman/${name}: the last row and column must be zero`);
      }
    }
    if (m.x0[s] !== 1) throw new ModelFormatError(where, 'kalman/x0: the last entry must be 1');
    for (const [name, w, k] of [
      ['W', m.W, n],
      ['P0', m.P0, n],
      ['Q', m.Q, C],
    ] as const) {
      if (!isSymmetric(w, k)) throw new ModelFormatError(where, `kalman/${name} is not symmetric`);
    }
    let rt: Runtime;
    try {
      rt = prepareRuntime(m, n, C, dec.config.steadyState);
    } catch (e) {
      throw new ModelFormatError(where, `invalid model: ${(e as Error).message}`, { cause: e });
    }
    dec._stateNames = Object.freeze([...(stateNames as string[])]);
    dec._outputIndex = Object.freeze(outputIndex);
    dec._model = m;
    dec._setRuntime(rt, s);
    dec.setLoaded(md);
    return dec;
  }
}

/** Whether the k x k matrix is symmetric up to float32 rounding of its largest entry. */
function isSymmetric(a: Float32Array, k: number): boolean {
  let scale = 0;
  for (let i = 0; i < a.length; i++) scale = Math.max(scale, Math.abs(a[i]));
  const tol = 1e-6 * scale;
  for (let i = 0; i < k; i++) {
    for (let j = i + 1; j < k; j++) if (Math.abs(a[i * k + j] - a[j * k + i]) > tol) return false;
  }
  return true;
}

/** Copies the upper triangle of the leading s x s block of the n x n matrix onto its lower triangle. */
function symmetrizeUpperBlock(a: Float64Array, n: number, s: number): void {
  for (let i = 1; i < s; i++) for (let j = 0; j < i; j++) a[i * n + j] = a[j * n + i];
}

/** Mean and (population) covariance of the rows of `xs` (rows of length s) in `runs`. */
function meanAndCovariance(
  xs: Float64Array,
  s: number,
  runs: readonly HistoryRun[],
  mean: Float64Array,
  cov: Float64Array,
): void {
  mean.fill(0);
  cov.fill(0);
  const N = countRunBins(runs);
  for (const { lo, hi } of runs)
    for (let t = lo; t < hi; t++) for (let i = 0; i < s; i++) mean[i] += xs[t * s + i];
  for (let i = 0; i < s; i++) mean[i] /= N;
  for (const { lo, hi } of runs) {
    for (let t = lo; t < hi; t++) {
      for (let i = 0; i < s; i++) {
        const di = xs[t * s + i] - mean[i];
        for (let j = i; j < s; j++) cov[i * s + j] += di * (xs[t * s + j] - mean[j]);
      }
    }
  }
  for (let i = 0; i < s; i++) for (let j = i; j < s; j++) cov[i * s + j] /= N;
  symmetrizeUpper(cov, s);
}
