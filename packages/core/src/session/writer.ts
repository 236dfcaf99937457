/**
 * Writes `.ebci` session files: append-only, one chunk per `fs.writeSync`, so that a crash or a pulled
 * cable leaves every chunk before the last one intact and at most one partial chunk at the end.
 * The byte layout is in docs/session-format.md.
 */
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { ChannelCountError, EdgeBciError, InvalidOptionError, NonFiniteValueError } from '../errors.js';
import type { Bin, Gap, RecordedSession, SessionMarker, SessionMetadata } from '../types.js';
import {
  BINS_FIXED_BYTES,
  ChunkType,
  CountsDtype,
  END_BYTES,
  encodeChunk,
  encodeHeader,
  GAP_FIXED_BYTES,
  GapFlag,
  MARKER_BREAK,
  MARKER_FIXED_BYTES,
  MAX_BIN_INDEX,
  MAX_STRING_BYTES,
  metadataProblem,
  U32_MAX,
  utf8Encoder,
} from './format.js';

export interface SessionFileWriterOptions {
  /** Most bins in one `bins` chunk (1 to 65535; default 20). Smaller chunks lose less in a crash. */
  readonly binsPerChunk?: number;
  /**
   * Call fsync after every this many chunks (a positive integer). By default the writer only fsyncs
   * in `flush()` and `close()`; the operating system still gets every chunk as soon as it is complete.
   */
  readonly fsyncEveryChunks?: number;
}

/** A `SessionFileWriter` was used after `close()` or `abort()`. */
export class SessionFileClosedError extends EdgeBciError {
  readonly path: string;
  readonly operation: string;
  constructor(path: string, operation: string) {
    super('SESSION_FILE_CLOSED', `${path}: ${operation}() called after the session file was closed`);
    this.path = path;
    this.operation = operation;
  }
}

/** Default `binsPerChunk`: 20 bins is 0.4 s at 20 ms bins, a small loss in a crash and a small per-chunk overhead. */
export const DEFAULT_BINS_PER_CHUNK = 20;

const MAX_BINS_PER_CHUNK = 0xffff;

/**
 * Records a session as it happens. Bins are buffered into runs of consecutive bins (next index, same width,
 * `startUs` exactly `first startUs + k * widthUs`, same presence of kinematics); a run is written as one
 * `bins` chunk when it holds `binsPerChunk` bins, when the next bin does not continue it, or before any gap
 * or marker. Gaps and markers are written as they arrive.
 *
 * The writer adds nothing of its own (no clock, no random ids): the same calls give the same bytes.
 */
export class SessionFileWriter {
  /** Path of the file being written. */
  readonly path: string;
  readonly metadata: SessionMetadata;
  readonly binsPerChunk: number;

  private fd: number | undefined;
  private readonly fsyncEvery: number;
  private chunksSinceSync = 0;
  private readonly channels: number;
  private readonly kinematicCount: number;

  // The run of bins waiting to be written.
  private readonly runCounts: Float32Array;
  private readonly runKinematics: Float64Array;
  private runLength = 0;
  private runFirstIndex = 0;
  private runStartUs = 0;
  private runWidthUs = 0;
  private runHasKinematics = false;

  // Totals, stored in the end chunk.
  private lastIndex = -1;
  private lastEndUs = 0;
  private chunks = 0;
  private bins = 0;
  private gaps = 0;
  private markers = 0;
  private bytes = 0;

  private constructor(
    path: string,
    fd: number,
    metadata: SessionMetadata,
    binsPerChunk: number,
    fsyncEvery: number,
  ) {
    this.path = path;
    this.fd = fd;
    this.metadata = metadata;
    this.binsPerChunk = binsPerChunk;
    this.fsyncEvery = fsyncEvery;
    this.channels = metadata.channels;
    this.kinematicCount = metadata.kinematicNames.length;
    this.runCounts = new Float32Array(binsPerChunk * this.channels);
    this.runKinematics = new Float64Array(binsPerChunk * this.kinematicCount);
  }

  /**
   * Creates (or truncates) `path` and writes the preamble and header.
   * @throws InvalidOptionError for invalid metadata or options.
   */
  static create(
    path: string,
    metadata: SessionMetadata,
    options: SessionFileWriterOptions = {},
  ): SessionFileWriter {
    const problem = metadataProblem(metadata);
    if (problem !== undefined) throw new InvalidOptionError('metadata', problem);
    const binsPerChunk = options.binsPerChunk ?? DEFAULT_BINS_PER_CHUNK;
    if (!Number.isInteger(binsPerChunk) || binsPerChunk < 1 || binsPerChunk > MAX_BINS_PER_CHUNK) {
      throw new InvalidOptionError('binsPerChunk', `must be an integer from 1 to ${MAX_BINS_PER_CHUNK}`);
    }
    const maxPayload =
      BINS_FIXED_BYTES + binsPerChunk * (metadata.channels * 4 + metadata.kinematicNames.length * 8);
    if (maxPayload > U32_MAX) {
      throw new InvalidOptionError('binsPerChunk', `a chunk of ${binsPerChunk} bins would exceed 4 GiB`);
    }
    const fsyncEvery = options.fsyncEveryChunks ?? 0;
    if (options.fsyncEveryChunks !== undefined && (!Number.isInteger(fsyncEvery) || fsyncEvery < 1)) {
      throw new InvalidOptionError('fsyncEveryChunks', 'must be a positive integer');
    }
    const header = encodeHeader(metadata, binsPerChunk);
    const fd = openSync(path, 'w');
    try {
      const writer = new SessionFileWriter(path, fd, metadata, binsPerChunk, fsyncEvery);
      writer.writeBytes(header);
      return writer;
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  /** True after `close()` or `abort()`. */
  get closed(): boolean {
    return this.fd === undefined;
  }

  /** Bins accepted so far (written or buffered). */
  get binsWritten(): number {
    return this.bins + this.runLength;
  }

  /** Chunks written so far, not counting the one being buffered or the end chunk. */
  get chunksWritten(): number {
    return this.chunks;
  }

  /** Bytes handed to the operating system so far. */
  get bytesWritten(): number {
    return this.bytes;
  }

  /**
   * Adds one bin. Indices must increase; a bin that does not continue the buffered run starts a new chunk.
   * The counts and kinematics are copied, so the caller may reuse its arrays.
   * Kinematics may be absent (or empty) even when the metadata names some; a reader fills them with NaN.
   * @throws ChannelCountError when counts (or kinematics) do not match the metadata.
   * @throws NonFiniteValueError for a NaN or infinite count, startUs or widthUs.
   * @throws InvalidOptionError for an index that is not an integer above the previous one.
   */
  appendBin(bin: Bin): void {
    const fd = this.open('appendBin');
    const { counts, index, startUs, widthUs } = bin;
    if (counts.length !== this.channels)
      throw new ChannelCountError(this.channels, counts.length, 'bin counts');
    for (let c = 0; c < counts.length; c++) {
      if (!Number.isFinite(counts[c]!)) throw new NonFiniteValueError(`bin ${index} counts`, c, counts[c]!);
    }
    const kinematics = bin.kinematics !== undefined && bin.kinematics.length > 0 ? bin.kinematics : undefined;
    if (kinematics !== undefined && kinematics.length !== this.kinematicCount) {
      throw new ChannelCountError(this.kinematicCount, kinematics.length, 'bin kinematics');
    }
    if (!Number.isInteger(index) || index < 0 || index > MAX_BIN_INDEX) {
      throw new InvalidOptionError('bin.index', `${index} is not an integer from 0 to ${MAX_BIN_INDEX}`);
    }
    if (index <= this.lastIndex) {
      throw new InvalidOptionError(
        'bin.index',
        `${index} does not follow the previous bin (${this.lastIndex})`,
      );
    }
    if (!Number.isFinite(startUs)) throw new NonFiniteValueError(`bin ${index} startUs`, 0, startUs);
    if (!Number.isFinite(widthUs)) throw new NonFiniteValueError(`bin ${index} widthUs`, 0, widthUs);
    if (widthUs <= 0) throw new InvalidOptionError('bin.widthUs', `must be positive, got ${widthUs}`);

    const hasKinematics = kinematics !== undefined;
    if (
      this.runLength > 0 &&
      (index !== this.runFirstIndex + this.runLength ||
        widthUs !== this.runWidthUs ||
        hasKinematics !== this.runHasKinematics ||
        // The reader rebuilds start times as first + k * width; only bins that match it exactly share a chunk.
        startUs !== this.runStartUs + this.runLength * this.runWidthUs)
    ) {
      this.writeRun(fd);
    }
    if (this.runLength === 0) {
      this.runFirstIndex = index;
      this.runStartUs = startUs;
      this.runWidthUs = widthUs;
      this.runHasKinematics = hasKinematics;
    }
    this.runCounts.set(counts, this.runLength * this.channels);
    if (kinematics !== undefined) this.runKinematics.set(kinematics, this.runLength * this.kinematicCount);
    this.runLength++;
    this.lastIndex = index;
    this.lastEndUs = startUs + widthUs;
    if (this.runLength === this.binsPerChunk) this.writeRun(fd);
  }

  /**
   * Writes a gap chunk (after any buffered bins). The latency trace is not recorded.
   * @throws NonFiniteValueError for a NaN or infinite time; InvalidOptionError for counts outside u32.
   */
  appendGap(gap: Gap): void {
    const fd = this.open('appendGap');
    if (!Number.isFinite(gap.startUs)) throw new NonFiniteValueError('gap startUs', 0, gap.startUs);
    if (!Number.isFinite(gap.endUs)) throw new NonFiniteValueError('gap endUs', 0, gap.endUs);
    for (const field of ['firstBin', 'bins', 'lostFrames'] as const) {
      const v = gap[field];
      if (v !== undefined && (!Number.isInteger(v) || v < 0 || v > U32_MAX)) {
        throw new InvalidOptionError(`gap.${field}`, `${v} is not an integer from 0 to ${U32_MAX}`);
      }
    }
    const reason = encodeString(gap.reason, 'gap.reason');
    this.writeRun(fd);
    const flags =
      (gap.firstBin !== undefined ? GapFlag.firstBin : 0) |
      (gap.bins !== undefined ? GapFlag.bins : 0) |
      (gap.lostFrames !== undefined ? GapFlag.lostFrames : 0);
    const chunk = encodeChunk(ChunkType.gap, GAP_FIXED_BYTES + reason.length, (view, bytes, at) => {
      view.setFloat64(at, gap.startUs, true);
      view.setFloat64(at + 8, gap.endUs, true);
      view.setUint32(at + 16, gap.firstBin ?? 0, true);
      view.setUint32(at + 20, gap.bins ?? 0, true);
      view.setUint32(at + 24, gap.lostFrames ?? 0, true);
      view.setUint8(at + 28, flags);
      view.setUint16(at + 30, reason.length, true);
      bytes.set(reason, at + GAP_FIXED_BYTES);
    });
    this.writeChunk(fd, chunk);
    this.gaps++;
  }

  /**
   * Writes a marker chunk (after any buffered bins). `marker.bin` is a bin index on the same scale as
   * `Bin.index`; it may refer to a bin already written or one still to come.
   */
  appendMarker(marker: SessionMarker): void {
    const fd = this.open('appendMarker');
    if (!Number.isInteger(marker.bin) || marker.bin < 0 || marker.bin > U32_MAX) {
      throw new InvalidOptionError('marker.bin', `${marker.bin} is not an integer from 0 to ${U32_MAX}`);
    }
    const label = encodeString(marker.label, 'marker.label');
    this.writeRun(fd);
    const chunk = encodeChunk(ChunkType.marker, MARKER_FIXED_BYTES + label.length, (view, bytes, at) => {
      view.setUint32(at, marker.bin, true);
      view.setUint8(at + 4, marker.break ? MARKER_BREAK : 0);
      view.setUint16(at + 6, label.length, true);
      bytes.set(label, at + MARKER_FIXED_BYTES);
    });
    this.writeChunk(fd, chunk);
    this.markers++;
  }

  /** Writes the buffered bins (if any) as a chunk and fsyncs, so everything appended so far is on disk. */
  flush(): void {
    const fd = this.open('flush');
    this.writeRun(fd);
    fsyncSync(fd);
    this.chunksSinceSync = 0;
  }

  /**
   * Writes the buffered bins and the `end` chunk, fsyncs and closes the file.
   * Calling it again does nothing; any other method then throws `SessionFileClosedError`.
   */
  close(): void {
    const fd = this.fd;
    if (fd === undefined) return;
    try {
      this.writeRun(fd);
      const chunk = encodeChunk(ChunkType.end, END_BYTES, (view, _bytes, at) => {
        view.setUint32(at, this.chunks, true);
        view.setUint32(at + 4, this.bins, true);
        view.setUint32(at + 8, this.gaps, true);
        view.setUint32(at + 12, this.markers, true);
        view.setUint32(at + 16, this.bins > 0 ? this.lastIndex + 1 : 0, true);
        // at + 20: reserved u32, zero
        view.setFloat64(at + 24, this.bins > 0 ? this.lastEndUs : 0, true);
      });
      this.writeBytes(chunk);
      fsyncSync(fd);
    } finally {
      this.fd = undefined;
      closeSync(fd);
    }
  }

  /**
   * Closes the file without writing buffered bins or the `end` chunk, so it reads back as truncated.
   * For error paths; does nothing when already closed.
   */
  abort(): void {
    const fd = this.fd;
    if (fd === undefined) return;
    this.fd = undefined;
    this.runLength = 0;
    closeSync(fd);
  }

  private open(operation: string): number {
    if (this.fd === undefined) throw new SessionFileClosedError(this.path, operation);
    return this.fd;
  }

  /** Writes the buffered run as one `bins` chunk, if there is one. */
  private writeRun(fd: number): void {
    const n = this.runLength;
    if (n === 0) return;
    const values = n * this.channels;
    const counts = this.runCounts;
    let integral = true;
    for (let i = 0; i < values; i++) {
      const v = counts[i]!;
      // -0 is kept as float32 so that it reads back bit for bit.
      if (!Number.isInteger(v) || v < 0 || v > 0xffff || Object.is(v, -0)) {
        integral = false;
        break;
      }
    }
    const kinematicCount = this.runHasKinematics ? this.kinematicCount : 0;
    const kinValues = n * kinematicCount;
    const countBytes = integral ? 2 : 4;
    const payload = BINS_FIXED_BYTES + values * countBytes + kinValues * 8;
    const chunk = encodeChunk(ChunkType.bins, payload, (view, _bytes, at) => {
      view.setUint32(at, this.runFirstIndex, true);
      view.setUint32(at + 4, n, true);
      view.setUint32(at + 8, this.channels, true);
      view.setUint16(at + 12, kinematicCount, true);
      view.setUint8(at + 14, integral ? CountsDtype.uint16 : CountsDtype.float32);
      // at + 15: reserved u8, zero
      view.setFloat64(at + 16, this.runStartUs, true);
      view.setFloat64(at + 24, this.runWidthUs, true);
      let o = at + BINS_FIXED_BYTES;
      if (integral) {
        for (let i = 0; i < values; i++, o += 2) view.setUint16(o, counts[i]!, true);
      } else {
        for (let i = 0; i < values; i++, o += 4) view.setFloat32(o, counts[i]!, true);
      }
      const kin = this.runKinematics;
      for (let i = 0; i < kinValues; i++, o += 8) view.setFloat64(o, kin[i]!, true);
    });
    this.runLength = 0;
    this.writeChunk(fd, chunk);
    this.bins += n;
  }

  private writeChunk(fd: number, chunk: Uint8Array): void {
    this.writeBytes(chunk);
    this.chunks++;
    if (this.fsyncEvery > 0 && ++this.chunksSinceSync >= this.fsyncEvery) {
      fsyncSync(fd);
      this.chunksSinceSync = 0;
    }
  }

  /**
   * One `writeSync` per chunk: the chunk reaches the operating system whole or (after a crash) as a prefix.
   * Regular files take the whole buffer in one call; the loop only guards against a short write.
   */
  private writeBytes(bytes: Uint8Array): void {
    const fd = this.fd!;
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
    this.bytes += bytes.length;
  }
}

function encodeString(s: string, option: string): Uint8Array {
  if (typeof s !== 'string') throw new InvalidOptionError(option, 'must be a string');
  const bytes = utf8Encoder.encode(s);
  if (bytes.length > MAX_STRING_BYTES) {
    throw new InvalidOptionError(
      option,
      `is ${bytes.length} bytes of UTF-8, at most ${MAX_STRING_BYTES} fit`,
    );
  }
  return bytes;
}

/**
 * Writes a whole in-memory session so that `readSessionFile` gives it back unchanged.
 *
 * Bins get the indices 0 .. bins-1 and `metadata.binWidthUs` as width. Each segment start other than 0
 * is written as a gap chunk before its bin: reason 'segment', `firstBin` the segment start, `bins: 0`
 * (a `RecordedSession` does not say how many bins were missing), from the end of the previous bin
 * (or the segment's start, if time went backwards) to the segment's start. Markers are written before the
 * bin they point at (after that bin's segment gap), in order of `bin` and, within a bin, in their own order.
 *
 * The round trip is exact when every marker with `break: true` is at a segment start (or at 0 or `bins`),
 * as it is in any consistent session: a reader makes every break marker a segment start.
 * @throws InvalidOptionError when the session's arrays do not agree with each other or its metadata.
 */
export function writeSessionFile(
  path: string,
  session: RecordedSession,
  options: SessionFileWriterOptions = {},
): void {
  checkSession(session);
  const { metadata, bins, counts, kinematics, startUs, segmentStarts } = session;
  const channels = metadata.channels;
  const k = metadata.kinematicNames.length;
  const widthUs = metadata.binWidthUs;
  const markers = [...session.markers].sort((a, b) => a.bin - b.bin); // Array.prototype.sort is stable
  const writer = SessionFileWriter.create(path, metadata, options);
  try {
    let nextSegment = segmentStarts[0] === 0 ? 1 : 0;
    let nextMarker = 0;
    for (let d = 0; d <= bins; d++) {
      if (nextSegment < segmentStarts.length && segmentStarts[nextSegment] === d) {
        const prevEndUs = startUs[d - 1]! + widthUs;
        writer.appendGap({
          kind: 'gap',
          startUs: Math.min(prevEndUs, startUs[d]!),
          endUs: startUs[d]!,
          reason: 'segment',
          firstBin: d,
          bins: 0,
        });
        nextSegment++;
      }
      while (nextMarker < markers.length && markers[nextMarker]!.bin === d) {
        writer.appendMarker(markers[nextMarker++]!);
      }
      if (d === bins) break;
      writer.appendBin({
        kind: 'bin',
        index: d,
        startUs: startUs[d]!,
        widthUs,
        counts: counts.subarray(d * channels, (d + 1) * channels),
        ...(k > 0 ? { kinematics: kinematics.subarray(d * k, (d + 1) * k) } : {}),
      });
    }
    writer.close();
  } catch (err) {
    writer.abort();
    throw err;
  }
}

function checkSession(session: RecordedSession): void {
  const problem = metadataProblem(session.metadata);
  if (problem !== undefined) throw new InvalidOptionError('session.metadata', problem);
  const { metadata, bins, counts, kinematics, startUs, segmentStarts, markers } = session;
  if (!Number.isInteger(bins) || bins < 0 || bins > MAX_BIN_INDEX) {
    throw new InvalidOptionError('session.bins', `${bins} is not a valid bin count`);
  }
  const expect = (name: string, actual: number, expected: number) => {
    if (actual !== expected) {
      throw new InvalidOptionError(`session.${name}`, `has ${actual} values, expected ${expected}`);
    }
  };
  expect('counts', counts.length, bins * metadata.channels);
  expect('kinematics', kinematics.length, bins * metadata.kinematicNames.length);
  expect('startUs', startUs.length, bins);
  for (let i = 0; i < segmentStarts.length; i++) {
    const s = segmentStarts[i]!;
    if (!Number.isInteger(s) || s < 0 || s >= bins || (i > 0 && s <= segmentStarts[i - 1]!)) {
      throw new InvalidOptionError('session.segmentStarts', 'must be increasing bin indices below bins');
    }
  }
  if (bins > 0 && segmentStarts[0] !== 0) {
    throw new InvalidOptionError('session.segmentStarts', 'must start with 0');
  }
  for (const m of markers) {
    if (!Number.isInteger(m.bin) || m.bin < 0 || m.bin > bins) {
      throw new InvalidOptionError(
        'session.markers',
        `marker '${m.label}' at bin ${m.bin} is outside 0..${bins}`,
      );
    }
  }
}
