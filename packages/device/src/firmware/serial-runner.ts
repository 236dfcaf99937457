import { SerialPort } from 'serialport';
import type { PtyPair } from '../pty/socat.js';
import { FirmwareDriver } from './driver.js';
import type { Firmware } from './firmware.js';

export interface SerialFirmwareOptions {
  readonly firmware: Firmware;
  /** The device side of a serial link (a pseudo-terminal, or a UART wired to the host). */
  readonly path: string;
  /**
   * When the runner owns the pseudo-terminal pair, a disconnect fault unplugs it for real: the pair is torn
   * down (the host's port vanishes) and made again at the same paths. Without one, a disconnect fault
   * silences the device for its length, as if the radio or USB link dropped without the port closing.
   */
  readonly pty?: PtyPair;
  /** Most bytes queued for the port before the device drops packets, like a full transmit FIFO (default 64 KiB). */
  readonly txBufferBytes?: number;
  /** Told about link events (for logs). */
  readonly onEvent?: (event: string) => void;
}

/** Runs a firmware on a real serial device through node-serialport, in real time. */
export class SerialFirmwareRunner {
  private port: SerialPort | undefined;
  private readonly driver: FirmwareDriver;
  private stopped = false;
  private reconnecting: Promise<void> | undefined;

  private constructor(private readonly options: SerialFirmwareOptions) {
    this.driver = new FirmwareDriver(options.firmware);
    const { firmware } = options;
    const limit = options.txBufferBytes ?? 64 * 1024;
    firmware.onWrite = (bytes) => {
      const port = this.port;
      if (port === undefined || !port.isOpen || port.writableLength > limit) return false;
      port.write(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      return true;
    };
    if (options.pty) {
      firmware.onDisconnect = (durationUs) => {
        this.unplugFor(durationUs / 1000).catch((err: Error) => {
          // The pair could not be made again: the device stays unplugged, and says so.
          options.onEvent?.(`could not plug back in: ${err.message}`);
        });
      };
    }
  }

  static async start(options: SerialFirmwareOptions): Promise<SerialFirmwareRunner> {
    const runner = new SerialFirmwareRunner(options);
    await runner.openPort();
    runner.driver.start();
    return runner;
  }

  get firmware(): Firmware {
    return this.options.firmware;
  }

  /** Stops streaming, waits for queued bytes to reach the port, and closes it. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.driver.stop();
    await this.reconnecting;
    const port = this.port;
    this.port = undefined;
    if (port?.isOpen) {
      // Let queued bytes reach the port, but not forever: with no host reading, the terminal's buffer stays
      // full and drain never completes (as a device's transmit FIFO would stay full with no USB host).
      await withTimeout(new Promise<void>((resolve) => port.drain(() => resolve())), 500);
      await withTimeout(new Promise<void>((resolve) => port.close(() => resolve())), 500);
    }
  }

  private async openPort(): Promise<void> {
    const port = new SerialPort({ path: this.options.path, baudRate: 921_600, autoOpen: false });
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
    port.on('data', (chunk: Buffer) => {
      this.options.firmware.receive(chunk);
      this.driver.kick();
    });
    port.on('error', () => {});
    port.on('close', () => {
      if (this.port === port) this.port = undefined;
    });
    this.port = port;
    this.options.firmware.setLinkUp(true);
  }

  private async unplugFor(ms: number): Promise<void> {
    if (this.reconnecting || this.stopped) return;
    const pty = this.options.pty!;
    this.reconnecting = (async () => {
      this.options.firmware.setLinkUp(false);
      this.options.onEvent?.(`unplugged for ${Math.round(ms)} ms`);
      const port = this.port;
      this.port = undefined;
      await pty.unplug();
      if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
      await new Promise((resolve) => setTimeout(resolve, ms));
      if (this.stopped) return;
      await pty.replug();
      await this.openPort();
      this.options.onEvent?.('plugged back in');
    })().finally(() => {
      this.reconnecting = undefined;
    });
    await this.reconnecting;
  }
}

function withTimeout(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]).finally(
    () => clearTimeout(timer),
  );
}
