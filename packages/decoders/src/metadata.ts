/**
 * What every decoder knows about the session it was fitted on, besides its weights: the shared
 * base of the decoder classes. It holds the `Decoder` getters (`fitted`, `inputs`, `outputs`,
 * `outputNames`, `normaliser`) and the session metadata (`channelLabels`, `binWidthUs`, `target`),
 * is filled once per fit or load, and gives the `metadata` block of the model files.
 */
import type { SessionMetadata } from '@edge-bci/core';
import type { FitOptions, NormaliserStats } from './decoder.js';
import type { ModelMetadata } from './model-io.js';

const EMPTY = new Float32Array(0);

/**
 * The `target` recorded for a fit: `columns:<names>` when `options.targetColumns` chose the
 * columns (`names` are their names), else the target kind ('velocity' or 'position').
 */
export function fittedTarget(options: FitOptions, kind: string, names: readonly string[]): string {
  return options.targetColumns !== undefined ? `columns:${names.join(',')}` : kind;
}

export abstract class DecoderBase {
  private _fitted = false;
  private _inputs = 0;
  private _outputs = 0;
  private _outputNames: readonly string[] = [];
  private _normaliser: NormaliserStats = { mean: EMPTY, std: EMPTY };
  private _channelLabels: readonly string[] = [];
  private _binWidthUs = 0;
  private _target = '';

  /** Whether `fit` (or `load`) has given the decoder weights. */
  get fitted(): boolean {
    return this._fitted;
  }
  get inputs(): number {
    return this._inputs;
  }
  get outputs(): number {
    return this._outputs;
  }
  get outputNames(): readonly string[] {
    return this._outputNames;
  }
  get normaliser(): NormaliserStats {
    return this._normaliser;
  }
  /** Channel labels of the session the decoder was fitted on. */
  get channelLabels(): readonly string[] {
    return this._channelLabels;
  }
  get binWidthUs(): number {
    return this._binWidthUs;
  }
  /** 'velocity', 'position', or `columns:<names>` for explicit columns. */
  get target(): string {
    return this._target;
  }

  /**
   * Records a fit on a session with metadata `session` (`inputs` = its channels, `outputs` = the
   * number of `outputNames`) and marks the decoder fitted. `normaliser` is kept as given.
   */
  protected setFitted(
    session: Pick<SessionMetadata, 'channels' | 'channelLabels' | 'binWidthUs'>,
    normaliser: NormaliserStats,
    outputNames: readonly string[],
    target: string,
  ): void {
    this._fitted = true;
    this._inputs = session.channels;
    this._outputs = outputNames.length;
    this._outputNames = Object.freeze([...outputNames]);
    this._normaliser = normaliser;
    this._channelLabels = Object.freeze([...session.channelLabels]);
    this._binWidthUs = session.binWidthUs;
    this._target = target;
  }

  /** Restores the metadata of a saved model (`inputs` = its channel labels) and marks the decoder fitted. */
  protected setLoaded(md: ModelMetadata): void {
    const { channelLabels, binWidthUs } = md;
    this.setFitted(
      { channels: channelLabels.length, channelLabels, binWidthUs },
      { mean: md.normaliser.mean, std: md.normaliser.std },
      md.outputNames,
      md.target,
    );
  }

  /** The `metadata` block of the model file (`SavedModel.metadata`). */
  protected savedMetadata(): ModelMetadata {
    return {
      channelLabels: this._channelLabels,
      binWidthUs: this._binWidthUs,
      normaliser: this._normaliser,
      target: this._target,
      outputNames: this._outputNames,
    };
  }
}
