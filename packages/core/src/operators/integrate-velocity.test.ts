import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { ChannelCountError, InvalidOptionError, NonFiniteValueError } from '../errors.js';
import type { CursorSample, DecodedBin, Gap } from '../types.js';
import { integrateVelocity } from './integrate-velocity.js';

// 50 ms bins: dt = 0.05 s.
function db(index: number, output: number[]): DecodedBin {
  return {
    kind: 'decoded',
    index,
    startUs: index * 50_000,
    widthUs: 50_000,
    output: Float32Array.from(output),
  };
}

function cs(index: number, position: number[], velocity: number[], clamped = false): CursorSample {
  return {
    kind: 'cursor',
    index,
    startUs: index * 50_000,
    widthUs: 50_000,
    position: Float32Array.from(position),
    velocity: Float32Array.from(velocity),
    clamped,
    latency: { originUs: 9, stages: [['integrate', 9]] },
  };
}

const gap: Gap = { kind: 'gap', startUs: 100_000, endUs: 150_000, firstBin: 2, bins: 1, reason: 'sequence' };
const testScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
const clock = () => 9;

describe('integrateVelocity', () => {
  it('integrates velocity over each bin width from the start position', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('ab|', { a: db(0, [10, -20]), b: db(1, [10, 0]) });
      expectObservable(source.pipe(integrateVelocity({ start: [1, 1], clock }))).toBe('ab|', {
        a: cs(0, [1.5, 0], [10, -20]),
        b: cs(1, [2, 0], [10, 0]),
      });
    });
  });

  it('applies gain and a fixed dtS', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('a', { a: db(0, [1, 2]) });
      expectObservable(source.pipe(integrateVelocity({ dtS: 0.5, gain: 4, clock }))).toBe('a', {
        a: cs(0, [2, 4], [1, 2]),
      });
    });
  });

  it('clamps to the bounds and says when it did', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('abc', { a: db(0, [10, 10]), b: db(1, [10, -40]), c: db(2, [-10, 0]) });
      const op = integrateVelocity({ min: [-1, -1], max: [1, 1], clock });
      expectObservable(source.pipe(op)).toBe('abc', {
        a: cs(0, [0.5, 0.5], [10, 10]),
        b: cs(1, [1, -1], [10, -40], true),
        c: cs(2, [0.5, -1], [-10, 0]),
      });
    });
  });

  it('holds the position across a gap and passes the gap on', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('aGb', { a: db(0, [10, 0]), G: gap, b: db(3, [10, 0]) });
      expectObservable(source.pipe(integrateVelocity({ clock }))).toBe('aGb', {
        a: cs(0, [0.5, 0], [10, 0]),
        G: { ...gap, latency: { originUs: 9, stages: [['integrate', 9]] } },
        b: cs(3, [1, 0], [10, 0]),
      });
    });
  });

  it('starts each subscription from the start position', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const cursor = cold('a', { a: db(0, [10, 0]) }).pipe(integrateVelocity({ clock }));
      expectObservable(cursor).toBe('a', { a: cs(0, [0.5, 0], [10, 0]) });
      expectObservable(cursor).toBe('a', { a: cs(0, [0.5, 0], [10, 0]) });
    });
  });

  it('errors on non-finite velocity and on a dimension that does not match', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('a', { a: db(0, [0, Number.NaN]) }).pipe(integrateVelocity())).toBe(
        '#',
        undefined,
        new NonFiniteValueError('decoded velocity', 1, Number.NaN),
      );
      expectObservable(cold('a', { a: db(0, [0, 1, 2]) }).pipe(integrateVelocity({ start: [0, 0] }))).toBe(
        '#',
        undefined,
        new ChannelCountError(3, 2, 'start'),
      );
      expectObservable(
        cold('ab', { a: db(0, [0, 1]), b: db(1, [1]) }).pipe(integrateVelocity({ clock })),
      ).toBe('a#', { a: cs(0, [0, 0.05], [0, 1]) }, new ChannelCountError(2, 1, 'decoded velocity'));
    });
  });

  it('rejects invalid options', () => {
    expect(() => integrateVelocity({ dtS: 0 })).toThrow(InvalidOptionError);
    expect(() => integrateVelocity({ min: [1], max: [0] })).toThrow(InvalidOptionError);
    expect(() => integrateVelocity({ start: [Number.NaN] })).toThrow(NonFiniteValueError);
  });
});
