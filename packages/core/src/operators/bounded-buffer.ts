import { from, Observable, type ObservableInput, type OperatorFunction, type Subscription } from 'rxjs';
import { InvalidOptionError } from '../errors.js';
import { BufferOverflowError } from './errors.js';

/** Counters of a `boundedBuffer`; pass one in to watch it (it is shared by every subscription). */
export interface BufferStats {
  /** Values received from the source. */
  received: number;
  /** Values whose projection completed. */
  processed: number;
  /** Values discarded by the overflow policy. */
  dropped: number;
  /** Values waiting now (not counting the one being processed); 0 once the subscription ends. */
  queued: number;
  /** Most values ever waiting at once. */
  highWater: number;
}

export function createBufferStats(): BufferStats {
  return { received: 0, processed: 0, dropped: 0, queued: 0, highWater: 0 };
}

export type OverflowPolicy = 'drop-oldest' | 'drop-newest' | 'error';

export interface BoundedBufferOptions<T, R> {
  /** Most values that may wait while one is processed (a positive integer). */
  readonly capacity: number;
  /** What to do with a value arriving when `capacity` values wait. */
  readonly policy: OverflowPolicy;
  readonly stats?: BufferStats;
  /** A marker to emit in a dropped value's place, e.g. a Gap with reason 'dropped'. */
  readonly onDrop?: (dropped: T) => R;
  /** Merges the markers of consecutive drops, earlier first (default: keep the later). */
  readonly mergeDropped?: (earlier: R, later: R) => R;
}

/** A waiting value, with the marker for values dropped just before it. */
interface Entry<T, R> {
  readonly value: T;
  marker: Marker<R> | undefined;
}

/** Boxed so that any R, even undefined, can be a marker. */
interface Marker<R> {
  readonly value: R;
}

/**
 * `concatMap` for a stage slower than its input, with bounded memory: one projection runs at a time,
 * outputs keep the input order, and at most `capacity` values wait. When a value arrives and all slots
 * are taken: 'drop-oldest' discards the oldest waiting value, 'drop-newest' discards the arriving one,
 * 'error' errors with `BufferOverflowError`. Every drop is counted in `stats.dropped`.
 *
 * With `onDrop`, each dropped value is replaced downstream by its marker, in the dropped value's place in
 * the order. Markers of consecutive drops are merged with `mergeDropped`, so at most one marker waits before
 * each queued value and one after the last: memory stays bounded by `capacity`.
 *
 * Completion waits for the queue to drain; an error from the source or a projection is passed on at once;
 * unsubscribing frees the queue.
 */
export function boundedBuffer<T, R>(
  project: (value: T) => ObservableInput<R>,
  options: BoundedBufferOptions<T, R>,
): OperatorFunction<T, R> {
  const { capacity, policy, onDrop } = options;
  if (!(Number.isInteger(capacity) && capacity >= 1)) {
    throw new InvalidOptionError('capacity', `must be a positive integer, got ${capacity}`);
  }
  if (policy !== 'drop-oldest' && policy !== 'drop-newest' && policy !== 'error') {
    throw new InvalidOptionError(
      'policy',
      `must be 'drop-oldest', 'drop-newest' or 'error', got ${String(policy)}`,
    );
  }
  const merge = options.mergeDropped ?? ((_earlier: R, later: R) => later);
  /** The two markers in order, merged; either may be absent. */
  const combine = (earlier: Marker<R> | undefined, later: Marker<R> | undefined): Marker<R> | undefined =>
    earlier === undefined
      ? later
      : later === undefined
        ? earlier
        : { value: merge(earlier.value, later.value) };
  const markerOf = (value: T): Marker<R> | undefined => (onDrop ? { value: onDrop(value) } : undefined);

  return (source) =>
    new Observable<R>((subscriber) => {
      const stats = options.stats ?? createBufferStats();
      let queue: Entry<T, R>[] = [];
      /** Marker for values dropped after the last queued one. */
      let trailing: Marker<R> | undefined;
      let inner: Subscription | undefined;
      let busy = false;
      let sourceDone = false;
      let pumping = false;

      const emitMarker = (marker: Marker<R> | undefined) => {
        if (marker !== undefined) subscriber.next(marker.value);
      };

      /** Starts waiting values one at a time; completes once the source is done and nothing waits. */
      const pump = () => {
        if (pumping) return; // a projection completed synchronously: the loop below goes on
        pumping = true;
        try {
          while (!busy && !subscriber.closed) {
            const entry = queue.shift();
            if (entry === undefined) break;
            stats.queued = queue.length;
            emitMarker(entry.marker);
            if (subscriber.closed) break;
            busy = true;
            inner = from(project(entry.value)).subscribe({
              next: (result) => subscriber.next(result),
              error: (err) => subscriber.error(err),
              complete: () => {
                busy = false;
                inner = undefined;
                stats.processed++;
                pump();
              },
            });
          }
          if (!busy && queue.length === 0) {
            emitMarker(trailing);
            trailing = undefined;
            if (sourceDone) subscriber.complete();
          }
        } catch (err) {
          subscriber.error(err);
        } finally {
          pumping = false;
        }
      };

      const enqueue = (value: T) => {
        let marker: Marker<R> | undefined;
        if (queue.length >= capacity) {
          stats.dropped++;
          if (policy === 'error') throw new BufferOverflowError(capacity);
          if (policy === 'drop-newest') {
            trailing = combine(trailing, markerOf(value));
            return;
          }
          // drop-oldest: the dropped value's marker moves to the value after it.
          const oldest = queue.shift()!;
          marker = combine(oldest.marker, markerOf(oldest.value));
          if (queue.length > 0) {
            queue[0].marker = combine(marker, queue[0].marker);
            marker = undefined;
          }
        }
        queue.push({ value, marker: combine(marker, trailing) });
        trailing = undefined;
      };

      const subscription = source.subscribe({
        next: (value) => {
          if (subscriber.closed) return;
          stats.received++;
          try {
            enqueue(value);
          } catch (err) {
            subscriber.error(err);
            return;
          }
          pump();
          stats.queued = queue.length;
          stats.highWater = Math.max(stats.highWater, queue.length);
        },
        error: (err) => subscriber.error(err),
        complete: () => {
          sourceDone = true;
          pump();
        },
      });

      return () => {
        subscription.unsubscribe();
        inner?.unsubscribe();
        queue = [];
        trailing = undefined;
        stats.queued = 0;
      };
    });
}
