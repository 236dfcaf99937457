import { crc32 } from '@edge-bci/core';
import { describe, expect, it } from 'vitest';
import { encodeFrame, encodePacket, FrameDecoder, type RejectReason } from './frame-codec.js';
import {
  bodyLength,
  type CountsMessage,
  CRC_BYTES,
  EncodeError,
  HEADER_BYTES,
  MAX_BODY_BYTES,
  MalformedPacketError,
  type Message,
  MessageType,
  readPacket,
  StatusFlag,
  writePacket,
} from './messages.js';
import { frameOf, type RawPacketFields, rawPacket } from './vectors.js';

const header = { seq: 7, deviceTimeUs: 123_456_789, channels: 4 };

/** The error `fn` throws (undefined if it returns). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}
const none = new Float32Array(0);

/** Encodes, checks the CRC, reads back. */
function roundTrip(message: Message): Message {
  const packet = encodePacket(message);
  expect(packet.length).toBe(HEADER_BYTES + bodyLength(message) + CRC_BYTES);
  const n = packet.length - CRC_BYTES;
  expect(new DataView(packet.buffer).getUint32(n, true)).toBe(crc32(packet, 0, n));
  return readPacket(packet, n);
}

/** Every kind of message, with the edge values of its fields. */
const messages: [string, Message][] = [
  [
    'info without kinematics',
    {
      type: 'info',
      ...header,
      firmwareVersion: [1, 2, 3],
      bootId: 0xdeadbeef,
      subBinUs: 1000,
      countWidth: 1,
      mode: 'counts',
      serialNumber: 'SN-1',
      kinematicNames: [],
    },
  ],
  [
    'info with kinematic names and UTF-8',
    {
      type: 'info',
      ...header,
      firmwareVersion: [255, 0, 255],
      bootId: 0,
      subBinUs: 0xffffffff,
      countWidth: 2,
      mode: 'events',
      serialNumber: 'ü'.repeat(127),
      kinematicNames: ['x', 'y', '', 'ψ̇'],
    },
  ],
  [
    'counts, 1-byte',
    {
      type: 'counts',
      ...header,
      durationUs: 1000,
      countWidth: 1,
      counts: Uint16Array.of(0, 1, 254, 255),
      kinematics: none,
    },
  ],
  [
    'counts, 2-byte, with kinematics',
    {
      type: 'counts',
      ...header,
      durationUs: 0xffffffff,
      countWidth: 2,
      counts: Uint16Array.of(0, 256, 0xffff, 0x00ff),
      kinematics: Float32Array.of(0.5, -1e30, Number.POSITIVE_INFINITY, 1.401298464324817e-45),
    },
  ],
  [
    'counts, 1-byte, with kinematics, 0 channels',
    {
      type: 'counts',
      ...header,
      channels: 0,
      durationUs: 1,
      countWidth: 1,
      counts: new Uint16Array(0),
      kinematics: Float32Array.of(-0, 3),
    },
  ],
  [
    'events',
    {
      type: 'events',
      ...header,
      channels: 96,
      durationUs: 1000,
      eventChannels: Uint16Array.of(0, 95, 95),
      offsetsUs: Uint32Array.of(0, 999, 0),
      kinematics: Float32Array.of(1, 2),
    },
  ],
  [
    'events, empty',
    {
      type: 'events',
      ...header,
      durationUs: 1,
      eventChannels: new Uint16Array(0),
      offsetsUs: new Uint32Array(0),
      kinematics: none,
    },
  ],
  [
    'status',
    {
      type: 'status',
      ...header,
      batteryPercent: 100,
      flags: StatusFlag.streaming | StatusFlag.lowBattery,
      droppedFrames: 0xffffffff,
    },
  ],
  [
    'status, battery unknown',
    { type: 'status', ...header, batteryPercent: undefined, flags: 0xff, droppedFrames: 0 },
  ],
  ['status, battery 0', { type: 'status', ...header, batteryPercent: 0, flags: 0, droppedFrames: 1 }],
  ['command hello', { type: 'command', seq: 0, deviceTimeUs: 0, channels: 0, command: 'hello' }],
  ['command start', { type: 'command', seq: 1, deviceTimeUs: 0, channels: 0, command: 'start' }],
  ['command stop', { type: 'command', seq: 2, deviceTimeUs: 0, channels: 0, command: 'stop' }],
  ['command ping', { type: 'command', seq: 0xffffffff, deviceTimeUs: 0, channels: 0, command: 'ping' }],
  [
    'command configure, all fields',
    {
      type: 'command',
      ...header,
      command: 'configure',
      configure: { subBinUs: 0xffffffff, channels: 0xffff, countWidth: 2, mode: 'events' },
    },
  ],
  [
    'command configure, mode counts only',
    { type: 'command', ...header, command: 'configure', configure: { mode: 'counts' } },
  ],
  [
    'command configure, channels and count width',
    { type: 'command', ...header, command: 'configure', configure: { channels: 3, countWidth: 1 } },
  ],
  ['command configure, empty', { type: 'command', ...header, command: 'configure', configure: {} }],
  [
    'ack',
    {
      type: 'ack',
      ...header,
      ackSeq: 0xffffffff,
      command: 'configure',
      result: 'invalidArgument',
      detail: 'no',
    },
  ],
  [
    'ack with a detail starting with U+FEFF (a BOM is text here, not dropped)',
    { type: 'ack', ...header, ackSeq: 3, command: 'hello', result: 'ok', detail: '\uFEFFboot' },
  ],
  [
    'ack with unknown numeric codes',
    { type: 'ack', ...header, ackSeq: 3, command: 0xee, result: 0x99, detail: '' },
  ],
  [
    'ack, 255-byte detail',
    {
      type: 'ack',
      ...header,
      ackSeq: 0,
      command: 'ping',
      result: 'unsupportedVersion',
      detail: 'd'.repeat(255),
    },
  ],
  [
    'header edge values',
    {
      type: 'status',
      seq: 0xffffffff,
      deviceTimeUs: Number.MAX_SAFE_INTEGER,
      channels: 0xffff,
      batteryPercent: 1,
      flags: 0,
      droppedFrames: 0,
    },
  ],
];

describe('messages: round trip', () => {
  it.each(messages)('%s', (_, message) => {
    expect(roundTrip(message)).toEqual(message);
  });

  it('covers every message type and command', () => {
    const types = new Set(messages.map(([, m]) => m.type));
    expect([...types].sort()).toEqual(Object.keys(MessageType).sort());
    const commands = new Set(messages.flatMap(([, m]) => (m.type === 'command' ? [m.command] : [])));
    expect(commands.size).toBe(5);
  });

  it('normalises a configure without settings, and ack codes given as known numbers', () => {
    const bare: Message = { type: 'command', ...header, command: 'configure' };
    expect(roundTrip(bare)).toEqual({ ...bare, configure: {} });
    const ack: Message = { type: 'ack', ...header, ackSeq: 1, command: 0x05, result: 3, detail: '' };
    expect(roundTrip(ack)).toEqual({ ...ack, command: 'ping', result: 'busy' });
  });

  it('ignores configure settings on other commands', () => {
    const message: Message = { type: 'command', ...header, command: 'start', configure: { subBinUs: 5 } };
    expect(encodePacket(message).length).toBe(HEADER_BYTES + 1 + CRC_BYTES);
    expect(roundTrip(message)).toEqual({ type: 'command', ...header, command: 'start' });
  });

  it('saturates 1-byte counts above 255 at 255', () => {
    const message: Message = {
      type: 'counts',
      ...header,
      channels: 3,
      durationUs: 1000,
      countWidth: 1,
      counts: Uint16Array.of(255, 256, 65535),
      kinematics: none,
    };
    expect(roundTrip(message)).toEqual({ ...message, counts: Uint16Array.of(255, 255, 255) });
  });

  it('writes the header fields at their offsets, little-endian, time as two u32', () => {
    const packet = encodePacket({
      type: 'status',
      seq: 0x04030201,
      deviceTimeUs: 0x000a_0908_0706,
      channels: 0x0201,
      batteryPercent: undefined,
      flags: 0,
      droppedFrames: 0,
    });
    expect(Array.from(packet.subarray(0, HEADER_BYTES))).toEqual([
      1, 0x04, 0x01, 0x02, 0x01, 0x02, 0x03, 0x04, 0x06, 0x07, 0x08, 0x09, 0x0a, 0, 0, 0, 6, 0,
    ]);
    expect(Array.from(packet.subarray(HEADER_BYTES, HEADER_BYTES + 6))).toEqual([0xff, 0, 0, 0, 0, 0]);
  });

  it('writePacket writes into a larger view and returns the length without the CRC', () => {
    const message: Message = { type: 'command', ...header, command: 'ping' };
    const buffer = new Uint8Array(64).fill(0xaa);
    expect(writePacket(message, new DataView(buffer.buffer, 8))).toBe(HEADER_BYTES + 1);
    expect(buffer[7]).toBe(0xaa);
    expect(buffer.subarray(8, 8 + HEADER_BYTES + 1)).toEqual(
      encodePacket(message).subarray(0, HEADER_BYTES + 1),
    );
  });
});

describe('messages: EncodeError', () => {
  const counts = (over: object): Message =>
    ({
      type: 'counts',
      ...header,
      durationUs: 1000,
      countWidth: 1,
      counts: new Uint16Array(4),
      kinematics: none,
      ...over,
    }) as Message;
  const events = (over: object): Message =>
    ({
      type: 'events',
      ...header,
      durationUs: 1000,
      eventChannels: Uint16Array.of(1),
      offsetsUs: Uint32Array.of(1),
      kinematics: none,
      ...over,
    }) as Message;
  const info = (over: object): Message =>
    ({
      type: 'info',
      ...header,
      firmwareVersion: [1, 0, 0],
      bootId: 1,
      subBinUs: 1000,
      countWidth: 1,
      mode: 'counts',
      serialNumber: '',
      kinematicNames: [],
      ...over,
    }) as Message;
  const status = (over: object): Message =>
    ({ type: 'status', ...header, batteryPercent: 50, flags: 0, droppedFrames: 0, ...over }) as Message;
  const ack = (over: object): Message =>
    ({ type: 'ack', ...header, ackSeq: 0, command: 'ping', result: 'ok', detail: '', ...over }) as Message;
  const configure = (c: object): Message =>
    ({ type: 'command', ...header, command: 'configure', configure: c }) as Message;

  const cases: [string, Message][] = [
    ['seq above u32', status({ seq: 2 ** 32 })],
    ['negative seq', status({ seq: -1 })],
    ['fractional seq', status({ seq: 1.5 })],
    ['NaN device time', status({ deviceTimeUs: Number.NaN })],
    ['device time above 2^53 - 1', status({ deviceTimeUs: 2 ** 53 })],
    ['negative device time', status({ deviceTimeUs: -1 })],
    ['channels above u16', status({ channels: 0x10000 })],
    ['battery 101', status({ batteryPercent: 101 })],
    ['battery -1', status({ batteryPercent: -1 })],
    ['flags 256', status({ flags: 256 })],
    ['droppedFrames above u32', status({ droppedFrames: 2 ** 32 })],
    ['counts != channels', counts({ counts: new Uint16Array(3) })],
    ['count width 3', counts({ countWidth: 3, counts: new Uint16Array(4) })],
    ['counts duration 0', counts({ durationUs: 0 })],
    ['counts duration above u32', counts({ durationUs: 2 ** 32 })],
    ['256 kinematics', counts({ kinematics: new Float32Array(256) })],
    ['body above 65535 bytes', counts({ channels: 0xffff, countWidth: 2, counts: new Uint16Array(0xffff) })],
    ['offsets != event channels', events({ offsetsUs: Uint32Array.of(1, 2) })],
    ['event on channel >= channels', events({ eventChannels: Uint16Array.of(4) })],
    ['event offset >= duration', events({ offsetsUs: Uint32Array.of(1000) })],
    [
      'events duration 0',
      events({ durationUs: 0, eventChannels: new Uint16Array(0), offsetsUs: new Uint32Array(0) }),
    ],
    ['65536 events', events({ eventChannels: new Uint16Array(65536), offsetsUs: new Uint32Array(65536) })],
    ['firmware part 256', info({ firmwareVersion: [1, 256, 0] })],
    ['bootId above u32', info({ bootId: 2 ** 32 })],
    ['sub-bin 0', info({ subBinUs: 0 })],
    ['serial number of 256 bytes', info({ serialNumber: 'x'.repeat(256) })],
    ['serial number of 128 two-byte characters', info({ serialNumber: 'é'.repeat(128) })],
    ['kinematic name of 256 bytes', info({ kinematicNames: ['n'.repeat(256)] })],
    ['256 kinematic names', info({ kinematicNames: new Array(256).fill('k') })],
    ['ackSeq above u32', ack({ ackSeq: 2 ** 32 })],
    ['ack command code 256', ack({ command: 256 })],
    ['ack result code -1', ack({ result: -1 })],
    ['ack unknown command name', ack({ command: 'reboot' })],
    ['ack detail of 256 bytes', ack({ detail: 'd'.repeat(256) })],
    ['configure sub-bin above u32', configure({ subBinUs: 2 ** 32 })],
    ['configure channels above u16', configure({ channels: 0x10000 })],
  ];

  it.each(cases)('%s', (_, message) => {
    expect(() => encodePacket(message)).toThrow(EncodeError);
    expect(() => encodeFrame(message)).toThrow(EncodeError);
  });

  it('is a RangeError with a code', () => {
    try {
      encodePacket(status({ seq: -1 }));
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(RangeError);
      expect((err as EncodeError).code).toBe('ENCODE_ERROR');
      expect((err as EncodeError).message).toMatch(/seq/);
    }
  });

  it('accepts the largest body, 65535 bytes, and not one byte more', () => {
    // 1-byte counts: body = 6 + channels.
    const channels = MAX_BODY_BYTES - 6;
    const max = counts({ channels, counts: new Uint16Array(channels).fill(3) }) as CountsMessage;
    expect(bodyLength(max)).toBe(MAX_BODY_BYTES);
    const back = roundTrip(max) as CountsMessage;
    // (toEqual on 65529 elements is slow: compare the counts as bytes.)
    expect(Buffer.from(back.counts.buffer).equals(Buffer.from(max.counts.buffer))).toBe(true);
    expect({ ...back, counts: undefined }).toEqual({ ...max, counts: undefined });
    const over = counts({ channels: channels + 1, counts: new Uint16Array(channels + 1) });
    expect(() => encodePacket(over)).toThrow(/65536 bytes exceeds 65535/);
  });
});

describe('messages: MalformedPacketError', () => {
  const u16 = (v: number) => [v & 0xff, v >>> 8];
  const u32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
  const { command, counts, events, status, info, ack } = MessageType;
  /** Valid info body fields up to the serial number. */
  const infoFields = (width: number, mode: number, subBin: number) => [
    1,
    2,
    3,
    ...u32(9),
    ...u32(subBin),
    width,
    mode,
  ];

  const cases: [string, RawPacketFields, RegExp][] = [
    ['bad version 0', { version: 0, type: command, body: [5] }, /version 0/],
    ['bad version 2', { version: 2, type: command, body: [5] }, /version 2/],
    ['unknown type 0x00', { type: 0x00, body: [5] }, /unknown message type 0x0/],
    ['unknown type 0x05', { type: 0x05, body: [] }, /unknown message type 0x5/],
    ['unknown type 0xff', { type: 0xff, body: [5] }, /unknown message type 0xff/],
    ['body length larger than the body', { type: command, bodyLength: 2, body: [5] }, /body length says 2/],
    ['body length smaller than the body', { type: command, bodyLength: 0, body: [5] }, /body length says 0/],
    ['trailing byte after a ping', { type: command, body: [5, 0] }, /1 bytes after the command body/],
    ['trailing bytes after a status', { type: status, body: [50, 0, ...u32(0), 1, 2] }, /2 bytes after/],
    ['empty command body', { type: command, body: [] }, /ends inside command code/],
    ['unknown command', { type: command, body: [0x7f] }, /unknown command 0x7f/],
    ['command code 0', { type: command, body: [0] }, /unknown command 0x0/],
    ['configure cut short', { type: command, body: [4, ...u32(1)] }, /ends inside configure fields/],
    ['configure count width 3', { type: command, body: [4, ...u32(0), ...u16(0), 3, 0xff] }, /count width 3/],
    ['configure mode 2', { type: command, body: [4, ...u32(0), ...u16(0), 0, 2] }, /mode 2/],
    ['counts count width 0', { type: counts, channels: 1, body: [...u32(1000), 0, 0, 1] }, /count width 0/],
    [
      'counts count width 3',
      { type: counts, channels: 1, body: [...u32(1000), 3, 0, 1, 0, 0] },
      /count width 3/,
    ],
    ['counts duration 0', { type: counts, channels: 1, body: [...u32(0), 1, 0, 1] }, /duration 0/],
    [
      'counts missing',
      { type: counts, channels: 4, body: [...u32(1000), 2, 0, 1, 0, 2, 0] },
      /inside counts/,
    ],
    [
      'counts kinematics missing',
      { type: counts, channels: 1, body: [...u32(1000), 1, 1, 9, 0, 0] },
      /inside kinematics/,
    ],
    ['counts header cut', { type: counts, channels: 0, body: [...u32(1000), 1] }, /inside counts fields/],
    [
      'event offset equal to the duration',
      { type: events, channels: 4, body: [...u32(1000), 0, ...u16(1), ...u16(0), ...u32(1000)] },
      /offset 1000 us outside a 1000 us sub-bin/,
    ],
    [
      'event offset far outside',
      { type: events, channels: 4, body: [...u32(10), 0, ...u16(1), ...u16(0), ...u32(0xffffffff)] },
      /outside/,
    ],
    [
      'event channel equal to channels',
      { type: events, channels: 4, body: [...u32(1000), 0, ...u16(1), ...u16(4), ...u32(0)] },
      /channel 4 of 4/,
    ],
    [
      'event channel with 0 channels',
      { type: events, channels: 0, body: [...u32(1000), 0, ...u16(1), ...u16(0), ...u32(0)] },
      /channel 0 of 0/,
    ],
    ['events duration 0', { type: events, channels: 4, body: [...u32(0), 0, ...u16(0)] }, /duration 0/],
    [
      'event count larger than the events',
      { type: events, channels: 4, body: [...u32(1000), 0, ...u16(2), ...u16(0), ...u32(0)] },
      /inside events/,
    ],
    ['status battery 101', { type: status, body: [101, 0, ...u32(0)] }, /battery 101/],
    ['status battery 254', { type: status, body: [254, 0, ...u32(0)] }, /battery 254/],
    ['status cut short', { type: status, body: [50, 0, 0] }, /inside status fields/],
    ['info count width 3', { type: info, body: [...infoFields(3, 0, 1000), 0, 0] }, /count width 3/],
    ['info mode 2', { type: info, body: [...infoFields(1, 2, 1000), 0, 0] }, /mode 2/],
    ['info sub-bin 0', { type: info, body: [...infoFields(1, 0, 0), 0, 0] }, /sub-bin width 0/],
    [
      'info serial number not UTF-8',
      { type: info, body: [...infoFields(1, 0, 1000), 2, 0xc3, 0x28, 0] },
      /serial number is not UTF-8/,
    ],
    [
      'info kinematic name not UTF-8 (lone surrogate)',
      { type: info, body: [...infoFields(1, 0, 1000), 0, 1, 3, 0xed, 0xa0, 0x80] },
      /kinematic name is not UTF-8/,
    ],
    [
      'info kinematic name count larger than the names',
      { type: info, body: [...infoFields(1, 0, 1000), 0, 2, 1, 0x78] },
      /inside kinematic name/,
    ],
    ['info without the name count', { type: info, body: [...infoFields(1, 0, 1000), 0] }, /kinematic names/],
    [
      'info serial number longer than the body',
      { type: info, body: [...infoFields(1, 0, 1000), 5, 0x41] },
      /inside serial number/,
    ],
    ['ack detail not UTF-8', { type: ack, body: [...u32(0), 5, 0, 2, 0xff, 0xfe] }, /detail is not UTF-8/],
    ['ack detail truncated UTF-8', { type: ack, body: [...u32(0), 5, 0, 1, 0xe2] }, /detail is not UTF-8/],
    ['ack without the detail length', { type: ack, body: [...u32(0), 5, 0] }, /inside detail/],
  ];

  it.each(cases)('%s', (_, fields, reason) => {
    const packet = rawPacket(fields);
    const error = thrown(() => readPacket(packet, packet.length - CRC_BYTES));
    expect(error).toBeInstanceOf(MalformedPacketError);
    expect((error as MalformedPacketError).reason).toMatch(reason);
    expect((error as MalformedPacketError).code).toBe('MALFORMED_PACKET');
    // Through the decoder: CRC good, so counted as malformed and never delivered; its neighbours arrive.
    const good = encodeFrame({ type: 'command', seq: 1, deviceTimeUs: 0, channels: 0, command: 'ping' });
    const delivered: Message[] = [];
    const rejects: [RejectReason, number, MalformedPacketError?][] = [];
    const decoder = new FrameDecoder({
      onMessage: (m) => delivered.push(m),
      onReject: (...args) => rejects.push(args),
    });
    const frame = frameOf(packet);
    decoder.push(Uint8Array.from([...good, ...frame, ...good]), 5);
    expect(delivered).toHaveLength(2);
    expect(rejects).toHaveLength(1);
    expect(rejects[0]![0]).toBe('malformed');
    expect(rejects[0]![1]).toBe(frame.length - 1);
    expect(rejects[0]![2]).toBeInstanceOf(MalformedPacketError);
    expect(decoder.stats).toEqual({
      bytes: 2 * good.length + frame.length,
      packets: 2,
      crcErrors: 0,
      malformed: 1,
      resyncs: 1,
      discardedBytes: frame.length - 1,
    });
  });

  it('names the message type in the error when the type is known or not', () => {
    expect(thrown(() => readPacket(rawPacket({ type: 0x42, body: [] }), HEADER_BYTES))).toMatchObject({
      messageType: 0x42,
    });
    const battery = rawPacket({ type: status, body: [200, 0, 0, 0, 0, 0] });
    expect(thrown(() => readPacket(battery, HEADER_BYTES + 6))).toMatchObject({ messageType: status });
    // Another version: the type byte is passed on as found, and only a command carries what an ack needs.
    expect(
      thrown(() => readPacket(rawPacket({ version: 9, type: status, body: [] }), HEADER_BYTES)),
    ).toMatchObject({ messageType: status, command: undefined });
    expect(
      thrown(() => readPacket(rawPacket({ version: 9, type: 0x10, seq: 12, body: [3] }), HEADER_BYTES + 1)),
    ).toMatchObject({ messageType: 0x10, command: { seq: 12, version: 9, commandCode: 3 } });
    expect(
      thrown(() => readPacket(rawPacket({ type: 0x10, seq: 13, body: [0x66] }), HEADER_BYTES + 1)),
    ).toMatchObject({ command: { seq: 13, version: 1, commandCode: 0x66 } });
  });

  it('rejects a packet shorter than the header', () => {
    expect(() => readPacket(new Uint8Array(17), 17)).toThrow(/shorter than the header/);
  });

  it('reads any packet that is fuzzed but CRC-correct as a message or a MalformedPacketError, and re-encodes it exactly', () => {
    let a = 12345;
    const random = () => {
      a = (Math.imul(a, 1103515245) + 12345) >>> 0;
      return a / 2 ** 32;
    };
    const seeds = messages.map(([, m]) => encodePacket(m));
    let accepted = 0;
    let rejected = 0;
    for (let round = 0; round < 4000; round++) {
      const seed = seeds[round % seeds.length]!;
      const n = seed.length - CRC_BYTES;
      const packet = seed.slice(0, n);
      for (let k = 1 + Math.floor(random() * 3); k > 0; k--) {
        // Mutate the body or the header's small fields; keep the time's high word small (2^53 limit).
        const at = Math.floor(random() * n);
        if (at >= 12 && at < 16) continue;
        packet[at] =
          random() < 0.5 ? Math.floor(random() * 256) : packet[at]! ^ (1 << Math.floor(random() * 8));
      }
      let message: Message;
      try {
        message = readPacket(packet, n);
      } catch (err) {
        expect(err).toBeInstanceOf(MalformedPacketError);
        rejected++;
        continue;
      }
      accepted++;
      // A NaN read from the wire may be written back with another payload.
      if ('kinematics' in message && message.kinematics.some(Number.isNaN)) continue;
      const again = encodePacket(message);
      expect(Buffer.from(again.subarray(0, n)).equals(Buffer.from(packet))).toBe(true);
    }
    expect(accepted).toBeGreaterThan(100);
    expect(rejected).toBeGreaterThan(100);
  });
});

describe('messages: the encoder refuses what the decoder would drop', () => {
  const header = { seq: 1, deviceTimeUs: 0, channels: 0 };
  it.each([
    [
      'configure countWidth 3',
      { type: 'command', ...header, command: 'configure', configure: { countWidth: 3 } },
    ],
    ['configure mode raw', { type: 'command', ...header, command: 'configure', configure: { mode: 'raw' } }],
    ['unknown command', { type: 'command', ...header, command: 'reboot' }],
    [
      'info countWidth 3',
      {
        type: 'info',
        ...header,
        channels: 4,
        firmwareVersion: [1, 0, 0],
        bootId: 1,
        subBinUs: 1000,
        countWidth: 3,
        mode: 'counts',
        serialNumber: 'x',
        kinematicNames: [],
      },
    ],
  ])('%s', (_name, message) => {
    expect(() => encodeFrame(message as unknown as Message)).toThrow(EncodeError);
  });
});
