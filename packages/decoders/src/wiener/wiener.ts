/**
 * Wiener filter: ridge regression of the kinematics on the last `history` bins of every
 * (z-scored) channel, plus a bias.
 *
 *     y(t) = b + sum over lags j of W_j x(t - j)
 *
 * Fitting minimises ||X W - Y||^2 + lambda ||W||^2 (the bias is not penalised) in closed form:
 * the normal equations X'X and X'Y are accumulated once per split (never forming X), and
 * (X'X + lambda I') W = X'Y is solved by Cholesky. lambda is picked from a grid on a validation
 * split (the last `validationFraction` of the training bins), then the model is refitted on all
 * training bins with it. History windows never straddle a segment start (see `history.ts`).
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
import {
  accumulateHistoryNormalEquations,
  countRunBins,
  createHistoryDesign,
  type HistoryRun,
  validHistoryRuns,
} from '../history.js';
import { choleskyInPlace, choleskySolveInPlace, dot, quadFormUpper } from '../kernels/linalg.js';
import { DecoderBase, fittedTarget } from '../metadata.js';
import { type LoadedModel, loadModelDir, MODEL_JSON, requireWeight, saveModelDir } from '../model-io.js';
import { computeNormaliserStats, DEFAULT_MIN_STD, normaliseRows } from '../normaliser-stats.js';
import { explicitTargetColumns, resolveTargetColumns } from '../targets.js';

export const WIENER_KIND = 'wiener';

/**
 * Default ridge penalties: 10^0 .. 10^6 in half decades. The inputs are z-scored, so the
 * diagonal of X'X is about the number of training bins (1e4..1e5 for minutes of 20-50 ms bins):
 * the grid runs from almost no shrinkage to shrinking every weight towards zero.
 */
export const DEFAULT_WIENER_LAMBDAS: readonly number[] = Object.freeze(
  Array.from({ length: 13 }, (_, i) => Number((10 ** (i / 2)).toPrecision(6))),
);

export interface WienerConfig {
  /** Bins of history per channel, the current bin included. Default 10. */
  readonly history: number;
  /** Ridge penalties to choose from on the validation split. A single value skips validation. */
  readonly lambdas: readonly number[];
  /** Fraction of the training bins (the last ones) used to choose lambda. Default 0.2. */
  readonly validationFraction: number;
  /** What to decode when `FitOptions` does not say. Default 'velocity'. */
  readonly target: DecodeTarget;
  /** Floor on the per-channel std of the normaliser (counts per bin). Default `DEFAULT_MIN_STD`. */
  readonly minStd: number;
}

export interface WienerState extends DecoderState {
  /** The last `history` feature vectors, `history` x `inputs`, in ring order. Zeros when empty. */
  readonly ring: Float32Array;
  /** Slot the next bin is written to; once the ring is full, also the slot of the oldest bin. */
  head: number;
  /** Bins in the ring (up to `history`); the missing past is zeros. */
  filled: number;
}

/** Validation score of one ridge penalty: mean over outputs of R^2 on the validation split. */
export interface LambdaScore {
  readonly lambda: number;
  /** NaN when the system was not positive definite for this lambda. */
  readonly r2: number;
}

export function resolveWienerConfig(config: Partial<WienerConfig> = {}): WienerConfig {
  const history = config.history ?? 10;
  if (!Number.isInteger(history) || history < 1) {
    throw new InvalidOptionError('history', `must be an integer >= 1, got ${history}`);
  }
  const lambdas = [...(config.lambdas ?? DEFAULT_WIENER_LAMBDAS)];
  if (lambdas.length === 0) throw new InvalidOptionError('lambdas', 'must not be empty');
  for (const l of lambdas) {
    if (typeof l !== 'number' || !Number.isFinite(l) || l < 0) {
      throw new InvalidOptionError('lambdas', `each must be a finite number >= 0, got ${l}`);
    }
  }
  lambdas.sort((a, b) => a - b);
  const validationFraction = config.validationFraction ?? 0.2;
  if (!(validationFraction >= 0 && validationFraction < 1)) {
    throw new InvalidOptionError('validationFraction', `must be in [0, 1), got ${validationFraction}`);
  }
  if (lambdas.length > 1 && validationFraction === 0) {
    throw new InvalidOptionError('validationFraction', 'must be > 0 to choose between several lambdas');
  }
  const target = config.target ?? 'velocity';
  if (target !== 'velocity' && target !== 'position') {
    throw new InvalidOptionError('target', `must be 'velocity' or 'position', got ${String(target)}`);
  }
  const minStd = config.minStd ?? DEFAULT_MIN_STD;
  if (!(minStd > 0) || !Number.isFinite(minStd)) {
    throw new InvalidOptionError('minStd', `must be a finite number > 0, got ${minStd}`);
  }
  return Object.freeze({ history, lambdas: Object.freeze(lambdas), validationFraction, target, minStd });
}

const EMPTY = new Float32Array(0);

/** Adds lambda to the diagonal of the n x n matrix except the last entry (the bias). */
function addRidge(a: Float64Array, n: number, lambda: number): void {
  for (let i = 0; i < n - 1; i++) a[i * n + i] += lambda;
}

function intersectRuns(runs: readonly HistoryRun[], from: number, to: number): HistoryRun[] {
  const out: HistoryRun[] = [];
  for (const r of runs) {
    const lo = Math.max(r.lo, from);
    const hi = Math.min(r.hi, to);
    if (lo < hi) out.push({ lo, hi });
  }
  return out;
}

export class WienerDecoder extends DecoderBase implements Decoder<WienerState> {
  readonly kind = WIENER_KIND;
  readonly config: WienerConfig;

  private _kernel: Float32Array = EMPTY;
  private _bias: Float32Array = EMPTY;
  private _lambda = Number.NaN;
  private _scores: readonly LambdaScore[] = [];

  constructor(config: Partial<WienerConfig> = {}) {
    super();
    this.config = resolveWienerConfig(config);
  }
  /** The ridge penalty of the fitted weights (NaN before fitting). */
  get lambda(): number {
    return this._lambda;
  }
  /** Validation R^2 of every lambda tried in the last fit (empty if there was no validation). */
  get lambdaScores(): readonly LambdaScore[] {
    return this._scores;
  }
  /**
   * The weights: `kernel` is outputs x history x inputs (window position 0 = oldest bin), row
   * major, and `bias` has one entry per output. Views of the decoder's own arrays.
   */
  get weights(): { readonly kernel: Float32Array; readonly bias: Float32Array } {
    return { kernel: this._kernel, bias: this._bias };
  }

  async fit(session: RecordedSession, options: FitOptions = {}): Promise<FitReport> {
    const t0 = performance.now();
    const progress = options.onProgress;
    const { history: k, lambdas, validationFraction } = this.config;
    const meta = session.metadata;
    const C = meta.channels;
    const K = meta.kinematicNames.length;
    if (!Number.isInteger(C) || C < 1) throw new InvalidOptionError('session', `has ${C} channels`);
    if (session.counts.length !== session.bins * C) {
      throw new InvalidOptionError(
        'session',
        `counts has ${session.counts.length} values, expected ${session.bins * C}`,
      );
    }
    if (session.kinematics.length !== session.bins * K) {
      throw new InvalidOptionError(
        'session',
        `kinematics has ${session.kinematics.length} values, expected ${session.bins * K}`,
      );
    }
    const trainBins = options.trainBins ?? session.bins;
    if (!Number.isInteger(trainBins) || trainBins < 1 || trainBins > session.bins) {
      throw new InvalidOptionError(
        'trainBins',
        `must be an integer in [1, ${session.bins}], got ${trainBins}`,
      );
    }
    const targetKind = options.target ?? this.config.target;
    const tc =
      options.targetColumns !== undefined
        ? explicitTargetColumns(meta.kinematicNames, options.targetColumns)
        : resolveTargetColumns(meta.kinematicNames, targetKind);
    const m = tc.columns.length;
    const width = k * C;
    const n = width + 1;

    // Normalise the training bins exactly as the streaming path will, and gather the targets.
    const stats = computeNormaliserStats(session, trainBins, this.config.minStd);
    const design = createHistoryDesign(normaliseRows(session.counts, stats, 0, trainBins), trainBins, C, k);
    const y = new Float64Array(trainBins * m);
    for (let t = 0; t < trainBins; t++) {
      for (let o = 0; o < m; o++) {
        const idx = t * K + tc.columns[o];
        const v = session.kinematics[idx];
        if (!Number.isFinite(v)) throw new NonFiniteValueError('session kinematics', idx, v);
        y[t * m + o] = v;
      }
    }
    progress?.(0.05, 'normalised');

    const segs = session.segmentStarts;
    const allRuns = validHistoryRuns(segs, k, 0, trainBins);
    const allRows = countRunBins(allRuns);
    if (allRows === 0) {
      throw new InvalidOptionError('history', `no training bin has ${k} bins of history inside its segment`);
    }
    const accProgress = (base: number, span: number) => (rows: number) =>
      progress?.(base + (span * rows) / allRows, "accumulating X'X");

    const xtx = new Float64Array(n * n);
    const xty = new Float64Array(n * m);
    let lambda = lambdas[0];
    let scores: LambdaScore[] = [];

    if (lambdas.length > 1) {
      // Split: [0, split) fits, [split, trainBins) validates; windows do not straddle the split.
      const split = trainBins - Math.round(validationFraction * trainBins);
      const trainRuns = validHistoryRuns(segs, k, 0, split);
      const valRuns = split < trainBins ? validHistoryRuns(segs, k, split, trainBins) : [];
      const nTrain = countRunBins(trainRuns);
      const nVal = countRunBins(valRuns);
      if (nTrain === 0 || nVal === 0) {
        throw new InvalidOptionError(
          'validationFraction',
          `split at bin ${split} of ${trainBins} leaves ${nTrain} fitting and ${nVal} validation bins with full history`,
        );
      }
      const vtx = new Float64Array(n * n);
      const vty = new Float64Array(n * m);
      accumulateHistoryNormalEquations(design, y, m, trainRuns, xtx, xty, accProgress(0.05, 0.55));
      accumulateHistoryNormalEquations(
        design,
        y,
        m,
        valRuns,
        vtx,
        vty,
        accProgress(0.05 + (0.55 * nTrain) / allRows, 0.55),
      );
      // Validation targets: sum and sum of squares per output, for SSE and SST.
      const ySum = new Float64Array(m);
      const yy = new Float64Array(m);
      for (const { lo, hi } of valRuns) {
        for (let t = lo; t < hi; t++) {
          for (let o = 0; o < m; o++) {
            const v = y[t * m + o];
            ySum[o] += v;
            yy[o] += v * v;
          }
        }
      }
      const a = new Float64Array(n * n);
      const w = new Float64Array(n * m);
      let best = Number.POSITIVE_INFINITY;
      let lastError: unknown;
      for (const [li, lam] of lambdas.entries()) {
        a.set(xtx);
        addRidge(a, n, lam);
        w.set(xty);
        try {
          choleskyInPlace(a, n, `X'X + ${lam} I`);
        } catch (e) {
          if (!(e instanceof NotPositiveDefiniteError)) throw e;
          lastError = e;
          scores.push({ lambda: lam, r2: Number.NaN });
          continue;
        }
        choleskySolveInPlace(a, n, w, m);
        // 1 - R^2 on the validation rows from their normal equations:
        // SSE = w'Gw - 2 w'b + y'y, SST = y'y - (sum y)^2 / rows.
        let loss = 0;
        for (let o = 0; o < m; o++) {
          let wb = 0;
          for (let i = 0; i < n; i++) wb += w[i * m + o] * vty[i * m + o];
          const sse = Math.max(quadFormUpper(vtx, n, w, o, m) - 2 * wb + yy[o], 0);
          const sst = yy[o] - (ySum[o] * ySum[o]) / nVal;
          loss += sst > 0 ? sse / sst : sse;
        }
        loss /= m;
        scores.push({ lambda: lam, r2: 1 - loss });
        // Ties go to the larger (safer) penalty.
        if (loss <= best) {
          best = loss;
          lambda = lam;
        }
        progress?.(0.6 + (0.35 * (li + 1)) / lambdas.length, `lambda ${lam}`);
      }
      if (best === Number.POSITIVE_INFINITY) throw lastError;
      // Refit on every training bin: train + validation + the windows that straddle the split.
      for (let i = 0; i < xtx.length; i++) xtx[i] += vtx[i];
      for (let i = 0; i < xty.length; i++) xty[i] += vty[i];
      accumulateHistoryNormalEquations(design, y, m, intersectRuns(allRuns, split, split + k - 1), xtx, xty);
    } else {
      accumulateHistoryNormalEquations(design, y, m, allRuns, xtx, xty, accProgress(0.05, 0.9));
      scores = [];
    }

    addRidge(xtx, n, lambda);
    choleskyInPlace(xtx, n, `X'X + ${lambda} I`);
    choleskySolveInPlace(xtx, n, xty, m);
    const kernel = new Float32Array(m * width);
    const bias = new Float32Array(m);
    for (let o = 0; o < m; o++) {
      for (let p = 0; p < width; p++) kernel[o * width + p] = xty[p * m + o];
      bias[o] = xty[width * m + o];
    }

    this._kernel = kernel;
    this._bias = bias;
    this._lambda = lambda;
    this._scores = Object.freeze(scores);
    this.setFitted(meta, stats, tc.names, fittedTarget(options, targetKind, tc.names));
    progress?.(1, 'done');

    const best = scores.find((s) => s.lambda === lambda);
    return {
      seconds: (performance.now() - t0) / 1000,
      bins: allRows,
      chosen: { lambda, history: k, ...(best ? { validationR2: best.r2 } : {}) },
    };
  }

  initialState(): WienerState {
    return { steps: 0, ring: new Float32Array(this.config.history * this.inputs), head: 0, filled: 0 };
  }

  reset(state: WienerState): void {
    state.ring.fill(0);
    state.head = 0;
    state.filled = 0;
    state.steps = 0;
  }

  /**
   * One bin: pushes `features` (z-scored with `normaliser`) into the ring and writes
   * b + sum over window positions of W_p x_p into `out`. Until `history` bins have been seen
   * since the last reset, the missing past is zeros (the training mean of each channel).
   */
  step(features: Float32Array, state: WienerState, out: Float32Array): Float32Array {
    if (!this.fitted) throw new NotFittedError(this.kind, 'step');
    const C = this.inputs;
    const m = this.outputs;
    if (features.length !== C) throw new ChannelCountError(C, features.length, 'features');
    if (out.length < m) throw new ChannelCountError(m, out.length, 'out');
    const ring = state.ring;
    if (ring.length !== this.config.history * C) {
      throw new ChannelCountError(this.config.history * C, ring.length, 'state.ring');
    }
    // Cheap finiteness check: one sum; a NaN or infinity anywhere makes it non-finite.
    let s = 0;
    for (let c = 0; c < C; c++) s += features[c];
    if (!Number.isFinite(s)) {
      for (let c = 0; c < C; c++) {
        if (!Number.isFinite(features[c])) throw new NonFiniteValueError('features', c, features[c]);
      }
    }
    const k = this.config.history;
    ring.set(features, state.head * C);
    let head = state.head + 1;
    if (head === k) head = 0;
    state.head = head;
    if (state.filled < k) state.filled++;
    state.steps++;
    const kernel = this._kernel;
    const width = k * C;
    for (let o = 0; o < m; o++) {
      let acc = this._bias[o];
      const wo = o * width;
      // Window position p (0 = oldest) lives in ring slot (head + p) mod k.
      let slot = head;
      for (let p = 0; p < k; p++) {
        acc += dot(kernel, wo + p * C, ring, slot * C, C);
        if (++slot === k) slot = 0;
      }
      out[o] = acc;
    }
    return out;
  }

  describe(): DecoderDescription {
    const k = this.config.history;
    const C = this.inputs;
    const m = this.outputs;
    const params = m * (k * C + 1);
    return {
      kind: this.kind,
      inputs: C,
      outputs: m,
      outputNames: this.outputNames,
      params,
      footprintBytes: params * 4,
      macsPerStep: m * k * C,
      stateSize: k * C,
      config: { ...this.config, lambda: this._lambda },
    };
  }

  async save(dir: string): Promise<void> {
    if (!this.fitted) throw new NotFittedError(this.kind, 'save');
    const k = this.config.history;
    await saveModelDir(dir, {
      kind: this.kind,
      config: { ...this.config, lambda: this._lambda },
      topology: { class: 'WienerFilter', inputs: this.inputs, history: k, outputs: this.outputs },
      metadata: this.savedMetadata(),
      weights: {
        'wiener/kernel': { shape: [this.outputs, k, this.inputs], data: this._kernel },
        'wiener/bias': { shape: [this.outputs], data: this._bias },
      },
    });
  }

  static async load(dir: string): Promise<WienerDecoder> {
    return WienerDecoder.fromModel(await loadModelDir(dir), dir);
  }

  /** Builds a decoder from a model already read by `loadModelDir` (validates kind, config, shapes). */
  static fromModel(model: LoadedModel, dir: string): WienerDecoder {
    const where = join(dir, MODEL_JSON);
    if (model.kind !== WIENER_KIND)
      throw new ModelFormatError(where, `kind is "${model.kind}", expected "${WIENER_KIND}"`);
    const { lambda, ...rest } = model.config as Record<string, unknown>;
    let dec: WienerDecoder;
    try {
      dec = new WienerDecoder(rest as Partial<WienerConfig>);
    } catch (e) {
      throw new ModelFormatError(where, `invalid config: ${(e as Error).message}`, { cause: e });
    }
    if (typeof lambda !== 'number' || !(lambda >= 0))
      throw new ModelFormatError(where, 'config.lambda is missing or invalid');
    const md = model.metadata;
    const C = md.channelLabels.length;
    const m = md.outputNames.length;
    if (C < 1) throw new ModelFormatError(where, 'channelLabels is empty');
    if (m < 1) throw new ModelFormatError(where, 'outputNames is empty');
    dec._kernel = requireWeight(dir, model, 'wiener/kernel', [m, dec.config.history, C]);
    dec._bias = requireWeight(dir, model, 'wiener/bias', [m]);
    dec._lambda = lambda;
    dec.setLoaded(md);
    return dec;
  }
}
