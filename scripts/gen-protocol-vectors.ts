/**
 * Writes the wire-protocol test vectors, `packages/device/test-vectors/protocol-v1.json`:
 * valid messages with their packet and frame bytes, and frames a receiver must reject.
 * Deterministic: running it again gives the same file. Every vector is checked before it is written
 * (it decodes back to its message; an invalid frame is rejected for the reason it claims).
 *
 *   pnpm tsx --tsconfig tsconfig.json scripts/gen-protocol-vectors.ts
 */
import { writeFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import {
  encodeFrame,
  encodePacket,
  FrameDecoder,
  type RejectReason,
} from '../packages/device/src/protocol/frame-codec.js';
import {
  HEADER_BYTES,
  type Message,
  MessageType,
  StatusFlag,
} from '../packages/device/src/protocol/messages.js';
import {
  frameOf,
  type InvalidVector,
  messageToJson,
  type ProtocolVector,
  type ProtocolVectorFile,
  rawPacket,
  toHex,
} from '../packages/device/src/protocol/vectors.js';

const OUT = new URL('../packages/device/test-vectors/protocol-v1.json', import.meta.url);

type Case = { name: string; description: string; message: Message };
const f32 = (values: number[]) => Float32Array.from(values.map(Math.fround));

/** A counts message whose packet ends with exactly 254 zero-free bytes after a zero (see its description). */
function finalFullBlock(): Message {
  const channels = 300;
  // Packet: header 18 + body fields 6 + counts 300 + CRC 4 = 328 bytes. Count 49 (packet byte 73) is 0 and
  // counts 50..299 with the CRC are the last 254 bytes: all non-zero, for the first seq whose CRC has no zero byte.
  const counts = new Uint16Array(channels);
  for (let c = 0; c < channels; c++)
    counts[c] = c < 49 ? (c % 4 === 0 ? 0 : c) : c === 49 ? 0 : ((c * 37) % 255) + 1;
  for (let seq = 1000; ; seq++) {
    const message: Message = {
      type: 'counts',
      seq,
      deviceTimeUs: 9_000_000,
      channels,
      durationUs: 1000,
      countWidth: 1,
      counts,
      kinematics: new Float32Array(0),
    };
    const packet = encodePacket(message);
    if (packet.subarray(packet.length - 254).every((b) => b !== 0) && packet[packet.length - 255] === 0) {
      return message;
    }
  }
}

const cases: Case[] = [
  {
    name: 'command-hello',
    description:
      'Host opens the session: hello, host seq 0. Host packets carry channels 0 and device time 0.',
    message: { type: 'command', seq: 0, deviceTimeUs: 0, channels: 0, command: 'hello' },
  },
  {
    name: 'ack-hello-ok',
    description: 'Device answers the hello (ackSeq 0) with result ok and no detail; device seq 0.',
    message: {
      type: 'ack',
      seq: 0,
      deviceTimeUs: 1_234_567,
      channels: 4,
      ackSeq: 0,
      command: 'hello',
      result: 'ok',
      detail: '',
    },
  },
  {
    name: 'info-counts-u8',
    description: 'Device info after the hello ack: 4 channels, 1 ms sub-bins, 1-byte counts, no kinematics.',
    message: {
      type: 'info',
      seq: 1,
      deviceTimeUs: 1_234_890,
      channels: 4,
      firmwareVersion: [1, 2, 3],
      bootId: 0x5eedb007,
      subBinUs: 1000,
      countWidth: 1,
      mode: 'counts',
      serialNumber: 'EBCI-0001',
      kinematicNames: [],
    },
  },
  {
    name: 'info-events-kinematics',
    description:
      'Info of an events-mode device with 96 channels, 2-byte counts, 20 ms sub-bins, four kinematic ' +
      'names and non-ASCII UTF-8 in the serial number and a name.',
    message: {
      type: 'info',
      seq: 1,
      deviceTimeUs: 77_000,
      channels: 96,
      firmwareVersion: [2, 0, 17],
      bootId: 0x89abcdef,
      subBinUs: 20_000,
      countWidth: 2,
      mode: 'events',
      serialNumber: 'ÆØÅ-0042',
      kinematicNames: ['x', 'y', 'vx', 'θ'],
    },
  },
  {
    name: 'info-empty-serial',
    description: 'Info with an empty serial number (length byte 0), bootId 0xffffffff, firmware 255.255.255.',
    message: {
      type: 'info',
      seq: 1,
      deviceTimeUs: 500,
      channels: 1,
      firmwareVersion: [255, 255, 255],
      bootId: 0xffffffff,
      subBinUs: 0xffffffff,
      countWidth: 1,
      mode: 'counts',
      serialNumber: '',
      kinematicNames: [],
    },
  },
  {
    name: 'command-start',
    description: 'Host asks the device to stream; host seq 1.',
    message: { type: 'command', seq: 1, deviceTimeUs: 0, channels: 0, command: 'start' },
  },
  {
    name: 'counts-u8-4ch',
    description: 'One 1 ms sub-bin of 4 channels, 1-byte counts 0, 3, 255, 1 (zeros and 255 in the data).',
    message: {
      type: 'counts',
      seq: 3,
      deviceTimeUs: 2_000_000,
      channels: 4,
      durationUs: 1000,
      countWidth: 1,
      counts: Uint16Array.of(0, 3, 255, 1),
      kinematics: new Float32Array(0),
    },
  },
  {
    name: 'counts-u16',
    description: '8 channels with 2-byte counts, including 0, 255, 256, 0xff00, 0x00ff and 65535.',
    message: {
      type: 'counts',
      seq: 4,
      deviceTimeUs: 2_001_000,
      channels: 8,
      durationUs: 1000,
      countWidth: 2,
      counts: Uint16Array.of(0, 1, 255, 256, 0x1234, 0xff00, 0x00ff, 65535),
      kinematics: new Float32Array(0),
    },
  },
  {
    name: 'counts-kinematics',
    description:
      '4 channels with five float32 kinematic values: 0.5, -1.25, float32(pi), float32(0.001) and 0. ' +
      'JSON gives each as the exact value of the float32.',
    message: {
      type: 'counts',
      seq: 5,
      deviceTimeUs: 2_002_000,
      channels: 4,
      durationUs: 1000,
      countWidth: 1,
      counts: Uint16Array.of(2, 0, 0, 7),
      kinematics: f32([0.5, -1.25, Math.PI, 0.001, 0]),
    },
  },
  {
    name: 'counts-256ch-long-block',
    description:
      '256 channels of non-zero 1-byte counts (1..255, 1): a zero-free run longer than 254 bytes, so the ' +
      'frame (over 254 bytes) has a full COBS block with code 0xff. The channel count 0x0100 puts a zero ' +
      'in the header.',
    message: {
      type: 'counts',
      seq: 6,
      deviceTimeUs: 2_003_000,
      channels: 256,
      durationUs: 1000,
      countWidth: 1,
      counts: Uint16Array.from({ length: 256 }, (_, c) => (c % 255) + 1),
      kinematics: new Float32Array(0),
    },
  },
  {
    name: 'counts-cobs-final-full-block',
    description:
      '300 channels of 1-byte counts chosen so that the packet ends with exactly 254 non-zero bytes ' +
      '(counts 50..299 and the CRC) after a zero. Canonical COBS ends the frame with that 0xff block: no ' +
      'extra 01 code byte before the delimiter.',
    message: finalFullBlock(),
  },
  {
    name: 'events-3',
    description:
      'Events mode, 96 channels, 1 ms sub-bin: spikes on channels 0, 17 and 95 at offsets 0, 500 and 999 us ' +
      '(the first and last microsecond of the sub-bin).',
    message: {
      type: 'events',
      seq: 7,
      deviceTimeUs: 3_000_000,
      channels: 96,
      durationUs: 1000,
      eventChannels: Uint16Array.of(0, 17, 95),
      offsetsUs: Uint32Array.of(0, 500, 999),
      kinematics: new Float32Array(0),
    },
  },
  {
    name: 'events-empty',
    description: 'A sub-bin without spikes: event count 0, no kinematics.',
    message: {
      type: 'events',
      seq: 8,
      deviceTimeUs: 3_001_000,
      channels: 96,
      durationUs: 1000,
      eventChannels: new Uint16Array(0),
      offsetsUs: new Uint32Array(0),
      kinematics: new Float32Array(0),
    },
  },
  {
    name: 'events-kinematics',
    description: 'Two events in a 20 ms sub-bin with four kinematic values.',
    message: {
      type: 'events',
      seq: 9,
      deviceTimeUs: 3_020_000,
      channels: 96,
      durationUs: 20_000,
      eventChannels: Uint16Array.of(42, 42),
      offsetsUs: Uint32Array.of(1234, 19_999),
      kinematics: f32([-0.125, 3.75, 100.5, -2048]),
    },
  },
  {
    name: 'status-streaming',
    description:
      'Periodic status while streaming: battery 87 %, flags streaming | charging, nothing dropped.',
    message: {
      type: 'status',
      seq: 10,
      deviceTimeUs: 4_000_000,
      channels: 4,
      batteryPercent: 87,
      flags: StatusFlag.streaming | StatusFlag.charging,
      droppedFrames: 0,
    },
  },
  {
    name: 'status-end-no-battery',
    description:
      'Final status of a stream: no battery reading (255 on the wire, null in JSON), flags endOfStream | ' +
      'overflow, 123456 frames dropped since power-up.',
    message: {
      type: 'status',
      seq: 11,
      deviceTimeUs: 4_500_000,
      channels: 4,
      batteryPercent: undefined,
      flags: StatusFlag.endOfStream | StatusFlag.overflow,
      droppedFrames: 123_456,
    },
  },
  {
    name: 'command-stop',
    description: 'Host stops the stream; host seq 2.',
    message: { type: 'command', seq: 2, deviceTimeUs: 0, channels: 0, command: 'stop' },
  },
  {
    name: 'command-ping',
    description: 'Host ping; host seq 3. The smallest packet: 23 bytes.',
    message: { type: 'command', seq: 3, deviceTimeUs: 0, channels: 0, command: 'ping' },
  },
  {
    name: 'command-configure-all',
    description: 'Configure every field: 5 ms sub-bins, 32 channels, 2-byte counts, events mode.',
    message: {
      type: 'command',
      seq: 4,
      deviceTimeUs: 0,
      channels: 0,
      command: 'configure',
      configure: { subBinUs: 5000, channels: 32, countWidth: 2, mode: 'events' },
    },
  },
  {
    name: 'command-configure-partial',
    description:
      'Configure only the sub-bin width (2 ms); the other fields are 0, 0 and 255 on the wire: keep ' +
      'their value.',
    message: {
      type: 'command',
      seq: 5,
      deviceTimeUs: 0,
      channels: 0,
      command: 'configure',
      configure: { subBinUs: 2000 },
    },
  },
  {
    name: 'command-configure-empty',
    description: 'Configure that changes nothing: every field says "keep".',
    message: { type: 'command', seq: 6, deviceTimeUs: 0, channels: 0, command: 'configure', configure: {} },
  },
  {
    name: 'ack-busy-detail',
    description: 'Configure sent while streaming: ack result busy (3) with a detail text.',
    message: {
      type: 'ack',
      seq: 12,
      deviceTimeUs: 4_600_000,
      channels: 4,
      ackSeq: 4,
      command: 'configure',
      result: 'busy',
      detail: 'stop the stream before configure',
    },
  },
  {
    name: 'ack-unknown-command',
    description: 'Answer to a command code the device does not know (0x7f): result unknownCommand (1).',
    message: {
      type: 'ack',
      seq: 13,
      deviceTimeUs: 4_700_000,
      channels: 4,
      ackSeq: 7,
      command: 0x7f,
      result: 'unknownCommand',
      detail: 'command 0x7f',
    },
  },
  {
    name: 'ack-unknown-result',
    description:
      'An ack with a result code this version does not name (0x42) and UTF-8 detail: readers keep the number.',
    message: {
      type: 'ack',
      seq: 14,
      deviceTimeUs: 4_800_000,
      channels: 4,
      ackSeq: 8,
      command: 'ping',
      result: 0x42,
      detail: 'µs ✓',
    },
  },
  {
    name: 'header-time-above-2^32',
    description:
      'Device time 0x0123456789ab us (about 14.5 days), above 2^32: high word 0x00000123 at offset 12, ' +
      'low word 0x456789ab at offset 8.',
    message: {
      type: 'status',
      seq: 15,
      deviceTimeUs: 0x0123_4567_89ab,
      channels: 4,
      batteryPercent: 100,
      flags: StatusFlag.streaming,
      droppedFrames: 1,
    },
  },
  {
    name: 'header-seq-max',
    description: 'seq 0xffffffff, the last before the wrap; the next packet has seq 0.',
    message: {
      type: 'counts',
      seq: 0xffffffff,
      deviceTimeUs: 5_000_000,
      channels: 2,
      durationUs: 1000,
      countWidth: 2,
      counts: Uint16Array.of(1, 2),
      kinematics: new Float32Array(0),
    },
  },
  {
    name: 'header-seq-wrapped',
    description: 'The packet after header-seq-max: seq 0 again, time still increasing.',
    message: {
      type: 'counts',
      seq: 0,
      deviceTimeUs: 5_001_000,
      channels: 2,
      durationUs: 1000,
      countWidth: 2,
      counts: Uint16Array.of(0, 0),
      kinematics: new Float32Array(0),
    },
  },
];

// ---------------------------------------------------------------------------------------------- invalid

const ping = encodePacket({ type: 'command', seq: 3, deviceTimeUs: 0, channels: 0, command: 'ping' });
const countsFrame = encodeFrame(cases.find((c) => c.name === 'counts-u8-4ch')!.message);

/** A packet with a valid CRC that breaks the layout. */
const malformed = (
  name: string,
  description: string,
  fields: Parameters<typeof rawPacket>[0],
): InvalidVector => {
  const packet = rawPacket(fields);
  return {
    name,
    description,
    frameHex: toHex(frameOf(packet)),
    expect: 'malformed',
    packetHex: toHex(packet),
  };
};
const u32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
const u16 = (v: number) => [v & 0xff, (v >>> 8) & 0xff];

const badCrc = ping.slice();
badCrc[HEADER_BYTES] ^= 0x01; // ping (05) becomes stop (04), CRC left as it was

const invalid: InvalidVector[] = [
  {
    name: 'crc-bit-flip',
    description:
      'The command-ping packet with one bit flipped in the body (command 05 became 04, stop) and the ' +
      'original CRC: valid COBS, CRC mismatch. Must not be taken for a stop.',
    frameHex: toHex(frameOf(badCrc)),
    expect: 'crc',
    packetHex: toHex(badCrc),
  },
  {
    name: 'cobs-truncated',
    description:
      'The counts-u8-4ch frame with its last two bytes before the delimiter lost: the last code byte ' +
      'points past the end of the frame.',
    frameHex: toHex(Uint8Array.of(...countsFrame.subarray(0, countsFrame.length - 3), 0)),
    expect: 'cobs',
  },
  {
    name: 'cobs-code-past-end',
    description: 'Frame 05 11 22: the code byte 05 announces four more bytes, the delimiter comes after two.',
    frameHex: '05112200',
    expect: 'cobs',
  },
  {
    name: 'short-empty',
    description: 'Frame 01: valid COBS for an empty packet, shorter than header and CRC (22 bytes).',
    frameHex: '0100',
    expect: 'short',
  },
  {
    name: 'short-21-bytes',
    description:
      'The first 21 bytes of the command-ping packet, valid COBS: one byte short of a header and CRC.',
    frameHex: toHex(frameOf(ping.subarray(0, 21))),
    expect: 'short',
    packetHex: toHex(ping.subarray(0, 21)),
  },
  malformed('malformed-version', 'A ping with protocol version 2 (header byte 0) and a valid CRC.', {
    version: 2,
    type: MessageType.command,
    seq: 3,
    body: [0x05],
  }),
  malformed('malformed-type', 'Message type 0x7e, which version 1 does not define; valid CRC.', {
    type: 0x7e,
    body: [0x05],
  }),
  malformed('malformed-body-length', 'A ping whose header says a body of 2 bytes; the packet has 1.', {
    type: MessageType.command,
    bodyLength: 2,
    body: [0x05],
  }),
  malformed(
    'malformed-trailing-bytes',
    'A ping with one byte after its body (header body length 2 agrees).',
    {
      type: MessageType.command,
      body: [0x05, 0x00],
    },
  ),
  malformed('malformed-unknown-command', 'A command with command code 0x7f.', {
    type: MessageType.command,
    body: [0x7f],
  }),
  malformed('malformed-configure-mode', 'A configure with mode 2 (only 0, 1 and 255 are defined).', {
    type: MessageType.command,
    body: [0x04, ...u32(1000), ...u16(0), 0, 2],
  }),
  malformed('malformed-count-width', 'A counts message with count width 3.', {
    type: MessageType.counts,
    channels: 1,
    body: [...u32(1000), 3, 0, 1, 2, 3],
  }),
  malformed('malformed-duration-zero', 'A counts message with duration 0.', {
    type: MessageType.counts,
    channels: 1,
    body: [...u32(0), 1, 0, 9],
  }),
  malformed(
    'malformed-counts-short',
    'Header says 4 channels of 2-byte counts; the body holds only 4 count bytes.',
    {
      type: MessageType.counts,
      channels: 4,
      body: [...u32(1000), 2, 0, 1, 2, 3, 4],
    },
  ),
  malformed(
    'malformed-event-offset',
    'An event at offset 1000 us in a 1000 us sub-bin (offsets run 0..999).',
    {
      type: MessageType.events,
      channels: 4,
      body: [...u32(1000), 0, ...u16(1), ...u16(2), ...u32(1000)],
    },
  ),
  malformed('malformed-event-channel', 'An event on channel 4 of a 4-channel device (channels run 0..3).', {
    type: MessageType.events,
    channels: 4,
    body: [...u32(1000), 0, ...u16(1), ...u16(4), ...u32(10)],
  }),
  malformed('malformed-battery', 'A status with battery 101 % (0..100 or 255 only).', {
    type: MessageType.status,
    channels: 4,
    body: [101, 0, ...u32(0)],
  }),
  malformed('malformed-info-sub-bin-zero', 'An info with sub-bin width 0.', {
    type: MessageType.info,
    channels: 4,
    body: [1, 0, 0, ...u32(1), ...u32(0), 1, 0, 0, 0],
  }),
  malformed('malformed-utf8', 'An ack whose detail bytes ff fe are not UTF-8.', {
    type: MessageType.ack,
    channels: 4,
    body: [...u32(0), 0x05, 0, 2, 0xff, 0xfe],
  }),
  {
    name: 'oversize',
    description:
      '65 non-zero bytes without a delimiter, for a receiver whose frame buffer holds 64 (maxFrameBytes). ' +
      'It discards the run up to the next delimiter and resynchronises there.',
    frameHex: `${'01'.repeat(65)}00`,
    expect: 'oversize',
    maxFrameBytes: 64,
  },
];

// ---------------------------------------------------------------------------------------------- check

/** JSON with two-space indentation, arrays of numbers or strings kept on one line. */
function stringify(value: unknown, indent: string): string {
  if (Array.isArray(value)) {
    if (value.every((v) => typeof v !== 'object' || v === null))
      return `[${value.map((v) => JSON.stringify(v)).join(', ')}]`;
    const inner = indent + '  ';
    return `[\n${value.map((v) => inner + stringify(v, inner)).join(',\n')}\n${indent}]`;
  }
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return '{}';
    const inner = indent + '  ';
    return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${stringify(v, inner)}`).join(',\n')}\n${indent}}`;
  }
  return JSON.stringify(value);
}

function decode(frame: Uint8Array, maxFrameBytes?: number) {
  const messages: Message[] = [];
  const rejects: RejectReason[] = [];
  const decoder = new FrameDecoder({
    onMessage: (m) => messages.push(m),
    onReject: (reason) => rejects.push(reason),
    ...(maxFrameBytes !== undefined && { maxFrameBytes }),
  });
  decoder.push(frame, 0);
  return { messages, rejects };
}

const vectors: ProtocolVector[] = cases.map(({ name, description, message }) => {
  const frame = encodeFrame(message);
  const { messages, rejects } = decode(frame);
  if (rejects.length > 0 || messages.length !== 1 || !isDeepStrictEqual(messages[0], message)) {
    throw new Error(`vector ${name} does not decode back to its message`);
  }
  return {
    name,
    description,
    message: messageToJson(message),
    packetHex: toHex(encodePacket(message)),
    frameHex: toHex(frame),
  };
});
for (const v of invalid) {
  const { messages, rejects } = decode(Buffer.from(v.frameHex, 'hex'), v.maxFrameBytes);
  if (messages.length > 0 || rejects.length !== 1 || rejects[0] !== v.expect) {
    throw new Error(`invalid vector ${v.name}: expected one '${v.expect}' reject, got ${rejects.join(', ')}`);
  }
}

const file: ProtocolVectorFile = { protocol: 1, crc: 'CRC-32/ISO-HDLC', vectors, invalid };
writeFileSync(OUT, `${stringify(file, '')}\n`);
console.log(`wrote ${vectors.length} vectors and ${invalid.length} invalid frames to ${OUT.pathname}`);
