import { crc32 } from '@edge-bci/core';
import { cobsDecodeInto, cobsEncodeInto, cobsMaxEncodedLength } from './cobs.js';
import {
  bodyLength,
  CRC_BYTES,
  HEADER_BYTES,
  MAX_PACKET_BYTES,
  MalformedPacketError,
  type Message,
  readPacket,
  writePacket,
} from './messages.js';

/** The frame delimiter: COBS leaves no other zero byte on the wire. */
export const DELIMITER = 0x00;
/** Longest frame on the wire, delimiter included. */
export const MAX_FRAME_BYTES = cobsMaxEncodedLength(MAX_PACKET_BYTES) + 1;

/** Packet bytes (header, body, CRC) of `message`, before COBS. */
export function encodePacket(message: Message): Uint8Array {
  const packet = new Uint8Array(HEADER_BYTES + bodyLength(message) + CRC_BYTES);
  const view = new DataView(packet.buffer);
  const n = writePacket(message, view);
  view.setUint32(n, crc32(packet, 0, n), true);
  return packet;
}

/** Wire bytes of `message`: COBS(header, body, CRC) followed by the zero delimiter. */
export function encodeFrame(message: Message): Uint8Array {
  const packet = encodePacket(message);
  const frame = new Uint8Array(cobsMaxEncodedLength(packet.length) + 1);
  const n = cobsEncodeInto(packet, 0, packet.length, frame, 0);
  frame[n] = DELIMITER;
  return frame.subarray(0, n + 1);
}

/** Why a decoder threw bytes away. */
export type RejectReason = 'cobs' | 'short' | 'crc' | 'malformed' | 'oversize';

/** Counters of a `FrameDecoder`. */
export interface DecoderStats {
  /** Bytes pushed in. */
  bytes: number;
  /** Packets decoded and delivered. */
  packets: number;
  /** Frames whose CRC did not match (corrupted in transit). */
  crcErrors: number;
  /** Frames with a valid CRC that broke the specification (`MalformedPacketError`). */
  malformed: number;
  /** Times the decoder threw bytes away and picked up again at the next delimiter, for any reason. */
  resyncs: number;
  /** Bytes thrown away. */
  discardedBytes: number;
}

export function createDecoderStats(): DecoderStats {
  return { bytes: 0, packets: 0, crcErrors: 0, malformed: 0, resyncs: 0, discardedBytes: 0 };
}

export interface FrameDecoderOptions {
  /** Called with every packet that passed COBS, CRC and the message layout, with the time its last byte arrived. */
  readonly onMessage: (message: Message, receivedUs: number) => void;
  /** Called for every stretch of bytes thrown away. */
  readonly onReject?: (reason: RejectReason, bytes: number, error?: MalformedPacketError) => void;
  readonly stats?: DecoderStats;
  /** Longest frame accepted, delimiter excluded (default: the protocol's maximum). */
  readonly maxFrameBytes?: number;
}

/**
 * Splits a byte stream that arrives in arbitrary pieces into packets: a small push stage, like
 * node-serialport's delimiter parser, that checks COBS, the CRC and the message layout.
 * A frame that fails any check is counted and dropped whole; nothing corrupted is delivered.
 * Bytes before the first delimiter are taken as the tail of a frame the decoder joined in the middle of,
 * unless they form a valid frame.
 */
export class FrameDecoder {
  readonly stats: DecoderStats;
  private buffer: Uint8Array;
  private length = 0;
  /** True while skipping an over-long run until the next delimiter. */
  private skipping = false;
  private readonly maxFrameBytes: number;

  constructor(private readonly options: FrameDecoderOptions) {
    this.stats = options.stats ?? createDecoderStats();
    this.maxFrameBytes = options.maxFrameBytes ?? MAX_FRAME_BYTES - 1;
    this.buffer = new Uint8Array(Math.min(4096, this.maxFrameBytes));
  }

  /** Bytes held for an unfinished frame. */
  get pending(): number {
    return this.length;
  }

  push(chunk: Uint8Array, receivedUs: number): void {
    this.stats.bytes += chunk.length;
    let start = 0;
    for (;;) {
      const end = chunk.indexOf(DELIMITER, start);
      if (end < 0) {
        this.append(chunk, start, chunk.length);
        return;
      }
      this.append(chunk, start, end);
      this.endOfFrame(receivedUs);
      start = end + 1;
    }
  }

  /** Forgets a partial frame (e.g. after the port reopened). Returns the bytes thrown away. */
  reset(): number {
    const n = this.length;
    if (n > 0 || this.skipping) this.reject('short', n);
    this.length = 0;
    this.skipping = false;
    return n;
  }

  private append(chunk: Uint8Array, start: number, end: number): void {
    const n = end - start;
    if (n === 0) return;
    if (this.skipping) {
      this.stats.discardedBytes += n;
      return;
    }
    if (this.length + n > this.maxFrameBytes) {
      this.stats.discardedBytes += this.length + n;
      this.stats.resyncs++;
      this.options.onReject?.('oversize', this.length + n);
      this.length = 0;
      this.skipping = true;
      return;
    }
    if (this.length + n > this.buffer.length) {
      const grown = new Uint8Array(
        Math.min(this.maxFrameBytes, Math.max(2 * this.buffer.length, this.length + n)),
      );
      grown.set(this.buffer.subarray(0, this.length));
      this.buffer = grown;
    }
    this.buffer.set(chunk.subarray(start, end), this.length);
    this.length += n;
  }

  private endOfFrame(receivedUs: number): void {
    const n = this.length;
    this.length = 0;
    if (this.skipping) {
      this.skipping = false;
      return;
    }
    if (n === 0) return; // back-to-back delimiters are allowed (a sender may flush with one)
    const buffer = this.buffer;
    const decoded = cobsDecodeInto(buffer, 0, n, buffer, 0);
    if (decoded < 0) {
      this.reject('cobs', n);
      return;
    }
    if (decoded < HEADER_BYTES + CRC_BYTES) {
      this.reject('short', n);
      return;
    }
    const bodyEnd = decoded - CRC_BYTES;
    const sent =
      (buffer[bodyEnd]! |
        (buffer[bodyEnd + 1]! << 8) |
        (buffer[bodyEnd + 2]! << 16) |
        (buffer[bodyEnd + 3]! << 24)) >>>
      0;
    if (crc32(buffer, 0, bodyEnd) !== sent) {
      this.stats.crcErrors++;
      this.reject('crc', n);
      return;
    }
    let message: Message;
    try {
      message = readPacket(buffer, bodyEnd);
    } catch (err) {
      if (!(err instanceof MalformedPacketError)) throw err;
      this.stats.malformed++;
      this.reject('malformed', n, err);
      return;
    }
    this.stats.packets++;
    this.options.onMessage(message, receivedUs);
  }

  private reject(reason: RejectReason, bytes: number, error?: MalformedPacketError): void {
    this.stats.resyncs++;
    this.stats.discardedBytes += bytes;
    this.options.onReject?.(reason, bytes, error);
  }
}
