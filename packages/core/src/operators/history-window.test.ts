import { from, lastValueFrom, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { ChannelCountError, InvalidOptionError } from '../errors.js';
import type { FeatureBin, FeatureEvent, Gap, HistoryBin } from '../types.js';
import { historyWindow } from './history-window.js';

const latency = { originUs: 1, stages: [['normalise', 2]] as const };

/** Feature bin `index` with values [10 * index + 1, 10 * index + 2]. */
function fb(index: number): FeatureBin {
  return {
    kind: 'features',
    index,
    startUs: index * 1000,
    widthUs: 1000,
    features: Float32Array.of(10 * index + 1, 10 * index + 2),
    latency,
  };
}

function hb(index: number, depth: number, rows: number[]): HistoryBin {
  return {
    kind: 'history',
    index,
    startUs: index * 1000,
    widthUs: 1000,
    depth,
    window: Float32Array.from(rows),
    latency,
  };
}

const gap: Gap = { kind: 'gap', startUs: 3000, endUs: 5000, firstBin: 3, bins: 2, reason: 'sequence' };
const bins = { a: fb(0), b: fb(1), c: fb(2), d: fb(5), e: fb(6), G: gap };
const testScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

describe('historyWindow', () => {
  it("waits for `depth` bins, then emits the last `depth` oldest first ('wait')", () => {
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('abc|', bins).pipe(historyWindow(2))).toBe('-xy|', {
        x: hb(1, 2, [1, 2, 11, 12]),
        y: hb(2, 2, [11, 12, 21, 22]),
      });
    });
  });

  it('passes a gap through and starts the window again after it', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('abcGde', bins).pipe(historyWindow(2))).toBe('-xyG-z', {
        x: hb(1, 2, [1, 2, 11, 12]),
        y: hb(2, 2, [11, 12, 21, 22]),
        G: gap,
        z: hb(6, 2, [51, 52, 61, 62]),
      });
    });
  });

  it("pads with zeros before `depth` bins have arrived ('zeros'), also after a gap", () => {
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('abGd', bins).pipe(historyWindow(3, { fill: 'zeros' }))).toBe('xyGz', {
        x: hb(0, 3, [0, 0, 0, 0, 1, 2]),
        y: hb(1, 3, [0, 0, 1, 2, 11, 12]),
        G: gap,
        z: hb(5, 3, [0, 0, 0, 0, 51, 52]),
      });
    });
  });

  it('wraps around the ring buffer in order', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('abcde', { ...bins, d: fb(3), e: fb(4) }).pipe(historyWindow(3))).toBe('--xyz', {
        x: hb(2, 3, [1, 2, 11, 12, 21, 22]),
        y: hb(3, 3, [11, 12, 21, 22, 31, 32]),
        z: hb(4, 3, [21, 22, 31, 32, 41, 42]),
      });
    });
  });

  it('emits a new array per bin that later input does not change', async () => {
    const input = [fb(0), fb(1), fb(2)];
    const out = await lastValueFrom(from<FeatureEvent[]>(input).pipe(historyWindow(1), toArray()));
    input[0].features.fill(99);
    const windows = out.map((event) => (event.kind === 'history' ? event.window : undefined));
    expect(windows.map((window) => [...(window ?? [])])).toEqual([
      [1, 2],
      [11, 12],
      [21, 22],
    ]);
    expect(windows[0]).not.toBe(windows[1]);
  });

  it('errors when the channel count changes, and rejects a bad depth', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const wide: FeatureBin = { ...fb(1), features: Float32Array.of(1, 2, 3) };
      expectObservable(cold('ab', { a: fb(0), b: wide }).pipe(historyWindow(2))).toBe(
        '-#',
        undefined,
        new ChannelCountError(2, 3, 'feature bin'),
      );
    });
    expect(() => historyWindow(0)).toThrow(InvalidOptionError);
    expect(() => historyWindow(1.5)).toThrow(InvalidOptionError);
  });
});
