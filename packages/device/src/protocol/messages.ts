/**
 * The edge-bci wire protocol, version 1: the messages and their byte layout (little-endian).
 * `docs/protocol.md` is the specification for firmware authors; this file is its reference implementation.
 *
 * Packet = header (18 bytes) + body + CRC-32 (4 bytes, IEEE, over header and body).
 * On the wire each packet is COBS-encoded and followed by one zero byte (see `frame-codec.ts`).
 */

export const PROTOCOL_VERSION = 1;
export const HEADER_BYTES = 18;
export const CRC_BYTES = 4;
/** Largest body a packet may carry (the header's body length is a u16). */
export const MAX_BODY_BYTES = 0xffff;
export const MAX_PACKET_BYTES = HEADER_BYTES + MAX_BODY_BYTES + CRC_BYTES;

/** Message type codes (header byte 1). */
export const MessageType = {
  info: 0x01,
  counts: 0x02,
  events: 0x03,
  status: 0x04,
  command: 0x10,
  ack: 0x11,
} as const;
export type MessageTypeName = keyof typeof MessageType;

/** Command codes (first body byte of a `command` message). */
export const CommandCode = {
  hello: 0x01,
  start: 0x02,
  stop: 0x03,
  configure: 0x04,
  ping: 0x05,
} as const;
export type CommandName = keyof typeof CommandCode;

/** Result codes of an `ack`. */
export const AckResult = {
  ok: 0,
  unknownCommand: 1,
  invalidArgument: 2,
  busy: 3,
  unsupportedVersion: 4,
} as const;
export type AckResultName = keyof typeof AckResult;

/** Bits of a `status` message's flags byte. */
export const StatusFlag = {
  streaming: 0x01,
  charging: 0x02,
  lowBattery: 0x04,
  endOfStream: 0x08,
  overflow: 0x10,
} as const;

/** Fields every packet carries in its header. */
export interface Header {
  /** Per-direction packet counter, +1 for every packet sent (all types), wrapping at 2^32. */
  readonly seq: number;
  /** Device clock in microseconds: for data, the start of the sub-bin; otherwise when the packet was made. 0 from the host. */
  readonly deviceTimeUs: number;
  /** Channels the device is configured for (0 from the host). */
  readonly channels: number;
}

export interface InfoMessage extends Header {
  readonly type: 'info';
  readonly firmwareVersion: readonly [major: number, minor: number, patch: number];
  /** Random per power-up: a new value means the device restarted (its clock and seq started again). */
  readonly bootId: number;
  /** Width of the sub-bin a counts or events message covers. */
  readonly subBinUs: number;
  /** Bytes per count in counts messages: 1 or 2. */
  readonly countWidth: 1 | 2;
  /** 'counts' or 'events': what the device streams once started. */
  readonly mode: 'counts' | 'events';
  readonly serialNumber: string;
  /** Names of the auxiliary values (e.g. task kinematics) appended to data messages; empty when none. */
  readonly kinematicNames: readonly string[];
}

export interface CountsMessage extends Header {
  readonly type: 'counts';
  readonly durationUs: number;
  readonly countWidth: 1 | 2;
  readonly counts: Uint16Array;
  /** Auxiliary values (float32 on the wire), one per `InfoMessage.kinematicNames`. */
  readonly kinematics: Float32Array;
}

export interface EventsMessage extends Header {
  readonly type: 'events';
  readonly durationUs: number;
  readonly eventChannels: Uint16Array;
  readonly offsetsUs: Uint32Array;
  readonly kinematics: Float32Array;
}

export interface StatusMessage extends Header {
  readonly type: 'status';
  /** Battery charge in percent, or undefined (255 on the wire) when the device has none or cannot tell. */
  readonly batteryPercent: number | undefined;
  readonly flags: number;
  /** Data messages the device made but could not send since power-up (its transmit buffer overflowed, or no host). */
  readonly droppedFrames: number;
}

export interface CommandMessage extends Header {
  readonly type: 'command';
  readonly command: CommandName;
  /** For `configure`: the new settings; fields left out (0 on the wire) keep their value. */
  readonly configure?: {
    readonly subBinUs?: number;
    readonly channels?: number;
    readonly countWidth?: 1 | 2;
    readonly mode?: 'counts' | 'events';
  };
}

export interface AckMessage extends Header {
  readonly type: 'ack';
  /** seq of the command this answers. */
  readonly ackSeq: number;
  readonly command: CommandName | number;
  readonly result: AckResultName | number;
  readonly detail: string;
}

export type DeviceMessage = InfoMessage | CountsMessage | EventsMessage | StatusMessage | AckMessage;
export type HostMessage = CommandMessage;
export type Message = DeviceMessage | HostMessage;

/** A packet that passed its CRC but does not follow the specification. */
export class MalformedPacketError extends Error {
  readonly code = 'MALFORMED_PACKET';
  constructor(
    readonly reason: string,
    readonly messageType?: number,
    /**
     * What a device needs to answer a command it cannot take (`ack` with `unknownCommand` or
     * `unsupportedVersion`): the packet's seq, its version, and its command code when it has one.
     */
    readonly command?: { readonly seq: number; readonly version: number; readonly commandCode?: number },
  ) {
    super(`malformed packet: ${reason}`);
    this.name = 'MalformedPacketError';
  }
}

/** A message that cannot be encoded (a value out of its field's range). */
export class EncodeError extends RangeError {
  readonly code = 'ENCODE_ERROR';
  constructor(reason: string) {
    super(`cannot encode message: ${reason}`);
    this.name = 'EncodeError';
  }
}

const MODE_CODE = { counts: 0, events: 1 } as const;
/** Name of each wire code of a code table. */
function namesOf<N extends string>(codes: Readonly<Record<N, number>>): Map<number, N> {
  return new Map(Object.entries(codes).map(([name, code]) => [code as number, name as N]));
}
const TYPE_NAMES = namesOf(MessageType);
const COMMAND_NAMES = namesOf(CommandCode);
const RESULT_NAMES = namesOf(AckResult);
const utf8 = new TextEncoder();
// ignoreBOM: keep a leading U+FEFF as text (by default TextDecoder drops it, so strings would not round-trip).
const fromUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function checkCountWidth(width: unknown): void {
  if (width !== 1 && width !== 2) throw new EncodeError(`countWidth must be 1 or 2, got ${String(width)}`);
}

function modeCode(mode: unknown): number {
  if (mode !== 'counts' && mode !== 'events') {
    throw new EncodeError(`mode must be 'counts' or 'events', got ${String(mode)}`);
  }
  return MODE_CODE[mode];
}

/** Bytes the body of `message` takes. */
export function bodyLength(message: Message): number {
  switch (message.type) {
    case 'info':
      return (
        13 +
        1 +
        utf8.encode(message.serialNumber).length +
        1 +
        message.kinematicNames.reduce((sum, name) => sum + 1 + utf8.encode(name).length, 0)
      );
    case 'counts':
      return 6 + message.counts.length * message.countWidth + 4 * message.kinematics.length;
    case 'events':
      return 7 + 6 * message.eventChannels.length + 4 * message.kinematics.length;
    case 'status':
      return 6;
    case 'command':
      return message.command === 'configure' ? 9 : 1;
    case 'ack':
      return 7 + utf8.encode(message.detail).length;
  }
}

function checkUint(name: string, value: number, max: number, min = 0): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new EncodeError(`${name} must be an integer in [${min}, ${max}], got ${value}`);
  }
}

/**
 * Writes header and body of `message` into `view` at 0 and returns the packet length without the CRC.
 * `view` must hold `HEADER_BYTES + bodyLength(message) + CRC_BYTES` bytes.
 */
export function writePacket(message: Message, view: DataView): number {
  const length = bodyLength(message);
  if (length > MAX_BODY_BYTES) throw new EncodeError(`body of ${length} bytes exceeds ${MAX_BODY_BYTES}`);
  checkUint('seq', message.seq, 0xffffffff);
  checkUint('deviceTimeUs', message.deviceTimeUs, Number.MAX_SAFE_INTEGER);
  checkUint('channels', message.channels, 0xffff);
  view.setUint8(0, PROTOCOL_VERSION);
  view.setUint8(1, MessageType[message.type]);
  view.setUint16(2, message.channels, true);
  view.setUint32(4, message.seq, true);
  view.setUint32(8, message.deviceTimeUs % 0x1_0000_0000, true);
  view.setUint32(12, Math.floor(message.deviceTimeUs / 0x1_0000_0000), true);
  view.setUint16(16, length, true);
  let at = HEADER_BYTES;
  const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  const putString = (name: string, value: string) => {
    const encoded = utf8.encode(value);
    checkUint(`${name} length`, encoded.length, 0xff);
    view.setUint8(at++, encoded.length);
    bytes.set(encoded, at);
    at += encoded.length;
  };
  const putKinematics = (values: Float32Array) => {
    for (const value of values) {
      view.setFloat32(at, value, true);
      at += 4;
    }
  };
  switch (message.type) {
    case 'info': {
      const [major, minor, patch] = message.firmwareVersion;
      for (const [i, part] of [major, minor, patch].entries()) checkUint(`firmwareVersion[${i}]`, part, 0xff);
      checkUint('bootId', message.bootId, 0xffffffff);
      checkUint('subBinUs', message.subBinUs, 0xffffffff, 1);
      checkUint('kinematicNames.length', message.kinematicNames.length, 0xff);
      view.setUint8(at, major);
      view.setUint8(at + 1, minor);
      view.setUint8(at + 2, patch);
      view.setUint32(at + 3, message.bootId, true);
      view.setUint32(at + 7, message.subBinUs, true);
      checkCountWidth(message.countWidth);
      view.setUint8(at + 11, message.countWidth);
      view.setUint8(at + 12, modeCode(message.mode));
      at += 13;
      putString('serialNumber', message.serialNumber);
      view.setUint8(at++, message.kinematicNames.length);
      for (const name of message.kinematicNames) putString('kinematic name', name);
      break;
    }
    case 'counts': {
      checkUint('durationUs', message.durationUs, 0xffffffff, 1);
      checkUint('kinematics.length', message.kinematics.length, 0xff);
      if (message.counts.length !== message.channels) {
        throw new EncodeError(`${message.counts.length} counts for ${message.channels} channels`);
      }
      if (message.countWidth !== 1 && message.countWidth !== 2) {
        throw new EncodeError(`countWidth must be 1 or 2, got ${message.countWidth}`);
      }
      view.setUint32(at, message.durationUs, true);
      view.setUint8(at + 4, message.countWidth);
      view.setUint8(at + 5, message.kinematics.length);
      at += 6;
      const { counts } = message;
      if (message.countWidth === 1) {
        // Saturate rather than wrap: a count above 255 in one sub-bin is a hardware fault, not data.
        for (let c = 0; c < counts.length; c++) bytes[at + c] = Math.min(counts[c]!, 0xff);
        at += counts.length;
      } else {
        for (let c = 0; c < counts.length; c++) view.setUint16(at + 2 * c, counts[c]!, true);
        at += 2 * counts.length;
      }
      putKinematics(message.kinematics);
      break;
    }
    case 'events': {
      const n = message.eventChannels.length;
      checkUint('durationUs', message.durationUs, 0xffffffff, 1);
      checkUint('kinematics.length', message.kinematics.length, 0xff);
      checkUint('event count', n, 0xffff);
      if (message.offsetsUs.length !== n) {
        throw new EncodeError(`${n} event channels but ${message.offsetsUs.length} offsets`);
      }
      view.setUint32(at, message.durationUs, true);
      view.setUint8(at + 4, message.kinematics.length);
      view.setUint16(at + 5, n, true);
      at += 7;
      for (let i = 0; i < n; i++) {
        checkUint(`eventChannels[${i}]`, message.eventChannels[i]!, message.channels - 1);
        checkUint(`offsetsUs[${i}]`, message.offsetsUs[i]!, message.durationUs - 1);
        view.setUint16(at, message.eventChannels[i]!, true);
        view.setUint32(at + 2, message.offsetsUs[i]!, true);
        at += 6;
      }
      putKinematics(message.kinematics);
      break;
    }
    case 'status': {
      const battery = message.batteryPercent;
      if (battery !== undefined) checkUint('batteryPercent', battery, 100);
      checkUint('flags', message.flags, 0xff);
      checkUint('droppedFrames', message.droppedFrames, 0xffffffff);
      view.setUint8(at, battery ?? 0xff);
      view.setUint8(at + 1, message.flags);
      view.setUint32(at + 2, message.droppedFrames, true);
      at += 6;
      break;
    }
    case 'command': {
      const command = CommandCode[message.command];
      if (command === undefined) throw new EncodeError(`unknown command '${String(message.command)}'`);
      view.setUint8(at++, command);
      if (message.command === 'configure') {
        const c = message.configure ?? {};
        checkUint('subBinUs', c.subBinUs ?? 0, 0xffffffff);
        checkUint('channels', c.channels ?? 0, 0xffff);
        if (c.countWidth !== undefined) checkCountWidth(c.countWidth);
        view.setUint32(at, c.subBinUs ?? 0, true);
        view.setUint16(at + 4, c.channels ?? 0, true);
        view.setUint8(at + 6, c.countWidth ?? 0);
        view.setUint8(at + 7, c.mode === undefined ? 0xff : modeCode(c.mode));
        at += 8;
      }
      break;
    }
    case 'ack': {
      checkUint('ackSeq', message.ackSeq, 0xffffffff);
      const command = typeof message.command === 'number' ? message.command : CommandCode[message.command];
      const result = typeof message.result === 'number' ? message.result : AckResult[message.result];
      checkUint('command', command, 0xff);
      checkUint('result', result, 0xff);
      view.setUint32(at, message.ackSeq, true);
      view.setUint8(at + 4, command);
      view.setUint8(at + 5, result);
      at += 6;
      putString('detail', message.detail);
      break;
    }
  }
  return at;
}

/**
 * Reads the message in `packet[0, length)` (header and body, CRC already checked and removed).
 * Throws `MalformedPacketError` when it does not follow the specification.
 */
export function readPacket(packet: Uint8Array, length: number): Message {
  if (length < HEADER_BYTES) throw new MalformedPacketError(`${length} bytes is shorter than the header`);
  const view = new DataView(packet.buffer, packet.byteOffset, length);
  const version = view.getUint8(0);
  if (version !== PROTOCOL_VERSION) {
    const type = view.getUint8(1);
    const command =
      type === MessageType.command
        ? {
            seq: view.getUint32(4, true),
            version,
            ...(length > HEADER_BYTES && { commandCode: view.getUint8(HEADER_BYTES) }),
          }
        : undefined;
    throw new MalformedPacketError(`protocol version ${version}, expected 1`, type, command);
  }
  const code = view.getUint8(1);
  const type = TYPE_NAMES.get(code);
  if (type === undefined) throw new MalformedPacketError(`unknown message type 0x${code.toString(16)}`, code);
  const channels = view.getUint16(2, true);
  const seq = view.getUint32(4, true);
  const deviceTimeUs = view.getUint32(8, true) + view.getUint32(12, true) * 0x1_0000_0000;
  const bodyBytes = view.getUint16(16, true);
  if (HEADER_BYTES + bodyBytes !== length) {
    throw new MalformedPacketError(
      `body length says ${bodyBytes} bytes, packet has ${length - HEADER_BYTES}`,
      code,
    );
  }
  const header = { seq, deviceTimeUs, channels };
  let at = HEADER_BYTES;
  const end = length;
  const need = (n: number, what: string) => {
    if (at + n > end) throw new MalformedPacketError(`${type} body ends inside ${what}`, code);
  };
  const getString = (what: string) => {
    need(1, what);
    const n = view.getUint8(at++);
    need(n, what);
    let text: string;
    try {
      text = fromUtf8.decode(packet.subarray(at, at + n));
    } catch {
      throw new MalformedPacketError(`${what} is not UTF-8`, code);
    }
    at += n;
    return text;
  };
  const getKinematics = (n: number) => {
    need(4 * n, 'kinematics');
    const values = new Float32Array(n);
    for (let i = 0; i < n; i++) values[i] = view.getFloat32(at + 4 * i, true);
    at += 4 * n;
    return values;
  };
  const done = (message: Message): Message => {
    if (at !== end) throw new MalformedPacketError(`${end - at} bytes after the ${type} body`, code);
    return message;
  };
  switch (type) {
    case 'info': {
      need(13, 'info fields');
      const firmwareVersion = [view.getUint8(at), view.getUint8(at + 1), view.getUint8(at + 2)] as const;
      const bootId = view.getUint32(at + 3, true);
      const subBinUs = view.getUint32(at + 7, true);
      const countWidth = view.getUint8(at + 11);
      const modeCode = view.getUint8(at + 12);
      at += 13;
      if (countWidth !== 1 && countWidth !== 2)
        throw new MalformedPacketError(`count width ${countWidth}`, code);
      if (modeCode > 1) throw new MalformedPacketError(`mode ${modeCode}`, code);
      if (subBinUs === 0) throw new MalformedPacketError('sub-bin width 0', code);
      const serialNumber = getString('serial number');
      need(1, 'kinematic names');
      const names: string[] = [];
      for (let n = view.getUint8(at++), i = 0; i < n; i++) names.push(getString('kinematic name'));
      return done({
        type,
        ...header,
        firmwareVersion,
        bootId,
        subBinUs,
        countWidth,
        mode: modeCode === 0 ? 'counts' : 'events',
        serialNumber,
        kinematicNames: names,
      });
    }
    case 'counts': {
      need(6, 'counts fields');
      const durationUs = view.getUint32(at, true);
      const countWidth = view.getUint8(at + 4);
      const nKinematics = view.getUint8(at + 5);
      at += 6;
      if (countWidth !== 1 && countWidth !== 2)
        throw new MalformedPacketError(`count width ${countWidth}`, code);
      if (durationUs === 0) throw new MalformedPacketError('duration 0', code);
      need(channels * countWidth, 'counts');
      const counts = new Uint16Array(channels);
      if (countWidth === 1) counts.set(packet.subarray(at, at + channels));
      else for (let c = 0; c < channels; c++) counts[c] = view.getUint16(at + 2 * c, true);
      at += channels * countWidth;
      const kinematics = getKinematics(nKinematics);
      return done({ type, ...header, durationUs, countWidth, counts, kinematics });
    }
    case 'events': {
      need(7, 'events fields');
      const durationUs = view.getUint32(at, true);
      const nKinematics = view.getUint8(at + 4);
      const n = view.getUint16(at + 5, true);
      at += 7;
      if (durationUs === 0) throw new MalformedPacketError('duration 0', code);
      need(6 * n, 'events');
      const eventChannels = new Uint16Array(n);
      const offsetsUs = new Uint32Array(n);
      for (let i = 0; i < n; i++) {
        eventChannels[i] = view.getUint16(at, true);
        offsetsUs[i] = view.getUint32(at + 2, true);
        at += 6;
        if (eventChannels[i]! >= channels) {
          throw new MalformedPacketError(`event on channel ${eventChannels[i]} of ${channels}`, code);
        }
        if (offsetsUs[i]! >= durationUs) {
          throw new MalformedPacketError(
            `event offset ${offsetsUs[i]} us outside a ${durationUs} us sub-bin`,
            code,
          );
        }
      }
      const kinematics = getKinematics(nKinematics);
      return done({ type, ...header, durationUs, eventChannels, offsetsUs, kinematics });
    }
    case 'status': {
      need(6, 'status fields');
      const battery = view.getUint8(at);
      const flags = view.getUint8(at + 1);
      const droppedFrames = view.getUint32(at + 2, true);
      at += 6;
      if (battery > 100 && battery !== 0xff) throw new MalformedPacketError(`battery ${battery} %`, code);
      return done({
        type,
        ...header,
        batteryPercent: battery === 0xff ? undefined : battery,
        flags,
        droppedFrames,
      });
    }
    case 'command': {
      need(1, 'command code');
      const commandCode = view.getUint8(at++);
      const command = COMMAND_NAMES.get(commandCode);
      if (command === undefined)
        throw new MalformedPacketError(`unknown command 0x${commandCode.toString(16)}`, code, {
          seq,
          version,
          commandCode,
        });
      if (command !== 'configure') return done({ type, ...header, command });
      need(8, 'configure fields');
      const subBinUs = view.getUint32(at, true);
      const configuredChannels = view.getUint16(at + 4, true);
      const countWidth = view.getUint8(at + 6);
      const modeCode = view.getUint8(at + 7);
      at += 8;
      if (countWidth > 2) throw new MalformedPacketError(`count width ${countWidth}`, code);
      if (modeCode > 1 && modeCode !== 0xff) throw new MalformedPacketError(`mode ${modeCode}`, code);
      return done({
        type,
        ...header,
        command,
        configure: {
          ...(subBinUs > 0 && { subBinUs }),
          ...(configuredChannels > 0 && { channels: configuredChannels }),
          ...(countWidth > 0 && { countWidth: countWidth as 1 | 2 }),
          ...(modeCode !== 0xff && { mode: modeCode === 0 ? ('counts' as const) : ('events' as const) }),
        },
      });
    }
    case 'ack': {
      need(6, 'ack fields');
      const ackSeq = view.getUint32(at, true);
      const commandCode = view.getUint8(at + 4);
      const resultCode = view.getUint8(at + 5);
      at += 6;
      const detail = getString('detail');
      return done({
        type,
        ...header,
        ackSeq,
        command: COMMAND_NAMES.get(commandCode) ?? commandCode,
        result: RESULT_NAMES.get(resultCode) ?? resultCode,
        detail,
      });
    }
  }
}
