import type { Rng } from '@edge-bci/core';
import type { Tf } from '../tf/backend.js';
import type { TrainableModel } from '../training/trainer.js';

/** Sizes a network is built for. */
export interface NetworkDims {
  readonly inputs: number;
  readonly outputs: number;
}

/** Weights by name, row-major Float32Array with their shapes: what is saved and what streams. */
export type WeightMap = ReadonlyMap<
  string,
  { readonly shape: readonly number[]; readonly data: Float32Array }
>;

/** Common hyperparameters of every network trained with TensorFlow.js. */
export interface TrainingConfig {
  /** Bins per training window. */
  readonly windowBins: number;
  readonly stride: number;
  readonly burnInBins: number;
  readonly epochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  readonly patience: number;
  readonly maxSeconds: number;
  readonly validationFraction: number;
}

/**
 * The allocation-free streaming form of a network: preallocated Float32Array state, one bin per
 * step, no TensorFlow.js. `step` writes the network's raw (scaled) outputs into `out`.
 */
export interface StreamEngine<S> {
  initialState(): S;
  reset(state: S): void;
  step(x: Float32Array, state: S, out: Float32Array): void;
  /** Floats of state carried between steps. */
  readonly stateSize: number;
  /** Multiply-accumulates per step. */
  readonly macsPerStep: number;
  /** Spiking networks: accumulates per step at the measured activity, and activation sparsity. */
  readonly spikeStats?: () => { acsPerStep: number; activationSparsity: number };
}

/**
 * One decoder family (GRU, Transformer, ...): how to build its network for training and how to
 * stream it. `NeuralDecoder` does everything else (normalisation, windows, training, scaling,
 * files) the same way for every family.
 */
export interface NeuralFamily<C extends TrainingConfig> {
  readonly kind: string;
  readonly defaults: C;
  /** Validates a config (throw InvalidOptionError naming the option). */
  validate(config: C): void;
  /** Trainable variables with seeded initial values, and the causal forward pass. */
  build(tf: Tf, dims: NetworkDims, config: C, rng: Rng): TrainableModel;
  /** Weight names and shapes the family expects (used to validate model files). */
  shapes(dims: NetworkDims, config: C): ReadonlyMap<string, readonly number[]>;
  // biome-ignore lint/suspicious/noExplicitAny: each family has its own state type
  stream(weights: WeightMap, dims: NetworkDims, config: C): StreamEngine<any>;
}
