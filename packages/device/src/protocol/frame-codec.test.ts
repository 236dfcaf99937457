import { describe, expect, it } from 'vitest';
import { cobsDecode } from './cobs.js';
import {
  createDecoderStats,
  DELIMITER,
  type DecoderStats,
  encodeFrame,
  encodePacket,
  FrameDecoder,
  type FrameDecoderOptions,
  MAX_FRAME_BYTES,
  type RejectReason,
} from './frame-codec.js';
import { type CountsMessage, MAX_PACKET_BYTES, MalformedPacketError, type Message } from './messages.js';
import { frameOf, rawPacket } from './vectors.js';

/** Deterministic PRNG (mulberry32). */
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

const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

interface Harness {
  decoder: FrameDecoder;
  messages: Message[];
  times: number[];
  rejects: { reason: RejectReason; bytes: number; error?: MalformedPacketError }[];
}

function harness(options: Partial<FrameDecoderOptions> = {}): Harness {
  const h: Harness = { decoder: undefined as unknown as FrameDecoder, messages: [], times: [], rejects: [] };
  h.decoder = new FrameDecoder({
    ...options,
    onMessage: (m, t) => {
      h.messages.push(m);
      h.times.push(t);
    },
    onReject: (reason, bytes, error) => h.rejects.push({ reason, bytes, ...(error && { error }) }),
  });
  return h;
}

/** A varied, deterministic list of messages (every type, sizes from 23 bytes to over 254). */
function messageStream(count: number, seed: number): Message[] {
  const random = rng(seed);
  const int = (n: number) => Math.floor(random() * n);
  const out: Message[] = [];
  for (let seq = 0; seq < count; seq++) {
    const deviceTimeUs = 1_000_000 + seq * 1000;
    const kinematics = Float32Array.from({ length: int(3) }, () => Math.fround(random() * 10 - 5));
    switch (seq % 6) {
      case 0:
      case 1: {
        const channels = 1 + int(seq % 12 === 0 ? 300 : 96);
        const countWidth = int(2) === 0 ? 1 : 2;
        const counts = Uint16Array.from({ length: channels }, () =>
          int(4) === 0 ? 0 : int(countWidth === 1 ? 256 : 65536),
        );
        out.push({
          type: 'counts',
          seq,
          deviceTimeUs,
          channels,
          durationUs: 1000,
          countWidth,
          counts,
          kinematics,
        });
        break;
      }
      case 2: {
        const n = int(20);
        out.push({
          type: 'events',
          seq,
          deviceTimeUs,
          channels: 96,
          durationUs: 1000,
          eventChannels: Uint16Array.from({ length: n }, () => int(96)),
          offsetsUs: Uint32Array.from({ length: n }, () => int(1000)),
          kinematics,
        });
        break;
      }
      case 3:
        out.push({
          type: 'status',
          seq,
          deviceTimeUs,
          channels: 96,
          batteryPercent: int(2) ? int(101) : undefined,
          flags: int(32),
          droppedFrames: int(5),
        });
        break;
      case 4:
        out.push({
          type: 'ack',
          seq,
          deviceTimeUs,
          channels: 96,
          ackSeq: int(100),
          command: 'ping',
          result: 'ok',
          detail: 'x'.repeat(int(40)),
        });
        break;
      default:
        out.push({
          type: 'info',
          seq,
          deviceTimeUs,
          channels: 96,
          firmwareVersion: [1, 0, seq & 0xff],
          bootId: int(2 ** 32),
          subBinUs: 1000,
          countWidth: 1,
          mode: 'counts',
          serialNumber: `SN${seq}`,
          kinematicNames: ['x', 'y'],
        });
    }
  }
  return out;
}

const ping = (seq: number): Message => ({
  type: 'command',
  seq,
  deviceTimeUs: 0,
  channels: 0,
  command: 'ping',
});
const countsMessage: Message = {
  type: 'counts',
  seq: 42,
  deviceTimeUs: 7_000_000,
  channels: 16,
  durationUs: 1000,
  countWidth: 2,
  counts: Uint16Array.from({ length: 16 }, (_, c) => c * 300),
  kinematics: Float32Array.of(0.25, -4),
};
/** Over 254 bytes with a long zero-free run: its frame has a 0xff COBS block. */
const longMessage: Message = {
  type: 'counts',
  seq: 43,
  deviceTimeUs: 7_001_000,
  channels: 280,
  durationUs: 1000,
  countWidth: 1,
  counts: Uint16Array.from({ length: 280 }, (_, c) => (c % 255) + 1),
  kinematics: new Float32Array(0),
};

/** Indices of the COBS code bytes of `frame` (delimiter excluded). */
function codeBytePositions(frame: Uint8Array): Set<number> {
  const positions = new Set<number>();
  for (let at = 0; at < frame.length - 1; at += frame[at]!) positions.add(at);
  return positions;
}

describe('FrameDecoder: clean streams', () => {
  const messages = messageStream(300, 7);
  messages.splice(150, 0, longMessage);
  const frames = messages.map(encodeFrame);
  const stream = concat(...frames);

  it('has a stream with frames of all sizes, one with a full COBS block', () => {
    expect(Math.min(...frames.map((f) => f.length))).toBeLessThan(40);
    expect(frames.some((f) => f.length > 300 && [...codeBytePositions(f)].some((p) => f[p] === 0xff))).toBe(
      true,
    );
  });

  const chunkings: [string, (random: () => number) => number][] = [
    ['1 byte', () => 1],
    ['2 bytes', () => 2],
    ['random 1..16 bytes', (r) => 1 + Math.floor(r() * 16)],
    ['random 1..600 bytes', (r) => 1 + Math.floor(r() * 600)],
    ['random 1 byte to the whole stream', (r) => 1 + Math.floor(r() ** 3 * stream.length)],
    ['the whole stream', () => stream.length],
  ];
  it.each(chunkings)('decodes identically in chunks of %s', (_, size) => {
    const random = rng(99);
    const h = harness();
    let times = 0;
    for (let at = 0; at < stream.length; ) {
      const n = Math.min(size(random), stream.length - at);
      h.decoder.push(stream.subarray(at, at + n), ++times);
      at += n;
    }
    expect(h.messages).toEqual(messages);
    expect(h.rejects).toEqual([]);
    expect(h.decoder.pending).toBe(0);
    expect(h.decoder.stats).toEqual({
      ...createDecoderStats(),
      bytes: stream.length,
      packets: messages.length,
    });
  });

  it('passes receivedUs of the chunk holding the delimiter', () => {
    const h = harness();
    const a = encodeFrame(ping(1));
    const b = encodeFrame(ping(2));
    h.decoder.push(a.subarray(0, 5), 100);
    h.decoder.push(concat(a.subarray(5), b.subarray(0, b.length - 1)), 200);
    h.decoder.push(b.subarray(b.length - 1), 300);
    expect(h.times).toEqual([200, 300]);
    h.decoder.push(concat(a, b), 400);
    expect(h.times).toEqual([200, 300, 400, 400]);
    expect(h.decoder.pending).toBe(0);
  });

  it('ignores back-to-back delimiters', () => {
    const h = harness();
    const a = encodeFrame(ping(1));
    h.decoder.push(concat(Uint8Array.of(0, 0), a, Uint8Array.of(0, 0, 0), a, Uint8Array.of(0)), 1);
    expect(h.messages).toHaveLength(2);
    expect(h.decoder.stats).toEqual({ ...createDecoderStats(), bytes: 2 * a.length + 6, packets: 2 });
  });

  it('shares a stats object passed in', () => {
    const stats = createDecoderStats();
    const h = harness({ stats });
    h.decoder.push(encodeFrame(ping(1)), 1);
    expect(h.decoder.stats).toBe(stats);
    expect(stats.packets).toBe(1);
  });

  it('holds a partial frame as pending, and reset() throws it away', () => {
    const h = harness();
    const a = encodeFrame(countsMessage);
    h.decoder.push(a.subarray(0, 10), 1);
    expect(h.decoder.pending).toBe(10);
    expect(h.decoder.reset()).toBe(10);
    expect(h.decoder.pending).toBe(0);
    expect(h.rejects).toEqual([{ reason: 'short', bytes: 10 }]);
    h.decoder.push(a, 2);
    expect(h.messages).toEqual([countsMessage]);
    expect(h.decoder.reset()).toBe(0);
    expect(h.rejects).toHaveLength(1);
    expect(h.decoder.stats).toMatchObject({ packets: 1, resyncs: 1, discardedBytes: 10, crcErrors: 0 });
  });

  it('does not hold on to its buffer: delivered messages survive later pushes', () => {
    const h = harness();
    h.decoder.push(encodeFrame(countsMessage), 1);
    h.decoder.push(
      encodeFrame({ ...countsMessage, counts: new Uint16Array(16), kinematics: Float32Array.of(9, 9) }),
      2,
    );
    expect(h.messages[0]).toEqual(countsMessage);
  });
});

describe('FrameDecoder: joining mid-stream and garbage', () => {
  const messages = messageStream(6, 3);
  const frames = messages.map(encodeFrame);
  const stream = concat(...frames);

  it('starting at every byte of the first two frames loses only the frame it joined inside', () => {
    const [a, b] = [frames[0]!, frames[1]!];
    for (let start = 0; start < a.length + b.length; start++) {
      const h = harness();
      h.decoder.push(stream.subarray(start), 1);
      const inA = start < a.length;
      const offset = inA ? start : start - a.length;
      const frame = inA ? a : b;
      const firstWhole = inA ? 1 : 2;
      // Joining at a frame's first byte loses nothing; at its delimiter, nothing is left of it.
      const lost = offset > 0 && offset < frame.length - 1;
      expect(h.messages).toEqual(messages.slice(offset > 0 ? firstWhole : firstWhole - 1));
      if (lost) {
        expect(h.rejects).toHaveLength(1);
        expect(['cobs', 'short', 'crc']).toContain(h.rejects[0]!.reason);
        expect(h.decoder.stats.discardedBytes).toBe(frame.length - 1 - offset);
        expect(h.decoder.stats.resyncs).toBe(1);
      } else {
        expect(h.rejects).toEqual([]);
      }
    }
  });

  it('drops garbage that ends with a delimiter, losing no frame', () => {
    const random = rng(5);
    const parts: Uint8Array[] = [];
    let garbageBytes = 0;
    let garbageRuns = 0;
    for (const frame of frames) {
      const n = Math.floor(random() * 50);
      const garbage = Uint8Array.from({ length: n }, () => 1 + Math.floor(random() * 255));
      parts.push(garbage, Uint8Array.of(0), frame);
      garbageBytes += n;
      if (n > 0) garbageRuns++;
    }
    const h = harness();
    h.decoder.push(concat(...parts), 1);
    expect(h.messages).toEqual(messages);
    expect(h.decoder.stats.resyncs).toBe(garbageRuns);
    expect(h.decoder.stats.discardedBytes).toBe(garbageBytes);
    expect(h.decoder.stats.malformed).toBe(0);
  });

  it('garbage without a delimiter spoils exactly the frame it runs into', () => {
    const h = harness();
    const noise = Uint8Array.of(0x13, 0x37, 0x99);
    h.decoder.push(concat(frames[0]!, noise, frames[1]!, frames[2]!), 1);
    expect(h.messages).toEqual([messages[0], messages[2]]);
    expect(h.rejects).toHaveLength(1);
    expect(h.rejects[0]!.bytes).toBe(noise.length + frames[1]!.length - 1);
  });

  it('random noise never produces a message and never throws', () => {
    const random = rng(11);
    const h = harness();
    for (let i = 0; i < 200; i++) {
      const noise = Uint8Array.from({ length: Math.floor(random() * 400) }, () =>
        random() < 0.02 ? 0 : Math.floor(random() * 256),
      );
      h.decoder.push(noise, i);
    }
    expect(h.messages).toEqual([]);
    expect(h.decoder.stats.packets).toBe(0);
  });
});

describe('FrameDecoder: corruption of one frame between two good ones', () => {
  const before = encodeFrame(ping(1));
  const after = encodeFrame(ping(3));
  const targets: [string, Message][] = [
    ['a ping', ping(2)],
    ['a counts message with kinematics', countsMessage],
    ['a frame over 254 bytes', longMessage],
  ];

  it.each(targets)('flipping every bit of %s never delivers it, and the neighbours survive', (_, target) => {
    const frame = encodeFrame(target);
    const codes = codeBytePositions(frame);
    let flips = 0;
    for (let at = 0; at < frame.length; at++) {
      for (let bit = 0; bit < 8; bit++) {
        const bad = frame.slice();
        bad[at]! ^= 1 << bit;
        const h = harness();
        h.decoder.push(concat(before, bad, after), 1);
        flips++;
        const stats = h.decoder.stats;
        expect(stats.malformed).toBe(0);
        expect(stats.crcErrors).toBe(h.rejects.filter((r) => r.reason === 'crc').length);
        expect(stats.resyncs).toBe(h.rejects.length);
        if (at === frame.length - 1) {
          // The delimiter itself: this frame and the next run together into one rejected frame.
          expect(h.messages).toEqual([ping(1)]);
          expect(h.rejects).toHaveLength(1);
          expect(stats.discardedBytes).toBe(frame.length + after.length - 1);
        } else if (bad[at] === DELIMITER) {
          // A byte became a delimiter: the frame splits in two pieces, both rejected (an empty one is skipped).
          expect(h.messages).toEqual([ping(1), ping(3)]);
          expect(h.rejects).toHaveLength(at === 0 || at === frame.length - 2 ? 1 : 2);
          expect(stats.discardedBytes).toBe(frame.length - 2);
        } else {
          expect(h.messages).toEqual([ping(1), ping(3)]);
          expect(h.rejects).toHaveLength(1);
          expect(stats.discardedBytes).toBe(frame.length - 1);
          // A data byte changes one bit of the packet: the CRC catches it. A code byte moves the zeros.
          if (!codes.has(at)) expect(h.rejects[0]!.reason).toBe('crc');
          else expect(['crc', 'cobs', 'short']).toContain(h.rejects[0]!.reason);
        }
      }
    }
    expect(flips).toBe(8 * frame.length);
  });

  it.each(targets)('dropping any one byte of %s never delivers it', (_, target) => {
    const frame = encodeFrame(target);
    for (let at = 0; at < frame.length; at++) {
      const bad = concat(frame.subarray(0, at), frame.subarray(at + 1));
      const h = harness();
      h.decoder.push(concat(before, bad, after), 1);
      expect(h.rejects).toHaveLength(1);
      expect(h.decoder.stats.malformed).toBe(0);
      expect(h.decoder.stats.resyncs).toBe(1);
      if (at === frame.length - 1) {
        expect(h.messages).toEqual([ping(1)]);
        expect(h.decoder.stats.discardedBytes).toBe(frame.length - 1 + after.length - 1);
      } else {
        expect(h.messages).toEqual([ping(1), ping(3)]);
        expect(h.decoder.stats.discardedBytes).toBe(frame.length - 2);
        expect(['crc', 'cobs', 'short']).toContain(h.rejects[0]!.reason);
      }
    }
  });

  it('a wrong CRC is counted as a CRC error and the frame is dropped', () => {
    const packet = encodePacket(ping(2));
    packet[packet.length - 1]! ^= 0x80;
    const h = harness();
    h.decoder.push(concat(before, frameOf(packet), after), 1);
    expect(h.messages).toEqual([ping(1), ping(3)]);
    expect(h.rejects.map((r) => r.reason)).toEqual(['crc']);
    expect(h.decoder.stats.crcErrors).toBe(1);
  });
});

describe('FrameDecoder: oversize runs', () => {
  it('discards a run longer than maxFrameBytes up to the next delimiter and recovers', () => {
    const h = harness({ maxFrameBytes: 64 });
    const good = encodeFrame(ping(1));
    const run = new Uint8Array(1000).fill(0x55);
    h.decoder.push(good, 1);
    for (let at = 0; at < run.length; at += 100) h.decoder.push(run.subarray(at, at + 100), 2);
    expect(h.decoder.pending).toBe(0);
    h.decoder.push(Uint8Array.of(0), 3);
    h.decoder.push(good, 4);
    expect(h.messages).toEqual([ping(1), ping(1)]);
    expect(h.rejects).toEqual([{ reason: 'oversize', bytes: 100 }]);
    expect(h.decoder.stats).toEqual({
      bytes: 2 * good.length + 1001,
      packets: 2,
      crcErrors: 0,
      malformed: 0,
      resyncs: 1,
      discardedBytes: 1000,
    });
  });

  it('accepts a frame of exactly maxFrameBytes and rejects one byte more', () => {
    const frame = encodeFrame(countsMessage);
    const exact = harness({ maxFrameBytes: frame.length - 1 });
    exact.decoder.push(frame, 1);
    expect(exact.messages).toEqual([countsMessage]);
    const short = harness({ maxFrameBytes: frame.length - 2 });
    short.decoder.push(frame, 1);
    short.decoder.push(frame.subarray(5), 1); // resumes at the next delimiter; this tail is its own reject
    expect(short.messages).toEqual([]);
    expect(short.rejects[0]).toEqual({ reason: 'oversize', bytes: frame.length - 1 });
  });

  it('handles an oversize run and the next frame in one chunk', () => {
    const h = harness({ maxFrameBytes: 32 });
    const good = encodeFrame(ping(9));
    h.decoder.push(concat(new Uint8Array(40).fill(1), Uint8Array.of(0), good), 1);
    expect(h.messages).toEqual([ping(9)]);
    expect(h.decoder.stats).toMatchObject({ resyncs: 1, discardedBytes: 40 });
  });

  it('with the default limit, accepts the largest packet and discards a longer run', () => {
    expect(MAX_FRAME_BYTES).toBe(65_818);
    const channels = 65_529; // 1-byte counts: body 6 + 65529 = 65535 bytes, the largest
    const big: CountsMessage = {
      type: 'counts',
      seq: 1,
      deviceTimeUs: 0,
      channels,
      durationUs: 1000,
      countWidth: 1,
      counts: Uint16Array.from({ length: channels }, (_, c) => (c % 255) + 1),
      kinematics: new Float32Array(0),
    };
    const frame = encodeFrame(big);
    expect(encodePacket(big).length).toBe(MAX_PACKET_BYTES);
    expect(frame.length).toBeLessThanOrEqual(MAX_FRAME_BYTES);
    const h = harness();
    h.decoder.push(frame, 1);
    h.decoder.push(new Uint8Array(MAX_FRAME_BYTES).fill(0x7f), 2); // one byte more than a frame may hold
    h.decoder.push(Uint8Array.of(0), 3);
    h.decoder.push(encodeFrame(ping(2)), 4);
    expect(h.messages).toHaveLength(2);
    const got = h.messages[0] as CountsMessage;
    expect(Buffer.from(got.counts.buffer).equals(Buffer.from(big.counts.buffer))).toBe(true);
    expect({ ...got, counts: undefined }).toEqual({ ...big, counts: undefined });
    expect(h.rejects).toEqual([{ reason: 'oversize', bytes: MAX_FRAME_BYTES }]);
    expect(h.decoder.stats.discardedBytes).toBe(MAX_FRAME_BYTES);
  });
});

describe('FrameDecoder: exact stats', () => {
  it('counts every kind of reject in a mixed stream', () => {
    const good = encodeFrame(countsMessage);
    const badCrc = encodePacket(ping(5));
    badCrc[20]! ^= 1;
    const badCrcFrame = frameOf(badCrc);
    const malformedFrame = frameOf(rawPacket({ version: 3, type: 0x10, body: [5] }));
    const shortFrame = Uint8Array.of(0x01, 0x00); // empty packet
    const cobsFrame = Uint8Array.of(0x05, 0x11, 0x00); // code byte past the end
    const oversize = new Uint8Array(100).fill(0x22);
    const stream = concat(
      good,
      badCrcFrame,
      good,
      shortFrame,
      cobsFrame,
      malformedFrame,
      oversize,
      Uint8Array.of(0),
      good,
    );
    const h = harness({ maxFrameBytes: 80 });
    h.decoder.push(stream, 1);
    expect(h.messages).toEqual([countsMessage, countsMessage, countsMessage]);
    expect(h.rejects.map((r) => [r.reason, r.bytes])).toEqual([
      ['crc', badCrcFrame.length - 1],
      ['short', 1],
      ['cobs', 2],
      ['malformed', malformedFrame.length - 1],
      ['oversize', 100],
    ]);
    expect(h.rejects[3]!.error).toBeInstanceOf(MalformedPacketError);
    const expected: DecoderStats = {
      bytes: stream.length,
      packets: 3,
      crcErrors: 1,
      malformed: 1,
      resyncs: 5,
      discardedBytes: badCrcFrame.length - 1 + 1 + 2 + malformedFrame.length - 1 + 100,
    };
    expect(h.decoder.stats).toEqual(expected);
  });

  it('a frame whose COBS decodes to fewer than 22 bytes is short', () => {
    const packet = encodePacket(ping(1)).subarray(0, 21);
    const h = harness();
    h.decoder.push(frameOf(packet), 1);
    expect(h.rejects.map((r) => r.reason)).toEqual(['short']);
    expect(cobsDecode(frameOf(packet).subarray(0, -1))).toHaveLength(21);
  });
});
