import { Observable, type OperatorFunction } from 'rxjs';
import { ChannelCountError, InvalidOptionError } from '../errors.js';
import type { FeatureEvent, Gap, HistoryBin } from '../types.js';

export interface HistoryWindowOptions {
  /**
   * 'wait' (default): emit only once `depth` bins have arrived since the start or the last gap.
   * 'zeros': emit from the first bin, with zeros in place of the rows not yet seen.
   */
  readonly fill?: 'wait' | 'zeros';
}

/**
 * The last `depth` feature vectors as one window per bin, oldest first, flattened row-major
 * (depth x channels) into a new Float32Array. The window never straddles a gap: a Gap passes
 * through unchanged and empties the window. Index, times, kinematics and latency are the newest bin's.
 */
export function historyWindow(
  depth: number,
  options: HistoryWindowOptions = {},
): OperatorFunction<FeatureEvent, HistoryBin | Gap> {
  if (!(Number.isInteger(depth) && depth >= 1)) {
    throw new InvalidOptionError('depth', `must be a positive integer, got ${depth}`);
  }
  const fill = options.fill ?? 'wait';
  if (fill !== 'wait' && fill !== 'zeros') {
    throw new InvalidOptionError('fill', `must be 'wait' or 'zeros', got ${String(fill)}`);
  }
  return (source) =>
    new Observable<HistoryBin | Gap>((subscriber) => {
      // Ring buffer of `depth` rows; `next` is the row to write, which is also the oldest once full.
      let ring: Float32Array | undefined;
      let channels = 0;
      let next = 0;
      let filled = 0;
      const subscription = source.subscribe({
        next: (event) => {
          if (subscriber.closed) return;
          if (event.kind === 'gap') {
            ring?.fill(0);
            next = 0;
            filled = 0;
            subscriber.next(event);
            return;
          }
          const row = event.features;
          if (ring === undefined) {
            channels = row.length;
            ring = new Float32Array(depth * channels);
          } else if (row.length !== channels) {
            subscriber.error(new ChannelCountError(channels, row.length, 'feature bin'));
            return;
          }
          ring.set(row, next * channels);
          next = (next + 1) % depth;
          filled = Math.min(filled + 1, depth);
          if (fill === 'wait' && filled < depth) return;
          const window = new Float32Array(depth * channels);
          window.set(ring.subarray(next * channels));
          window.set(ring.subarray(0, next * channels), (depth - next) * channels);
          subscriber.next({
            kind: 'history',
            index: event.index,
            startUs: event.startUs,
            widthUs: event.widthUs,
            depth,
            window,
            ...(event.kinematics && { kinematics: event.kinematics }),
            ...(event.latency && { latency: event.latency }),
          });
        },
        error: (err) => subscriber.error(err),
        complete: () => subscriber.complete(),
      });
      return () => {
        subscription.unsubscribe();
        ring = undefined;
      };
    });
}
