import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChannelCountError, InvalidOptionError, NonFiniteValueError } from '../errors.js';
import type { Bin, RecordedSession, SessionMetadata } from '../types.js';
import { readSessionFile } from './reader.js';
import { SessionFileClosedError, SessionFileWriter, writeSessionFile } from './writer.js';

const META: SessionMetadata = {
  channels: 3,
  channelLabels: ['a', 'b', 'c'],
  binWidthUs: 20_000,
  kinematicNames: ['vel_x', 'vel_y'],
};

function bin(
  index: number,
  options: { startUs?: number; kinematics?: boolean; counts?: number[] } = {},
): Bin {
  return {
    kind: 'bin',
    index,
    startUs: options.startUs ?? 500_000 + index * 20_000,
    widthUs: 20_000,
    counts: Float32Array.from(options.counts ?? [index % 5, 1, (index * 7) % 3]),
    ...(options.kinematics === false ? {} : { kinematics: Float64Array.of(index / 10, -index / 3) }),
  };
}

/** Chunk types in file order, by the documented layout (see docs/session-format.md). */
function chunkTypes(path: string): Array<{ type: number; bins: number }> {
  const bytes = readFileSync(path);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Array<{ type: number; bins: number }> = [];
  for (let at = 16 + view.getUint32(8, true); at < bytes.length; at += 16 + view.getUint32(at + 8, true)) {
    const type = bytes[at + 4]!;
    out.push({ type, bins: type === 1 ? view.getUint32(at + 16, true) : 0 });
  }
  return out;
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'edge-bci-writer-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('SessionFileWriter', () => {
  it('groups consecutive bins into chunks of binsPerChunk and starts a chunk where continuity breaks', () => {
    const path = join(dir, 'chunks.ebci');
    const w = SessionFileWriter.create(path, META, { binsPerChunk: 4 });
    for (let i = 0; i < 10; i++) w.appendBin(bin(i)); // 4 + 4, two buffered
    w.appendBin(bin(12)); // index jump: the two buffered bins go out first
    w.appendBin(bin(13, { startUs: 900_000 })); // same run by index, but a time jump
    w.appendBin(bin(14, { startUs: 920_000, kinematics: false })); // kinematics stop
    w.close();
    expect(chunkTypes(path)).toEqual([
      { type: 1, bins: 4 },
      { type: 1, bins: 4 },
      { type: 1, bins: 2 },
      { type: 1, bins: 1 },
      { type: 1, bins: 1 },
      { type: 1, bins: 1 },
      { type: 4, bins: 0 },
    ]);
    const { events, session, report } = readSessionFile(path);
    expect(events.map((e) => (e.kind === 'bin' ? [e.index, e.startUs] : e.kind))).toEqual([
      ...Array.from({ length: 10 }, (_, i) => [i, 500_000 + i * 20_000]),
      [12, 740_000],
      [13, 900_000],
      [14, 920_000],
    ]);
    expect(events[12]).not.toHaveProperty('kinematics');
    // Only the index jump breaks continuity; the last bin's kinematics are unknown (NaN), not zero.
    expect(session.segmentStarts).toEqual([0, 10]);
    expect([...session.kinematics.subarray(24)]).toEqual([Number.NaN, Number.NaN]);
    expect(report.totals).toEqual({ chunks: 6, bins: 13, gaps: 0, markers: 0, nextBin: 15, endUs: 940_000 });
  });

  it('puts each chunk on disk as soon as it is complete, so an unclosed file reads as a clean prefix', () => {
    const path = join(dir, 'live.ebci');
    const w = SessionFileWriter.create(path, META, { binsPerChunk: 5 });
    for (let i = 0; i < 23; i++) {
      w.appendBin(bin(i));
      const { report, session } = readSessionFile(path);
      const onDisk = Math.floor((i + 1) / 5) * 5;
      expect(session.bins).toBe(onDisk);
      expect(report.truncated).toEqual({ atByte: w.bytesWritten, bytesLost: 0 });
      expect(report.cleanClose).toBe(false);
    }
    expect(w.binsWritten).toBe(23);
    w.flush(); // the 3 buffered bins
    expect(readSessionFile(path).session.bins).toBe(23);
    w.abort(); // no end chunk: reads back as cut off, everything flushed intact
    const { report, session } = readSessionFile(path);
    expect(report.cleanClose).toBe(false);
    expect(session.bins).toBe(23);
  });

  it('records a live stream: gaps with their fields, late break markers, indices not starting at 0', () => {
    const path = join(dir, 'stream.ebci');
    const w = SessionFileWriter.create(path, META, { fsyncEveryChunks: 2 });
    for (let i = 100; i < 110; i++) w.appendBin(bin(i));
    w.appendGap({
      kind: 'gap',
      startUs: 2_500_000,
      endUs: 2_600_000,
      reason: 'sequence',
      firstBin: 110,
      bins: 5,
      lostFrames: 50,
    });
    for (let i = 115; i < 130; i++) w.appendBin(bin(i));
    w.appendMarker({ kind: 'marker', bin: 120, label: 'trial 2', break: true }); // after its bin was written
    w.appendMarker({ kind: 'marker', bin: 130, label: 'cue', break: false });
    for (let i = 130; i < 135; i++) w.appendBin(bin(i, { kinematics: false }));
    w.appendGap({ kind: 'gap', startUs: 3_200_000, endUs: 3_200_000, reason: 'disconnect' });
    w.close();
    w.close(); // a second close does nothing

    const { events, session, report } = readSessionFile(path);
    expect(events.filter((e) => e.kind !== 'bin')).toEqual([
      {
        kind: 'gap',
        startUs: 2_500_000,
        endUs: 2_600_000,
        reason: 'sequence',
        firstBin: 110,
        bins: 5,
        lostFrames: 50,
      },
      { kind: 'marker', bin: 120, label: 'trial 2', break: true },
      { kind: 'marker', bin: 130, label: 'cue', break: false },
      { kind: 'gap', startUs: 3_200_000, endUs: 3_200_000, reason: 'disconnect' },
    ]);
    const bins = events.filter((e): e is Bin => e.kind === 'bin');
    expect(bins.map((b) => b.index)).toEqual([
      ...Array.from({ length: 10 }, (_, i) => 100 + i),
      ...Array.from({ length: 20 }, (_, i) => 115 + i),
    ]);
    for (const b of bins) {
      const original = bin(b.index, { kinematics: b.index < 130 });
      expect(b).toEqual(original);
    }
    // Positions: 100..109 -> 0..9, 115..134 -> 10..29. The gap breaks at 10, the late break marker at 15.
    expect(session.bins).toBe(30);
    expect(session.segmentStarts).toEqual([0, 10, 15]);
    expect(session.markers).toEqual([
      { kind: 'marker', bin: 15, label: 'trial 2', break: true },
      { kind: 'marker', bin: 25, label: 'cue', break: false },
    ]);
    expect(report.totals).toEqual({
      chunks: 7,
      bins: 30,
      gaps: 2,
      markers: 2,
      nextBin: 135,
      endUs: 3_200_000,
    });
  });

  it('writes the same bytes for the same calls', () => {
    const write = (path: string) => {
      const w = SessionFileWriter.create(path, { ...META, createdAt: '2024-05-06T00:00:00Z' });
      for (let i = 0; i < 50; i++) w.appendBin(bin(i, { counts: [i, i / 3, 2] }));
      w.appendMarker({ kind: 'marker', bin: 50, label: 'done', break: false });
      w.close();
      return readFileSync(path);
    };
    expect(write(join(dir, 'det-a.ebci')).equals(write(join(dir, 'det-b.ebci')))).toBe(true);
  });

  it('refuses bins that do not fit the metadata, and stays usable afterwards', () => {
    const path = join(dir, 'errors.ebci');
    const w = SessionFileWriter.create(path, META);
    w.appendBin(bin(0));
    const wrongChannels = { ...bin(1), counts: new Float32Array(4) };
    expect(() => w.appendBin(wrongChannels)).toThrow(ChannelCountError);
    const nan = bin(1, { counts: [1, Number.NaN, 2] });
    const err = (() => {
      try {
        w.appendBin(nan);
      } catch (e) {
        return e as NonFiniteValueError;
      }
    })();
    expect(err).toBeInstanceOf(NonFiniteValueError);
    expect(err).toMatchObject({ code: 'NON_FINITE', index: 1 });
    expect(() => w.appendBin(bin(1, { counts: [1, Number.POSITIVE_INFINITY, 2] }))).toThrow(
      NonFiniteValueError,
    );
    expect(() => w.appendBin({ ...bin(1), kinematics: new Float64Array(3) })).toThrow(ChannelCountError);
    expect(() => w.appendBin({ ...bin(1), startUs: Number.NaN })).toThrow(NonFiniteValueError);
    expect(() => w.appendBin({ ...bin(1), widthUs: 0 })).toThrow(InvalidOptionError);
    expect(() => w.appendBin(bin(0))).toThrow(/does not follow/);
    expect(() => w.appendBin(bin(1.5))).toThrow(InvalidOptionError);
    expect(() => w.appendGap({ kind: 'gap', startUs: Number.NaN, endUs: 0, reason: 'x' })).toThrow(
      NonFiniteValueError,
    );
    expect(() => w.appendGap({ kind: 'gap', startUs: 0, endUs: 0, reason: 'x', bins: -1 })).toThrow(
      InvalidOptionError,
    );
    expect(() => w.appendMarker({ kind: 'marker', bin: -1, label: 'x', break: false })).toThrow(
      InvalidOptionError,
    );
    expect(() => w.appendMarker({ kind: 'marker', bin: 1, label: 'x'.repeat(70_000), break: false })).toThrow(
      /at most 65535/,
    );
    w.appendBin(bin(1));
    w.close();
    const { session, report } = readSessionFile(path);
    expect(session.bins).toBe(2);
    expect(report).toMatchObject({ cleanClose: true, corrupt: [], chunksRead: 2 });
  });

  it('throws SessionFileClosedError after close', () => {
    const path = join(dir, 'closed.ebci');
    const w = SessionFileWriter.create(path, META);
    w.close();
    expect(w.closed).toBe(true);
    expect(() => w.appendBin(bin(0))).toThrow(SessionFileClosedError);
    expect(() => w.appendGap({ kind: 'gap', startUs: 0, endUs: 1, reason: 'x' })).toThrow(
      SessionFileClosedError,
    );
    expect(() => w.appendMarker({ kind: 'marker', bin: 0, label: 'x', break: false })).toThrow(
      /appendMarker\(\) called after/,
    );
    expect(() => w.flush()).toThrow(SessionFileClosedError);
    expect(readSessionFile(path).report.cleanClose).toBe(true);
  });

  it('refuses invalid metadata and options before creating the file', () => {
    const path = join(dir, 'never.ebci');
    expect(() => SessionFileWriter.create(path, { ...META, channelLabels: ['a'] })).toThrow(/channelLabels/);
    expect(() => SessionFileWriter.create(path, { ...META, binWidthUs: -1 })).toThrow(InvalidOptionError);
    expect(() => SessionFileWriter.create(path, META, { binsPerChunk: 0 })).toThrow(/binsPerChunk/);
    expect(() => SessionFileWriter.create(path, META, { fsyncEveryChunks: 0.5 })).toThrow(/fsyncEveryChunks/);
    expect(existsSync(path)).toBe(false);
  });
});

describe('writeSessionFile', () => {
  const base: RecordedSession = {
    metadata: META,
    bins: 3,
    counts: new Float32Array(9),
    kinematics: new Float64Array(6),
    startUs: Float64Array.of(0, 20_000, 40_000),
    segmentStarts: [0],
    markers: [],
  };

  it('refuses a session whose arrays disagree', () => {
    const path = join(dir, 'bad-session.ebci');
    expect(() => writeSessionFile(path, { ...base, counts: new Float32Array(8) })).toThrow(/session.counts/);
    expect(() => writeSessionFile(path, { ...base, startUs: new Float64Array(2) })).toThrow(
      /session.startUs/,
    );
    expect(() => writeSessionFile(path, { ...base, segmentStarts: [1] })).toThrow(/start with 0/);
    expect(() => writeSessionFile(path, { ...base, segmentStarts: [0, 2, 2] })).toThrow(/increasing/);
    const far = { kind: 'marker', bin: 4, label: 'x', break: false } as const;
    expect(() => writeSessionFile(path, { ...base, markers: [far] })).toThrow(/outside/);
  });

  it('closes up time going backwards at a segment start with an empty gap', () => {
    // Two trials recorded separately, both starting at time 0.
    const joined: RecordedSession = {
      ...base,
      startUs: Float64Array.of(0, 20_000, 0),
      segmentStarts: [0, 2],
    };
    const path = join(dir, 'joined.ebci');
    writeSessionFile(path, joined);
    const { session, events } = readSessionFile(path);
    expect(session).toEqual(joined);
    expect(events.find((e) => e.kind === 'gap')).toEqual({
      kind: 'gap',
      startUs: 0,
      endUs: 0,
      reason: 'segment',
      firstBin: 2,
      bins: 0,
    });
  });
});

describe('format', () => {
  it('writes the example of docs/session-format.md byte for byte', () => {
    const path = join(dir, 'example.ebci');
    const meta = { channels: 2, channelLabels: ['e1', 'e2'], binWidthUs: 20_000, kinematicNames: ['vx'] };
    const w = SessionFileWriter.create(path, meta);
    w.appendMarker({ kind: 'marker', bin: 0, label: 'go', break: false });
    w.appendBin({
      kind: 'bin',
      index: 0,
      startUs: 0,
      widthUs: 20_000,
      counts: Float32Array.of(3, 0),
      kinematics: Float64Array.of(0.5),
    });
    w.appendBin({
      kind: 'bin',
      index: 1,
      startUs: 20_000,
      widthUs: 20_000,
      counts: Float32Array.of(1, 2),
      kinematics: Float64Array.of(-1),
    });
    w.appendGap({ kind: 'gap', startUs: 40_000, endUs: 100_000, reason: 'time', firstBin: 2, bins: 3 });
    w.close();
    const preamble = '45424349010000007f00000007e5d298';
    const header =
      '{"metadata":{"channels":2,"channelLabels":["e1","e2"],"binWidthUs":20000,"kinematicNames":["vx"]},"writer":{"binsPerChunk":20}}';
    const chunks = [
      'ebc1434b030000000a0000000000000000000200676fa44d0164ebc1434b010000003800000000000000020000000200',
      '0000010001000000000000000000000000000088d3400300000001000200000000000000e03f000000000000f0bf3026',
      'f3a4ebc1434b0200000024000000000000000088e34000000000006af840020000000300000000000000030004007469',
      '6d650fec8221ebc1434b0400000020000000030000000200000001000000010000000200000000000000000000000088',
      'e340ca25ff22',
    ].join('');
    const expected = Buffer.concat([
      Buffer.from(preamble, 'hex'),
      Buffer.from(header),
      Buffer.from(chunks, 'hex'),
    ]);
    expect(readFileSync(path).toString('hex')).toBe(expected.toString('hex'));
    expect(expected.length).toBe(341);
  });
});
