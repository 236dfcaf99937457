import { type ClockUs, type Frame, type Gap, hostClockUs, InvalidOptionError } from '@edge-bci/core';
import { BehaviorSubject, type Observable, Subject } from 'rxjs';
import type { AcquisitionBinding, OpenOptions } from './binding.js';
import { ClockMapper } from './clock/clock-mapper.js';
import type { Configuration, DeviceConnection, Received } from './connection.js';
import {
  AcquisitionStoppedError,
  CommandTimeoutError,
  DeviceNotFoundError,
  HandshakeError,
  PortClosedError,
  PortOpenError,
} from './errors.js';
import { createDecoderStats } from './protocol/frame-codec.js';
import {
  type CountsMessage,
  type DeviceMessage,
  type EventsMessage,
  type InfoMessage,
  StatusFlag,
  type StatusMessage,
} from './protocol/messages.js';
import { SequenceTracker } from './protocol/sequence.js';

/** Where an acquisition stands, as a clinician's display shows it. */
export type PresenceState = 'connecting' | 'streaming' | 'reconnecting' | 'stopped' | 'error';

export interface Presence {
  readonly state: PresenceState;
  readonly detail: string;
  /** Host time of the change (us). */
  readonly atUs: number;
}

export interface ReconnectOptions {
  /** First wait after a failed attempt (default 100 ms), doubling up to `maxDelayMs` (default 2 s). */
  readonly initialDelayMs?: number;
  readonly maxDelayMs?: number;
  /** Give up (presence 'error') after this long without a device (default: never). */
  readonly giveUpAfterMs?: number;
}

export interface AcquisitionOptions {
  readonly binding: AcquisitionBinding;
  readonly path: string;
  /** Settings sent (while stopped) on every connect. */
  readonly configure?: Configuration;
  readonly reconnect?: ReconnectOptions;
  /** `start()` gives up after this long without a device that answers (default: as `reconnect.giveUpAfterMs`). */
  readonly connectTimeoutMs?: number;
  /** While streaming, this long without a valid packet means the link is dead: reconnect (default 3000 ms). */
  readonly silenceTimeoutMs?: number;
  /** Options for each connection (command timeout, attempts, baud rate). */
  readonly open?: OpenOptions;
  readonly clock?: ClockUs;
}

/** Counters an acquisition reports (`edge-bci acquire --json` prints them). */
export interface AcquisitionStats {
  /** Valid packets received (all types). */
  framesReceived: number;
  /** Data packets (counts, events) received and passed on. */
  dataFramesReceived: number;
  /** Packets known lost from gaps in their sequence numbers (within one device boot). */
  framesLost: number;
  /** Frames that failed their CRC. */
  crcErrors: number;
  /** Frames with a valid CRC that broke the protocol. */
  malformed: number;
  /** Times the decoder threw bytes away and resynchronised at the next delimiter. */
  resyncs: number;
  /** Bytes received. */
  bytes: number;
  /** Successful reconnections after the link was lost. */
  reconnects: number;
  /** Times the device restarted (a new boot id) while we were attached. */
  reboots: number;
  /** Gaps passed to the pipeline, and the device time they cover. */
  gaps: number;
  gapUs: number;
  /** Data frames dropped because their channel count disagreed with the device's info. */
  channelMismatches: number;
  /** Data frames the device says it made but could not send (from its latest status). */
  deviceDroppedFrames: number;
  batteryPercent: number | undefined;
  /** Device time (first boot) at which stream time 0 starts: the first data packet received. */
  streamOriginDeviceUs: number | undefined;
  clock: { driftPpm: number; jitterUs: { p50: number; p99: number; max: number } };
}

/** Slack on frame continuity, as a fraction of the sub-bin. */
const CONTINUITY_SLACK = 0.25;

/**
 * A device as a stream: connects through a binding, handshakes, starts streaming, and turns data packets into
 * pipeline frames on one continuous stream clock, with an explicit `Gap` wherever data is missing (lost or
 * corrupt packets, an unplug, a reboot). Reconnects with backoff after the link is lost and reports
 * `presence` throughout; never invents data.
 *
 * Stream time: the device clock, shifted so the first frame starts at 0. After a reboot (a new boot id) the
 * device clock restarts, so the new clock is shifted to continue from where the host's clock says we are.
 */
export class Acquisition {
  /** Frames and gaps for `binSpikes`, hot: subscribe before `start()`. Completes on `stop()` or end of stream. */
  readonly frames$: Observable<Frame | Gap>;
  readonly presence$: BehaviorSubject<Presence>;
  /** Every status message. */
  readonly status$: Observable<Received<StatusMessage>>;
  /** Every valid message (for logs and displays). */
  readonly messages$: Observable<Received>;
  /** Resolves when the stream ends: 'endOfStream' (the device said so), 'stopped', or an error. */
  readonly done: Promise<'endOfStream' | 'stopped'>;

  private readonly frames = new Subject<Frame | Gap>();
  private readonly status = new Subject<Received<StatusMessage>>();
  private readonly messages = new Subject<Received>();
  private readonly clock: ClockUs;
  private readonly decoderStats = createDecoderStats();
  private readonly mapper = new ClockMapper();
  private readonly sequence = new SequenceTracker();
  private readonly counters = {
    dataFramesReceived: 0,
    reconnects: 0,
    reboots: 0,
    gaps: 0,
    gapUs: 0,
    channelMismatches: 0,
    deviceDroppedFrames: 0,
    batteryPercent: undefined as number | undefined,
  };
  private connection: DeviceConnection | undefined;
  private firstInfo: Received<InfoMessage> | undefined;
  private bootId: number | undefined;
  // Stream-clock state.
  private deviceBaseUs = 0;
  private streamBaseUs = 0;
  private streamEndUs: number | undefined;
  private lastFrameReceivedUs = 0;
  private pipelineSeq = 0;
  private lastDurationUs = 0;
  private originDeviceUs: number | undefined;
  private pendingReason: string | undefined;
  private stopping = false;
  private stopped: Promise<void> = Promise.resolve();
  private readonly inFlight = new Set<Promise<unknown>>();
  private finished = false;
  /** The device sent its closing status. */
  private endOfStream = false;
  private lastPacketUs = 0;
  private watchdog: NodeJS.Timeout | undefined;
  private resolveDone!: (value: 'endOfStream' | 'stopped') => void;
  private rejectDone!: (err: Error) => void;

  constructor(private readonly options: AcquisitionOptions) {
    const silence = options.silenceTimeoutMs ?? 3000;
    if (!(silence > 0)) throw new InvalidOptionError('silenceTimeoutMs', `must be positive, got ${silence}`);
    this.clock = options.clock ?? hostClockUs;
    this.frames$ = this.frames.asObservable();
    this.status$ = this.status.asObservable();
    this.messages$ = this.messages.asObservable();
    this.presence$ = new BehaviorSubject<Presence>({
      state: 'connecting',
      detail: options.path,
      atUs: this.clock(),
    });
    this.done = new Promise((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    this.done.catch(() => {}); // observed through presence too; never an unhandled rejection
  }

  /** The device's info from the first handshake (channels, sub-bin width, kinematic names). */
  get info(): InfoMessage | undefined {
    return this.firstInfo;
  }

  stats(): AcquisitionStats {
    const d = this.decoderStats;
    let driftPpm = 0;
    let jitterUs = { p50: 0, p99: 0, max: 0 };
    if (this.mapper.sampleCount > 0) {
      // ClockMapper's drift is positive when the device runs slow; report the device's rate error instead.
      driftPpm = -this.mapper.driftPpm;
      const j = this.mapper.jitter;
      jitterUs = { p50: j.p50, p99: j.p99, max: j.max };
    }
    return {
      framesReceived: this.sequence.received,
      framesLost: this.sequence.lost,
      ...this.counters,
      streamOriginDeviceUs: this.originDeviceUs,
      crcErrors: d.crcErrors,
      malformed: d.malformed,
      resyncs: d.resyncs,
      bytes: d.bytes,
      clock: { driftPpm, jitterUs },
    };
  }

  /** Host time (us) at which device time `deviceUs` (of the current boot) happened, once frames have arrived. */
  deviceToHostUs(deviceUs: number): number {
    return this.mapper.toHost(deviceUs);
  }

  /**
   * Connects (retrying with backoff while the device is absent), handshakes, configures and starts streaming.
   * Resolves with the device's info; rejects if the device answers but is not usable.
   */
  async start(): Promise<InfoMessage> {
    await this.track(this.connect(false));
    if (this.stopping || this.finished || this.firstInfo === undefined) {
      // stop() came first, or the stream already ended: there is nothing to watch.
      if (this.firstInfo === undefined) throw new AcquisitionStoppedError(this.options.path);
      return this.firstInfo;
    }
    this.armWatchdog();
    return this.firstInfo;
  }

  /**
   * Stops the device and closes the port; `frames$` completes. Waits for a connection attempt or an
   * end-of-stream close under way, so that when it resolves the port is closed and every packet is counted.
   */
  async stop(): Promise<void> {
    if (this.stopping) return this.stopped;
    this.stopping = true;
    this.stopped = (async () => {
      while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
      const connection = this.connection;
      this.connection = undefined;
      if (connection?.isOpen) await connection.stop().catch(() => undefined);
      await connection?.close();
      this.finish('stopped', 'stopped by the host');
    })();
    return this.stopped;
  }

  /** Keeps `stop()` waiting for an asynchronous step under way. */
  private track<T>(promise: Promise<T>): Promise<T> {
    this.inFlight.add(promise);
    const done = () => this.inFlight.delete(promise);
    promise.then(done, done);
    return promise;
  }

  private async connect(reconnecting: boolean): Promise<void> {
    const policy = this.options.reconnect ?? {};
    let delay = policy.initialDelayMs ?? 100;
    const maxDelay = policy.maxDelayMs ?? 2000;
    const started = this.clock();
    let attempt = 0;
    for (;;) {
      if (this.stopping) return;
      attempt++;
      try {
        await this.attach();
        if (reconnecting) this.counters.reconnects++;
        this.setPresence('streaming', `${this.options.path}: ${this.firstInfo!.channels} channels`);
        return;
      } catch (err) {
        // A device that is absent or not answering yet may come (back); while reconnecting, so may a flaky
        // link (a lost ack) or a port the system has not handed back yet (udev permissions after a replug).
        const retryable =
          err instanceof DeviceNotFoundError ||
          err instanceof HandshakeError ||
          isDisconnect(err) ||
          (reconnecting &&
            (err instanceof CommandTimeoutError ||
              err instanceof PortClosedError ||
              err instanceof PortOpenError));
        const limitMs = reconnecting
          ? policy.giveUpAfterMs
          : (this.options.connectTimeoutMs ?? policy.giveUpAfterMs);
        const gaveUp = limitMs !== undefined && (this.clock() - started) / 1000 > limitMs;
        if (this.stopping || this.finished) return;
        if (!retryable || gaveUp) {
          const error = err instanceof Error ? err : new Error(String(err));
          this.fail(error);
          throw error;
        }
        this.setPresence(
          reconnecting ? 'reconnecting' : 'connecting',
          `attempt ${attempt}: ${(err as Error).message}; next in ${delay} ms`,
        );
        await sleep(delay);
        delay = Math.min(maxDelay, delay * 2);
      }
    }
  }

  /** One attempt: open, handshake, check, configure, start. */
  private async attach(): Promise<void> {
    // Until a connection's first info tells whether the device rebooted, its packets wait: a new boot's
    // first seqs must not be counted against the old boot's numbering.
    let held: Received[] | undefined = [];
    const connection = await this.options.binding.open(this.options.path, {
      ...this.options.open,
      stats: this.decoderStats,
      onMessage: (message) => {
        if (held === undefined) this.onMessage(message);
        else if (message.type !== 'info') held.push(message);
        else {
          this.noteBoot(message);
          const waiting = held;
          held = undefined;
          for (const m of waiting) this.onMessage(m);
          this.onMessage(message);
        }
      },
    });
    connection.onLost = (error) => this.onLost(connection, error);
    try {
      let info = connection.info!;
      const wanted = this.options.configure;
      const reconfigure = wanted !== undefined && !matches(info, wanted);
      const first = this.firstInfo === undefined;
      if (first || reconfigure) {
        // A device left streaming (by an earlier host, or through an unplug) refuses to be configured, and a
        // device whose last stream ended unheard would answer 'start' with that end: stop it first.
        await connection.stop();
      }
      if (reconfigure) info = await connection.configure(wanted);
      if (!first) {
        const was = this.firstInfo!;
        const changed = (['channels', 'subBinUs', 'countWidth', 'mode'] as const).filter(
          (k) => info[k] !== was[k],
        );
        if (info.kinematicNames.length !== was.kinematicNames.length) changed.push('kinematicNames' as never);
        if (changed.length > 0) {
          throw new InvalidOptionError(
            'device',
            `came back with different ${changed.join(', ')} (${changed.map((k) => `${String(was[k])} -> ${String(info[k])}`).join(', ')})`,
          );
        }
      } else {
        this.firstInfo = info;
      }
      if (this.stopping || this.finished) {
        await connection.close();
        return;
      }
      await connection.start();
      if (this.endOfStream) {
        // The closing status came with the answer to 'start' (the stream ended while we were away).
        await this.track(this.closeAtEnd(connection));
        return;
      }
      if (this.finished) {
        // Stopped while attaching.
        await connection.stop().catch(() => undefined);
        await connection.close();
        return;
      }
      this.connection = connection;
    } catch (err) {
      await connection.close();
      throw err;
    }
  }

  private onLost(connection: DeviceConnection, error: Error): void {
    if (this.connection !== connection || this.stopping || this.finished) return;
    this.connection = undefined;
    this.pendingReason = 'disconnect';
    this.setPresence('reconnecting', error.message);
    void this.track(this.connect(true)).catch(() => undefined);
  }

  private armWatchdog(): void {
    const silenceMs = this.options.silenceTimeoutMs ?? 3000;
    this.lastPacketUs = this.clock();
    this.watchdog = setInterval(
      () => {
        const connection = this.connection;
        if (connection === undefined || this.finished) return;
        if ((this.clock() - this.lastPacketUs) / 1000 > silenceMs) {
          void connection.close();
          this.onLost(connection, new Error(`no data for ${silenceMs} ms`));
        }
      },
      Math.min(250, silenceMs / 4),
    );
    this.watchdog.unref();
  }

  private onMessage(message: Received): void {
    this.lastPacketUs = this.clock();
    if (message.type === 'info') this.noteBoot(message);
    this.sequence.observe(message.seq);
    this.messages.next(message);
    switch (message.type) {
      case 'counts':
      case 'events':
        this.onData(message);
        break;
      case 'status':
        this.counters.deviceDroppedFrames = message.droppedFrames;
        this.counters.batteryPercent = message.batteryPercent;
        this.status.next(message);
        if (message.flags & StatusFlag.endOfStream) {
          // The closing status is stamped where the data ended: data lost just before it is a gap too.
          this.gapUntil(message.deviceTimeUs);
          this.endOfStream = true;
          const connection = this.connection;
          this.connection = undefined;
          // Without a connection we are attaching, and attach() closes once 'start' is acknowledged.
          if (connection !== undefined) void this.track(this.closeAtEnd(connection));
        }
        break;
      default:
        break;
    }
  }

  /**
   * Stops the device and closes the port, then finishes: the ack to 'stop' is the device's last packet, so
   * when `done` resolves every packet is counted in `stats()`.
   */
  private async closeAtEnd(connection: DeviceConnection): Promise<void> {
    await connection.stop().catch(() => undefined);
    await connection.close();
    this.finish('endOfStream', 'the device ended its stream');
  }

  /** A boot id not seen before means the device (re)started: its clock and numbering begin again. */
  private noteBoot(info: Received<InfoMessage>): void {
    if (info.bootId === this.bootId) return;
    if (this.bootId !== undefined) {
      this.counters.reboots++;
      this.pendingReason = 'reboot';
      this.mapper.reset();
      // The new clock continues the stream after the time the host saw pass.
      this.deviceBaseUs = Number.NaN;
    }
    this.bootId = info.bootId;
    // A new boot numbers its packets from 0 again.
    this.sequence.restart();
  }

  private onData(message: Received<CountsMessage | EventsMessage>): void {
    const info = this.firstInfo;
    if (info === undefined || this.finished) return;
    if (message.channels !== info.channels) {
      this.counters.channelMismatches++;
      return;
    }
    const durationUs = message.durationUs;
    this.mapper.observe(message.deviceTimeUs + durationUs, message.receivedUs);
    if (this.streamEndUs === undefined) {
      this.deviceBaseUs = message.deviceTimeUs;
      this.streamBaseUs = 0;
      this.originDeviceUs = message.deviceTimeUs;
    } else if (Number.isNaN(this.deviceBaseUs)) {
      const hostGapUs = Math.max(0, message.receivedUs - this.lastFrameReceivedUs - durationUs);
      this.deviceBaseUs = message.deviceTimeUs;
      this.streamBaseUs = this.streamEndUs + Math.round(hostGapUs / durationUs) * durationUs;
    }
    const startUs = message.deviceTimeUs - this.deviceBaseUs + this.streamBaseUs;
    if (this.streamEndUs !== undefined) {
      const slack = durationUs * CONTINUITY_SLACK;
      if (startUs < this.streamEndUs - slack) return; // a repeat or out-of-order packet: already covered
      this.gapUntil(message.deviceTimeUs);
    }
    this.pendingReason = undefined;
    this.lastDurationUs = durationUs;
    this.streamEndUs = startUs + durationUs;
    this.lastFrameReceivedUs = message.receivedUs;
    this.counters.dataFramesReceived++;
    const kinematics = message.kinematics.length > 0 ? Float64Array.from(message.kinematics) : undefined;
    const seq = this.pipelineSeq++;
    if (message.type === 'counts') {
      this.frames.next({
        kind: 'counts',
        seq,
        deviceTimeUs: startUs,
        durationUs,
        counts: message.counts,
        ...(kinematics && { kinematics }),
        receivedUs: message.receivedUs,
      });
    } else {
      this.frames.next({
        kind: 'events',
        seq,
        deviceTimeUs: startUs,
        durationUs,
        channels: message.eventChannels,
        offsetsUs: message.offsetsUs,
        ...(kinematics && { kinematics }),
        receivedUs: message.receivedUs,
      });
    }
  }

  /** Emits a Gap from the end of the data so far to device time `deviceUs` (this boot), if data is missing there. */
  private gapUntil(deviceUs: number): void {
    const end = this.streamEndUs;
    const durationUs = this.lastDurationUs;
    if (end === undefined || Number.isNaN(this.deviceBaseUs) || durationUs === 0 || this.finished) return;
    const startUs = deviceUs - this.deviceBaseUs + this.streamBaseUs;
    if (startUs <= end + durationUs * CONTINUITY_SLACK) return;
    const lostFrames = Math.max(1, Math.round((startUs - end) / durationUs));
    this.counters.gaps++;
    this.counters.gapUs += startUs - end;
    this.frames.next({
      kind: 'gap',
      startUs: end,
      endUs: startUs,
      reason: this.pendingReason ?? 'lost',
      lostFrames,
    });
    this.pipelineSeq += lostFrames;
    this.streamEndUs = startUs;
  }

  private setPresence(state: PresenceState, detail: string): void {
    if (this.finished && state !== 'stopped' && state !== 'error') return;
    this.presence$.next({ state, detail, atUs: this.clock() });
  }

  private finish(how: 'endOfStream' | 'stopped', detail: string): void {
    if (this.finished) return;
    this.finished = true;
    if (this.watchdog) clearInterval(this.watchdog);
    this.setPresence('stopped', detail);
    this.frames.complete();
    this.status.complete();
    this.messages.complete();
    this.resolveDone(how);
  }

  private fail(error: Error): void {
    if (this.finished) return;
    this.finished = true;
    if (this.watchdog) clearInterval(this.watchdog);
    this.setPresence('error', error.message);
    this.frames.error(error);
    this.status.complete();
    this.messages.complete();
    this.rejectDone(error);
  }
}

function matches(info: InfoMessage, wanted: Configuration): boolean {
  return (
    (wanted.channels === undefined || wanted.channels === info.channels) &&
    (wanted.subBinUs === undefined || wanted.subBinUs === info.subBinUs) &&
    (wanted.countWidth === undefined || wanted.countWidth === info.countWidth) &&
    (wanted.mode === undefined || wanted.mode === info.mode)
  );
}

function isDisconnect(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { disconnected?: boolean }).disconnected === true;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export type { DeviceMessage };
