import { type ClockUs, hostClockUs, InvalidOptionError, Rng } from '@edge-bci/core';
import { DELIMITER, encodeFrame, FrameDecoder } from '../protocol/frame-codec.js';
import {
  type AckMessage,
  type AckResultName,
  type CommandMessage,
  type DeviceMessage,
  type Message,
  PROTOCOL_VERSION,
  StatusFlag,
} from '../protocol/messages.js';
import { FaultInjector, type FaultLedger, type FaultOptions, hasFaults } from './faults.js';
import type { FirmwareSource, FirmwareSourceFactory, SourceConfig } from './source.js';

export interface FirmwareOptions {
  readonly source: FirmwareSourceFactory;
  readonly serialNumber?: string;
  readonly firmwareVersion?: readonly [number, number, number];
  /** Random per power-up unless given. */
  readonly bootId?: number;
  /** Seconds of data each `start` streams; after them the device sends a final status with `endOfStream`. Default: no end. */
  readonly seconds?: number;
  /** Device clock rate error in parts per million: positive runs fast against the host clock. */
  readonly driftPpm?: number;
  /** Faults injected while streaming (the handshake before the first `start` and the final status are spared). */
  readonly faults?: FaultOptions;
  /** Device microseconds between status messages while streaming (default 1 s). */
  readonly statusIntervalUs?: number;
  readonly countWidth?: 1 | 2;
  readonly mode?: 'counts' | 'events';
  /** Host clock the device clock is derived from (default the performance clock). */
  readonly clock?: ClockUs;
  /** Device clock at power-up (default 5 s: a device clock is not the host's). */
  readonly bootDeviceUs?: number;
  readonly batteryPercent?: number;
  /** Seed for event times within a sub-bin in `events` mode. */
  readonly eventSeed?: number;
}

/** Everything the firmware made and what became of it: the other side of the host's accounting. */
export interface FirmwareLedger {
  readonly bootId: number;
  /** Packets given a sequence number (seq 0 .. packetsMade - 1 this boot, before wrapping). */
  packetsMade: number;
  /** Packets handed to the link. */
  packetsWritten: number;
  dataPackets: number;
  statusPackets: number;
  /** Packets made while the link was down (never written). */
  droppedWhileDisconnected: number;
  commandsReceived: number;
  /** seq of the first data packet, or -1. */
  firstDataSeq: number;
  /** Device time at which the first data packet's sub-bin starts, or -1. */
  firstDataTimeUs: number;
  /** seq of the last packet made, or -1. */
  lastSeq: number;
  ended: boolean;
  readonly faults: FaultLedger | undefined;
}

const DEFAULT_STATUS_INTERVAL_US = 1_000_000;
/** Most data packets one `poll` makes; a host clock jump does not make a burst larger than this. */
const MAX_CATCH_UP = 5000;

/**
 * A device model that speaks the edge-bci protocol: answers commands, streams a source in real time on
 * its own (optionally drifting) clock, and injects faults. Transport-free: bytes come in through
 * `receive` and leave through `onWrite`; a runner calls `poll` about every millisecond.
 */
export class Firmware {
  /**
   * Receives every burst of wire bytes the device sends. Returning false says the link refused them
   * (its transmit buffer is full): the packets count as dropped, as on a device whose buffer overflowed.
   */
  onWrite: ((bytes: Uint8Array) => boolean | undefined) | undefined;
  /**
   * Called when a disconnect fault begins, with its length. The runner takes the link down (`setLinkUp(false)`)
   * and brings it back (`setLinkUp(true)`); without a handler the device goes silent for the length itself.
   */
  onDisconnect: ((durationUs: number) => void) | undefined;

  readonly ledger: FirmwareLedger;
  private readonly clock: ClockUs;
  private readonly bootHostUs: number;
  private readonly bootDeviceUs: number;
  private readonly rate: number;
  private readonly decoder: FrameDecoder;
  private readonly injector: FaultInjector | undefined;
  private readonly eventRng: Rng;
  private readonly statusIntervalUs: number;
  private source: FirmwareSource;
  private config: SourceConfig = {};
  private countWidth: 1 | 2;
  private mode: 'counts' | 'events';
  private seq = 0;
  private streaming = false;
  private faultsArmed = false;
  private linkUp = true;
  private silentUntilUs = 0;
  /** The stream ended and no 'stop' came since: a 'start' now means the host missed the closing status. */
  private endUnheard = false;
  private stallUntilUs = 0;
  private held: Uint8Array[] = [];
  /** Data packets among `held` and `out`: what `droppedFrames` grows by if they are lost. */
  private heldData = 0;
  private outData = 0;
  private out: Uint8Array[] = [];
  private nextFrameUs = 0;
  private streamEndUs = Number.POSITIVE_INFINITY;
  private nextStatusUs = 0;
  private droppedFrames = 0;
  private overflowed = false;
  private counts: Uint16Array;
  private kinematics: Float32Array;

  constructor(private readonly options: FirmwareOptions) {
    const drift = options.driftPpm ?? 0;
    if (!Number.isFinite(drift) || Math.abs(drift) > 10_000) {
      throw new InvalidOptionError('driftPpm', `must be within +-10000 ppm, got ${drift}`);
    }
    if (options.seconds !== undefined && !(options.seconds > 0)) {
      throw new InvalidOptionError('seconds', `must be positive, got ${options.seconds}`);
    }
    this.rate = 1 + drift * 1e-6;
    this.clock = options.clock ?? hostClockUs;
    this.bootHostUs = this.clock();
    this.bootDeviceUs = options.bootDeviceUs ?? 5_000_000;
    this.statusIntervalUs = options.statusIntervalUs ?? DEFAULT_STATUS_INTERVAL_US;
    this.countWidth = options.countWidth ?? 1;
    this.mode = options.mode ?? 'counts';
    this.source = options.source({});
    this.counts = new Uint16Array(this.source.channels);
    this.kinematics = new Float32Array(this.source.kinematicNames.length);
    this.eventRng = new Rng(options.eventSeed ?? 7);
    const bootId = options.bootId ?? (Math.random() * 0x1_0000_0000) >>> 0;
    this.injector = hasFaults(options.faults) ? new FaultInjector(options.faults!) : undefined;
    this.ledger = {
      bootId,
      packetsMade: 0,
      packetsWritten: 0,
      dataPackets: 0,
      statusPackets: 0,
      droppedWhileDisconnected: 0,
      commandsReceived: 0,
      firstDataSeq: -1,
      firstDataTimeUs: -1,
      lastSeq: -1,
      ended: false,
      faults: this.injector?.ledger,
    };
    this.decoder = new FrameDecoder({
      onMessage: (message) => this.handle(message),
      // A command the device cannot read still gets an answer, so the host is not left retrying.
      onReject: (_reason, _bytes, error) => {
        const command = error?.command;
        if (command === undefined) return;
        this.ledger.commandsReceived++;
        const unsupported = command.version !== PROTOCOL_VERSION;
        this.send(
          this.ack(
            command.seq,
            command.commandCode ?? 0,
            unsupported ? 'unsupportedVersion' : 'unknownCommand',
            unsupported ? `this device speaks protocol ${PROTOCOL_VERSION}` : '',
          ),
        );
      },
    });
  }

  get channels(): number {
    return this.source.channels;
  }

  get subBinUs(): number {
    return this.source.subBinUs;
  }

  get isStreaming(): boolean {
    return this.streaming;
  }

  get ended(): boolean {
    return this.ledger.ended;
  }

  /** The stream ended and the host answered the closing status with 'stop'. */
  get endAcknowledged(): boolean {
    return this.ledger.ended && !this.endUnheard;
  }

  /** The device clock now. */
  deviceTimeUs(): number {
    return this.bootDeviceUs + (this.clock() - this.bootHostUs) * this.rate;
  }

  /** Host microseconds until the next data packet is due (0 when one is due; Infinity when idle). */
  usUntilNextPacket(): number {
    if (!this.streaming) return Number.POSITIVE_INFINITY;
    return Math.max(0, (this.nextFrameUs + this.source.subBinUs - this.deviceTimeUs()) / this.rate);
  }

  /** Bytes from the host. */
  receive(chunk: Uint8Array): void {
    this.decoder.push(chunk, this.clock());
    this.flush();
  }

  /** The runner reports the link going down (packets made meanwhile are dropped) or coming back. */
  setLinkUp(up: boolean): void {
    if (!up && this.linkUp) this.dropHeld();
    this.linkUp = up;
  }

  /** Makes every packet due by now and writes them. */
  poll(): void {
    const now = this.deviceTimeUs();
    if (this.held.length > 0 && now >= this.stallUntilUs) {
      this.out.push(...this.held);
      this.outData += this.heldData;
      this.held = [];
      this.heldData = 0;
    }
    if (this.streaming) {
      if (this.injector !== undefined && this.faultsArmed) this.scheduleFaults(now);
      let made = 0;
      const width = this.source.subBinUs;
      const dueUntil = Math.min(now, this.streamEndUs);
      while (this.streaming && this.nextFrameUs + width <= dueUntil && made++ < MAX_CATCH_UP) {
        this.makeDataPacket();
        // (A source that ran out ended the stream inside makeDataPacket: its closing status is the last.)
        if (this.streaming && this.nextFrameUs >= this.nextStatusUs) {
          this.send(this.status(this.nextFrameUs, 0));
          this.nextStatusUs += this.statusIntervalUs;
        }
      }
      if (this.streaming && this.nextFrameUs + width > this.streamEndUs) this.endStream();
    }
    this.flush();
  }

  private scheduleFaults(now: number): void {
    const injector = this.injector!;
    const disconnectUs = injector.disconnectDue(now);
    if (disconnectUs > 0) {
      if (this.onDisconnect) {
        this.setLinkUp(false);
        this.onDisconnect(disconnectUs);
      } else {
        this.dropHeld();
        this.silentUntilUs = now + disconnectUs;
      }
    }
    const stallUs = injector.stallDue(now);
    if (stallUs > 0) this.stallUntilUs = now + stallUs;
  }

  private handle(message: Message): void {
    if (message.type !== 'command') return;
    this.ledger.commandsReceived++;
    const reply = (result: AckResultName, detail = '') =>
      this.send(this.ack(message.seq, message.command, result, detail));
    switch (message.command) {
      case 'hello':
        reply('ok', `edge-bci protocol ${PROTOCOL_VERSION}`);
        this.send(this.info());
        return;
      case 'ping':
        reply('ok');
        return;
      case 'start':
        if (this.endUnheard) {
          // The host missed the closing status (the link was down, or its port flushed it on reopening): say it
          // again, clean, rather than start a new run it does not know about.
          this.send(this.ack(message.seq, message.command, 'ok', ''), false);
          this.sendEnd();
          return;
        }
        if (this.ledger.ended && !this.streaming) {
          // A new run: the source restarts, as if the device were re-armed.
          this.source = this.options.source(this.config);
          this.ledger.ended = false;
        }
        if (!this.streaming) this.startStream();
        reply('ok');
        return;
      case 'stop':
        this.streaming = false;
        this.endUnheard = false;
        reply('ok');
        return;
      case 'configure':
        this.configure(message, reply);
        return;
    }
  }

  private configure(message: CommandMessage, reply: (result: AckResultName, detail?: string) => void): void {
    if (this.streaming) {
      reply('busy', 'stop streaming before configuring');
      return;
    }
    const c = message.configure ?? {};
    const config: SourceConfig = {
      ...this.config,
      ...(c.channels !== undefined && { channels: c.channels }),
      ...(c.subBinUs !== undefined && { subBinUs: c.subBinUs }),
    };
    let source: FirmwareSource;
    try {
      source = this.options.source(config);
    } catch (err) {
      reply('invalidArgument', err instanceof Error ? err.message : String(err));
      return;
    }
    this.source = source;
    this.config = config;
    this.counts = new Uint16Array(source.channels);
    this.kinematics = new Float32Array(source.kinematicNames.length);
    if (c.countWidth !== undefined) this.countWidth = c.countWidth;
    if (c.mode !== undefined) this.mode = c.mode;
    reply('ok');
    this.send(this.info());
  }

  private startStream(): void {
    const width = this.source.subBinUs;
    const now = this.deviceTimeUs();
    this.streaming = true;
    this.nextFrameUs = Math.ceil(now / width) * width;
    this.nextStatusUs = this.nextFrameUs;
    const seconds = this.options.seconds;
    this.streamEndUs = seconds === undefined ? Number.POSITIVE_INFINITY : this.nextFrameUs + seconds * 1e6;
    if (this.injector !== undefined && !this.faultsArmed) {
      this.faultsArmed = true;
      this.injector.schedule(now);
    }
  }

  private endStream(): void {
    this.streaming = false;
    this.endUnheard = true;
    this.sendEnd();
  }

  private sendEnd(): void {
    this.ledger.ended = true;
    // The closing status is sent clean, so the host learns the last seq and can account for every packet.
    this.send(this.status(this.nextFrameUs, StatusFlag.endOfStream), false);
  }

  private makeDataPacket(): void {
    const width = this.source.subBinUs;
    const startUs = this.nextFrameUs;
    if (!this.source.next(this.counts, this.kinematics)) {
      this.endStream();
      return;
    }
    this.nextFrameUs += width;
    const header = this.header(startUs);
    if (this.ledger.firstDataSeq < 0) {
      this.ledger.firstDataSeq = header.seq;
      this.ledger.firstDataTimeUs = startUs;
    }
    this.ledger.dataPackets++;
    if (this.mode === 'counts') {
      this.send({
        type: 'counts',
        ...header,
        durationUs: width,
        countWidth: this.countWidth,
        counts: this.counts,
        kinematics: this.kinematics,
      });
      return;
    }
    let n = 0;
    for (let c = 0; c < this.counts.length; c++) n += this.counts[c]!;
    const eventChannels = new Uint16Array(n);
    const offsetsUs = new Uint32Array(n);
    const order: [number, number][] = [];
    for (let c = 0; c < this.counts.length; c++) {
      for (let k = 0; k < this.counts[c]!; k++) order.push([this.eventRng.int(width), c]);
    }
    order.sort((a, b) => a[0] - b[0]);
    for (let i = 0; i < n; i++) {
      offsetsUs[i] = order[i]![0];
      eventChannels[i] = order[i]![1];
    }
    this.send({
      type: 'events',
      ...header,
      durationUs: width,
      eventChannels,
      offsetsUs,
      kinematics: this.kinematics,
    });
  }

  private header(deviceTimeUs: number) {
    const seq = this.seq;
    this.seq = (this.seq + 1) >>> 0;
    this.ledger.packetsMade++;
    this.ledger.lastSeq = seq;
    return { seq, deviceTimeUs: Math.max(0, Math.floor(deviceTimeUs)), channels: this.source.channels };
  }

  private info(): DeviceMessage {
    return {
      type: 'info',
      ...this.header(this.deviceTimeUs()),
      firmwareVersion: this.options.firmwareVersion ?? [1, 0, 0],
      bootId: this.ledger.bootId,
      subBinUs: this.source.subBinUs,
      countWidth: this.countWidth,
      mode: this.mode,
      serialNumber: this.options.serialNumber ?? 'EBCI-SIM-0001',
      kinematicNames: this.source.kinematicNames,
    };
  }

  private ack(
    ackSeq: number,
    command: AckMessage['command'],
    result: AckMessage['result'],
    detail: string,
  ): DeviceMessage {
    return { type: 'ack', ...this.header(this.deviceTimeUs()), ackSeq, command, result, detail };
  }

  private status(atUs: number, extraFlags: number): DeviceMessage {
    this.ledger.statusPackets++;
    return {
      type: 'status',
      ...this.header(atUs),
      batteryPercent: this.options.batteryPercent,
      flags:
        (this.streaming ? StatusFlag.streaming : 0) |
        (this.overflowed ? StatusFlag.overflow : 0) |
        extraFlags,
      droppedFrames: this.droppedFrames >>> 0,
    };
  }

  /** Encodes one packet and queues it (damaged when faults are armed and `faulty`). */
  private send(message: DeviceMessage, faulty = true): void {
    const now = this.deviceTimeUs();
    if (!this.linkUp || now < this.silentUntilUs) {
      this.ledger.droppedWhileDisconnected++;
      if (message.type === 'counts' || message.type === 'events') this.droppedFrames++;
      return;
    }
    let bytes = encodeFrame(message);
    if (this.faultsArmed && this.injector !== undefined) {
      if (faulty) bytes = this.injector.damage(bytes, message.seq);
      // A clean packet starts with a delimiter of its own, so line noise after the one before cannot swallow it.
      else bytes = Uint8Array.of(DELIMITER, ...bytes);
    }
    const data = message.type === 'counts' || message.type === 'events' ? 1 : 0;
    // Held packets leave first when the stall ends: the wire never reorders.
    if (now < this.stallUntilUs || this.held.length > 0) {
      this.held.push(bytes);
      this.heldData += data;
    } else {
      this.out.push(bytes);
      this.outData += data;
    }
  }

  private dropHeld(): void {
    // Packets held by a stall die with the link; the host sees their seqs missing.
    this.ledger.droppedWhileDisconnected += this.held.length;
    this.droppedFrames += this.heldData;
    this.held = [];
    this.heldData = 0;
  }

  private flush(): void {
    if (this.out.length === 0) return;
    const parts = this.out;
    const data = this.outData;
    this.out = [];
    this.outData = 0;
    let bytes = parts[0]!;
    if (parts.length > 1) {
      let total = 0;
      for (const p of parts) total += p.length;
      bytes = new Uint8Array(total);
      let at = 0;
      for (const p of parts) {
        bytes.set(p, at);
        at += p.length;
      }
    }
    if (this.onWrite?.(bytes) === false) {
      this.ledger.droppedWhileDisconnected += parts.length;
      this.droppedFrames += data;
      this.overflowed = true;
    } else {
      this.ledger.packetsWritten += parts.length;
    }
  }
}
