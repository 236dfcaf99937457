import { defer, map, type OperatorFunction } from 'rxjs';
import { ChannelCountError, InvalidOptionError, NonFiniteValueError } from '../errors.js';
import type { CursorEvent, DecodedEvent } from '../types.js';
import { type ClockUs, hostClockUs } from '../util/clock.js';
import { appendLatency } from './stamp-latency.js';

export interface IntegrateVelocityOptions {
  /** Time step in seconds; defaults to each bin's `widthUs / 1e6`. */
  readonly dtS?: number;
  /** Multiplies the velocity (default 1). */
  readonly gain?: number;
  /** Initial position (default zeros). */
  readonly start?: readonly number[];
  /** Lower bound per axis. */
  readonly min?: readonly number[];
  /** Upper bound per axis. */
  readonly max?: readonly number[];
  readonly clock?: ClockUs;
  /** Stage name in the latency trace (default 'integrate'). */
  readonly stage?: string;
}

/**
 * Integrates decoded velocity into a cursor position: `position += gain * velocity * dt` per axis
 * (as many axes as the decoder has outputs), then clamps to `[min, max]` when given; `clamped` says
 * whether any axis hit a bound this bin. Each subscription starts at `start`. On a Gap the position
 * holds (nothing moves while data is missing) and the gap passes on, stamped.
 */
export function integrateVelocity(
  options: IntegrateVelocityOptions = {},
): OperatorFunction<DecodedEvent, CursorEvent> {
  const { dtS, gain = 1, start, min, max } = options;
  const clock = options.clock ?? hostClockUs;
  const stage = options.stage ?? 'integrate';
  validateOptions(options);
  return (source) =>
    defer(() => {
      let position: Float64Array | undefined;
      return source.pipe(
        map((event): CursorEvent => {
          if (event.kind === 'gap')
            return { ...event, latency: appendLatency(event.latency, stage, clock()) };
          const velocity = event.output;
          const axes = velocity.length;
          position ??= initialPosition(axes);
          if (axes !== position.length)
            throw new ChannelCountError(position.length, axes, 'decoded velocity');
          const dt = dtS ?? event.widthUs / 1e6;
          velocity.forEach((v, i) => {
            if (!Number.isFinite(v)) throw new NonFiniteValueError('decoded velocity', i, v);
          });
          let clamped = false;
          for (let i = 0; i < axes; i++) {
            let p = position[i] + gain * velocity[i] * dt;
            if (min !== undefined && p < min[i]) {
              p = min[i];
              clamped = true;
            }
            if (max !== undefined && p > max[i]) {
              p = max[i];
              clamped = true;
            }
            position[i] = p;
          }
          return {
            kind: 'cursor',
            index: event.index,
            startUs: event.startUs,
            widthUs: event.widthUs,
            position: Float32Array.from(position),
            velocity: velocity.slice(),
            clamped,
            ...(event.kinematics && { kinematics: event.kinematics }),
            latency: appendLatency(event.latency, stage, clock()),
          };
        }),
      );
    });

  function initialPosition(axes: number): Float64Array {
    for (const [name, values] of namedVectors(options)) {
      if (values.length !== axes) throw new ChannelCountError(axes, values.length, name);
    }
    return start === undefined ? new Float64Array(axes) : Float64Array.from(start);
  }
}

/** The per-axis options that were given, with their names. */
function namedVectors(options: IntegrateVelocityOptions): Array<[string, readonly number[]]> {
  const named: Array<[string, readonly number[] | undefined]> = [
    ['start', options.start],
    ['min', options.min],
    ['max', options.max],
  ];
  return named.filter((entry): entry is [string, readonly number[]] => entry[1] !== undefined);
}

function validateOptions({ dtS, gain, start, min, max }: IntegrateVelocityOptions): void {
  if (dtS !== undefined && !(Number.isFinite(dtS) && dtS > 0)) {
    throw new InvalidOptionError('dtS', `must be a positive number, got ${dtS}`);
  }
  if (gain !== undefined && !Number.isFinite(gain)) {
    throw new InvalidOptionError('gain', `must be finite, got ${gain}`);
  }
  for (const [name, values] of namedVectors({ start, min, max })) {
    values.forEach((v, i) => {
      if (!Number.isFinite(v)) throw new NonFiniteValueError(name, i, v);
    });
  }
  if (min !== undefined && max !== undefined) {
    if (min.length !== max.length) throw new ChannelCountError(min.length, max.length, 'max');
    min.forEach((lo, i) => {
      if (lo > max[i]) throw new InvalidOptionError('min', `axis ${i}: min ${lo} is above max ${max[i]}`);
    });
  }
}
