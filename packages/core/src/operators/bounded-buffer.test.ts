import { finalize, from, lastValueFrom, map, NEVER, of, Subject, throwError, timer, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../errors.js';
import { boundedBuffer, createBufferStats } from './bounded-buffer.js';
import { BufferOverflowError } from './errors.js';

/** A consumer five frames slow: upper-cases its value. */
const slow = (value: string) => timer(5).pipe(map(() => value.toUpperCase()));
const testScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

describe('boundedBuffer', () => {
  it("'drop-oldest' keeps the newest waiting values", () => {
    const stats = createBufferStats();
    testScheduler().run(({ cold, expectObservable }) => {
      // a runs 0-5 while b..e arrive: b and c are pushed out by d and e.
      const out = cold('abcde|').pipe(boundedBuffer(slow, { capacity: 2, policy: 'drop-oldest', stats }));
      expectObservable(out).toBe('-----A----D----(E|)');
    });
    expect(stats).toEqual({ received: 5, processed: 3, dropped: 2, queued: 0, highWater: 2 });
  });

  it("'drop-newest' keeps the oldest waiting values", () => {
    const stats = createBufferStats();
    testScheduler().run(({ cold, expectObservable }) => {
      const out = cold('abcde|').pipe(boundedBuffer(slow, { capacity: 2, policy: 'drop-newest', stats }));
      expectObservable(out).toBe('-----A----B----(C|)');
    });
    expect(stats).toEqual({ received: 5, processed: 3, dropped: 2, queued: 0, highWater: 2 });
  });

  it("'error' errors with BufferOverflowError when a value finds no slot", () => {
    const stats = createBufferStats();
    testScheduler().run(({ cold, expectObservable }) => {
      const out = cold('abcd').pipe(boundedBuffer(slow, { capacity: 2, policy: 'error', stats }));
      expectObservable(out).toBe('---#', undefined, new BufferOverflowError(2));
    });
    expect(stats).toEqual({ received: 4, processed: 0, dropped: 1, queued: 0, highWater: 2 });
  });

  it('handles a burst in one frame under the policy', () => {
    const stats = createBufferStats();
    testScheduler().run(({ cold, expectObservable }) => {
      const out = cold('(abcdef)').pipe(boundedBuffer(slow, { capacity: 2, policy: 'drop-oldest', stats }));
      expectObservable(out).toBe('-----A----E----F');
    });
    expect(stats).toEqual({ received: 6, processed: 3, dropped: 3, queued: 0, highWater: 2 });
  });

  it('emits merged markers in the place of values dropped from the front', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const out = cold('abcdef|').pipe(
        boundedBuffer(slow, {
          capacity: 2,
          policy: 'drop-oldest',
          onDrop: (value) => `[${value}]`,
          mergeDropped: (earlier, later) => earlier + later,
        }),
      );
      // b, c and d were dropped in turn; their merged marker comes before e, the value after them.
      expectObservable(out).toBe('-----(Am)-E----(F|)', { A: 'A', m: '[b][c][d]', E: 'E', F: 'F' });
    });
  });

  it('keeps the latest marker by default and emits a trailing one when the queue drains', () => {
    const stats = createBufferStats();
    testScheduler().run(({ cold, expectObservable }) => {
      const out = cold('abcde|').pipe(
        boundedBuffer(slow, { capacity: 1, policy: 'drop-newest', onDrop: (value) => `[${value}]`, stats }),
      );
      expectObservable(out).toBe('-----A----(Bm|)', { A: 'A', B: 'B', m: '[e]' });
    });
    expect(stats).toEqual({ received: 5, processed: 2, dropped: 3, queued: 0, highWater: 1 });
  });

  it('puts a marker of newest drops before the next value that finds room', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const out = cold('abc---d|').pipe(
        boundedBuffer(slow, { capacity: 1, policy: 'drop-newest', onDrop: (value) => `[${value}]` }),
      );
      expectObservable(out).toBe('-----A----(Bm)-(D|)', { A: 'A', B: 'B', m: '[c]', D: 'D' });
    });
  });

  it('waits for the queue to drain before completing', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const out = cold('ab|').pipe(boundedBuffer(slow, { capacity: 4, policy: 'error' }));
      expectObservable(out).toBe('-----A----(B|)');
    });
  });

  it('passes on an error from a projection at once', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const failing = (value: string) => (value === 'b' ? throwError(() => new Error('bad b')) : slow(value));
      const out = cold('abc').pipe(boundedBuffer(failing, { capacity: 2, policy: 'error' }));
      expectObservable(out).toBe('-----(A#)', { A: 'A' }, new Error('bad b'));
    });
  });

  it('behaves like concatMap when projections finish synchronously', async () => {
    const stats = createBufferStats();
    const values = Array.from({ length: 10_000 }, (_, i) => i);
    const out = await lastValueFrom(
      from(values).pipe(
        boundedBuffer((v) => of(2 * v), { capacity: 1, policy: 'error', stats }),
        toArray(),
      ),
    );
    expect(out).toEqual(values.map((v) => 2 * v));
    expect(stats).toEqual({ received: 10_000, processed: 10_000, dropped: 0, queued: 0, highWater: 0 });
  });

  it('frees the queue and stops the running projection on unsubscription', () => {
    const stats = createBufferStats();
    let finalised = 0;
    const source = new Subject<number>();
    const project = () => NEVER.pipe(finalize(() => finalised++));
    const subscription = source
      .pipe(boundedBuffer(project, { capacity: 3, policy: 'drop-oldest', stats }))
      .subscribe();
    for (let i = 0; i < 5; i++) source.next(i);
    expect(stats.queued).toBe(3);
    subscription.unsubscribe();
    expect(stats.queued).toBe(0);
    expect(finalised).toBe(1);
    expect(source.observed).toBe(false);
  });

  it('never holds more than capacity values under 100,000 inputs to a consumer that never finishes', () => {
    const capacity = 8;
    for (const policy of ['drop-oldest', 'drop-newest'] as const) {
      const stats = createBufferStats();
      const source = new Subject<number>();
      let merges = 0;
      const markers: number[] = [];
      source
        .pipe(
          boundedBuffer(() => NEVER, {
            capacity,
            policy,
            stats,
            onDrop: () => 1,
            mergeDropped: (a, b) => {
              merges++;
              return a + b;
            },
          }),
        )
        .subscribe((marker) => markers.push(marker));
      let mostQueued = 0;
      for (let i = 0; i < 100_000; i++) {
        source.next(i);
        mostQueued = Math.max(mostQueued, stats.queued);
      }
      expect(mostQueued).toBe(capacity);
      expect(stats).toEqual({
        received: 100_000,
        processed: 0,
        dropped: 100_000 - 1 - capacity,
        queued: capacity,
        highWater: capacity,
      });
      // Every drop after the first was merged into a waiting marker instead of adding one.
      expect(merges).toBe(stats.dropped - 1);
      expect(markers).toEqual([]);
    }
  });

  it('rejects invalid options', () => {
    expect(() => boundedBuffer(slow, { capacity: 0, policy: 'error' })).toThrow(InvalidOptionError);
    expect(() => boundedBuffer(slow, { capacity: 2.5, policy: 'error' })).toThrow(InvalidOptionError);
  });
});
