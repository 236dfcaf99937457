import { from, lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { createDecoderStats } from './frame-codec.js';
import type { Message } from './messages.js';
import { type Chunk, decodePackets, encodePackets } from './operators.js';

const messages: Message[] = Array.from({ length: 30 }, (_, i) => ({
  type: 'counts',
  seq: i,
  deviceTimeUs: 1000 * i,
  channels: 4,
  durationUs: 1000,
  countWidth: 1,
  counts: Uint16Array.of(i % 3, 0, 255, 7),
  kinematics: new Float32Array(0),
}));

describe('encodePackets / decodePackets', () => {
  it('round-trip messages through bytes cut in arbitrary pieces', async () => {
    const frames = await lastValueFrom(from(messages).pipe(encodePackets(), toArray()));
    const wire = Uint8Array.from(frames.flatMap((f) => Array.from(f)));
    const chunks: Chunk[] = [];
    for (let at = 0, k = 1; at < wire.length; at += k, k = (k * 7) % 23 || 1) {
      chunks.push({ bytes: wire.subarray(at, at + k), receivedUs: at });
    }
    const out = await lastValueFrom(from(chunks).pipe(decodePackets(), toArray()));
    expect(out.map((m) => m.seq)).toEqual(messages.map((m) => m.seq));
    expect(out[5]).toMatchObject({ type: 'counts', counts: Uint16Array.of(2, 0, 255, 7) });
    // Stamped with the chunk that carried the frame's last byte.
    for (const m of out) expect(m.receivedUs).toBeLessThan(wire.length);
  });

  it('drops and counts a corrupted frame and an unfinished one at the end', async () => {
    const frames = await lastValueFrom(from(messages.slice(0, 3)).pipe(encodePackets(), toArray()));
    const bad = frames[1]!.slice();
    bad[5]! ^= 0x10;
    const stats = createDecoderStats();
    const tail = frames[2]!.subarray(0, 10);
    const out = await lastValueFrom(from([frames[0]!, bad, tail]).pipe(decodePackets({ stats }), toArray()));
    expect(out.map((m) => m.seq)).toEqual([0]);
    expect(stats).toMatchObject({
      packets: 1,
      crcErrors: 1,
      resyncs: 2,
      discardedBytes: bad.length - 1 + 10,
    });
  });
});
