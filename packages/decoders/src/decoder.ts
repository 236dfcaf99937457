import type { RecordedSession } from '@edge-bci/core';

/** What a decoder is trained to output. */
export type DecodeTarget = 'velocity' | 'position';

/** Per-channel statistics used to z-score spike counts before they reach a decoder. */
export interface NormaliserStats {
  readonly mean: Float32Array;
  /** Standard deviation, already floored so that division is safe. */
  readonly std: Float32Array;
}

export interface FitOptions {
  /** Which kinematics to learn; resolved to columns via `SessionMetadata.kinematicNames`. */
  readonly target?: DecodeTarget;
  /** Explicit kinematic column indices; overrides `target`. */
  readonly targetColumns?: readonly number[];
  /** Bins [0, trainBins) are used for fitting; the default is all of them. */
  readonly trainBins?: number;
  /** Called with a fraction in [0, 1] while fitting. */
  readonly onProgress?: (fraction: number, message?: string) => void;
  /** Seed for anything random in fitting. */
  readonly seed?: number;
}

export interface FitReport {
  /** Wall time spent fitting, in seconds. */
  readonly seconds: number;
  /** Hyperparameters chosen during fitting (e.g. the ridge penalty picked on a validation split). */
  readonly chosen?: Readonly<Record<string, number | string>>;
  /** Bins used for fitting. */
  readonly bins: number;
}

/** What a decoder costs: the numbers users compare edge decoders by. */
export interface DecoderDescription {
  readonly kind: string;
  readonly inputs: number;
  readonly outputs: number;
  readonly outputNames: readonly string[];
  readonly params: number;
  /** Bytes of the weights at their stored precision. */
  readonly footprintBytes: number;
  /** Multiply-accumulates per step (one bin). */
  readonly macsPerStep: number;
  /** Floats of streaming state carried between steps. */
  readonly stateSize: number;
  readonly config: Readonly<Record<string, unknown>>;
  /** Spiking decoders: accumulates per step (synaptic operations on spikes), as NeuroBench counts them. */
  readonly acsPerStep?: number;
  /** Spiking decoders: fraction of neuron-steps without a spike. */
  readonly activationSparsity?: number;
}

/** Streaming state of one decoder instance; created by `initialState()`, owned by the caller. */
export interface DecoderState {
  /** Number of steps taken since the state was created or reset. */
  steps: number;
}

/**
 * One streaming interface for every decoder. Shaped like a recurrent cell: the weights live in
 * the decoder, the state is explicit and owned by the caller, so one decoder can serve many
 * streams and a caller can snapshot or discard state.
 *
 * `step` takes one bin of normalised features (`normaliser` applied) and writes the output
 * into `out`; it allocates nothing.
 */
export interface Decoder<S extends DecoderState = DecoderState> {
  readonly kind: string;
  /** Whether `fit` (or `load`) has given the decoder weights. */
  readonly fitted: boolean;
  readonly inputs: number;
  readonly outputs: number;
  readonly outputNames: readonly string[];
  /** Statistics the decoder was trained with; apply them (frozen or adapted) before `step`. */
  readonly normaliser: NormaliserStats;
  fit(session: RecordedSession, options?: FitOptions): Promise<FitReport>;
  initialState(): S;
  /** Returns `state` to what `initialState()` gives, in place. */
  reset(state: S): void;
  step(features: Float32Array, state: S, out: Float32Array): Float32Array;
  save(dir: string): Promise<void>;
  describe(): DecoderDescription;
}
