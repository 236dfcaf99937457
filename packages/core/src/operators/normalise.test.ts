import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { ChannelCountError, InvalidOptionError, NonFiniteValueError } from '../errors.js';
import type { Bin, FeatureBin, Gap, LatencyTrace } from '../types.js';
import { Normaliser, normalise } from './normalise.js';

const trace: LatencyTrace = { originUs: 100, stages: [['bin', 200]] };

function bin(index: number, counts: number[], extra: Partial<Bin> = {}): Bin {
  return {
    kind: 'bin',
    index,
    startUs: index * 50_000,
    widthUs: 50_000,
    counts: Float32Array.from(counts),
    latency: trace,
    ...extra,
  };
}

function features(
  index: number,
  values: number[],
  atUs: number,
  extra: Partial<FeatureBin> = {},
): FeatureBin {
  return {
    kind: 'features',
    index,
    startUs: index * 50_000,
    widthUs: 50_000,
    features: Float32Array.from(values),
    latency: { originUs: 100, stages: [...trace.stages, ['normalise', atUs]] },
    ...extra,
  };
}

const testScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

describe('Normaliser', () => {
  it('z-scores counts with the std floored at minStd', () => {
    const n = new Normaliser({ mean: [1, 2, 3], std: [2, 0, 0.5] });
    expect(n.apply([5, 2.5, 2], new Float32Array(3))).toEqual(Float32Array.of(2, 0.5 / 1e-3, -2));
  });

  it('moves toward a shifted mean and spread when updated', () => {
    const n = new Normaliser({ mean: [0], std: [1], mode: 'adaptive', halfLifeBins: 20 });
    for (let i = 0; i < 400; i++) n.update([i % 2 === 0 ? 9 : 11]);
    const { mean, std } = n.snapshot();
    expect(mean[0]).toBeCloseTo(10, 1);
    expect(std[0]).toBeCloseTo(1, 1);
    expect(n.apply([11], new Float32Array(1))[0]).toBeCloseTo(1, 1);
  });

  it('halves the weight of old statistics every halfLifeBins updates', () => {
    const n = new Normaliser({ mean: [0], std: [1], halfLifeBins: 3 });
    for (let i = 0; i < 3; i++) n.update([8]);
    expect(n.snapshot().mean[0]).toBeCloseTo(4, 10);
  });

  it('rolls back to a snapshot, which is a deep copy both ways', () => {
    const n = new Normaliser({ mean: [1, 1], std: [1, 1], mode: 'adaptive', halfLifeBins: 2 });
    const before = n.snapshot();
    n.update([5, 7]);
    expect(n.snapshot().mean).not.toEqual(before.mean);
    n.restore(before);
    before.mean[0] = 100; // must not reach the normaliser
    expect(n.snapshot()).toEqual({
      mean: Float64Array.of(1, 1),
      std: Float64Array.of(1, 1),
      mode: 'adaptive',
      halfLifeBins: 2,
      minStd: 1e-3,
    });
    expect(n.apply([2, 3], new Float32Array(2))).toEqual(Float32Array.of(1, 2));
  });

  it('validates its statistics and settings', () => {
    expect(() => new Normaliser({ mean: [0, 0], std: [1] })).toThrow(ChannelCountError);
    expect(() => new Normaliser({ mean: [Number.NaN], std: [1] })).toThrow(NonFiniteValueError);
    expect(() => new Normaliser({ mean: [0], std: [0], minStd: 0 })).toThrow(InvalidOptionError);
    expect(() => new Normaliser({ mean: [0], std: [1], halfLifeBins: 0 })).toThrow(InvalidOptionError);
    expect(() => new Normaliser({ mean: [0], std: [1], minStd: -1 })).toThrow(InvalidOptionError);
    const n = new Normaliser({ mean: [0], std: [1] });
    expect(() => n.restore({ ...n.snapshot(), mean: Float64Array.of(0, 0) })).toThrow(ChannelCountError);
    expect(() => n.apply([1, 2], new Float32Array(1))).toThrow(ChannelCountError);
    expect(() => n.update([Number.POSITIVE_INFINITY])).toThrow(NonFiniteValueError);
  });
});

describe('normalise', () => {
  it('emits a new feature vector per bin, passing kinematics and stamping latency', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const kinematics = Float64Array.of(1, 2);
      const source = cold('a-b|', { a: bin(0, [3, 4], { kinematics }), b: bin(1, [1, 0]) });
      const op = normalise({ mean: [1, 2], std: [2, 4] }, { clock: () => scheduler.now() * 1000 });
      expectObservable(source.pipe(op)).toBe('a-b|', {
        a: features(0, [1, 0.5], 0, { kinematics }),
        b: features(1, [0, -0.5], 2000),
      });
    });
  });

  it('passes gaps through with a latency stamp and never learns from them', () => {
    const n = new Normaliser({ mean: [0], std: [1], mode: 'adaptive', halfLifeBins: 1 });
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const gap: Gap = { kind: 'gap', startUs: 0, endUs: 50_000, firstBin: 0, bins: 1, reason: 'time' };
      const source = cold('g-a', { g: gap, a: bin(1, [4]) });
      expectObservable(source.pipe(normalise(n, { clock: () => 7, stage: 'norm' }))).toBe('g-a', {
        g: { ...gap, latency: { originUs: 7, stages: [['norm', 7]] } },
        a: features(1, [4], 7, { latency: { originUs: 100, stages: [...trace.stages, ['norm', 7]] } }),
      });
    });
    // One update from the single bin: alpha = 1/2, mean 0 -> 2, variance (1 + 4 * 2) / 2.
    expect(n.snapshot().mean).toEqual(Float64Array.of(2));
    expect(n.snapshot().std).toEqual(Float64Array.of(Math.sqrt(4.5)));
  });

  it('in adaptive mode normalises each bin with the statistics of the bins before it', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const source = cold('ab', { a: bin(0, [4]), b: bin(1, [4]) });
      const op = normalise({ mean: [0], std: [1], mode: 'adaptive', halfLifeBins: 1 }, { clock: () => 0 });
      // Each subscription starts from the given statistics.
      const expected = { a: features(0, [4], 0), b: features(1, [2 / Math.sqrt(4.5)], 0) };
      expectObservable(source.pipe(op)).toBe('ab', expected);
      expectObservable(source.pipe(op)).toBe('ab', expected);
    });
  });

  it('errors on non-finite counts and on the wrong channel count', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const op = normalise({ mean: [0, 0], std: [1, 1] }, { clock: () => 0 });
      expectObservable(cold('a', { a: bin(0, [1, Number.NaN]) }).pipe(op)).toBe(
        '#',
        undefined,
        new NonFiniteValueError('bin counts', 1, Number.NaN),
      );
      expectObservable(cold('a', { a: bin(0, [1, 2, 3]) }).pipe(op)).toBe(
        '#',
        undefined,
        new ChannelCountError(2, 3, 'bin counts'),
      );
    });
  });

  it('validates plain options when the operator is made', () => {
    expect(() => normalise({ mean: [0], std: [1, 2] })).toThrow(ChannelCountError);
  });
});
