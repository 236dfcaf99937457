/**
 * Reads `.ebci` session files, including damaged ones: a file cut short gives back every chunk before the cut,
 * a damaged chunk is skipped (after resynchronising on the next sync word whose chunk checks out) and becomes
 * a break in the session, never zeros. Only chunks whose CRC-32 checks are returned as data.
 * The byte layout is in docs/session-format.md.
 */
import { readFileSync } from 'node:fs';
import { FileFormatError } from '../errors.js';
import type { Bin, Gap, RecordedSession, SessionMarker, SessionMetadata } from '../types.js';
import { crc32 } from '../util/crc32.js';
import {
  BINS_FIXED_BYTES,
  CHUNK_HEADER_BYTES,
  CHUNK_TRAILER_BYTES,
  ChunkType,
  CountsDtype,
  END_BYTES,
  GAP_FIXED_BYTES,
  GapFlag,
  HEADER_CRC_OFFSET,
  isSyncAt,
  MAGIC,
  MARKER_BREAK,
  MARKER_FIXED_BYTES,
  MAX_HEADER_BYTES,
  metadataProblem,
  PREAMBLE_BYTES,
  SESSION_FORMAT_VERSION,
  type SessionFileTotals,
  SYNC,
  utf8Decoder,
} from './format.js';

export interface ReadSessionFileOptions {
  /** Name used in error messages when reading from bytes (default '<bytes>'). */
  readonly name?: string;
}

/** A stretch of the file that was skipped because it did not hold a valid chunk. */
export interface CorruptRegion {
  /** Byte offset of the start of the stretch (where the bad chunk began). */
  readonly offset: number;
  /** Bytes skipped, up to the next valid chunk. */
  readonly length: number;
  readonly reason: string;
}

/** A chunk of a type this reader does not know; its CRC checked, so it was skipped on purpose. */
export interface UnknownChunk {
  readonly offset: number;
  readonly type: number;
  /** Bytes of the whole chunk, header and CRC included. */
  readonly length: number;
}

/** Where a file stops being readable at its end. */
export interface Truncation {
  /** Offset of the first byte that was not read: the start of the partial chunk, or the file size. */
  readonly atByte: number;
  /** Bytes from `atByte` to the end of the file (0 when the file ends between chunks but without `end`). */
  readonly bytesLost: number;
}

export interface SessionFileReport {
  readonly formatVersion: number;
  /** Preamble flags (none defined in version 1). */
  readonly flags: number;
  readonly fileBytes: number;
  /** Offset of the first chunk (preamble plus header). */
  readonly dataOffset: number;
  /** Chunks whose CRC checked and whose fields were sound, of every type (unknown types and `end` included). */
  readonly chunksRead: number;
  readonly binsRead: number;
  readonly gapsRead: number;
  readonly markersRead: number;
  /** True when an `end` chunk was read: the writer closed the file. */
  readonly cleanClose: boolean;
  /** Totals from the `end` chunk, when there is one. */
  readonly totals: SessionFileTotals | undefined;
  /** Set when the file ends inside a chunk or without an `end` chunk. */
  readonly truncated: Truncation | undefined;
  /** Damaged stretches skipped, in file order. */
  readonly corrupt: readonly CorruptRegion[];
  /** Sum of the lengths in `corrupt`. */
  readonly bytesSkipped: number;
  readonly unknownChunks: readonly UnknownChunk[];
  /** Bytes after the `end` chunk (ignored). */
  readonly trailingBytes: number;
}

/** What a session file holds, in the order the file holds it. */
export type SessionFileEvent = Bin | Gap | SessionMarker;

export interface SessionFileContents {
  readonly metadata: SessionMetadata;
  /**
   * The bins as a dense session. Bin indices in the file become positions 0 .. bins-1 here; a segment
   * starts at the first bin, after every gap (written or from damage), where bin indices jump and at
   * every `break` marker. Markers point at positions (the first bin whose file index is at least the
   * marker's) and are sorted by them. Kinematics missing from a chunk are NaN.
   */
  readonly session: RecordedSession;
  /**
   * Everything in file order, with bin indices as written. Damage becomes a Gap with reason 'corrupt'
   * where it occurred; its `firstBin` and `bins` are set when the neighbouring chunks tell them.
   */
  readonly events: readonly SessionFileEvent[];
  readonly report: SessionFileReport;
}

export interface SessionFileInfo {
  readonly metadata: SessionMetadata;
  readonly report: SessionFileReport;
  /** Start of the first bin, when there is one. */
  readonly startUs: number | undefined;
  /** End (start + width) of the last bin, when there is one. */
  readonly endUs: number | undefined;
}

/**
 * Reads a whole session file (or its bytes).
 * @throws FileFormatError when the preamble or header cannot be read; damage after it is reported instead.
 */
export function readSessionFile(
  pathOrBytes: string | Uint8Array,
  options: ReadSessionFileOptions = {},
): SessionFileContents {
  const { bytes, name } = load(pathOrBytes, options);
  const parsed = parse(bytes, name, true);
  return {
    metadata: parsed.metadata,
    session: parsed.session!,
    events: parsed.events!,
    report: parsed.report,
  };
}

/**
 * Metadata and report of a session file without building the session: for an `info` command.
 * It reads and checks the whole file, exactly as `readSessionFile` does.
 * @throws FileFormatError when the preamble or header cannot be read.
 */
export function inspectSessionFile(
  pathOrBytes: string | Uint8Array,
  options: ReadSessionFileOptions = {},
): SessionFileInfo {
  const { bytes, name } = load(pathOrBytes, options);
  const { metadata, report, startUs, endUs } = parse(bytes, name, false);
  return { metadata, report, startUs, endUs };
}

function load(pathOrBytes: string | Uint8Array, options: ReadSessionFileOptions) {
  if (typeof pathOrBytes === 'string') return { bytes: readFileSync(pathOrBytes), name: pathOrBytes };
  return { bytes: pathOrBytes, name: options.name ?? '<bytes>' };
}

interface Header {
  readonly metadata: SessionMetadata;
  readonly version: number;
  readonly flags: number;
  readonly dataOffset: number;
}

function parseHeader(bytes: Uint8Array, view: DataView, name: string): Header {
  const fail = (reason: string, offset?: number): never => {
    throw new FileFormatError(name, reason, offset);
  };
  if (bytes.length === 0) fail('empty file');
  for (let i = 0; i < MAGIC.length && i < bytes.length; i++) {
    if (bytes[i] !== MAGIC[i]) fail("wrong magic: not an edge-bci session file (expected 'EBCI')", 0);
  }
  if (bytes.length < PREAMBLE_BYTES)
    fail(`preamble: truncated (file is ${bytes.length} bytes)`, bytes.length);
  const version = view.getUint16(4, true);
  if (version !== SESSION_FORMAT_VERSION) {
    fail(`preamble: unsupported format version ${version} (this reader reads ${SESSION_FORMAT_VERSION})`, 4);
  }
  const flags = view.getUint16(6, true);
  const length = view.getUint32(8, true);
  if (length > MAX_HEADER_BYTES) fail(`header: length ${length} is implausible`, 8);
  const dataOffset = PREAMBLE_BYTES + length;
  if (dataOffset > bytes.length) fail('header: truncated (the file ends inside the header)', bytes.length);
  const crc = crc32(bytes, PREAMBLE_BYTES, dataOffset, crc32(bytes, 0, HEADER_CRC_OFFSET));
  if (crc !== view.getUint32(HEADER_CRC_OFFSET, true)) fail('header: CRC mismatch', PREAMBLE_BYTES);
  let json: unknown;
  try {
    json = JSON.parse(utf8Decoder.decode(bytes.subarray(PREAMBLE_BYTES, dataOffset)));
  } catch {
    fail('header: not valid UTF-8 JSON', PREAMBLE_BYTES);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    fail('header: not a JSON object', PREAMBLE_BYTES);
  }
  const metadata = (json as { metadata?: unknown }).metadata;
  if (metadata === undefined) fail('header: required field metadata is missing', PREAMBLE_BYTES);
  const problem = metadataProblem(metadata);
  if (problem !== undefined) fail(`header: ${problem}`, PREAMBLE_BYTES);
  return { metadata: metadata as SessionMetadata, version, flags, dataOffset };
}

type Probe =
  | {
      readonly ok: true;
      readonly type: number;
      readonly payload: number;
      readonly length: number;
      readonly end: number;
    }
  | { readonly ok: false; readonly reason: string };

/** Checks the framing and CRC of the chunk at `at`. */
function probe(bytes: Uint8Array, view: DataView, at: number): Probe {
  if (!isSyncAt(bytes, at)) return { ok: false, reason: 'no sync word' };
  if (at + CHUNK_HEADER_BYTES > bytes.length)
    return { ok: false, reason: 'chunk header runs past end of file' };
  const length = view.getUint32(at + 8, true);
  const payload = at + CHUNK_HEADER_BYTES;
  const end = payload + length + CHUNK_TRAILER_BYTES;
  if (end > bytes.length) {
    return { ok: false, reason: `payload length ${length} runs past end of file` };
  }
  if (crc32(bytes, at, payload + length) !== view.getUint32(payload + length, true)) {
    return { ok: false, reason: 'CRC mismatch' };
  }
  return { ok: true, type: bytes[at + 4]!, payload, length, end };
}

/** Offset of the next chunk at or after `from` that checks out, or -1. */
function findNextChunk(bytes: Uint8Array, view: DataView, from: number): number {
  const last = bytes.length - CHUNK_HEADER_BYTES - CHUNK_TRAILER_BYTES;
  for (let i = bytes.indexOf(SYNC[0]!, from); i !== -1 && i <= last; i = bytes.indexOf(SYNC[0]!, i + 1)) {
    if (isSyncAt(bytes, i) && probe(bytes, view, i).ok) return i;
  }
  return -1;
}

/** A bins chunk whose fields are sound. */
interface BinsChunk {
  readonly firstBin: number;
  readonly count: number;
  readonly kinematicCount: number;
  readonly startUs: number;
  readonly widthUs: number;
  readonly counts: Float32Array;
  readonly kinematics: Float64Array;
}

function decodeBins(
  view: DataView,
  at: number,
  length: number,
  metadata: SessionMetadata,
  lastIndex: number,
): BinsChunk | string {
  if (length < BINS_FIXED_BYTES) return `bins chunk: payload of ${length} bytes is too short`;
  const firstBin = view.getUint32(at, true);
  const count = view.getUint32(at + 4, true);
  const channels = view.getUint32(at + 8, true);
  const kinematicCount = view.getUint16(at + 12, true);
  const dtype = view.getUint8(at + 14);
  const startUs = view.getFloat64(at + 16, true);
  const widthUs = view.getFloat64(at + 24, true);
  if (count === 0) return 'bins chunk: holds no bins';
  if (channels !== metadata.channels) {
    return `bins chunk: ${channels} channels where the header says ${metadata.channels}`;
  }
  const k = metadata.kinematicNames.length;
  if (kinematicCount !== 0 && kinematicCount !== k) {
    return `bins chunk: ${kinematicCount} kinematic values per bin where the header names ${k}`;
  }
  if (dtype !== CountsDtype.uint16 && dtype !== CountsDtype.float32) {
    return `bins chunk: unknown counts type ${dtype}`;
  }
  const countBytes = dtype === CountsDtype.uint16 ? 2 : 4;
  const expected = BINS_FIXED_BYTES + count * (channels * countBytes + kinematicCount * 8);
  if (length !== expected) return `bins chunk: payload is ${length} bytes, its fields need ${expected}`;
  if (!Number.isFinite(startUs) || !Number.isFinite(widthUs) || widthUs <= 0) {
    return 'bins chunk: start or width is not a finite positive time';
  }
  if (firstBin <= lastIndex) return `bins chunk: bin index ${firstBin} does not follow ${lastIndex}`;
  const values = count * channels;
  const counts = new Float32Array(values);
  let o = at + BINS_FIXED_BYTES;
  if (countBytes === 2) {
    for (let i = 0; i < values; i++, o += 2) counts[i] = view.getUint16(o, true);
  } else {
    for (let i = 0; i < values; i++, o += 4) {
      const v = view.getFloat32(o, true);
      if (!Number.isFinite(v)) return `bins chunk: count ${i} is ${v}`;
      counts[i] = v;
    }
  }
  const kinematics = new Float64Array(count * kinematicCount);
  for (let i = 0; i < kinematics.length; i++, o += 8) kinematics[i] = view.getFloat64(o, true);
  return { firstBin, count, kinematicCount, startUs, widthUs, counts, kinematics };
}

function decodeString(bytes: Uint8Array, at: number, length: number): string | undefined {
  try {
    return utf8Decoder.decode(bytes.subarray(at, at + length));
  } catch {
    return undefined;
  }
}

function decodeGap(bytes: Uint8Array, view: DataView, at: number, length: number): Gap | string {
  if (length < GAP_FIXED_BYTES) return `gap chunk: payload of ${length} bytes is too short`;
  const startUs = view.getFloat64(at, true);
  const endUs = view.getFloat64(at + 8, true);
  const flags = view.getUint8(at + 28);
  const reasonLength = view.getUint16(at + 30, true);
  if (length !== GAP_FIXED_BYTES + reasonLength) {
    return `gap chunk: payload is ${length} bytes, its fields need ${GAP_FIXED_BYTES + reasonLength}`;
  }
  if (!Number.isFinite(startUs) || !Number.isFinite(endUs)) return 'gap chunk: time is not finite';
  const reason = decodeString(bytes, at + GAP_FIXED_BYTES, reasonLength);
  if (reason === undefined) return 'gap chunk: reason is not valid UTF-8';
  return {
    kind: 'gap',
    startUs,
    endUs,
    reason,
    ...(flags & GapFlag.lostFrames ? { lostFrames: view.getUint32(at + 24, true) } : {}),
    ...(flags & GapFlag.bins ? { bins: view.getUint32(at + 20, true) } : {}),
    ...(flags & GapFlag.firstBin ? { firstBin: view.getUint32(at + 16, true) } : {}),
  };
}

function decodeMarker(bytes: Uint8Array, view: DataView, at: number, length: number): SessionMarker | string {
  if (length < MARKER_FIXED_BYTES) return `marker chunk: payload of ${length} bytes is too short`;
  const bin = view.getUint32(at, true);
  const flags = view.getUint8(at + 4);
  const labelLength = view.getUint16(at + 6, true);
  if (length !== MARKER_FIXED_BYTES + labelLength) {
    return `marker chunk: payload is ${length} bytes, its fields need ${MARKER_FIXED_BYTES + labelLength}`;
  }
  const label = decodeString(bytes, at + MARKER_FIXED_BYTES, labelLength);
  if (label === undefined) return 'marker chunk: label is not valid UTF-8';
  return { kind: 'marker', bin, label, break: (flags & MARKER_BREAK) !== 0 };
}

function decodeEnd(view: DataView, at: number, length: number): SessionFileTotals | string {
  if (length !== END_BYTES) return `end chunk: payload is ${length} bytes, expected ${END_BYTES}`;
  return {
    chunks: view.getUint32(at, true),
    bins: view.getUint32(at + 4, true),
    gaps: view.getUint32(at + 8, true),
    markers: view.getUint32(at + 12, true),
    nextBin: view.getUint32(at + 16, true),
    endUs: view.getFloat64(at + 24, true),
  };
}

interface Parsed {
  readonly metadata: SessionMetadata;
  readonly report: SessionFileReport;
  readonly session: RecordedSession | undefined;
  readonly events: SessionFileEvent[] | undefined;
  readonly startUs: number | undefined;
  readonly endUs: number | undefined;
}

/** A Gap for damaged data, whose extent is filled in once the next bins (or the end) are known. */
interface PendingDamage {
  /** Position in `events` kept for the gap. */
  readonly slot: number;
  readonly afterIndex: number;
  readonly afterEndUs: number | undefined;
}

function parse(bytes: Uint8Array, name: string, collect: boolean): Parsed {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const header = parseHeader(bytes, view, name);
  const { metadata } = header;
  const channels = metadata.channels;
  const k = metadata.kinematicNames.length;

  const events: (SessionFileEvent | undefined)[] = [];
  const countParts: Float32Array[] = [];
  const kinematicParts: Float64Array[] = [];
  const startUs: number[] = [];
  const binIndex: number[] = [];
  const segmentStarts: number[] = [];
  const markers: SessionMarker[] = [];
  const corrupt: CorruptRegion[] = [];
  const unknownChunks: UnknownChunk[] = [];

  let chunksRead = 0;
  let binsRead = 0;
  let gapsRead = 0;
  let markersRead = 0;
  let totals: SessionFileTotals | undefined;
  let truncated: Truncation | undefined;
  let trailingBytes = 0;
  let firstStartUs: number | undefined;

  let lastIndex = -1;
  let lastEndUs: number | undefined;
  let breakBefore = false; // a gap (written or from damage) since the last bin
  let pending: PendingDamage | undefined;

  const settleDamage = (next: { firstBin: number; startUs: number } | SessionFileTotals | undefined) => {
    if (pending === undefined) return;
    const { slot, afterIndex, afterEndUs } = pending;
    pending = undefined;
    if (!collect) return;
    let gap: Gap;
    if (next !== undefined && 'firstBin' in next) {
      const endUs = next.startUs;
      gap = {
        kind: 'gap',
        startUs: afterEndUs === undefined ? endUs : Math.min(afterEndUs, endUs),
        endUs,
        reason: 'corrupt',
        ...(afterIndex >= 0 ? { firstBin: afterIndex + 1, bins: next.firstBin - afterIndex - 1 } : {}),
      };
    } else if (next !== undefined && afterIndex >= 0 && next.bins > 0) {
      gap = {
        kind: 'gap',
        startUs: afterEndUs!,
        endUs: Math.max(afterEndUs!, next.endUs),
        reason: 'corrupt',
        firstBin: afterIndex + 1,
        bins: Math.max(0, next.nextBin - afterIndex - 1),
      };
    } else {
      // Nothing after the damage tells how much is missing.
      const at = afterEndUs ?? 0;
      gap = {
        kind: 'gap',
        startUs: at,
        endUs: at,
        reason: 'corrupt',
        ...(afterIndex >= 0 ? { firstBin: afterIndex + 1 } : {}),
      };
    }
    events[slot] = gap;
  };

  const damage = (offset: number, length: number, reason: string) => {
    corrupt.push({ offset, length, reason });
    breakBefore = true;
    if (pending === undefined) {
      pending = { slot: events.length, afterIndex: lastIndex, afterEndUs: lastEndUs };
      if (collect) events.push(undefined);
    }
  };

  const onBins = (chunk: BinsChunk) => {
    settleDamage(chunk);
    const { firstBin, count, kinematicCount, widthUs, counts, kinematics } = chunk;
    for (let j = 0; j < count; j++) {
      const index = firstBin + j;
      const t = chunk.startUs + j * widthUs; // the writer only groups bins for which this is exact
      const dense = binsRead + j;
      if (dense === 0 || breakBefore || index !== lastIndex + 1) segmentStarts.push(dense);
      breakBefore = false;
      lastIndex = index;
      if (collect) {
        startUs.push(t);
        binIndex.push(index);
        events.push({
          kind: 'bin',
          index,
          startUs: t,
          widthUs,
          counts: counts.slice(j * channels, (j + 1) * channels),
          ...(kinematicCount > 0 ? { kinematics: kinematics.slice(j * k, (j + 1) * k) } : {}),
        });
      }
    }
    if (collect) {
      countParts.push(counts);
      kinematicParts.push(kinematicCount > 0 ? kinematics : new Float64Array(count * k).fill(Number.NaN));
    }
    firstStartUs ??= chunk.startUs;
    lastEndUs = chunk.startUs + (count - 1) * widthUs + widthUs;
    binsRead += count;
  };

  let pos = header.dataOffset;
  while (pos < bytes.length) {
    const p = probe(bytes, view, pos);
    if (!p.ok) {
      const next = findNextChunk(bytes, view, pos + 1);
      if (next !== -1) {
        damage(pos, next - pos, p.reason);
        pos = next;
        continue;
      }
      // Nothing valid follows: what is left is a cut-off tail (a crash mid-write, perhaps padded by the file
      // system), even when its first chunk looks whole.
      truncated = { atByte: pos, bytesLost: bytes.length - pos };
      break;
    }
    const { type, payload, length, end } = p;
    let problem: string | undefined;
    if (type === ChunkType.bins) {
      const chunk = decodeBins(view, payload, length, metadata, lastIndex);
      if (typeof chunk === 'string') problem = chunk;
      else onBins(chunk);
    } else if (type === ChunkType.gap) {
      const gap = decodeGap(bytes, view, payload, length);
      if (typeof gap === 'string') problem = gap;
      else {
        gapsRead++;
        breakBefore = true;
        if (collect) events.push(gap);
      }
    } else if (type === ChunkType.marker) {
      const marker = decodeMarker(bytes, view, payload, length);
      if (typeof marker === 'string') problem = marker;
      else {
        markersRead++;
        if (collect) {
          events.push(marker);
          markers.push(marker);
        }
      }
    } else if (type === ChunkType.end) {
      const t = decodeEnd(view, payload, length);
      if (typeof t === 'string') problem = t;
      else totals = t;
    } else {
      unknownChunks.push({ offset: pos, type, length: end - pos });
    }
    if (problem !== undefined) {
      damage(pos, end - pos, problem);
    } else {
      chunksRead++;
    }
    pos = end;
    if (totals !== undefined) {
      trailingBytes = bytes.length - end;
      break;
    }
  }
  if (totals === undefined && truncated === undefined) truncated = { atByte: bytes.length, bytesLost: 0 };
  settleDamage(totals);

  const report: SessionFileReport = {
    formatVersion: header.version,
    flags: header.flags,
    fileBytes: bytes.length,
    dataOffset: header.dataOffset,
    chunksRead,
    binsRead,
    gapsRead,
    markersRead,
    cleanClose: totals !== undefined,
    totals,
    truncated,
    corrupt,
    bytesSkipped: corrupt.reduce((sum, c) => sum + c.length, 0),
    unknownChunks,
    trailingBytes,
  };
  const span = { startUs: firstStartUs, endUs: binsRead > 0 ? lastEndUs : undefined };
  if (!collect) return { metadata, report, session: undefined, events: undefined, ...span };

  // Markers point at dense positions: the first bin whose file index is at least the marker's.
  const breaks = new Set(segmentStarts);
  const sessionMarkers = markers
    .map((m): SessionMarker => {
      const at = lowerBound(binIndex, m.bin);
      if (m.break && at > 0 && at < binsRead) breaks.add(at);
      return { kind: 'marker', bin: at, label: m.label, break: m.break };
    })
    .sort((a, b) => a.bin - b.bin);
  const session: RecordedSession = {
    metadata,
    bins: binsRead,
    counts: concat(countParts, Float32Array, binsRead * channels),
    kinematics: concat(kinematicParts, Float64Array, binsRead * k),
    startUs: Float64Array.from(startUs),
    segmentStarts: [...breaks].sort((a, b) => a - b),
    markers: sessionMarkers,
  };
  return { metadata, report, session, events: events as SessionFileEvent[], ...span };
}

function lowerBound(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function concat<T extends Float32Array | Float64Array>(
  parts: readonly T[],
  Ctor: { new (length: number): T },
  length: number,
): T {
  const out = new Ctor(length);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
