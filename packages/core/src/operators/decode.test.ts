import { from, lastValueFrom, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { ChannelCountError } from '../errors.js';
import type { DecodedBin, FeatureBin, FeatureEvent, Gap } from '../types.js';
import { decode, type StreamingDecoder } from './decode.js';

/** A decoder whose output is the running sum of its input features. */
class RunningSum implements StreamingDecoder<{ sum: Float32Array }> {
  readonly outputs = 2;
  states = 0;
  initialState() {
    this.states++;
    return { sum: new Float32Array(this.outputs) };
  }
  reset(state: { sum: Float32Array }) {
    state.sum.fill(0);
  }
  step(features: Float32Array, state: { sum: Float32Array }, out: Float32Array) {
    for (let i = 0; i < this.outputs; i++) state.sum[i] += features[i];
    out.set(state.sum);
    return out;
  }
}

const latency = { originUs: 1, stages: [['normalise', 2]] as const };

function fb(index: number, values: number[]): FeatureBin {
  return {
    kind: 'features',
    index,
    startUs: index * 1000,
    widthUs: 1000,
    features: Float32Array.from(values),
    latency,
  };
}

function db(index: number, output: number[], atUs: number): DecodedBin {
  return {
    kind: 'decoded',
    index,
    startUs: index * 1000,
    widthUs: 1000,
    output: Float32Array.from(output),
    latency: { originUs: 1, stages: [...latency.stages, ['decode', atUs]] },
  };
}

const gap: Gap = { kind: 'gap', startUs: 2000, endUs: 3000, firstBin: 2, bins: 1, reason: 'sequence' };
const inputs = { a: fb(0, [1, 2]), b: fb(1, [10, 20]), G: gap, c: fb(3, [100, 200]) };

describe('decode', () => {
  it('steps the decoder once per bin, carrying its state and stamping latency', () => {
    const scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
    scheduler.run(({ cold, expectObservable }) => {
      const op = decode(new RunningSum(), { clock: () => scheduler.now() * 1000 });
      expectObservable(cold('a-b|', inputs).pipe(op)).toBe('a-b|', {
        a: db(0, [1, 2], 0),
        b: db(1, [11, 22], 2000),
      });
    });
  });

  it('resets the state on a gap by default and passes the gap on', () => {
    new TestScheduler((actual, expected) => expect(actual).toEqual(expected)).run(
      ({ cold, expectObservable }) => {
        const op = decode(new RunningSum(), { clock: () => 5 });
        expectObservable(cold('abGc', inputs).pipe(op)).toBe('abGc', {
          a: db(0, [1, 2], 5),
          b: db(1, [11, 22], 5),
          G: { ...gap, latency: { originUs: 5, stages: [['decode', 5]] } },
          c: db(3, [100, 200], 5),
        });
      },
    );
  });

  it("keeps the state across a gap with onGap: 'hold'", () => {
    new TestScheduler((actual, expected) => expect(actual).toEqual(expected)).run(
      ({ cold, expectObservable }) => {
        const op = decode(new RunningSum(), { onGap: 'hold', clock: () => 5 });
        expectObservable(cold('aGc', inputs).pipe(op)).toBe('aGc', {
          a: db(0, [1, 2], 5),
          G: { ...gap, latency: { originUs: 5, stages: [['decode', 5]] } },
          c: db(3, [101, 202], 5),
        });
      },
    );
  });

  it('gives each subscription its own state', () => {
    const decoder = new RunningSum();
    new TestScheduler((actual, expected) => expect(actual).toEqual(expected)).run(
      ({ cold, expectObservable }) => {
        const decoded = cold('ab', inputs).pipe(decode(decoder, { clock: () => 5 }));
        const expected = { a: db(0, [1, 2], 5), b: db(1, [11, 22], 5) };
        expectObservable(decoded).toBe('ab', expected);
        expectObservable(decoded).toBe('ab', expected);
      },
    );
    expect(decoder.states).toBe(2);
  });

  it('copies each output out of the scratch array', async () => {
    const out = await lastValueFrom(
      from<FeatureEvent[]>([inputs.a, inputs.b]).pipe(decode(new RunningSum()), toArray()),
    );
    expect(out.map((event) => (event.kind === 'decoded' ? [...event.output] : event.kind))).toEqual([
      [1, 2],
      [11, 22],
    ]);
  });

  it('errors the stream when step throws or writes the wrong length', () => {
    const failing = new RunningSum();
    const boom = new Error('step failed');
    failing.step = () => {
      throw boom;
    };
    const short = new RunningSum();
    short.step = () => new Float32Array(1);
    new TestScheduler((actual, expected) => expect(actual).toEqual(expected)).run(
      ({ cold, expectObservable }) => {
        expectObservable(cold('Ga', inputs).pipe(decode(failing, { clock: () => 5 }))).toBe(
          'G#',
          { G: { ...gap, latency: { originUs: 5, stages: [['decode', 5]] } } },
          boom,
        );
        expectObservable(cold('a', inputs).pipe(decode(short))).toBe(
          '#',
          undefined,
          new ChannelCountError(2, 1, 'decoder output'),
        );
      },
    );
  });
});
