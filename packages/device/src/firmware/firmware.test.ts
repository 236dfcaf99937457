import { simulateSession } from '@edge-bci/core';
import { describe, expect, it } from 'vitest';
import { encodeFrame, FrameDecoder } from '../protocol/frame-codec.js';
import type { CommandMessage, DeviceMessage, Message } from '../protocol/messages.js';
import { frameOf, rawPacket } from '../protocol/vectors.js';
import { Firmware, type FirmwareOptions } from './firmware.js';
import { recordingSource, simulatorSource } from './source.js';

/** A firmware on a hand-driven clock, with everything it sends decoded. */
function bench(options: Partial<FirmwareOptions> = {}) {
  let now = 0;
  const firmware = new Firmware({
    source: simulatorSource({ seed: 1, channels: 8 }),
    clock: () => now,
    bootDeviceUs: 0,
    bootId: 7,
    ...options,
  });
  const received: DeviceMessage[] = [];
  const decoder = new FrameDecoder({ onMessage: (m: Message) => received.push(m as DeviceMessage) });
  firmware.onWrite = (bytes) => {
    decoder.push(bytes, now);
    return true;
  };
  let seq = 0;
  const command = (command: CommandMessage['command'], configure?: CommandMessage['configure']) => {
    const message: CommandMessage = {
      type: 'command',
      seq: seq++,
      deviceTimeUs: 0,
      channels: 0,
      command,
      ...(configure && { configure }),
    };
    firmware.receive(encodeFrame(message));
    return message.seq;
  };
  const advance = (us: number) => {
    // Poll every millisecond, as the driver does.
    for (let t = 0; t < us; t += 1000) {
      now += Math.min(1000, us - t);
      firmware.poll();
    }
  };
  return { firmware, received, decoder, command, advance };
}

describe('Firmware', () => {
  it('answers hello with an ack and its info', () => {
    const b = bench();
    const seq = b.command('hello');
    expect(b.received.map((m) => m.type)).toEqual(['ack', 'info']);
    expect(b.received[0]).toMatchObject({ type: 'ack', seq: 0, ackSeq: seq, command: 'hello', result: 'ok' });
    expect(b.received[1]).toMatchObject({ type: 'info', seq: 1, bootId: 7, channels: 8, subBinUs: 1000 });
  });

  it('streams one counts packet per sub-bin after start, with status each second, and ends after `seconds`', () => {
    const b = bench({ seconds: 2 });
    b.command('start');
    b.advance(2_100_000);
    const data = b.received.filter((m) => m.type === 'counts');
    expect(data).toHaveLength(2000);
    data.forEach((m, i) => {
      expect(m.deviceTimeUs).toBe(data[0]!.deviceTimeUs + i * 1000);
    });
    const status = b.received.filter((m) => m.type === 'status');
    // At the first sub-bin, after 1 s and 2 s of data, and the closing one.
    expect(status.length).toBe(4);
    expect(status.at(-1)!.flags & 0x08).toBe(0x08); // endOfStream
    expect(status.at(-1)!.flags & 0x01).toBe(0); // no longer streaming
    b.received.forEach((m, i) => {
      expect(m.seq).toBe(i);
    });
    expect(b.firmware.ended).toBe(true);
    expect(b.firmware.ledger.packetsMade).toBe(b.received.length);
  });

  it('runs its clock fast or slow by driftPpm', () => {
    const b = bench({ driftPpm: 1000 });
    b.command('start');
    b.advance(1_000_500);
    // 1.0005 s of host time is 1.0015 s of device time: one sub-bin more than on a true clock.
    expect(b.received.filter((m) => m.type === 'counts')).toHaveLength(1001);
  });

  it('answers an unknown command with unknownCommand and another protocol version with unsupportedVersion', () => {
    const b = bench();
    b.firmware.receive(frameOf(rawPacket({ type: 0x10, seq: 41, body: [0x7f] })));
    b.firmware.receive(frameOf(rawPacket({ version: 2, type: 0x10, seq: 42, body: [0x05] })));
    expect(b.received).toMatchObject([
      { type: 'ack', ackSeq: 41, command: 0x7f, result: 'unknownCommand' },
      { type: 'ack', ackSeq: 42, command: 'ping', result: 'unsupportedVersion' },
    ]);
  });

  it('configures only while stopped, all or nothing', () => {
    const b = bench();
    b.command('configure', { subBinUs: 1500 });
    expect(b.received.at(-1)).toMatchObject({ type: 'ack', result: 'invalidArgument' });
    b.command('configure', { channels: 16, subBinUs: 2000, countWidth: 2, mode: 'events' });
    expect(b.received.slice(-2)).toMatchObject([
      { type: 'ack', result: 'ok' },
      { type: 'info', channels: 16, subBinUs: 2000, countWidth: 2, mode: 'events' },
    ]);
    b.command('start');
    b.command('configure', { channels: 4 });
    expect(b.received.at(-1)).toMatchObject({ type: 'ack', command: 'configure', result: 'busy' });
    b.advance(10_000);
    expect(b.received.filter((m) => m.type === 'events')).toHaveLength(5);
  });

  it('accounts for every packet under faults: written, or dropped while the link was down', () => {
    const b = bench({
      faults: {
        flipRate: 0.1,
        dropRate: 0.1,
        garbageRate: 0.1,
        stallEveryS: 0.3,
        stallMs: 50,
        disconnectEveryS: 0.5,
        disconnectMs: 100,
        seed: 5,
      },
      seconds: 3,
    });
    b.firmware.onDisconnect = () => b.firmware.setLinkUp(false);
    b.command('start');
    let linkDownAt = -1;
    for (let t = 0; t < 3_200_000; t += 1000) {
      b.advance(1000);
      // Bring the link back 100 ms after it went down.
      if (
        linkDownAt < 0 &&
        b.firmware.ledger.faults!.disconnects > 0 &&
        b.firmware.ledger.droppedWhileDisconnected > 0
      )
        linkDownAt = t;
      if (linkDownAt >= 0 && t - linkDownAt >= 100_000) {
        b.firmware.setLinkUp(true);
        linkDownAt = -1;
      }
    }
    const l = b.firmware.ledger;
    expect(l.ended).toBe(true);
    expect(l.faults!.flipped).toBeGreaterThan(50);
    expect(l.faults!.disconnects).toBeGreaterThan(0);
    expect(l.packetsWritten + l.droppedWhileDisconnected).toBe(l.packetsMade);
    expect(l.lastSeq).toBe(l.packetsMade - 1);
    // Everything delivered intact is a packet the ledger did not mark damaged.
    const damaged = new Set(l.faults!.damagedSeqs);
    for (const m of b.received) expect(damaged.has(m.seq)).toBe(false);
    expect(b.decoder.stats.crcErrors).toBeGreaterThan(0);
  });
});

describe('recordingSource', () => {
  it('streams each recorded bin as one sub-bin and refuses other shapes', () => {
    const session = simulateSession({ seconds: 1, channels: 5, seed: 2, binWidthUs: 10_000 });
    const factory = recordingSource(session);
    const source = factory({});
    expect(source).toMatchObject({ channels: 5, subBinUs: 10_000 });
    const counts = new Uint16Array(5);
    const kin = new Float32Array(4);
    for (let bin = 0; bin < session.bins; bin++) {
      expect(source.next(counts, kin)).toBe(true);
      expect(Array.from(counts)).toEqual(Array.from(session.counts.subarray(bin * 5, bin * 5 + 5)));
    }
    expect(source.next(counts, kin)).toBe(false);
    expect(() => factory({ channels: 6 })).toThrow(/5 channels/);
    expect(() => factory({ subBinUs: 1000 })).toThrow(/10000 us/);
  });

  it('refuses a recording whose counts are not whole numbers', () => {
    const session = simulateSession({ seconds: 1, channels: 3, seed: 2, binWidthUs: 10_000 });
    session.counts[7] = 1.5;
    expect(() => recordingSource(session)).toThrow(/whole spike counts; bin 2 channel 1 holds 1.5/);
  });
});

describe('Firmware transmit overflow', () => {
  it('counts data packets the link refused in droppedFrames and sets the overflow flag', () => {
    const b = bench();
    b.command('start');
    const inner = b.firmware.onWrite!;
    b.firmware.onWrite = () => false; // the port's buffer is full
    b.advance(50_000);
    b.firmware.onWrite = inner;
    b.advance(1_000_000);
    const status = b.received.filter((m) => m.type === 'status').at(-1)!;
    expect(status.droppedFrames).toBe(50);
    expect(status.flags & 0x10).toBe(0x10);
    expect(b.firmware.ledger.droppedWhileDisconnected).toBeGreaterThanOrEqual(50);
  });
});

describe('sources starting later', () => {
  it('recordingSource({startUs}) streams from the bin at that time; past the end is refused', () => {
    const session = simulateSession({ seconds: 1, channels: 5, seed: 2, binWidthUs: 10_000 });
    const source = recordingSource(session, 'r', { startUs: 300_000 })({});
    const counts = new Uint16Array(5);
    const kin = new Float32Array(4);
    source.next(counts, kin);
    expect(Array.from(counts)).toEqual(Array.from(session.counts.subarray(30 * 5, 31 * 5)));
    expect(kin[0]).toBeCloseTo(session.kinematics[30 * 4]!, 4);
    let n = 1;
    while (source.next(counts, kin)) n++;
    expect(n).toBe(70);
    expect(() => recordingSource(session, 'r', { startUs: 2e6 })).toThrow(/1 s long/);
  });

  it('simulatorSource({startUs}) continues the simulation where the skipped part ends', () => {
    const whole = simulatorSource({ seed: 3, channels: 6 })({});
    const later = simulatorSource({ seed: 3, channels: 6, startUs: 250_000 })({});
    const a = new Uint16Array(6);
    const b = new Uint16Array(6);
    const kin = new Float32Array(4);
    for (let i = 0; i < 250; i++) whole.next(a, kin);
    for (let i = 0; i < 20; i++) {
      whole.next(a, kin);
      later.next(b, kin);
      expect(Array.from(b)).toEqual(Array.from(a));
    }
    expect(() => simulatorSource({ startUs: -1 })).toThrow(/non-negative/);
  });
});
