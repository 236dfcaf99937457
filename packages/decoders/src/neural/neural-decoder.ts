import { join } from 'node:path';
import {
  ChannelCountError,
  InvalidOptionError,
  NonFiniteValueError,
  type RecordedSession,
  Rng,
} from '@edge-bci/core';
import type { Tensor3D } from '@tensorflow/tfjs-core';
import type { Decoder, DecoderDescription, DecoderState, FitOptions, FitReport } from '../decoder.js';
import { ModelFormatError, NotFittedError } from '../errors.js';
import { DecoderBase, fittedTarget } from '../metadata.js';
import { type LoadedModel, MODEL_JSON, requireWeight, saveModelDir } from '../model-io.js';
import { computeNormaliserStats } from '../normaliser-stats.js';
import { explicitTargetColumns, resolveTargetColumns } from '../targets.js';
import { loadTf, type TfBackendName } from '../tf/backend.js';
import { type TrainReport, trainModel } from '../training/trainer.js';
import { buildWindows, targetScaling } from '../training/windows.js';
import type { NetworkDims, NeuralFamily, StreamEngine, TrainingConfig, WeightMap } from './family.js';

export interface NeuralState extends DecoderState {
  // biome-ignore lint/suspicious/noExplicitAny: the family's own state
  readonly inner: any;
}

export interface NeuralFitOptions extends FitOptions {
  /** TensorFlow.js backend for training (default: the best available). */
  readonly backend?: TfBackendName;
}

const OUT_MEAN = 'output/mean';
const OUT_STD = 'output/std';

/**
 * A decoder backed by a network trained with TensorFlow.js and streamed by its family's own
 * allocation-free engine. Everything but the network itself is shared by every family: input
 * normalisation (z-scoring with training statistics), target scaling, training windows that respect
 * segment breaks, early stopping, model files, and `describe()`.
 */
export class NeuralDecoder<C extends TrainingConfig> extends DecoderBase implements Decoder<NeuralState> {
  readonly config: C;
  private weights: WeightMap | undefined;
  // biome-ignore lint/suspicious/noExplicitAny: the family's own state
  private engine: StreamEngine<any> | undefined;
  private dims: NetworkDims = { inputs: 0, outputs: 0 };
  private outMean: Float32Array = new Float32Array(0);
  private outStd: Float32Array = new Float32Array(0);
  private scratch = new Float32Array(0);
  private _lastTraining: (TrainReport & { backend: TfBackendName }) | undefined;

  constructor(
    readonly family: NeuralFamily<C>,
    config: Partial<C> = {},
  ) {
    super();
    for (const key of Object.keys(config)) {
      if (!(key in family.defaults)) {
        throw new InvalidOptionError(
          key,
          `not an option of the ${family.kind} decoder (${Object.keys(family.defaults).join(', ')})`,
        );
      }
    }
    this.config = { ...family.defaults, ...config };
    family.validate(this.config);
  }

  get kind(): string {
    return this.family.kind;
  }
  /** What the last `fit` measured (epochs, losses, throughput, backend). */
  get lastTraining(): (TrainReport & { backend: TfBackendName }) | undefined {
    return this._lastTraining;
  }
  /** The trained weights by name (a copy is not made: do not modify). */
  get weightMap(): WeightMap {
    if (!this.weights) throw new NotFittedError(this.kind, 'read weights');
    return this.weights;
  }

  async fit(session: RecordedSession, options: NeuralFitOptions = {}): Promise<FitReport> {
    const started = performance.now();
    const meta = session.metadata;
    const trainBins = options.trainBins ?? session.bins;
    const target = options.target ?? 'velocity';
    const tc =
      options.targetColumns !== undefined
        ? explicitTargetColumns(meta.kinematicNames, options.targetColumns)
        : resolveTargetColumns(meta.kinematicNames, target);
    const normaliser = computeNormaliserStats(session, trainBins);
    const scaling = targetScaling(session, trainBins, tc.columns);
    const data = buildWindows(session, {
      trainBins,
      windowBins: this.config.windowBins,
      stride: this.config.stride,
      targetColumns: tc.columns,
      normaliser,
      outputMean: scaling.mean,
      outputStd: scaling.std,
      validationFraction: this.config.validationFraction,
    });
    const dims = { inputs: meta.channels, outputs: tc.columns.length };
    const { tf, backend } = await loadTf(options.backend);
    const model = this.family.build(tf, dims, this.config, new Rng(options.seed ?? 1));
    let report: TrainReport;
    const weights = new Map<string, { shape: readonly number[]; data: Float32Array }>();
    try {
      report = await trainModel(tf, model, data, {
        epochs: this.config.epochs,
        batchSize: this.config.batchSize,
        learningRate: this.config.learningRate,
        patience: this.config.patience,
        burnInBins: this.config.burnInBins,
        maxSeconds: this.config.maxSeconds,
        seed: options.seed ?? 1,
        onProgress: options.onProgress,
      });
      for (const [name, v] of model.variables)
        weights.set(name, { shape: [...v.shape], data: v.dataSync().slice() as Float32Array });
    } finally {
      for (const v of model.variables.values()) v.dispose();
    }
    this.install(weights, dims, scaling.mean, scaling.std);
    this.setFitted(meta, normaliser, tc.names, fittedTarget(options, target, tc.names));
    this._lastTraining = { ...report, backend };
    return {
      seconds: (performance.now() - started) / 1000,
      bins: trainBins,
      chosen: {
        backend,
        epochs: report.epochs,
        bestEpoch: report.bestEpoch,
        validationLoss: Number(report.bestValidationLoss.toFixed(5)),
        stoppedBy: report.stoppedBy,
        samplesPerSecond: Math.round(report.samplesPerSecond),
      },
    };
  }

  /** Installs the network; the caller then records the metadata (`setFitted` or `setLoaded`). */
  private install(weights: WeightMap, dims: NetworkDims, outMean: Float32Array, outStd: Float32Array): void {
    this.engine = this.family.stream(weights, dims, this.config);
    this.weights = weights;
    this.dims = dims;
    this.outMean = outMean;
    this.outStd = outStd;
    this.scratch = new Float32Array(dims.outputs);
  }

  initialState(): NeuralState {
    if (!this.engine) throw new NotFittedError(this.kind, 'create state');
    return { steps: 0, inner: this.engine.initialState() };
  }

  reset(state: NeuralState): void {
    this.engine?.reset(state.inner);
    state.steps = 0;
  }

  step(features: Float32Array, state: NeuralState, out: Float32Array): Float32Array {
    const engine = this.engine;
    if (!engine) throw new NotFittedError(this.kind, 'step');
    if (features.length !== this.dims.inputs)
      throw new ChannelCountError(this.dims.inputs, features.length, 'features');
    if (out.length < this.dims.outputs)
      throw new ChannelCountError(this.dims.outputs, out.length, 'output buffer');
    for (let i = 0; i < features.length; i++) {
      if (!Number.isFinite(features[i]!)) throw new NonFiniteValueError('features', i, features[i]!);
    }
    engine.step(features, state.inner, this.scratch);
    for (let m = 0; m < this.dims.outputs; m++)
      out[m] = this.scratch[m]! * this.outStd[m]! + this.outMean[m]!;
    state.steps++;
    return out;
  }

  /**
   * The TensorFlow.js forward pass over a whole sequence (T x inputs, normalised) with the trained
   * weights, in the decoder's output units: the reference the streaming engine is proven equal to.
   */
  async forwardSequence(sequence: Float32Array, backend?: TfBackendName): Promise<Float32Array> {
    if (!this.weights) throw new NotFittedError(this.kind, 'run forward');
    const { tf } = await loadTf(backend);
    const T = sequence.length / this.dims.inputs;
    const model = this.family.build(tf, this.dims, this.config, new Rng(1));
    try {
      tf.tidy(() => {
        for (const [name, v] of model.variables) v.assign(tf.tensor(this.weights!.get(name)!.data, v.shape));
      });
      const y = tf.tidy(() =>
        model.forward(tf.tensor3d(sequence, [1, T, this.dims.inputs]) as Tensor3D, false),
      );
      const raw = y.dataSync().slice() as Float32Array;
      y.dispose();
      const M = this.dims.outputs;
      for (let i = 0; i < raw.length; i++) raw[i] = raw[i]! * this.outStd[i % M]! + this.outMean[i % M]!;
      return raw;
    } finally {
      for (const v of model.variables.values()) v.dispose();
    }
  }

  /**
   * A TensorFlow.js model with the trained weights that predicts one bin at a time (a 1-bin
   * sequence, from zero state): the reference the streaming engine's speed is compared with.
   */
  async createTfPredictor(
    backend?: TfBackendName,
  ): Promise<{ predict(x: Float32Array): Float32Array; dispose(): void }> {
    if (!this.weights) throw new NotFittedError(this.kind, 'create a predictor');
    const { tf } = await loadTf(backend);
    const model = this.family.build(tf, this.dims, this.config, new Rng(1));
    tf.tidy(() => {
      for (const [name, v] of model.variables) v.assign(tf.tensor(this.weights!.get(name)!.data, v.shape));
    });
    const C = this.dims.inputs;
    return {
      predict: (x) =>
        tf.tidy(() => model.forward(tf.tensor3d(x, [1, 1, C]) as Tensor3D, false).dataSync() as Float32Array),
      dispose: () => {
        for (const v of model.variables.values()) v.dispose();
      },
    };
  }

  /** Gives the network fresh seeded weights without training (for tests of the streaming engine). */
  async initialise(
    inputs: number,
    outputNames: readonly string[],
    seed = 1,
    backend?: TfBackendName,
  ): Promise<void> {
    const { tf } = await loadTf(backend);
    const dims = { inputs, outputs: outputNames.length };
    const model = this.family.build(tf, dims, this.config, new Rng(seed));
    const weights = new Map<string, { shape: readonly number[]; data: Float32Array }>();
    for (const [name, v] of model.variables) {
      weights.set(name, { shape: [...v.shape], data: v.dataSync().slice() as Float32Array });
      v.dispose();
    }
    this.install(weights, dims, new Float32Array(dims.outputs), new Float32Array(dims.outputs).fill(1));
    this.setFitted(
      {
        channels: inputs,
        channelLabels: Array.from({ length: inputs }, (_, i) => `ch${i + 1}`),
        binWidthUs: 50_000,
      },
      { mean: new Float32Array(inputs), std: new Float32Array(inputs).fill(1) },
      outputNames,
      'velocity',
    );
  }

  async save(dir: string): Promise<void> {
    if (!this.weights) throw new NotFittedError(this.kind, 'save');
    const weights: Record<string, { shape: readonly number[]; data: Float32Array }> = {};
    for (const [name, w] of this.weights) weights[name] = w;
    weights[OUT_MEAN] = { shape: [this.dims.outputs], data: this.outMean };
    weights[OUT_STD] = { shape: [this.dims.outputs], data: this.outStd };
    await saveModelDir(dir, {
      kind: this.kind,
      config: { ...this.config } as Record<string, unknown>,
      topology: { class: this.kind, inputs: this.dims.inputs, outputs: this.dims.outputs },
      metadata: this.savedMetadata(),
      weights,
    });
  }

  /** Builds a decoder of `family` from a model directory read by `loadModelDir`, validating everything. */
  static fromModel<C extends TrainingConfig>(
    family: NeuralFamily<C>,
    model: LoadedModel,
    dir: string,
  ): NeuralDecoder<C> {
    const where = join(dir, MODEL_JSON);
    if (model.kind !== family.kind)
      throw new ModelFormatError(where, `kind is "${model.kind}", expected "${family.kind}"`);
    let dec: NeuralDecoder<C>;
    try {
      dec = new NeuralDecoder(family, model.config as Partial<C>);
    } catch (e) {
      throw new ModelFormatError(where, `invalid config: ${(e as Error).message}`, { cause: e });
    }
    const md = model.metadata;
    const dims = { inputs: md.channelLabels.length, outputs: md.outputNames.length };
    if (dims.inputs < 1) throw new ModelFormatError(where, 'channelLabels is empty');
    if (dims.outputs < 1) throw new ModelFormatError(where, 'outputNames is empty');
    const weights = new Map<string, { shape: readonly number[]; data: Float32Array }>();
    for (const [name, shape] of family.shapes(dims, dec.config)) {
      weights.set(name, { shape, data: requireWeight(dir, model, name, shape) });
    }
    const outMean = requireWeight(dir, model, OUT_MEAN, [dims.outputs]);
    const outStd = requireWeight(dir, model, OUT_STD, [dims.outputs]);
    dec.install(weights, dims, outMean, outStd);
    dec.setLoaded(md);
    return dec;
  }

  describe(): DecoderDescription {
    let params = 0;
    for (const w of this.weights?.values() ?? []) params += w.data.length;
    const engine = this.engine;
    return {
      kind: this.kind,
      inputs: this.dims.inputs,
      outputs: this.dims.outputs,
      outputNames: this.outputNames,
      params,
      footprintBytes: params * 4,
      macsPerStep: engine?.macsPerStep ?? 0,
      stateSize: engine?.stateSize ?? 0,
      config: { ...this.config } as Record<string, unknown>,
      ...(engine?.spikeStats ? engine.spikeStats() : {}),
    };
  }
}
