/**
 * Byte layout of the `.ebci` session format, shared by the writer and the reader.
 * docs/session-format.md describes the same layout in prose; keep the two in step.
 *
 * A file is a preamble, a JSON header and a sequence of chunks, all little-endian:
 *
 *   preamble  magic 'EBCI' | version u16 | flags u16 | header length u32 | header CRC-32 u32
 *   header    UTF-8 JSON, `header length` bytes
 *   chunk     sync u32 | type u8 | reserved u8[3] | payload length u32 | payload | CRC-32 u32
 */
import type { SessionMetadata } from '../types.js';
import { crc32 } from '../util/crc32.js';

/** File name extension of session files. */
export const SESSION_FILE_EXTENSION = '.ebci';

/** The format version this SDK writes and reads. */
export const SESSION_FORMAT_VERSION = 1;

/** 'EBCI' in ASCII. */
export const MAGIC = Uint8Array.of(0x45, 0x42, 0x43, 0x49);

/** Bytes of the preamble: magic, version, flags, header length, header CRC. */
export const PREAMBLE_BYTES = 16;

/** Offset of the header CRC within the preamble; the CRC covers the preamble bytes before it and the JSON. */
export const HEADER_CRC_OFFSET = 12;

/** A header longer than this is taken as damage rather than read. */
export const MAX_HEADER_BYTES = 16 * 1024 * 1024;

/** First four bytes of every chunk, chosen to be rare in JSON text and small integers. */
export const SYNC = Uint8Array.of(0xeb, 0xc1, 0x43, 0x4b);

/** Sync word, type, three reserved bytes, payload length. */
export const CHUNK_HEADER_BYTES = 12;

/** The CRC-32 after the payload. */
export const CHUNK_TRAILER_BYTES = 4;

/** Chunk type codes. Codes not listed here are skipped by readers (and reported). */
export const ChunkType = {
  bins: 1,
  gap: 2,
  marker: 3,
  end: 4,
} as const;
export type ChunkTypeName = keyof typeof ChunkType;

/** Counts encodings in a `bins` chunk. */
export const CountsDtype = {
  uint16: 1,
  float32: 2,
} as const;

/** Fixed part of a `bins` payload, before the counts. */
export const BINS_FIXED_BYTES = 32;
/** Fixed part of a `gap` payload, before the reason string. */
export const GAP_FIXED_BYTES = 32;
/** Fixed part of a `marker` payload, before the label. */
export const MARKER_FIXED_BYTES = 8;
/** Size of an `end` payload. */
export const END_BYTES = 32;

/** Presence bits of the optional `Gap` fields in a `gap` payload. */
export const GapFlag = {
  firstBin: 1,
  bins: 2,
  lostFrames: 4,
} as const;

/** Bit 0 of a marker's flags byte: the marker breaks continuity. */
export const MARKER_BREAK = 1;

/** Largest bin index a file can hold (the end chunk stores index + 1 in a u32). */
export const MAX_BIN_INDEX = 0xffff_fffe;

/** Largest value of the u32 fields. */
export const U32_MAX = 0xffff_ffff;

/** Largest UTF-8 length of a gap reason or marker label (u16 length field). */
export const MAX_STRING_BYTES = 0xffff;

/** The JSON object stored in the header. Readers ignore keys they do not know. */
export interface SessionFileHeader {
  readonly metadata: SessionMetadata;
  /** How the writer grouped bins; informational. */
  readonly writer?: { readonly binsPerChunk?: number };
}

/** Totals the writer stores in the `end` chunk of a cleanly closed file. */
export interface SessionFileTotals {
  /** Chunks written before `end` (bins, gap and marker chunks). */
  readonly chunks: number;
  readonly bins: number;
  readonly gaps: number;
  readonly markers: number;
  /** Index of the last bin written plus one (0 when no bins were written). */
  readonly nextBin: number;
  /** End time (startUs + widthUs) of the last bin written (0 when no bins were written). */
  readonly endUs: number;
}

export const utf8Encoder = new TextEncoder();
/** Strict decoder: invalid UTF-8 in a chunk is damage, not something to paper over. */
export const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Checks the fields of `SessionMetadata`; returns what is wrong, or undefined when it is valid.
 * The writer refuses invalid metadata and the reader refuses a header holding it.
 */
export function metadataProblem(m: unknown): string | undefined {
  if (typeof m !== 'object' || m === null || Array.isArray(m)) return 'metadata must be an object';
  const r = m as Record<string, unknown>;
  const { channels, channelLabels, binWidthUs, kinematicNames, source, createdAt } = r;
  if (typeof channels !== 'number' || !Number.isInteger(channels) || channels < 0 || channels > U32_MAX) {
    return 'metadata.channels must be a non-negative integer';
  }
  if (!Array.isArray(channelLabels) || !channelLabels.every((l) => typeof l === 'string')) {
    return 'metadata.channelLabels must be an array of strings';
  }
  if (channelLabels.length !== channels) {
    return `metadata.channelLabels has ${channelLabels.length} labels for ${channels} channels`;
  }
  if (typeof binWidthUs !== 'number' || !Number.isFinite(binWidthUs) || binWidthUs <= 0) {
    return 'metadata.binWidthUs must be a positive number';
  }
  if (!Array.isArray(kinematicNames) || !kinematicNames.every((l) => typeof l === 'string')) {
    return 'metadata.kinematicNames must be an array of strings';
  }
  if (kinematicNames.length > 0xffff) return 'metadata.kinematicNames has more than 65535 names';
  if (source !== undefined && (typeof source !== 'object' || source === null || Array.isArray(source))) {
    return 'metadata.source must be an object';
  }
  if (createdAt !== undefined && typeof createdAt !== 'string') return 'metadata.createdAt must be a string';
  return undefined;
}

/**
 * The metadata with its known keys in a fixed order, then any others in their own order,
 * so that equal metadata always serialises to the same bytes.
 */
export function canonicalMetadata(m: SessionMetadata): SessionMetadata {
  const { channels, channelLabels, binWidthUs, kinematicNames, source, createdAt, ...rest } = m;
  return {
    channels,
    channelLabels: [...channelLabels],
    binWidthUs,
    kinematicNames: [...kinematicNames],
    ...(source === undefined ? {} : { source }),
    ...(createdAt === undefined ? {} : { createdAt }),
    ...rest,
  };
}

/** Preamble and header bytes for `metadata`. */
export function encodeHeader(metadata: SessionMetadata, binsPerChunk: number): Uint8Array {
  const header: SessionFileHeader = { metadata: canonicalMetadata(metadata), writer: { binsPerChunk } };
  const json = utf8Encoder.encode(JSON.stringify(header));
  const out = new Uint8Array(PREAMBLE_BYTES + json.length);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  view.setUint16(4, SESSION_FORMAT_VERSION, true);
  view.setUint16(6, 0, true); // flags: none defined in version 1
  view.setUint32(8, json.length, true);
  out.set(json, PREAMBLE_BYTES);
  const crc = crc32(json, 0, json.length, crc32(out, 0, HEADER_CRC_OFFSET));
  view.setUint32(HEADER_CRC_OFFSET, crc, true);
  return out;
}

/**
 * A whole chunk around a payload the caller fills in: `fill` gets a view of the chunk and the offset of the
 * payload. Returns the chunk with its CRC set, ready for one write.
 */
export function encodeChunk(
  type: number,
  payloadBytes: number,
  fill: (view: DataView, bytes: Uint8Array, at: number) => void,
): Uint8Array {
  const total = CHUNK_HEADER_BYTES + payloadBytes + CHUNK_TRAILER_BYTES;
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  bytes.set(SYNC, 0);
  view.setUint8(4, type);
  // bytes 5..7 reserved, zero
  view.setUint32(8, payloadBytes, true);
  fill(view, bytes, CHUNK_HEADER_BYTES);
  const end = CHUNK_HEADER_BYTES + payloadBytes;
  view.setUint32(end, crc32(bytes, 0, end), true);
  return bytes;
}

/** True when the four bytes at `at` are the sync word. */
export function isSyncAt(bytes: Uint8Array, at: number): boolean {
  return (
    at + 4 <= bytes.length &&
    bytes[at] === SYNC[0] &&
    bytes[at + 1] === SYNC[1] &&
    bytes[at + 2] === SYNC[2] &&
    bytes[at + 3] === SYNC[3]
  );
}
