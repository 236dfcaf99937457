import { hostClockUs } from '@edge-bci/core';
import { map, Observable, type OperatorFunction } from 'rxjs';
import { type DecoderStats, encodeFrame, FrameDecoder, type RejectReason } from './frame-codec.js';
import type { MalformedPacketError, Message } from './messages.js';

/** Bytes as a transport delivered them, with the host time (us) they arrived. */
export interface Chunk {
  readonly bytes: Uint8Array;
  readonly receivedUs: number;
}

export interface DecodePacketsOptions {
  /** Counters to watch (shared by every subscription). */
  readonly stats?: DecoderStats;
  readonly onReject?: (reason: RejectReason, bytes: number, error?: MalformedPacketError) => void;
}

/**
 * The decoder as a stream stage: byte chunks in any pieces to messages that passed COBS, CRC and layout,
 * each stamped with the arrival of its last byte. A plain `Uint8Array` is stamped with the host clock.
 * Each subscription has its own decoder state.
 */
export function decodePackets(
  options: DecodePacketsOptions = {},
): OperatorFunction<Chunk | Uint8Array, Message & { readonly receivedUs: number }> {
  return (source) =>
    new Observable((subscriber) => {
      const decoder = new FrameDecoder({
        ...(options.stats && { stats: options.stats }),
        ...(options.onReject && { onReject: options.onReject }),
        onMessage: (message, receivedUs) => subscriber.next({ ...message, receivedUs }),
      });
      return source.subscribe({
        next: (chunk) => {
          if (chunk instanceof Uint8Array) decoder.push(chunk, hostClockUs());
          else decoder.push(chunk.bytes, chunk.receivedUs);
        },
        error: (err) => subscriber.error(err),
        complete: () => {
          decoder.reset(); // an unfinished frame at the end is counted, not delivered
          subscriber.complete();
        },
      });
    });
}

/** The encoder as a stream stage: messages to wire frames (COBS + delimiter). */
export function encodePackets(): OperatorFunction<Message, Uint8Array> {
  return map((message) => encodeFrame(message));
}
