import type { ClockUs } from '@edge-bci/core';
import { CommandRejectedError, CommandTimeoutError, HandshakeError, PortClosedError } from './errors.js';
import type { ByteLink } from './link.js';
import { createDecoderStats, type DecoderStats, encodeFrame, FrameDecoder } from './protocol/frame-codec.js';
import type {
  AckMessage,
  CommandMessage,
  CommandName,
  DeviceMessage,
  InfoMessage,
  Message,
} from './protocol/messages.js';

/** A device message with the host time (us) its last byte arrived. */
export type Received<M extends DeviceMessage = DeviceMessage> = M & { readonly receivedUs: number };

export interface ConnectionOptions {
  /** How long to wait for each acknowledgement (default 300 ms). */
  readonly commandTimeoutMs?: number;
  /** Attempts per command before `CommandTimeoutError` (default 4). */
  readonly attempts?: number;
  readonly clock?: ClockUs;
  /** Counters to continue (e.g. across reconnects); default fresh ones. */
  readonly stats?: DecoderStats;
  /** Receives every valid device message from the first byte on, the handshake's included. */
  readonly onMessage?: (message: Received) => void;
}

export type Configuration = NonNullable<CommandMessage['configure']>;

interface Pending {
  readonly command: CommandName;
  readonly seqs: Set<number>;
  /** With the ack, or with undefined to wake the waiter when the link is lost or closed. */
  resolve(ack: AckMessage | undefined): void;
}

/**
 * The host's end of the protocol over one open link: decodes what arrives, sends commands and matches
 * their acknowledgements (retrying on silence, since either packet may be lost), and keeps the latest
 * `info`. One connection lives as long as its link; reconnecting makes a new one.
 */
export class DeviceConnection {
  /** Every valid device message, in arrival order. Set before `hello()` to see the handshake too. */
  onMessage: ((message: Received) => void) | undefined;
  /** Called once if the link is lost (not after `close()`). */
  onLost: ((error: Error) => void) | undefined;
  readonly stats: DecoderStats;
  private readonly decoder: FrameDecoder;
  private readonly timeoutMs: number;
  private readonly attempts: number;
  private seq = 0;
  private pending: Pending | undefined;
  private latestInfo: Received<InfoMessage> | undefined;
  private infoWaiters: Array<(info: Received<InfoMessage>) => void> = [];
  private lostError: Error | undefined;
  private closed = false;

  constructor(
    readonly link: ByteLink,
    options: ConnectionOptions = {},
  ) {
    this.timeoutMs = options.commandTimeoutMs ?? 300;
    this.attempts = options.attempts ?? 4;
    this.stats = options.stats ?? createDecoderStats();
    this.onMessage = options.onMessage;
    this.decoder = new FrameDecoder({
      stats: this.stats,
      onMessage: (message, receivedUs) => this.receive(message, receivedUs),
    });
    link.onData = (chunk, receivedUs) => this.decoder.push(chunk, receivedUs);
    link.onLost = (error) => {
      this.lostError = error;
      this.rejectPending();
      this.onLost?.(error);
    };
  }

  /** A connection over `link` once the device has answered the handshake; the link is closed if it does not. */
  static async open(link: ByteLink, options: ConnectionOptions = {}): Promise<DeviceConnection> {
    const connection = new DeviceConnection(link, options);
    try {
      await connection.hello();
    } catch (err) {
      await connection.close();
      throw err;
    }
    return connection;
  }

  get path(): string {
    return this.link.path;
  }

  /** The device's latest `info`, once the handshake is done. */
  get info(): Received<InfoMessage> | undefined {
    return this.latestInfo;
  }

  get isOpen(): boolean {
    return !this.closed && this.lostError === undefined && this.link.isOpen;
  }

  /** Handshake: `hello`, then the device's `info`. Throws `HandshakeError` when the device does not speak the protocol. */
  async hello(): Promise<Received<InfoMessage>> {
    // The ack or the info may be lost on the way: ask again until both came back.
    for (let attempt = 1; attempt <= this.attempts; attempt++) {
      const infoPromise = this.nextInfo();
      try {
        await this.command('hello');
      } catch (err) {
        if (err instanceof CommandTimeoutError) {
          throw new HandshakeError(
            this.path,
            `no answer to hello (${this.stats.bytes} bytes came back, ${this.stats.packets} valid)`,
            { cause: err },
          );
        }
        throw err;
      }
      const info = await this.within(infoPromise, this.timeoutMs, 'hello');
      if (info !== undefined) return info;
    }
    throw new HandshakeError(this.path, `hello was acknowledged ${this.attempts} times but no info came`);
  }

  start(): Promise<AckMessage> {
    return this.command('start');
  }

  stop(): Promise<AckMessage> {
    return this.command('stop');
  }

  ping(): Promise<AckMessage> {
    return this.command('ping');
  }

  /** Changes settings (the device must be stopped); resolves with the device's new `info`. */
  async configure(configuration: Configuration): Promise<Received<InfoMessage>> {
    const infoPromise = this.nextInfo();
    await this.command('configure', configuration);
    // The device sends its new info after an accepted configure; if that was lost, ask for it.
    return (await this.within(infoPromise, this.timeoutMs, 'configure')) ?? this.hello();
  }

  /**
   * Sends a command and waits for its acknowledgement, resending on silence. One command at a time.
   * Resolves with an `ok` ack; rejects with `CommandRejectedError`, `CommandTimeoutError` or the link's error.
   */
  async command(command: CommandName, configure?: Configuration): Promise<AckMessage> {
    if (this.pending !== undefined) {
      throw new Error(`command '${command}' while '${this.pending.command}' is pending: await each command`);
    }
    const seqs = new Set<number>();
    const ack = new Promise<AckMessage | undefined>((resolve) => {
      this.pending = { command, seqs, resolve };
    });
    try {
      for (let attempt = 1; attempt <= this.attempts; attempt++) {
        this.checkUsable(command);
        const seq = this.seq;
        this.seq = (this.seq + 1) >>> 0;
        seqs.add(seq);
        const message: CommandMessage = {
          type: 'command',
          seq,
          deviceTimeUs: 0,
          channels: 0,
          command,
          ...(configure && { configure }),
        };
        await this.link.write(encodeFrame(message));
        const result = await this.within(ack, this.timeoutMs, command);
        if (result !== undefined) {
          if (result.result !== 'ok') throw new CommandRejectedError(command, result.result, result.detail);
          return result;
        }
      }
      throw new CommandTimeoutError(command, this.timeoutMs, this.attempts);
    } finally {
      this.pending = undefined;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.rejectPending();
    await this.link.close();
  }

  private checkUsable(command: string): void {
    if (this.lostError !== undefined) throw this.lostError;
    if (this.closed) throw new PortClosedError(this.path, command);
  }

  private receive(message: Message, receivedUs: number): void {
    if (message.type === 'command') return; // a host's own echo (a misconfigured tty): not for us
    const received = { ...message, receivedUs } as Received;
    if (received.type === 'ack') {
      const pending = this.pending;
      if (pending?.seqs.has(received.ackSeq)) pending.resolve(received);
    } else if (received.type === 'info') {
      this.latestInfo = received;
      const waiters = this.infoWaiters;
      this.infoWaiters = [];
      for (const w of waiters) w(received);
    }
    this.onMessage?.(received);
  }

  private nextInfo(): Promise<Received<InfoMessage>> {
    return new Promise((resolve) => this.infoWaiters.push(resolve));
  }

  /**
   * The promise's value, or undefined after `ms`. Throws the link's error (or `PortClosedError` naming
   * `operation`) if the link was lost or closed meanwhile.
   */
  private async within<T>(promise: Promise<T>, ms: number, operation: string): Promise<T | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), ms);
    });
    try {
      const value = await Promise.race([promise, timeout]);
      this.checkUsable(operation);
      return value;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Wakes a command waiting for its ack: it then finds the link lost or closed and throws. */
  private rejectPending(): void {
    this.pending?.resolve(undefined);
  }
}
