import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import type { Bin, LatencyTrace } from '../types.js';
import { appendLatency, latencyBetween, stampLatency } from './stamp-latency.js';

const trace: LatencyTrace = {
  originUs: 1000,
  stages: [
    ['bin', 1200],
    ['decode', 1500],
  ],
};

describe('stampLatency', () => {
  it('appends [stage, now] to a shallow copy, starting a trace at now when there is none', () => {
    const scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
    const bin: Bin = { kind: 'bin', index: 0, startUs: 0, widthUs: 1000, counts: Float32Array.of(1) };
    scheduler.run(({ cold, expectObservable }) => {
      const source = cold('a-b', { a: bin, b: { ...bin, index: 1, latency: trace } });
      expectObservable(source.pipe(stampLatency('sink', () => scheduler.now() * 1000))).toBe('a-b', {
        a: { ...bin, latency: { originUs: 0, stages: [['sink', 0]] } },
        b: { ...bin, index: 1, latency: { originUs: 1000, stages: [...trace.stages, ['sink', 2000]] } },
      });
    });
    expect(bin.latency).toBeUndefined();
  });

  it('leaves the input trace untouched', () => {
    const appended = appendLatency(trace, 'sink', 2000);
    expect(trace.stages).toHaveLength(2);
    expect(appended.stages).toEqual([...trace.stages, ['sink', 2000]]);
  });
});

describe('latencyBetween', () => {
  it('measures from the origin or from a stage to a later stage', () => {
    expect(latencyBetween(trace, 'origin', 'decode')).toBe(500);
    expect(latencyBetween(trace, 'bin', 'decode')).toBe(300);
  });

  it('is undefined when a stamp or the trace is missing', () => {
    expect(latencyBetween(trace, 'origin', 'render')).toBeUndefined();
    expect(latencyBetween(trace, 'normalise', 'decode')).toBeUndefined();
    expect(latencyBetween(undefined, 'origin', 'decode')).toBeUndefined();
  });
});
