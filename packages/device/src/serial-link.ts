import { realpathSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { type ClockUs, hostClockUs } from '@edge-bci/core';
import { SerialPort } from 'serialport';
import { DeviceNotFoundError, DisconnectedError, PortClosedError, PortOpenError } from './errors.js';
import type { ByteLink } from './link.js';

export interface SerialLinkOptions {
  /** Ignored by USB CDC and pseudo-terminals; sets the UART rate on real serial lines. Default 921600. */
  readonly baudRate?: number;
  readonly clock?: ClockUs;
}

function resolve(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

/** A serial port (USB CDC, UART, pseudo-terminal) opened through node-serialport. */
export class SerialLink implements ByteLink {
  onData: ((chunk: Uint8Array, receivedUs: number) => void) | undefined;
  onLost: ((error: Error) => void) | undefined;
  private closing = false;
  private lost = false;
  private readonly watch: NodeJS.Timeout;

  private constructor(
    readonly path: string,
    private readonly port: SerialPort,
    clock: ClockUs,
  ) {
    port.on('data', (chunk: Buffer) => {
      const at = clock();
      this.onData?.(chunk, at);
    });
    port.on('close', (err: (Error & { disconnected?: boolean }) | null) => {
      this.lose(err?.message ?? 'the port closed', err ?? undefined);
    });
    // Errors after open arrive as 'close' with an error or as rejected writes; keep 'error' from crashing the process.
    port.on('error', () => {});
    // A port that hangs up while no read is pending never emits 'close' (node-serialport keeps re-reading
    // zero bytes), so watch the device node itself: an unplugged USB device or pseudo-terminal vanishes, and a
    // link re-made by a new device (a pseudo-terminal pair made again at the same path) points elsewhere.
    const target = resolve(path);
    this.watch = setInterval(() => {
      const now = resolve(path);
      if (now !== target) {
        this.lose(now === undefined ? 'the device node vanished' : 'the device node was replaced');
        void this.port.close(() => undefined);
      }
    }, 200);
    this.watch.unref();
  }

  private lose(reason: string, cause?: unknown): void {
    clearInterval(this.watch);
    if (this.closing || this.lost) return;
    this.lost = true;
    this.onLost?.(new DisconnectedError(this.path, reason, { cause }));
  }

  static async open(path: string, options: SerialLinkOptions = {}): Promise<SerialLink> {
    try {
      await stat(path);
    } catch (err) {
      throw new DeviceNotFoundError(path, { cause: err });
    }
    const port = new SerialPort({ path, baudRate: options.baudRate ?? 921_600, autoOpen: false });
    await new Promise<void>((resolve, reject) => {
      port.open((err) => {
        if (!err) return resolve();
        const message = err.message ?? String(err);
        if (/ENOENT|No such file/i.test(message)) reject(new DeviceNotFoundError(path, { cause: err }));
        else if (/lock/i.test(message))
          reject(new PortOpenError(path, 'in use by another program', { cause: err }));
        else if (/EACCES|permission/i.test(message)) {
          reject(
            new PortOpenError(path, 'permission denied (on Linux, join the dialout group)', { cause: err }),
          );
        } else reject(new PortOpenError(path, message, { cause: err }));
      });
    });
    return new SerialLink(path, port, options.clock ?? hostClockUs);
  }

  get isOpen(): boolean {
    return this.port.isOpen && !this.closing && !this.lost;
  }

  write(bytes: Uint8Array): Promise<void> {
    if (!this.isOpen) return Promise.reject(new PortClosedError(this.path, 'write'));
    return new Promise((resolve, reject) => {
      this.port.write(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), (err) => {
        if (err) reject(new DisconnectedError(this.path, err.message, { cause: err }));
        else resolve();
      });
    });
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearInterval(this.watch);
    if (!this.port.isOpen) return;
    await new Promise<void>((resolve) => this.port.close(() => resolve()));
  }
}
