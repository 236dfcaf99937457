import type { OperatorFunction } from 'rxjs';
import { type RunHelpers, TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { ChannelCountError, InvalidOptionError } from '../errors.js';
import type { Bin, BinEvent, Frame, Gap, SpikeCountFrame, SpikeEventFrame } from '../types.js';
import { type BinSpikesOptions, binSpikes, createBinningStats } from './bin-spikes.js';
import { InvalidFrameError } from './errors.js';

// 1 ms frames, 4 frames per bin, 2 channels unless a test says otherwise.
const W = 4000;
const received = (seq: number) => 1_000_000 + seq * 1000;

/** A counts frame; by default it starts at seq * 1 ms and carries counts [seq, 1]. */
function cf(seq: number, extra: Partial<SpikeCountFrame> = {}): SpikeCountFrame {
  return {
    kind: 'counts',
    seq,
    deviceTimeUs: seq * 1000,
    durationUs: 1000,
    counts: Uint16Array.of(seq, 1),
    receivedUs: received(seq),
    ...extra,
  };
}

function ef(
  seq: number,
  events: ReadonlyArray<readonly [channel: number, offsetUs: number]>,
): SpikeEventFrame {
  return {
    kind: 'events',
    seq,
    deviceTimeUs: seq * 1000,
    durationUs: 1000,
    channels: Uint16Array.from(events, ([channel]) => channel),
    offsetsUs: Uint32Array.from(events, ([, offset]) => offset),
    receivedUs: received(seq),
  };
}

/** The expected bin, emitted at virtual frame `at` by the frame of sequence number `bySeq`. */
function bin(index: number, counts: number[], at: number, bySeq: number, extra: Partial<Bin> = {}): Bin {
  return {
    kind: 'bin',
    index,
    startUs: index * W,
    widthUs: W,
    counts: Float32Array.from(counts),
    latency: { originUs: received(bySeq), stages: [['bin', at * 1000]] },
    ...extra,
  };
}

function gap(firstBin: number, bins: number, reason: string, at: number, extra: Partial<Gap> = {}): Gap {
  return {
    kind: 'gap',
    startUs: firstBin * W,
    endUs: (firstBin + bins) * W,
    firstBin,
    bins,
    reason,
    latency: { originUs: at * 1000, stages: [['bin', at * 1000]] },
    ...extra,
  };
}

/** Runs `test` with a fresh TestScheduler whose virtual time (1 frame = 1 ms) is the binner's clock. */
function run(
  options: Partial<BinSpikesOptions>,
  test: (helpers: RunHelpers & { bins: OperatorFunction<Frame | Gap, BinEvent> }) => void,
): void {
  const scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  scheduler.run((helpers) => {
    const bins = binSpikes({ binWidthUs: W, channels: 2, clock: () => scheduler.now() * 1000, ...options });
    test({ ...helpers, bins });
  });
}

describe('binSpikes', () => {
  it('sums counts frames into bins, each emitted by the frame that completes it', () => {
    const frames = Object.fromEntries([...'abcdefghi'].map((key, seq) => [key, cf(seq)]));
    run({}, ({ cold, expectObservable, bins }) => {
      // The ninth frame starts bin 2, which is incomplete at completion and never emitted.
      expectObservable(cold('abcdefghi|', frames).pipe(bins)).toBe('---x---y-|', {
        x: bin(0, [0 + 1 + 2 + 3, 4], 3, 3),
        y: bin(1, [4 + 5 + 6 + 7, 4], 7, 7),
      });
    });
  });

  it('attributes events by their absolute time, across frame and bin boundaries', () => {
    // Bins start at 500 us: [500, 4500), [4500, 8500), ...
    const frames = {
      a: ef(0, [
        [0, 100], // 100 us: before bin 0, discarded
        [1, 600], // bin 0
      ]),
      b: ef(1, [
        [2, 0],
        [2, 999],
      ]),
      c: ef(2, []),
      d: ef(3, []),
      e: ef(4, [
        [0, 499], // 4499 us: bin 0
        [1, 500], // 4500 us: bin 1
      ]),
      f: ef(5, []),
      g: ef(6, []),
      h: ef(7, []),
      i: ef(8, [
        [2, 400], // 8400 us: bin 1
        [0, 600], // 8600 us: bin 2, never completed
      ]),
    };
    run({ channels: 3, originUs: 500 }, ({ cold, expectObservable, bins }) => {
      expectObservable(cold('abcdefghi|', frames).pipe(bins)).toBe('----x---y|', {
        x: bin(0, [1, 1, 2], 4, 4, { startUs: 500 }),
        y: bin(1, [0, 1, 1], 8, 8, { startUs: 4500 }),
      });
    });
  });

  it('reports a sequence jump as one gap covering the partial bins at both ends of the hole', () => {
    const frames = {
      ...Object.fromEntries([...'abcdef'].map((key, seq) => [key, cf(seq)])),
      g: cf(10), // frames 6..9 lost: data resumes in the middle of bin 2
      h: cf(11),
      ...Object.fromEntries([...'ijkl'].map((key, i) => [key, cf(12 + i)])),
    };
    run({}, ({ cold, expectObservable, bins }) => {
      expectObservable(cold('abcdefghijkl', frames).pipe(bins)).toBe('---x--g----y', {
        x: bin(0, [6, 4], 3, 3),
        // Bin 1 had frames 4 and 5, bin 2 has frames 10 and 11: neither is whole, both are reported missing.
        g: gap(1, 2, 'sequence', 6, {
          lostFrames: 4,
          latency: { originUs: received(10), stages: [['bin', 6000]] },
        }),
        y: bin(3, [12 + 13 + 14 + 15, 4], 11, 15),
      });
    });
  });

  it('reports a hole inside one bin as a gap of that bin', () => {
    const frames = {
      ...Object.fromEntries([...'abcde'].map((key, seq) => [key, cf(seq)])),
      f: cf(6),
      g: cf(7),
      ...Object.fromEntries([...'hijk'].map((key, i) => [key, cf(8 + i)])),
    };
    run({}, ({ cold, expectObservable, bins }) => {
      expectObservable(cold('abcdefghijk', frames).pipe(bins)).toBe('---x-g----y', {
        x: bin(0, [6, 4], 3, 3),
        g: gap(1, 1, 'sequence', 5, {
          lostFrames: 1,
          latency: { originUs: received(6), stages: [['bin', 5000]] },
        }),
        y: bin(2, [8 + 9 + 10 + 11, 4], 10, 11),
      });
    });
  });

  it('reports a time jump with continuous sequence numbers, on bin boundaries', () => {
    const frames = {
      ...Object.fromEntries([...'abcd'].map((key, seq) => [key, cf(seq)])),
      e: cf(4),
      f: cf(5, { deviceTimeUs: 12_000 }), // the clock skipped 7 ms: bin 1 is partial, bin 2 empty
      g: cf(6, { deviceTimeUs: 13_000 }),
      h: cf(7, { deviceTimeUs: 14_000 }),
      i: cf(8, { deviceTimeUs: 15_000 }),
    };
    run({}, ({ cold, expectObservable, bins }) => {
      expectObservable(cold('abcdefghi', frames).pipe(bins)).toBe('---x-g--y', {
        x: bin(0, [6, 4], 3, 3),
        g: gap(1, 2, 'time', 5, { latency: { originUs: received(5), stages: [['bin', 5000]] } }),
        y: bin(3, [5 + 6 + 7 + 8, 4], 8, 8),
      });
    });
  });

  it('reports an input gap at once and continues its latency trace', () => {
    const frames = {
      ...Object.fromEntries([...'abcdef'].map((key, seq) => [key, cf(seq)])),
      G: {
        kind: 'gap',
        startUs: 6000,
        endUs: 9000,
        reason: 'corrupt',
        lostFrames: 3,
        latency: { originUs: 5500, stages: [['device', 5800]] },
      } satisfies Gap,
      ...Object.fromEntries([...'hijklmn'].map((key, i) => [key, cf(9 + i)])),
    };
    run({}, ({ cold, expectObservable, bins }) => {
      // Frame 9 continues where the input gap said data resumes: no second gap.
      expectObservable(cold('abcdefGhijklmn', frames).pipe(bins)).toBe('---x--G------y', {
        x: bin(0, [6, 4], 3, 3),
        G: gap(1, 2, 'corrupt', 6, {
          lostFrames: 3,
          latency: {
            originUs: 5500,
            stages: [
              ['device', 5800],
              ['bin', 6000],
            ],
          },
        }),
        y: bin(3, [12 + 13 + 14 + 15, 4], 13, 15),
      });
    });
  });

  it('reports further bins when data resumes later than an input gap said', () => {
    const frames = {
      ...Object.fromEntries([...'abcdef'].map((key, seq) => [key, cf(seq)])),
      G: { kind: 'gap', startUs: 6000, endUs: 6000, reason: 'disconnect' } satisfies Gap,
      h: cf(20),
      i: cf(21),
      j: cf(22),
      k: cf(23),
    };
    run({}, ({ cold, expectObservable, bins }) => {
      expectObservable(cold('abcdefGhijk', frames).pipe(bins)).toBe('---x--Gg--y', {
        x: bin(0, [6, 4], 3, 3),
        G: gap(1, 1, 'disconnect', 6),
        // The disconnect gap did not say how many frames were lost, so only the time jump is seen.
        g: gap(2, 3, 'time', 7, { latency: { originUs: received(20), stages: [['bin', 7000]] } }),
        y: bin(5, [20 + 21 + 22 + 23, 4], 10, 23),
      });
    });
  });

  it('signals a break on a bin boundary as a gap of zero bins, once', () => {
    const frames = {
      ...Object.fromEntries([...'abcd'].map((key, seq) => [key, cf(seq)])),
      e: cf(6, { deviceTimeUs: 4000 }), // seq says 2 frames lost, time says nothing is missing
      f: cf(7, { deviceTimeUs: 5000 }),
      g: cf(8, { deviceTimeUs: 6000 }),
      h: cf(9, { deviceTimeUs: 7000 }),
      G: { kind: 'gap', startUs: 8000, endUs: 8000, reason: 'corrupt' } satisfies Gap,
      H: { kind: 'gap', startUs: 8000, endUs: 8000, reason: 'corrupt' } satisfies Gap,
    };
    run({}, ({ cold, expectObservable, bins }) => {
      expectObservable(cold('abcdefghGH', frames).pipe(bins)).toBe('---xg--yG-', {
        x: bin(0, [6, 4], 3, 3),
        g: gap(1, 0, 'sequence', 4, {
          lostFrames: 2,
          latency: { originUs: received(6), stages: [['bin', 4000]] },
        }),
        y: bin(1, [6 + 7 + 8 + 9, 4], 7, 9),
        G: gap(2, 0, 'corrupt', 8),
      });
    });
  });

  it('ignores an input gap before the first frame', () => {
    const frames = {
      G: { kind: 'gap', startUs: 0, endUs: 0, reason: 'disconnect' } satisfies Gap,
      a: cf(0),
      b: cf(1),
      c: cf(2),
      d: cf(3),
    };
    run({}, ({ cold, expectObservable, bins }) => {
      expectObservable(cold('Gabcd', frames).pipe(bins)).toBe('----x', { x: bin(0, [6, 4], 4, 3) });
    });
  });

  it('drops and counts frames that repeat a sequence number or go back in time', () => {
    const stats = createBinningStats();
    const frames = {
      a: cf(0),
      b: cf(1),
      c: cf(1, { counts: Uint16Array.of(100, 100) }),
      d: cf(2),
      e: cf(3, { deviceTimeUs: 1000, counts: Uint16Array.of(100, 100) }),
      f: cf(3),
      g: cf(0, { deviceTimeUs: 4000 }),
    };
    run({ stats }, ({ cold, expectObservable, bins }) => {
      expectObservable(cold('abcdefg|', frames).pipe(bins)).toBe('-----x-|', { x: bin(0, [6, 4], 5, 3) });
    });
    expect(stats).toEqual({ frames: 7, dropped: 3, bins: 1, gaps: 0, lostBins: 0 });
  });

  it('counts gaps and lost bins in stats', () => {
    const stats = createBinningStats();
    const frames = { a: cf(0), b: cf(1), c: cf(2), d: cf(3), e: cf(4), f: cf(13) };
    run({ stats }, ({ cold, expectObservable, bins }) => {
      expectObservable(cold('abcdef|', frames).pipe(bins)).toBe('---x-g|', {
        x: bin(0, [6, 4], 3, 3),
        g: gap(1, 3, 'sequence', 5, {
          lostFrames: 8,
          latency: { originUs: received(13), stages: [['bin', 5000]] },
        }),
      });
    });
    expect(stats).toEqual({ frames: 6, dropped: 0, bins: 1, gaps: 1, lostBins: 3 });
  });

  it('absorbs jitter within a quarter frame and treats more as a time jump', () => {
    const frames = {
      ...Object.fromEntries([...'abcd'].map((key, seq) => [key, cf(seq)])),
      e: cf(4, { deviceTimeUs: 3800 }), // 200 us early: still continuous, counted in bin 1
      f: cf(5, { deviceTimeUs: 5100 }),
      g: cf(6, { deviceTimeUs: 6000 }),
      h: cf(7, { deviceTimeUs: 7000 }),
      i: cf(8, { deviceTimeUs: 8300 }), // 300 us late: a time jump
    };
    run({}, ({ cold, expectObservable, bins }) => {
      expectObservable(cold('abcdefghi', frames).pipe(bins)).toBe('---x---yg', {
        x: bin(0, [6, 4], 3, 3),
        y: bin(1, [4 + 5 + 6 + 7, 4], 7, 7),
        g: gap(2, 1, 'time', 8, { latency: { originUs: received(8), stages: [['bin', 8000]] } }),
      });
    });
  });

  it('emits every bin a burst of frames completes, in one frame of virtual time', () => {
    const frames = Object.fromEntries([...'abcdefgh'].map((key, seq) => [key, cf(seq)]));
    run({}, ({ cold, expectObservable, bins }) => {
      expectObservable(cold('(abcdefgh)', frames).pipe(bins)).toBe('(xy)', {
        x: bin(0, [6, 4], 0, 3),
        y: bin(1, [22, 4], 0, 7),
      });
    });
  });

  it('skips the partial first bin when originUs falls after the first frame', () => {
    const frames = Object.fromEntries([...'abcdef'].map((key, seq) => [key, cf(seq)]));
    run({ originUs: 2000 }, ({ cold, expectObservable, bins }) => {
      expectObservable(cold('abcdef', frames).pipe(bins)).toBe('-----x', {
        x: bin(0, [2 + 3 + 4 + 5, 4], 5, 5, { startUs: 2000 }),
      });
    });
  });

  it('forms kinematics as the mean, or the last, of the frames of a bin', () => {
    const frames = Object.fromEntries(
      [...'abcd'].map((key, seq) => [key, cf(seq, { kinematics: Float64Array.of(seq, 2 * seq) })]),
    );
    run({}, ({ cold, expectObservable, bins }) => {
      expectObservable(cold('abcd', frames).pipe(bins)).toBe('---x', {
        x: bin(0, [6, 4], 3, 3, { kinematics: Float64Array.of(1.5, 3) }),
      });
    });
    run({ kinematics: 'last' }, ({ cold, expectObservable, bins }) => {
      expectObservable(cold('abcd', frames).pipe(bins)).toBe('---x', {
        x: bin(0, [6, 4], 3, 3, { kinematics: Float64Array.of(3, 6) }),
      });
    });
  });

  it('starts the latency trace at the clock when frames carry no receipt time', () => {
    const frames = Object.fromEntries(
      [...'abcd'].map((key, seq) => [key, cf(seq, { receivedUs: undefined })]),
    );
    run({ stage: 'binner' }, ({ cold, expectObservable, bins }) => {
      expectObservable(cold('ab-cd', frames).pipe(bins)).toBe('----x', {
        x: bin(0, [6, 4], 4, 3, { latency: { originUs: 4000, stages: [['binner', 4000]] } }),
      });
    });
  });

  it('errors with ChannelCountError on a counts frame of the wrong width', () => {
    const frames = { a: cf(0), b: cf(1, { counts: Uint16Array.of(1, 2, 3) }) };
    run({}, ({ cold, expectObservable, bins }) => {
      expectObservable(cold('ab', frames).pipe(bins)).toBe(
        '-#',
        undefined,
        new ChannelCountError(2, 3, 'counts frame'),
      );
    });
  });

  it('errors with ChannelCountError on an event channel out of range', () => {
    const frames = { a: ef(0, [[2, 10]]) };
    run({}, ({ cold, expectObservable, bins }) => {
      expectObservable(cold('a', frames).pipe(bins)).toBe(
        '#',
        undefined,
        new ChannelCountError(2, 3, 'events frame'),
      );
    });
  });

  it('errors with InvalidFrameError on a frame longer than a bin or an event outside its frame', () => {
    run({}, ({ cold, expectObservable, bins }) => {
      expectObservable(cold('a', { a: cf(0, { durationUs: 5000 }) }).pipe(bins)).toBe(
        '#',
        undefined,
        new InvalidFrameError(0, 'durationUs must be in (0, 4000], got 5000'),
      );
      expectObservable(cold('a', { a: ef(0, [[1, 1000]]) }).pipe(bins)).toBe(
        '#',
        undefined,
        new InvalidFrameError(0, 'event 0 at offset 1000 is outside the frame'),
      );
    });
  });

  it('keeps separate state for each subscription', () => {
    const frames: Record<string, Frame> = Object.fromEntries([...'abcd'].map((key, seq) => [key, cf(seq)]));
    run({}, ({ cold, expectObservable, bins }) => {
      const binned = cold('abcd', frames).pipe(bins);
      expectObservable(binned).toBe('---x', { x: bin(0, [6, 4], 3, 3) });
      expectObservable(binned).toBe('---x', { x: bin(0, [6, 4], 3, 3) });
    });
  });

  it('rejects invalid options', () => {
    expect(() => binSpikes({ binWidthUs: 0, channels: 2 })).toThrow(InvalidOptionError);
    expect(() => binSpikes({ binWidthUs: W, channels: 1.5 })).toThrow(InvalidOptionError);
    expect(() => binSpikes({ binWidthUs: W, channels: 2, originUs: Number.NaN })).toThrow(InvalidOptionError);
  });
});
