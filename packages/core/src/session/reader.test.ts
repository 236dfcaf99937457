import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileFormatError } from '../errors.js';
import type { Bin, Gap, RecordedSession, SessionMarker, SessionMetadata } from '../types.js';
import { crc32 } from '../util/crc32.js';
import { inspectSessionFile, readSessionFile, type SessionFileEvent } from './reader.js';
import { writeSessionFile } from './writer.js';

// ---------------------------------------------------------------------------------------------------------
// Fixtures

/** Small deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WIDTH = 20_000;

/**
 * 200 bins of 4 channels and 2 kinematics in three segments (the later two after a 100 ms hole),
 * integer counts except bins 100..119 (so some chunks are float32), and markers at, between and after bins.
 */
function makeSession(seed = 1): RecordedSession {
  const random = rng(seed);
  const metadata: SessionMetadata = {
    channels: 4,
    channelLabels: ['elec1', 'elec2', 'elec3', 'elec4'],
    binWidthUs: WIDTH,
    kinematicNames: ['pos_x', 'vel_x'],
    source: { kind: 'test', seed, nested: { list: [1, 2.5, 'x'] } },
    createdAt: '2024-01-02T03:04:05.000Z',
  };
  const bins = 200;
  const segmentStarts = [0, 70, 150];
  const counts = new Float32Array(bins * 4);
  const kinematics = new Float64Array(bins * 2);
  const startUs = new Float64Array(bins);
  let t = 1_000_000;
  for (let d = 0; d < bins; d++) {
    if (segmentStarts.includes(d) && d > 0) t += 100_000;
    startUs[d] = t;
    t += WIDTH;
    for (let c = 0; c < 4; c++) {
      const n = Math.floor(random() * 12);
      counts[d * 4 + c] = d >= 100 && d < 120 ? n + 0.25 + random() : n;
    }
    kinematics[d * 2] = Math.sin(d / 7) * 0.1 + random() * 1e-9;
    kinematics[d * 2 + 1] = Math.cos(d / 7) / 70;
  }
  const markers: SessionMarker[] = [
    { kind: 'marker', bin: 0, label: 'start', break: false },
    { kind: 'marker', bin: 30, label: 'cue', break: false },
    { kind: 'marker', bin: 70, label: 'trial 2', break: true },
    { kind: 'marker', bin: 150, label: 'trial 3 ✓', break: true },
    { kind: 'marker', bin: 200, label: 'end', break: false },
  ];
  return { metadata, bins, counts, kinematics, startUs, segmentStarts, markers };
}

/** One chunk as the format document describes it, found by following the length fields. */
interface ChunkSpan {
  readonly start: number;
  readonly end: number;
  readonly type: number;
  /** Events the reader should give for the chunk: bins in a bins chunk, 1 for a gap or marker, 0 for end. */
  readonly events: number;
  readonly firstBin: number | undefined;
  readonly binCount: number;
}

const TYPE = { bins: 1, gap: 2, marker: 3, end: 4 };

/** Walks an undamaged file by the documented layout; independent of the reader under test. */
function walk(bytes: Uint8Array): { dataOffset: number; chunks: ChunkSpan[] } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  expect([...bytes.subarray(0, 4)]).toEqual([0x45, 0x42, 0x43, 0x49]);
  expect(view.getUint16(4, true)).toBe(1);
  const dataOffset = 16 + view.getUint32(8, true);
  const chunks: ChunkSpan[] = [];
  for (let at = dataOffset; at < bytes.length; ) {
    expect([...bytes.subarray(at, at + 4)]).toEqual([0xeb, 0xc1, 0x43, 0x4b]);
    const type = bytes[at + 4]!;
    const length = view.getUint32(at + 8, true);
    const end = at + 12 + length + 4;
    expect(view.getUint32(at + 12 + length, true)).toBe(crc32(bytes, at, at + 12 + length));
    const isBins = type === TYPE.bins;
    const binCount = isBins ? view.getUint32(at + 16, true) : 0;
    chunks.push({
      start: at,
      end,
      type,
      events: isBins ? binCount : type === TYPE.end ? 0 : 1,
      firstBin: isBins ? view.getUint32(at + 12, true) : undefined,
      binCount,
    });
    at = end;
  }
  return { dataOffset, chunks };
}

/** An exact text form of an event: numbers print in their shortest round-trip form, so equal keys mean equal events. */
function key(e: SessionFileEvent | undefined): string {
  if (e === undefined) return 'nothing';
  let k = keys.get(e);
  if (k === undefined) {
    const kin = e.kind === 'bin' && e.kinematics !== undefined ? e.kinematics.join(',') : '-';
    k =
      e.kind === 'bin'
        ? `bin ${e.index} @${e.startUs}+${e.widthUs} [${e.counts.join(',')}] [${kin}]`
        : JSON.stringify(e);
    keys.set(e, k);
  }
  return k;
}
const keys = new WeakMap<SessionFileEvent, string>();

/** Same events, compared quickly (Vitest's deep equality on thousands of typed arrays is slow). */
function expectEvents(actual: readonly SessionFileEvent[], expected: readonly SessionFileEvent[]): void {
  const n = Math.max(actual.length, expected.length);
  for (let i = 0; i < n; i++) {
    if (key(actual[i]) !== key(expected[i])) {
      expect({ at: i, event: key(actual[i]) }).toEqual({ at: i, event: key(expected[i]) });
    }
  }
}

/** Index of the first element that differs (NaN equals NaN), or -1. */
function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

/** Checks every Bin against the session it was written from: right index, exact values. */
function expectBinsFromSession(events: readonly SessionFileEvent[], s: RecordedSession): void {
  const c = s.metadata.channels;
  const k = s.metadata.kinematicNames.length;
  for (const e of events) {
    if (e.kind !== 'bin') continue;
    const d = e.index;
    const original: Bin = {
      kind: 'bin',
      index: d,
      startUs: s.startUs[d]!,
      widthUs: s.metadata.binWidthUs,
      counts: s.counts.subarray(d * c, (d + 1) * c),
      kinematics: s.kinematics.subarray(d * k, (d + 1) * k),
    };
    if (key(e) !== key(original)) expect(key(e)).toBe(key(original));
  }
}

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}

function expectFormatError(fn: () => unknown, reason: RegExp): FileFormatError {
  const err = catchError(fn);
  expect(err).toBeInstanceOf(FileFormatError);
  expect((err as FileFormatError).reason).toMatch(reason);
  return err as FileFormatError;
}

let dir: string;
let session: RecordedSession;
let bytes: Uint8Array;
let layout: { dataOffset: number; chunks: ChunkSpan[] };
let full: ReturnType<typeof readSessionFile>;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'edge-bci-reader-'));
  session = makeSession();
  const path = join(dir, 'fixture.ebci');
  writeSessionFile(path, session, { binsPerChunk: 8 });
  bytes = readFileSync(path);
  layout = walk(bytes);
  full = readSessionFile(bytes);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------------------

describe('round trip', () => {
  it('gives back the same session: metadata, counts, kinematics, times, segments and markers', () => {
    const path = join(dir, 'roundtrip.ebci');
    writeSessionFile(path, session);
    const { metadata, session: back, report } = readSessionFile(path);
    expect(metadata).toEqual(session.metadata);
    expect(back.metadata).toEqual(session.metadata);
    expect(back.bins).toBe(session.bins);
    expect(back.counts).toEqual(session.counts);
    expect(back.kinematics).toEqual(session.kinematics);
    expect(back.startUs).toEqual(session.startUs);
    expect(back.segmentStarts).toEqual(session.segmentStarts);
    expect(back.markers).toEqual(session.markers);
    expect(report).toMatchObject({
      cleanClose: true,
      truncated: undefined,
      corrupt: [],
      unknownChunks: [],
      trailingBytes: 0,
      binsRead: 200,
      gapsRead: 2,
      markersRead: 5,
      formatVersion: 1,
    });
    const chunks = walk(readFileSync(path)).chunks.length - 1; // all but the end chunk
    expect(report.totals).toEqual({ chunks, bins: 200, gaps: 2, markers: 5, nextBin: 200, endUs: 5_200_000 });
  });

  it('round-trips at any chunking, with float32 chunks only where counts are not small integers', () => {
    for (const binsPerChunk of [1, 7, 8, 1000]) {
      const path = join(dir, `chunking-${binsPerChunk}.ebci`);
      writeSessionFile(path, session, { binsPerChunk });
      const file = readFileSync(path);
      const { session: back } = readSessionFile(file);
      expect(back.counts).toEqual(session.counts);
      expect(back.kinematics).toEqual(session.kinematics);
      expect(back.startUs).toEqual(session.startUs);
      expect(back.segmentStarts).toEqual(session.segmentStarts);
      expect(back.markers).toEqual(session.markers);
      const view = new DataView(file.buffer, file.byteOffset);
      for (const chunk of walk(file).chunks.filter((c) => c.type === TYPE.bins)) {
        const first = chunk.firstBin!;
        const last = first + chunk.binCount - 1;
        const float = first < 120 && last >= 100;
        expect(view.getUint8(chunk.start + 12 + 14)).toBe(float ? 2 : 1);
      }
    }
  });

  it('writes the same bytes for the same session', () => {
    const a = join(dir, 'same-a.ebci');
    const b = join(dir, 'same-b.ebci');
    writeSessionFile(a, makeSession(7));
    writeSessionFile(b, makeSession(7));
    expect(readFileSync(a).equals(readFileSync(b))).toBe(true);
    writeSessionFile(b, makeSession(8));
    expect(readFileSync(a).equals(readFileSync(b))).toBe(false);
  });

  it('gives events in file order: segment gaps, markers before their bins, bins with kinematics', () => {
    const kinds = full.events.map((e) => (e.kind === 'bin' ? e.index : `${e.kind}`));
    expect(kinds.slice(0, 3)).toEqual(['marker', 0, 1]);
    expect(kinds.slice(70, 74)).toEqual([68, 69, 'gap', 'marker']);
    const gaps = full.events.filter((e): e is Gap => e.kind === 'gap');
    expect(gaps).toEqual([
      { kind: 'gap', startUs: 2_400_000, endUs: 2_500_000, reason: 'segment', firstBin: 70, bins: 0 },
      { kind: 'gap', startUs: 4_100_000, endUs: 4_200_000, reason: 'segment', firstBin: 150, bins: 0 },
    ]);
    expect(full.events.filter((e) => e.kind === 'bin')).toHaveLength(200);
    expectBinsFromSession(full.events, session);
  });

  it('round-trips an empty session and one without kinematics', () => {
    const meta: SessionMetadata = {
      channels: 2,
      channelLabels: ['a', 'b'],
      binWidthUs: 50_000,
      kinematicNames: [],
    };
    const empty: RecordedSession = {
      metadata: meta,
      bins: 0,
      counts: new Float32Array(0),
      kinematics: new Float64Array(0),
      startUs: new Float64Array(0),
      segmentStarts: [],
      markers: [],
    };
    const path = join(dir, 'empty-session.ebci');
    writeSessionFile(path, empty);
    const back = readSessionFile(path);
    expect(back.session).toEqual(empty);
    expect(back.report.cleanClose).toBe(true);
    expect(back.report.totals).toEqual({ chunks: 0, bins: 0, gaps: 0, markers: 0, nextBin: 0, endUs: 0 });

    const one: RecordedSession = {
      ...empty,
      bins: 1,
      counts: Float32Array.of(3, 70_000),
      startUs: Float64Array.of(-5),
    };
    writeSessionFile(path, { ...one, segmentStarts: [0] });
    expect(readSessionFile(path).session).toEqual({ ...one, segmentStarts: [0] });
  });

  it('inspects a file without building the session', () => {
    const info = inspectSessionFile(bytes);
    expect(info.metadata).toEqual(session.metadata);
    expect(info.report).toEqual(full.report);
    expect(info.startUs).toBe(1_000_000);
    expect(info.endUs).toBe(5_200_000);
  });
});

describe('truncation', () => {
  it('reads every whole chunk before a cut at every byte offset, and reports the cut', () => {
    const { dataOffset, chunks } = layout;
    let cuts = 0;
    for (let cut = 0; cut <= bytes.length; cut++) {
      const part = bytes.subarray(0, cut);
      cuts++;
      if (cut < dataOffset) {
        expectFormatError(() => readSessionFile(part), cut === 0 ? /empty/ : /^(preamble|header)/);
        continue;
      }
      const { events, report, session: back } = readSessionFile(part);
      const whole = chunks.filter((c) => c.end <= cut);
      const n = whole.reduce((sum, c) => sum + c.events, 0);
      expectEvents(events, full.events.slice(0, n));
      expect(report.corrupt).toEqual([]);
      if (cut === bytes.length) {
        expect(report.cleanClose).toBe(true);
        expect(report.truncated).toBeUndefined();
        continue;
      }
      const atByte = whole.length > 0 ? whole[whole.length - 1]!.end : dataOffset;
      expect(report.truncated).toEqual({ atByte, bytesLost: cut - atByte });
      expect(report.cleanClose).toBe(false);
      expect(report.chunksRead).toBe(whole.length);
      const bins = events.filter((e) => e.kind === 'bin').length;
      expect(back.bins).toBe(bins);
      expect(firstDifference(back.counts, session.counts.subarray(0, bins * 4))).toBe(-1);
      expect(firstDifference(back.kinematics, session.kinematics.subarray(0, bins * 2))).toBe(-1);
      expect(firstDifference(back.startUs, session.startUs.subarray(0, bins))).toBe(-1);
      expect(back.segmentStarts).toEqual(session.segmentStarts.filter((s) => s < bins));
      expect(back.markers).toEqual(events.filter((e) => e.kind === 'marker'));
    }
    expect(layout.chunks.length).toBeGreaterThanOrEqual(30);
    expect(cuts).toBe(bytes.length + 1);
  });
});

describe('damage', () => {
  /** Events expected when chunk `j` (not the end chunk) is lost: its events replaced by one corrupt gap. */
  function expectedWithout(j: number): SessionFileEvent[] {
    const { chunks } = layout;
    const before = chunks.slice(0, j).reduce((sum, c) => sum + c.events, 0);
    const firstAfter = chunks.slice(j + 1).find((c) => c.type === TYPE.bins);
    const prevBin = full.events.slice(0, before).findLast((e): e is Bin => e.kind === 'bin');
    const nextBin = full.events.slice(before + chunks[j]!.events).find((e): e is Bin => e.kind === 'bin');
    const nextIndex = firstAfter?.firstBin ?? full.report.totals!.nextBin;
    const gap: Gap = {
      kind: 'gap',
      startUs: prevBin !== undefined ? prevBin.startUs + WIDTH : nextBin!.startUs,
      endUs: nextBin?.startUs ?? full.report.totals!.endUs,
      reason: 'corrupt',
      ...(prevBin !== undefined ? { firstBin: prevBin.index + 1, bins: nextIndex - prevBin.index - 1 } : {}),
    };
    return [...full.events.slice(0, before), gap, ...full.events.slice(before + chunks[j]!.events)];
  }

  function checkFlip(offset: number, mask: number): void {
    const damaged = Uint8Array.from(bytes);
    damaged[offset]! ^= mask;
    const { dataOffset, chunks } = layout;
    if (offset < dataOffset) {
      expectFormatError(() => readSessionFile(damaged), offset < 4 ? /magic/ : /^(preamble|header):/);
      return;
    }
    const j = chunks.findIndex((c) => offset >= c.start && offset < c.end);
    const chunk = chunks[j]!;
    const { events, report, session: back } = readSessionFile(damaged);
    // Never corrupted data: every bin returned is exactly a bin that was written.
    expectBinsFromSession(events, session);
    if (chunk.type === TYPE.end) {
      expect(report.cleanClose).toBe(false);
      // Nothing valid follows a damaged end chunk: it is a cut-off tail.
      expect(report.corrupt).toEqual([]);
      expect(report.truncated).toEqual({ atByte: chunk.start, bytesLost: chunk.end - chunk.start });
      expectEvents(events, full.events);
      return;
    }
    expect(report.corrupt).toHaveLength(1);
    expect(report.corrupt[0]).toMatchObject({ offset: chunk.start, length: chunk.end - chunk.start });
    expect(report.cleanClose).toBe(true);
    expect(report.truncated).toBeUndefined();
    expectEvents(events, expectedWithout(j));
    // The session breaks where the damage was and holds only undamaged bins.
    const lost = chunk.binCount;
    expect(back.bins).toBe(200 - lost);
    const binsBefore = events.slice(
      0,
      events.findIndex((e) => e.kind === 'gap' && e.reason === 'corrupt'),
    );
    const at = binsBefore.filter((e) => e.kind === 'bin').length;
    if (at < back.bins) expect(back.segmentStarts).toContain(at);
  }

  it('skips a chunk with a flipped byte and reads every other chunk exactly (every offset)', () => {
    let flips = 0;
    for (let offset = layout.dataOffset; offset < bytes.length; offset++) {
      checkFlip(offset, 0xff);
      flips++;
    }
    expect(flips).toBeGreaterThan(5000);
  });

  it('skips a chunk with one flipped bit (every 3rd offset, each bit position)', () => {
    for (let offset = layout.dataOffset; offset < bytes.length; offset += 3)
      checkFlip(offset, 1 << (offset % 8));
  });

  it('resynchronises after a damaged length field, whether it runs past the end of the file or not', () => {
    const lengths = [0x00, 0x01, 0x80, 0xff];
    for (const chunk of layout.chunks) {
      for (let b = 0; b < 4; b++) for (const mask of lengths.slice(1)) checkFlip(chunk.start + 8 + b, mask);
    }
    // A length pointing far past the end, with valid chunks after: damage, not truncation.
    const j = 5;
    const damaged = Uint8Array.from(bytes);
    new DataView(damaged.buffer).setUint32(layout.chunks[j]!.start + 8, 0x7fff_ffff, true);
    const { report, events } = readSessionFile(damaged);
    expect(report.truncated).toBeUndefined();
    expect(report.corrupt).toEqual([
      {
        offset: layout.chunks[j]!.start,
        length: layout.chunks[j]!.end - layout.chunks[j]!.start,
        reason: expect.stringMatching(/past end/),
      },
    ]);
    expectEvents(events, expectedWithout(j));
  });

  it('names the preamble or header when a flip lands there (every header byte)', () => {
    for (let offset = 0; offset < layout.dataOffset; offset++) {
      checkFlip(offset, 0xff);
      checkFlip(offset, 1 << (offset % 8));
    }
  });

  it('makes the session break at damage and infers the missing bins from the neighbouring chunks', () => {
    // With 8 bins a chunk and a marker at bin 30, bins 38..45 share a chunk.
    const j = layout.chunks.findIndex((c) => c.type === TYPE.bins && c.firstBin === 38);
    expect(layout.chunks[j]!.binCount).toBe(8);
    const damaged = Uint8Array.from(bytes);
    damaged[layout.chunks[j]!.start + 40]! ^= 0x10;
    const { session: back, events, report } = readSessionFile(damaged);
    expect(report.bytesSkipped).toBe(layout.chunks[j]!.end - layout.chunks[j]!.start);
    const gap = events.find((e): e is Gap => e.kind === 'gap' && e.reason === 'corrupt');
    expect(gap).toEqual({
      kind: 'gap',
      startUs: 1_760_000,
      endUs: 1_920_000,
      reason: 'corrupt',
      firstBin: 38,
      bins: 8,
    });
    expect(back.bins).toBe(192);
    expect(back.segmentStarts).toEqual([0, 38, 62, 142]);
    // Markers after the damage move with their bins; no zeros stand in for the lost bins.
    expect(back.markers.map((m) => m.bin)).toEqual([0, 30, 62, 142, 192]);
    expect(back.startUs.subarray(0, 38)).toEqual(session.startUs.subarray(0, 38));
    expect(back.startUs.subarray(38)).toEqual(session.startUs.subarray(46));
    expect(back.counts.subarray(38 * 4)).toEqual(session.counts.subarray(46 * 4));
  });
});

describe('unreadable and odd files', () => {
  it('rejects an empty file, random bytes and a wrong magic', () => {
    expectFormatError(() => readSessionFile(new Uint8Array(0)), /empty/);
    const random = rng(3);
    const noise = Uint8Array.from({ length: 4096 }, () => Math.floor(random() * 256));
    expectFormatError(() => readSessionFile(noise), /magic/);
    const pdf = new TextEncoder().encode('%PDF-1.7 ...');
    expectFormatError(() => readSessionFile(pdf, { name: 'x.pdf' }), /magic/);
    const err = catchError(() => readSessionFile(join(dir, 'missing.ebci')));
    expect((err as NodeJS.ErrnoException).code).toBe('ENOENT');
  });

  function withHeader(json: string, version = 1): Uint8Array {
    const body = new TextEncoder().encode(json);
    const out = new Uint8Array(16 + body.length);
    const view = new DataView(out.buffer);
    out.set([0x45, 0x42, 0x43, 0x49]);
    view.setUint16(4, version, true);
    view.setUint32(8, body.length, true);
    out.set(body, 16);
    view.setUint32(12, crc32(body, 0, body.length, crc32(out, 0, 12)), true);
    return out;
  }

  it('says which part of the header is wrong', () => {
    const good = JSON.stringify({ metadata: session.metadata });
    expect(readSessionFile(withHeader(good)).metadata).toEqual(session.metadata);
    expectFormatError(() => readSessionFile(withHeader(good, 2)), /version 2/);
    expectFormatError(() => readSessionFile(withHeader('{"metadata": ')), /header: not valid UTF-8 JSON/);
    expectFormatError(() => readSessionFile(withHeader('[1]')), /header: not a JSON object/);
    expectFormatError(() => readSessionFile(withHeader('{}')), /header: required field metadata/);
    const noWidth = { ...session.metadata, binWidthUs: undefined };
    expectFormatError(() => readSessionFile(withHeader(JSON.stringify({ metadata: noWidth }))), /binWidthUs/);
    const labels = { ...session.metadata, channelLabels: ['a'] };
    expectFormatError(
      () => readSessionFile(withHeader(JSON.stringify({ metadata: labels }))),
      /channelLabels/,
    );
    const err = expectFormatError(
      () => readSessionFile(bytes.subarray(0, 40), { name: 'cut.ebci' }),
      /inside the header/,
    );
    expect(err.path).toBe('cut.ebci');
    expect(err.code).toBe('FILE_FORMAT');
  });

  it('reports a file with a header and nothing readable after it as truncated at the header', () => {
    const random = rng(4);
    const body = Uint8Array.from({ length: 3000 }, () => Math.floor(random() * 256));
    const file = new Uint8Array(layout.dataOffset + body.length);
    file.set(bytes.subarray(0, layout.dataOffset));
    file.set(body, layout.dataOffset);
    const { report, session: back } = readSessionFile(file);
    expect(report.truncated).toEqual({ atByte: layout.dataOffset, bytesLost: 3000 });
    expect(report.chunksRead).toBe(0);
    expect(back.bins).toBe(0);
  });

  it('ignores garbage after the end chunk, and counts it', () => {
    const garbage = Uint8Array.from({ length: 999 }, (_, i) => (i * 37) & 0xff);
    const { report, events } = readSessionFile(Buffer.concat([bytes, garbage]));
    expect(report.cleanClose).toBe(true);
    expect(report.trailingBytes).toBe(999);
    expect(report.truncated).toBeUndefined();
    expect(events).toEqual(full.events);
  });

  it('treats garbage after a cut as part of the lost tail', () => {
    const cutChunk = layout.chunks[20]!;
    const cut = cutChunk.start + 30;
    const file = Buffer.concat([bytes.subarray(0, cut), new Uint8Array(500).fill(0xeb)]);
    const { report, events } = readSessionFile(file);
    expect(report.truncated).toEqual({ atByte: cutChunk.start, bytesLost: file.length - cutChunk.start });
    expect(report.corrupt).toEqual([]);
    const n = layout.chunks.slice(0, 20).reduce((sum, c) => sum + c.events, 0);
    expect(events).toEqual(full.events.slice(0, n));
  });

  it('skips garbage between chunks as one damaged stretch', () => {
    const at = layout.chunks[10]!.start;
    const garbage = new TextEncoder().encode('not a chunk at all, but no sync word either');
    const file = Buffer.concat([bytes.subarray(0, at), garbage, bytes.subarray(at)]);
    const { report, events } = readSessionFile(file);
    expect(report.corrupt).toEqual([{ offset: at, length: garbage.length, reason: 'no sync word' }]);
    expect(report.cleanClose).toBe(true);
    const data = events.filter((e) => e.kind !== 'gap' || e.reason !== 'corrupt');
    expect(data).toEqual(full.events);
    const gap = events.find((e) => e.kind === 'gap' && e.reason === 'corrupt');
    expect(gap).toMatchObject({ bins: 0 });
  });

  it('skips chunks of unknown types whose CRC checks, and reports them', () => {
    const payload = new TextEncoder().encode('from a future writer');
    const chunk = new Uint8Array(16 + payload.length);
    const view = new DataView(chunk.buffer);
    chunk.set([0xeb, 0xc1, 0x43, 0x4b]);
    chunk[4] = 99;
    view.setUint32(8, payload.length, true);
    chunk.set(payload, 12);
    view.setUint32(12 + payload.length, crc32(chunk, 0, 12 + payload.length), true);
    const at = layout.chunks[3]!.start;
    const file = Buffer.concat([bytes.subarray(0, at), chunk, bytes.subarray(at)]);
    const { report, events, session: back } = readSessionFile(file);
    expect(report.unknownChunks).toEqual([{ offset: at, type: 99, length: chunk.length }]);
    expect(report.corrupt).toEqual([]);
    expect(report.chunksRead).toBe(full.report.chunksRead + 1);
    expect(events).toEqual(full.events);
    expect(back.segmentStarts).toEqual(session.segmentStarts);
  });

  it('skips a chunk whose CRC checks but whose fields are impossible', () => {
    // A bins chunk from a file with 5 channels, spliced into this 4-channel file.
    const five: RecordedSession = {
      metadata: { ...session.metadata, channels: 5, channelLabels: ['a', 'b', 'c', 'd', 'e'] },
      bins: 1,
      counts: new Float32Array(5),
      kinematics: new Float64Array(2),
      startUs: Float64Array.of(0),
      segmentStarts: [0],
      markers: [],
    };
    const path = join(dir, 'five.ebci');
    writeSessionFile(path, five);
    const other = readFileSync(path);
    const alien = walk(other).chunks[0]!;
    const at = layout.chunks[layout.chunks.length - 1]!.start; // before the end chunk
    const file = Buffer.concat([
      bytes.subarray(0, at),
      other.subarray(alien.start, alien.end),
      bytes.subarray(at),
    ]);
    const { report, events } = readSessionFile(file);
    expect(report.corrupt).toEqual([
      {
        offset: at,
        length: alien.end - alien.start,
        reason: 'bins chunk: 5 channels where the header says 4',
      },
    ]);
    expect(events.slice(0, -1)).toEqual(full.events);
    expect(events.at(-1)).toEqual({
      kind: 'gap',
      startUs: 5_200_000,
      endUs: 5_200_000,
      reason: 'corrupt',
      firstBin: 200,
      bins: 0,
    });
  });
});
