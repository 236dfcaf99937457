import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { map, type Observable, type SchedulerAction, type SchedulerLike, VirtualTimeScheduler } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../errors.js';
import type { Bin, BinEvent, Gap, RecordedSession } from '../types.js';
import { ReplaySource } from './replay.js';
import { writeSessionFile } from './writer.js';

const WIDTH = 20_000; // 20 ms

/** `bins` bins of 2 channels from `t0`, with holes of `holeUs` before each later segment start. */
function makeSession(bins: number, segmentStarts = [0], t0 = 5_000_000, holeUs = 100_000): RecordedSession {
  const startUs = new Float64Array(bins);
  let t = t0;
  for (let d = 0; d < bins; d++) {
    if (d > 0 && segmentStarts.includes(d)) t += holeUs;
    startUs[d] = t;
    t += WIDTH;
  }
  return {
    metadata: { channels: 2, channelLabels: ['a', 'b'], binWidthUs: WIDTH, kinematicNames: ['x'] },
    bins,
    counts: Float32Array.from({ length: bins * 2 }, (_, i) => i % 9),
    kinematics: Float64Array.from({ length: bins }, (_, i) => i / 4),
    startUs,
    segmentStarts: bins > 0 ? segmentStarts : [],
    markers: [],
  };
}

interface Emission {
  readonly t: number;
  readonly e: BinEvent;
}

/** Subscribes, optionally runs `during` at virtual times, flushes, and returns what was emitted when. */
function record(
  scheduler: VirtualTimeScheduler,
  events$: Observable<BinEvent>,
  during: Array<[atMs: number, act: () => void]> = [],
): { emissions: Emission[]; completedAt: number | undefined } {
  const emissions: Emission[] = [];
  let completedAt: number | undefined;
  events$.subscribe({
    next: (e) => emissions.push({ t: scheduler.now(), e }),
    complete: () => {
      completedAt = scheduler.now();
    },
  });
  for (const [at, act] of during) scheduler.schedule(act, at);
  scheduler.flush();
  return { emissions, completedAt };
}

const binsOf = (emissions: readonly Emission[]) =>
  emissions.filter((x): x is { t: number; e: Bin } => x.e.kind === 'bin');

describe('ReplaySource timing', () => {
  it('emits each bin when it is complete, at speed 1 and at speed 4', () => {
    const source = new ReplaySource(makeSession(50));
    expect(source.length).toBe(50);
    expect(source.durationUs).toBe(50 * WIDTH);
    for (const speed of [1, 4]) {
      const scheduler = new VirtualTimeScheduler();
      const { emissions, completedAt } = record(scheduler, source.events$({ speed, scheduler }));
      expect(emissions.map((x) => x.t)).toEqual(Array.from({ length: 50 }, (_, i) => ((i + 1) * 20) / speed));
      expect(emissions.map((x) => (x.e as Bin).index)).toEqual(Array.from({ length: 50 }, (_, i) => i));
      expect(completedAt).toBe(1000 / speed);
    }
  });

  it('reads as marbles with a TestScheduler', () => {
    const testScheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
    testScheduler.run(({ expectObservable }) => {
      const events$ = new ReplaySource(makeSession(3)).events$({ scheduler: testScheduler, speed: 2 });
      const indices$ = events$.pipe(map((e) => (e.kind === 'bin' ? e.index : -1)));
      expectObservable(indices$).toBe('10ms a 9ms b 9ms (c|)', { a: 0, b: 1, c: 2 });
    });
  });

  it('emits everything at once at speed Infinity', () => {
    const source = new ReplaySource(makeSession(3000, [0, 1000, 2000]));
    const scheduler = new VirtualTimeScheduler();
    const { emissions, completedAt } = record(
      scheduler,
      source.events$({ speed: Number.POSITIVE_INFINITY, scheduler }),
    );
    expect(binsOf(emissions)).toHaveLength(3000);
    expect(emissions.filter((x) => x.e.kind === 'gap')).toHaveLength(2);
    expect(emissions.every((x) => x.t === 0)).toBe(true);
    expect(completedAt).toBe(0);
  });

  it('emits gaps at their end, before the bin that follows', () => {
    const scheduler = new VirtualTimeScheduler();
    const source = new ReplaySource(makeSession(20, [0, 10], 5_000_000, 100_000));
    expect(source.durationUs).toBe(20 * WIDTH + 100_000);
    const { emissions } = record(scheduler, source.events$({ scheduler }));
    const gaps = emissions.filter((x) => x.e.kind === 'gap');
    // Bin 9 ends at 200 ms; bin 10 starts after a 100 ms hole, at 300 ms, and ends at 320 ms.
    expect(gaps).toEqual([
      {
        t: 300,
        e: { kind: 'gap', startUs: 5_200_000, endUs: 5_300_000, reason: 'segment', firstBin: 10, bins: 0 },
      },
    ]);
    expect(emissions[10]).toBe(gaps[0]);
    expect(emissions[11]).toMatchObject({ t: 320, e: { kind: 'bin', index: 10 } });
  });

  it('closes up time that goes backwards between joined trials', () => {
    const session = makeSession(6, [0, 3]);
    const startUs = Float64Array.of(0, 20_000, 40_000, 0, 20_000, 40_000); // both trials start at 0
    const source = new ReplaySource({ ...session, startUs });
    expect(source.durationUs).toBe(6 * WIDTH);
    const scheduler = new VirtualTimeScheduler();
    const { emissions } = record(scheduler, source.events$({ scheduler }));
    expect(emissions.map((x) => [x.t, x.e.kind])).toEqual([
      [20, 'bin'],
      [40, 'bin'],
      [60, 'bin'],
      [60, 'gap'],
      [80, 'bin'],
      [100, 'bin'],
      [120, 'bin'],
    ]);
  });

  it('does not drift over 10,000 bins, even when every timer fires late', () => {
    const source = new ReplaySource(makeSession(10_000));
    const scheduler = new VirtualTimeScheduler();
    // Every action runs 0.5 ms after it was asked for, as real timers do; chaining delays would add it up.
    const late: SchedulerLike = {
      now: () => scheduler.now(),
      schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay = 0, state?: T) {
        return scheduler.schedule(work, delay + 0.5, state);
      },
    };
    const { emissions } = record(scheduler, source.events$({ scheduler: late }));
    const times = binsOf(emissions).map((x) => x.t);
    expect(times).toHaveLength(10_000);
    const wrong = times.findIndex((t, i) => t !== (i + 1) * 20 + 0.5);
    expect(wrong).toBe(-1);
  });
});

describe('ReplaySource positions', () => {
  it('starts from fromBin, measuring time from that bin', () => {
    const scheduler = new VirtualTimeScheduler();
    const source = new ReplaySource(makeSession(50, [0, 10]));
    const { emissions } = record(scheduler, source.events$({ scheduler, fromBin: 30 }));
    expect(emissions.map((x) => [x.t, (x.e as Bin).index])).toEqual(
      Array.from({ length: 20 }, (_, i) => [(i + 1) * 20, 30 + i]),
    );
    const atEnd = record(new VirtualTimeScheduler(), source.events$({ scheduler, fromBin: 50 }));
    expect(atEnd.emissions).toEqual([]);
  });

  it('seeks forward and back in a running replay, with a seek gap at the jump', () => {
    const scheduler = new VirtualTimeScheduler();
    const source = new ReplaySource(makeSession(100));
    const { emissions, completedAt } = record(scheduler, source.events$({ scheduler }), [
      [110, () => source.seek(50)], // after bins 0..4 (20..100 ms)
      [205, () => source.seek(10)], // after bins 50..53 (130..190 ms)
    ]);
    const summary = emissions.map((x) => [x.t, x.e.kind === 'bin' ? x.e.index : x.e]);
    expect(summary.slice(0, 12)).toEqual([
      [20, 0],
      [40, 1],
      [60, 2],
      [80, 3],
      [100, 4],
      [110, { kind: 'gap', startUs: 5_100_000, endUs: 6_000_000, reason: 'seek', firstBin: 5, bins: 45 }],
      [130, 50],
      [150, 51],
      [170, 52],
      [190, 53],
      [205, { kind: 'gap', startUs: 5_200_000, endUs: 5_200_000, reason: 'seek' }],
      [225, 10],
    ]);
    expect(binsOf(emissions)).toHaveLength(5 + 4 + 90);
    expect(completedAt).toBe(205 + 90 * 20);
  });

  it('seeks by time, to the bin in progress, and to the end', () => {
    const scheduler = new VirtualTimeScheduler();
    const source = new ReplaySource(makeSession(100));
    const { emissions, completedAt } = record(scheduler, source.events$({ scheduler }), [
      [50, () => source.seekTime(1_010_000)], // 1.01 s in: bin 50 is in progress
      [95, () => source.seekTime(source.durationUs)],
    ]);
    expect(binsOf(emissions).map((x) => [x.t, x.e.index])).toEqual([
      [20, 0],
      [40, 1],
      [70, 50],
      [90, 51],
    ]);
    expect(emissions.filter((x) => x.e.kind === 'gap').map((x) => x.t)).toEqual([50]);
    expect(completedAt).toBe(95);
  });

  it('re-anchors without a gap when seeking to the bin that is due next', () => {
    const scheduler = new VirtualTimeScheduler();
    const source = new ReplaySource(makeSession(5));
    const { emissions } = record(scheduler, source.events$({ scheduler }), [[30, () => source.seek(1)]]);
    expect(emissions.map((x) => [x.t, x.e.kind])).toEqual([
      [20, 'bin'],
      [50, 'bin'],
      [70, 'bin'],
      [90, 'bin'],
      [110, 'bin'],
    ]);
  });
});

describe('ReplaySource sources and objects', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'edge-bci-replay-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const all = (source: ReplaySource) => {
    const scheduler = new VirtualTimeScheduler();
    return record(scheduler, source.events$({ speed: Number.POSITIVE_INFINITY, scheduler }));
  };

  it('replays a file exactly as the session it holds, and damage as a corrupt gap', () => {
    const session = makeSession(60, [0, 25]);
    const path = join(dir, 'replay.ebci');
    writeSessionFile(path, session, { binsPerChunk: 10 });
    const fromSession = new ReplaySource(session);
    const fromFile = new ReplaySource(path);
    expect(fromFile.metadata).toEqual(session.metadata);
    expect(fromFile.fileReport?.cleanClose).toBe(true);
    expect(fromFile.length).toBe(60);
    expect(fromFile.durationUs).toBe(fromSession.durationUs);
    const s1 = new VirtualTimeScheduler();
    const s2 = new VirtualTimeScheduler();
    expect(record(s2, fromFile.events$({ scheduler: s2 }))).toEqual(
      record(s1, fromSession.events$({ scheduler: s1 })),
    );

    // Break the chunk holding bins 30..34 (chunks: 0-9, 10-19, 20-24, gap, 25-34, ...): bins 25..34 are lost.
    const bytes = readFileSync(path);
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    let at = 16 + view.getUint32(8, true);
    for (let chunk = 0; chunk < 4; chunk++) at += 16 + view.getUint32(at + 8, true);
    expect(view.getUint32(at + 12, true)).toBe(25); // first bin of this chunk
    bytes[at + 50]! ^= 1;
    const damaged = new ReplaySource(bytes);
    expect(damaged.length).toBe(50);
    expect(damaged.fileReport?.corrupt).toHaveLength(1);
    const d = all(damaged);
    const gaps = d.emissions.filter((x) => x.e.kind === 'gap').map((x) => x.e as Gap);
    expect(gaps.map((g) => [g.reason, g.firstBin, g.bins])).toEqual([
      ['segment', 25, 0],
      ['corrupt', 25, 10],
    ]);
    expect(binsOf(d.emissions).map((x) => x.e.index)).toEqual([
      ...Array.from({ length: 25 }, (_, i) => i),
      ...Array.from({ length: 25 }, (_, i) => 35 + i),
    ]);
  });

  it('emits fresh objects: subscribers may change what they get', () => {
    const source = new ReplaySource(makeSession(4));
    const first = binsOf(all(source).emissions);
    for (const x of first) {
      x.e.counts.fill(99);
      x.e.kinematics!.fill(99);
    }
    const second = binsOf(all(source).emissions);
    expect([...second[1]!.e.counts]).toEqual([2, 3]);
    expect([...second[1]!.e.kinematics!]).toEqual([0.25]);
    expect(second[1]!.e.counts).toBeInstanceOf(Float32Array);
    expect(second[1]!.e.kinematics).toBeInstanceOf(Float64Array);
  });

  it('refuses bad options', () => {
    const source = new ReplaySource(makeSession(4));
    for (const speed of [0, -1, Number.NaN])
      expect(() => source.events$({ speed })).toThrow(InvalidOptionError);
    expect(() => source.events$({ fromBin: -1 })).toThrow(/fromBin/);
    expect(() => source.seek(Number.NaN)).toThrow(InvalidOptionError);
    expect(() => source.seekTime(Number.POSITIVE_INFINITY)).toThrow(InvalidOptionError);
  });
});
