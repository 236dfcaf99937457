import { defer, map, type OperatorFunction } from 'rxjs';
import { ChannelCountError } from '../errors.js';
import type { DecodedEvent, FeatureEvent } from '../types.js';
import { type ClockUs, hostClockUs } from '../util/clock.js';
import { appendLatency } from './stamp-latency.js';

/**
 * The least a decoder must offer to run in a stream: explicit state, one step per bin.
 * The SDK's full `Decoder` satisfies it structurally.
 */
export interface StreamingDecoder<S> {
  /** Length of the output vector of a step. */
  readonly outputs: number;
  /** Fresh state for a new stream. */
  initialState(): S;
  /** Puts `state` back to the start, in place. */
  reset(state: S): void;
  /** Advances `state` by one bin of `features`, writes the output into `out` and returns it. */
  step(features: Float32Array, state: S, out: Float32Array): Float32Array;
}

export interface DecodeOptions {
  /** On a Gap: 'reset' (default) puts the decoder state back to the start; 'hold' keeps it. */
  readonly onGap?: 'reset' | 'hold';
  readonly clock?: ClockUs;
  /** Stage name in the latency trace (default 'decode'). */
  readonly stage?: string;
}

/**
 * Runs a decoder over feature bins, one step per bin. Each subscription has its own state from
 * `initialState()`; each output is a new Float32Array copied from a scratch array the decoder writes
 * into. A Gap resets the state (or, with `onGap: 'hold'`, keeps it) and passes on, stamped.
 * An exception from `step` errors the stream.
 */
export function decode<S>(
  decoder: StreamingDecoder<S>,
  options: DecodeOptions = {},
): OperatorFunction<FeatureEvent, DecodedEvent> {
  const onGap = options.onGap ?? 'reset';
  const clock = options.clock ?? hostClockUs;
  const stage = options.stage ?? 'decode';
  return (source) =>
    defer(() => {
      const state = decoder.initialState();
      const scratch = new Float32Array(decoder.outputs);
      return source.pipe(
        map((event): DecodedEvent => {
          if (event.kind === 'gap') {
            if (onGap === 'reset') decoder.reset(state);
            return { ...event, latency: appendLatency(event.latency, stage, clock()) };
          }
          const result = decoder.step(event.features, state, scratch);
          if (result.length !== decoder.outputs) {
            throw new ChannelCountError(decoder.outputs, result.length, 'decoder output');
          }
          return {
            kind: 'decoded',
            index: event.index,
            startUs: event.startUs,
            widthUs: event.widthUs,
            output: result.slice(),
            ...(event.kinematics && { kinematics: event.kinematics }),
            latency: appendLatency(event.latency, stage, clock()),
          };
        }),
      );
    });
}
