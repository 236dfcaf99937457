import { readFileSync } from 'node:fs';
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { encodeFrame, encodePacket, FrameDecoder, type RejectReason } from './frame-codec.js';
import { type Message, MessageType } from './messages.js';
import {
  fromHex,
  type MessageJson,
  messageFromJson,
  messageToJson,
  type ProtocolVectorFile,
  toHex,
} from './vectors.js';

const file = JSON.parse(
  readFileSync(new URL('../../test-vectors/protocol-v1.json', import.meta.url), 'utf8'),
) as ProtocolVectorFile;
const byName = (name: string) => {
  const vector = file.vectors.find((v) => v.name === name);
  if (!vector) throw new Error(`no vector ${name}`);
  return vector;
};

function decodeAll(bytes: Uint8Array, maxFrameBytes?: number) {
  const messages: Message[] = [];
  const rejects: RejectReason[] = [];
  const decoder = new FrameDecoder({
    onMessage: (m) => messages.push(m),
    onReject: (reason) => rejects.push(reason),
    ...(maxFrameBytes !== undefined && { maxFrameBytes }),
  });
  decoder.push(bytes, 0);
  return { messages, rejects, decoder };
}

/** zlib's CRC-32 as Node ships it (independent of `@edge-bci/core`); Node >= 20.15. */
const zlibCrc32 = (zlib as unknown as { crc32?: (data: Uint8Array) => number }).crc32;

/** COBS as in Wikipedia's C encoder, written separately from `cobs.ts`. */
function textbookCobs(src: Uint8Array): Uint8Array {
  const out: number[] = [];
  let block: number[] = [];
  const flush = () => {
    out.push(block.length + 1, ...block);
    block = [];
  };
  for (let i = 0; i < src.length; i++) {
    if (src[i] === 0) flush();
    else {
      block.push(src[i]!);
      if (block.length === 254) {
        out.push(0xff, ...block);
        block = [];
        if (i + 1 === src.length) return Uint8Array.from(out);
      }
    }
  }
  flush();
  return Uint8Array.from(out);
}

describe('protocol test vectors', () => {
  it('is version 1 with CRC-32/ISO-HDLC', () => {
    expect(file.protocol).toBe(1);
    expect(file.crc).toBe('CRC-32/ISO-HDLC');
    expect(new Set(file.vectors.map((v) => v.name)).size).toBe(file.vectors.length);
    expect(new Set(file.invalid.map((v) => v.name)).size).toBe(file.invalid.length);
  });

  describe.each(file.vectors.map((v) => [v.name, v] as const))('%s', (_, vector) => {
    const message = messageFromJson(vector.message);

    it('encodes to packetHex and frameHex byte for byte', () => {
      expect(toHex(encodePacket(message))).toBe(vector.packetHex);
      expect(toHex(encodeFrame(message))).toBe(vector.frameHex);
    });

    it('decodes frameHex back to the message', () => {
      const { messages, rejects, decoder } = decodeAll(fromHex(vector.frameHex));
      expect(rejects).toEqual([]);
      expect(messages).toEqual([message]);
      expect(messageToJson(messages[0]!)).toEqual(vector.message);
      expect(decoder.stats.packets).toBe(1);
    });

    it('agrees with an independent CRC-32, COBS and header check', () => {
      const packet = fromHex(vector.packetHex);
      const view = new DataView(packet.buffer);
      const n = packet.length - 4;
      expect(view.getUint8(0)).toBe(1);
      expect(view.getUint8(1)).toBe(MessageType[message.type]);
      expect(view.getUint16(16, true)).toBe(n - 18);
      if (zlibCrc32) expect(view.getUint32(n, true)).toBe(zlibCrc32(packet.subarray(0, n)));
      expect(toHex(textbookCobs(packet)) + '00').toBe(vector.frameHex);
      expect(fromHex(vector.frameHex).indexOf(0)).toBe(vector.frameHex.length / 2 - 1);
    });
  });

  it('covers every message type, every command and the edge cases', () => {
    const messages = file.vectors.map((v) => messageFromJson(v.message));
    expect(new Set(messages.map((m) => m.type))).toEqual(new Set(Object.keys(MessageType)));
    const commands = messages.flatMap((m) => (m.type === 'command' ? [m.command] : []));
    expect(new Set(commands)).toEqual(new Set(['hello', 'start', 'stop', 'ping', 'configure']));
    const has = (predicate: (m: Message) => boolean) => expect(messages.some(predicate)).toBe(true);
    has((m) => m.type === 'counts' && m.countWidth === 2 && m.counts.includes(65535));
    has((m) => m.type === 'counts' && m.countWidth === 1 && m.counts.includes(0) && m.counts.includes(255));
    has((m) => m.type === 'counts' && m.kinematics.length > 0);
    has((m) => m.type === 'events' && m.eventChannels.length === 0);
    has((m) => m.type === 'events' && m.kinematics.length > 0);
    has((m) => m.deviceTimeUs > 2 ** 32);
    has((m) => m.seq === 0xffffffff);
    has((m) => m.type === 'ack' && m.detail.length > 0);
    has((m) => m.type === 'ack' && typeof m.command === 'number');
    has((m) => m.type === 'status' && m.batteryPercent === undefined);
    has((m) => m.type === 'info' && m.kinematicNames.length > 0);
    // A frame over 254 bytes whose COBS has a full (0xff) block.
    const long = file.vectors.filter((v) => {
      const frame = fromHex(v.frameHex);
      for (let at = 0; at < frame.length - 1; at += frame[at]!)
        if (frame[at] === 0xff) return frame.length > 254;
      return false;
    });
    expect(long.length).toBeGreaterThan(0);
    // And one that ends with a full block: canonical COBS writes no empty block after it.
    const finalBlock = fromHex(byName('counts-cobs-final-full-block').frameHex);
    expect(finalBlock[finalBlock.length - 256]).toBe(0xff);
    expect(new Set(file.invalid.map((v) => v.expect))).toEqual(
      new Set(['crc', 'cobs', 'short', 'malformed', 'oversize']),
    );
  });

  describe.each(file.invalid.map((v) => [v.name, v] as const))('invalid: %s', (_, vector) => {
    it(`is rejected as ${vector.expect}, nothing delivered, and the decoder recovers`, () => {
      const { messages, rejects, decoder } = decodeAll(fromHex(vector.frameHex), vector.maxFrameBytes);
      expect(messages).toEqual([]);
      expect(rejects).toEqual([vector.expect]);
      expect(decoder.stats.crcErrors).toBe(vector.expect === 'crc' ? 1 : 0);
      expect(decoder.stats.malformed).toBe(vector.expect === 'malformed' ? 1 : 0);
      expect(decoder.pending).toBe(0);
      const next = byName('command-ping');
      decoder.push(fromHex(next.frameHex), 1);
      expect(messages).toEqual([messageFromJson(next.message)]);
      if (vector.packetHex !== undefined) {
        expect(toHex(textbookCobs(fromHex(vector.packetHex))) + '00').toBe(vector.frameHex);
      }
    });
  });
});

describe('a vector built by hand from the specification', () => {
  /** CRC-32 (reflected 0xEDB88320, init and final XOR 0xFFFFFFFF), bit by bit. */
  function crc32(bytes: Uint8Array): number {
    let crc = 0xffffffff;
    for (const byte of bytes) {
      crc ^= byte;
      for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
    }
    return (crc ^ 0xffffffff) >>> 0;
  }

  it('check value of the CRC', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });

  it('counts-kinematics: header, counts body, float32 kinematics and CRC at their offsets', () => {
    // 4 channels, 1-byte counts 2 0 0 7, five kinematic floats: body 6 + 4 + 20 = 30, packet 18 + 30 + 4.
    const packet = new Uint8Array(52);
    const view = new DataView(packet.buffer);
    view.setUint8(0, 1); // version
    view.setUint8(1, 0x02); // type: counts
    view.setUint16(2, 4, true); // channels
    view.setUint32(4, 5, true); // seq
    view.setUint32(8, 2_002_000, true); // device time, low word
    view.setUint32(12, 0, true); // device time, high word
    view.setUint16(16, 30, true); // body length
    view.setUint32(18, 1000, true); // duration
    view.setUint8(22, 1); // count width
    view.setUint8(23, 5); // kinematic values
    packet.set([2, 0, 0, 7], 24); // counts
    for (const [i, v] of [0.5, -1.25, Math.PI, 0.001, 0].entries()) view.setFloat32(28 + 4 * i, v, true); // kinematics
    view.setUint32(48, crc32(packet.subarray(0, 48)), true);
    const vector = byName('counts-kinematics');
    expect(toHex(packet)).toBe(vector.packetHex);
    expect(toHex(textbookCobs(packet)) + '00').toBe(vector.frameHex);
  });

  it('events-3 and status-end-no-battery, likewise', () => {
    const events = new Uint8Array(18 + 7 + 18 + 4);
    const e = new DataView(events.buffer);
    e.setUint8(0, 1);
    e.setUint8(1, 0x03);
    e.setUint16(2, 96, true);
    e.setUint32(4, 7, true);
    e.setUint32(8, 3_000_000, true);
    e.setUint16(16, 25, true);
    e.setUint32(18, 1000, true); // duration
    e.setUint8(22, 0); // kinematic values
    e.setUint16(23, 3, true); // events
    [
      [0, 0],
      [17, 500],
      [95, 999],
    ].forEach(([channel, offset], i) => {
      e.setUint16(25 + 6 * i, channel!, true);
      e.setUint32(27 + 6 * i, offset!, true);
    });
    e.setUint32(43, crc32(events.subarray(0, 43)), true);
    expect(toHex(events)).toBe(byName('events-3').packetHex);

    const status = new Uint8Array(18 + 6 + 4);
    const s = new DataView(status.buffer);
    s.setUint8(0, 1);
    s.setUint8(1, 0x04);
    s.setUint16(2, 4, true);
    s.setUint32(4, 11, true);
    s.setUint32(8, 4_500_000, true);
    s.setUint16(16, 6, true);
    s.setUint8(18, 255); // no battery reading
    s.setUint8(19, 0x08 | 0x10); // endOfStream | overflow
    s.setUint32(20, 123_456, true);
    s.setUint32(24, crc32(status.subarray(0, 24)), true);
    expect(toHex(status)).toBe(byName('status-end-no-battery').packetHex);
  });
});

describe('messageToJson / messageFromJson', () => {
  it('turns typed arrays into number arrays and back, through JSON text', () => {
    const message: Message = {
      type: 'events',
      seq: 1,
      deviceTimeUs: 2 ** 40,
      channels: 8,
      durationUs: 100,
      eventChannels: Uint16Array.of(1, 7),
      offsetsUs: Uint32Array.of(0, 99),
      kinematics: Float32Array.of(0.1, -3),
    };
    const json = messageToJson(message);
    expect(json).toEqual({
      ...message,
      eventChannels: [1, 7],
      offsetsUs: [0, 99],
      kinematics: [Math.fround(0.1), -3],
    });
    expect(messageFromJson(JSON.parse(JSON.stringify(json)))).toEqual(message);
  });

  it('writes a missing battery reading as null and reads it back as undefined', () => {
    const message: Message = {
      type: 'status',
      seq: 1,
      deviceTimeUs: 0,
      channels: 0,
      batteryPercent: undefined,
      flags: 0,
      droppedFrames: 0,
    };
    expect(JSON.stringify(messageToJson(message))).toContain('"batteryPercent":null');
    expect(messageFromJson(messageToJson(message))).toEqual(message);
  });

  it('keeps configure, names, codes and strings', () => {
    const messages: Message[] = [
      {
        type: 'command',
        seq: 1,
        deviceTimeUs: 0,
        channels: 0,
        command: 'configure',
        configure: { countWidth: 2 },
      },
      { type: 'command', seq: 1, deviceTimeUs: 0, channels: 0, command: 'stop' },
      {
        type: 'ack',
        seq: 1,
        deviceTimeUs: 0,
        channels: 0,
        ackSeq: 0,
        command: 0x77,
        result: 'busy',
        detail: 'é',
      },
      {
        type: 'info',
        seq: 1,
        deviceTimeUs: 0,
        channels: 2,
        firmwareVersion: [1, 2, 3],
        bootId: 5,
        subBinUs: 10,
        countWidth: 2,
        mode: 'events',
        serialNumber: 's',
        kinematicNames: ['a'],
      },
    ];
    for (const m of messages)
      expect(messageFromJson(JSON.parse(JSON.stringify(messageToJson(m))))).toEqual(m);
  });

  it('rejects what is not a message', () => {
    const counts = messageToJson({
      type: 'counts',
      seq: 1,
      deviceTimeUs: 0,
      channels: 1,
      durationUs: 1,
      countWidth: 1,
      counts: Uint16Array.of(1),
      kinematics: new Float32Array(0),
    });
    const bad: MessageJson[] = [
      { ...counts, kinematics: [0.1] }, // not a float32 value
      { ...counts, counts: ['1'] },
      { ...counts, countWidth: 3 },
      { ...counts, seq: '1' },
      { type: 'counts', seq: 1, deviceTimeUs: 0, channels: 1 },
      { ...counts, type: 'nonsense' as Message['type'] },
      {
        type: 'status',
        seq: 1,
        deviceTimeUs: 0,
        channels: 0,
        batteryPercent: 'full',
        flags: 0,
        droppedFrames: 0,
      },
      { type: 'command', seq: 1, deviceTimeUs: 0, channels: 0, command: 'configure', configure: [] },
    ];
    for (const json of bad) expect(() => messageFromJson(json), JSON.stringify(json)).toThrow(TypeError);
  });

  it('hex helpers', () => {
    expect(toHex(Uint8Array.of(0, 15, 255))).toBe('000fff');
    expect(fromHex('00 0f FF')).toEqual(Uint8Array.of(0, 15, 255));
    expect(() => fromHex('0')).toThrow(TypeError);
    expect(() => fromHex('zz')).toThrow(TypeError);
  });
});
