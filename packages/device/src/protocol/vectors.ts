/**
 * Test vectors for the wire protocol: the JSON form of messages and the layout of
 * `packages/device/test-vectors/protocol-v1.json` (written by `scripts/gen-protocol-vectors.ts`).
 *
 * In JSON, typed arrays become plain arrays of numbers, a missing battery reading is `null`, and every
 * kinematic value is a number that float32 represents exactly (so text and wire agree bit for bit).
 */
import { crc32 } from '@edge-bci/core';
import { cobsEncode } from './cobs.js';
import type { RejectReason } from './frame-codec.js';
import {
  type AckResultName,
  type CommandName,
  HEADER_BYTES,
  type Message,
  PROTOCOL_VERSION,
} from './messages.js';

/** A JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A message as JSON: the fields of `Message`, typed arrays as number arrays, `batteryPercent` null when absent. */
export type MessageJson = { readonly type: Message['type'] } & { readonly [key: string]: Json };

/** One valid message with its packet (before COBS) and its frame (COBS, then the 0x00 delimiter). */
export interface ProtocolVector {
  readonly name: string;
  readonly description: string;
  readonly message: MessageJson;
  /** Header, body and CRC-32 (little-endian), lowercase hex without separators. */
  readonly packetHex: string;
  /** Wire bytes: COBS(packet) followed by 00, lowercase hex. */
  readonly frameHex: string;
}

/** Bytes a receiver must reject whole, for the reason `expect`. */
export interface InvalidVector {
  readonly name: string;
  readonly description: string;
  /** Wire bytes ending with the 00 delimiter. */
  readonly frameHex: string;
  readonly expect: RejectReason;
  /** For information: the COBS-decoded bytes, when the frame is valid COBS. */
  readonly packetHex?: string;
  /** Receive limit (frame bytes without the delimiter) to use for this vector; default: the protocol's maximum. */
  readonly maxFrameBytes?: number;
}

export interface ProtocolVectorFile {
  readonly protocol: 1;
  readonly crc: 'CRC-32/ISO-HDLC';
  readonly vectors: readonly ProtocolVector[];
  readonly invalid: readonly InvalidVector[];
}

/** Lowercase hex of `bytes`, no separators. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Bytes of a hex string (whitespace allowed between bytes). */
export function fromHex(hex: string): Uint8Array {
  const clean = hex.replace(/\s+/g, '');
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(clean)) throw new TypeError(`not a hex byte string: ${hex.slice(0, 40)}`);
  return new Uint8Array(Buffer.from(clean, 'hex'));
}

/** The JSON form of `message` (see the module comment). */
export function messageToJson(message: Message): MessageJson {
  const json: { [key: string]: Json } = {};
  for (const [key, value] of Object.entries(message)) {
    if (value instanceof Uint16Array || value instanceof Uint32Array || value instanceof Float32Array) {
      json[key] = Array.from(value);
    } else if (key === 'batteryPercent' && value === undefined) {
      json[key] = null;
    } else if (key === 'configure') {
      json[key] = { ...(value as Record<string, Json>) };
    } else if (Array.isArray(value)) {
      json[key] = [...(value as Json[])];
    } else if (value !== undefined) {
      json[key] = value as Json;
    }
  }
  return json as MessageJson;
}

function fail(what: string, value: unknown): never {
  throw new TypeError(`message JSON: ${what}, got ${JSON.stringify(value)}`);
}

/** The message `json` describes; throws a TypeError when a field is missing or has the wrong type. */
export function messageFromJson(json: MessageJson): Message {
  const field = (key: string): Json => {
    const value = json[key];
    if (value === undefined) fail(`${json.type}.${key} missing`, json);
    return value;
  };
  const num = (key: string): number => {
    const value = field(key);
    if (typeof value !== 'number') fail(`${key} must be a number`, value);
    return value;
  };
  const str = (key: string): string => {
    const value = field(key);
    if (typeof value !== 'string') fail(`${key} must be a string`, value);
    return value;
  };
  const numbers = (key: string): number[] => {
    const value = field(key);
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'number')) {
      fail(`${key} must be an array of numbers`, value);
    }
    return value as number[];
  };
  const floats = (key: string): Float32Array => {
    const values = numbers(key);
    for (const v of values) if (Math.fround(v) !== v) fail(`${key} values must be exact float32 values`, v);
    return Float32Array.from(values);
  };
  const width = (key: string): 1 | 2 => {
    const value = num(key);
    if (value !== 1 && value !== 2) fail(`${key} must be 1 or 2`, value);
    return value;
  };
  const mode = (value: Json): 'counts' | 'events' => {
    if (value !== 'counts' && value !== 'events') fail(`mode must be "counts" or "events"`, value);
    return value;
  };
  const nameOrCode = (key: string): string | number => {
    const value = field(key);
    if (typeof value !== 'string' && typeof value !== 'number')
      fail(`${key} must be a name or a code`, value);
    return value;
  };
  const header = { seq: num('seq'), deviceTimeUs: num('deviceTimeUs'), channels: num('channels') };
  switch (json.type) {
    case 'info': {
      const fw = numbers('firmwareVersion');
      if (fw.length !== 3) fail('firmwareVersion must have 3 parts', fw);
      const names = field('kinematicNames');
      if (!Array.isArray(names) || !names.every((n) => typeof n === 'string')) {
        fail('kinematicNames must be an array of strings', names);
      }
      return {
        type: 'info',
        ...header,
        firmwareVersion: [fw[0]!, fw[1]!, fw[2]!],
        bootId: num('bootId'),
        subBinUs: num('subBinUs'),
        countWidth: width('countWidth'),
        mode: mode(field('mode')),
        serialNumber: str('serialNumber'),
        kinematicNames: names as string[],
      };
    }
    case 'counts': {
      const counts = numbers('counts');
      return {
        type: 'counts',
        ...header,
        durationUs: num('durationUs'),
        countWidth: width('countWidth'),
        counts: Uint16Array.from(counts),
        kinematics: floats('kinematics'),
      };
    }
    case 'events':
      return {
        type: 'events',
        ...header,
        durationUs: num('durationUs'),
        eventChannels: Uint16Array.from(numbers('eventChannels')),
        offsetsUs: Uint32Array.from(numbers('offsetsUs')),
        kinematics: floats('kinematics'),
      };
    case 'status': {
      const battery = field('batteryPercent');
      if (battery !== null && typeof battery !== 'number')
        fail('batteryPercent must be a number or null', battery);
      return {
        type: 'status',
        ...header,
        batteryPercent: battery ?? undefined,
        flags: num('flags'),
        droppedFrames: num('droppedFrames'),
      };
    }
    case 'command': {
      const command = str('command') as CommandName;
      const configure = json.configure;
      if (configure === undefined) return { type: 'command', ...header, command };
      if (configure === null || typeof configure !== 'object' || Array.isArray(configure)) {
        fail('configure must be an object', configure);
      }
      const c = configure as { [key: string]: Json };
      const out: { subBinUs?: number; channels?: number; countWidth?: 1 | 2; mode?: 'counts' | 'events' } =
        {};
      for (const key of ['subBinUs', 'channels'] as const) {
        const value = c[key];
        if (value === undefined) continue;
        if (typeof value !== 'number') fail(`configure.${key} must be a number`, value);
        out[key] = value;
      }
      if (c.countWidth !== undefined) {
        if (c.countWidth !== 1 && c.countWidth !== 2)
          fail('configure.countWidth must be 1 or 2', c.countWidth);
        out.countWidth = c.countWidth;
      }
      if (c.mode !== undefined) out.mode = mode(c.mode);
      return { type: 'command', ...header, command, configure: out };
    }
    case 'ack':
      return {
        type: 'ack',
        ...header,
        ackSeq: num('ackSeq'),
        command: nameOrCode('command') as CommandName | number,
        result: nameOrCode('result') as AckResultName | number,
        detail: str('detail'),
      };
    default:
      return fail('unknown message type', json.type);
  }
}

/** Fields of a packet built byte by byte (`rawPacket`); everything but `type` and `body` has a default. */
export interface RawPacketFields {
  readonly version?: number;
  readonly type: number;
  readonly channels?: number;
  readonly seq?: number;
  readonly deviceTimeUs?: number;
  /** Body length written in the header (default: the true length of `body`). */
  readonly bodyLength?: number;
  readonly body: ArrayLike<number>;
}

/**
 * A packet assembled byte by byte without `writePacket`, CRC-32 appended: for packets the encoder refuses
 * to make (layout violations) that must still reach `readPacket`.
 */
export function rawPacket(fields: RawPacketFields): Uint8Array {
  const { body } = fields;
  const packet = new Uint8Array(HEADER_BYTES + body.length + 4);
  const view = new DataView(packet.buffer);
  const time = fields.deviceTimeUs ?? 0;
  view.setUint8(0, fields.version ?? PROTOCOL_VERSION);
  view.setUint8(1, fields.type);
  view.setUint16(2, fields.channels ?? 0, true);
  view.setUint32(4, fields.seq ?? 0, true);
  view.setUint32(8, time % 0x1_0000_0000, true);
  view.setUint32(12, Math.floor(time / 0x1_0000_0000), true);
  view.setUint16(16, fields.bodyLength ?? body.length, true);
  packet.set(body, HEADER_BYTES);
  view.setUint32(HEADER_BYTES + body.length, crc32(packet, 0, HEADER_BYTES + body.length), true);
  return packet;
}

/** Wire bytes of any packet bytes: COBS, then the 0x00 delimiter. */
export function frameOf(packet: Uint8Array): Uint8Array {
  const encoded = cobsEncode(packet);
  const frame = new Uint8Array(encoded.length + 1);
  frame.set(encoded);
  return frame;
}
