import { type ClockUs, hostClockUs, openRecording } from '@edge-bci/core';
import type { AcquisitionBinding, OpenOptions, PortInfo } from '../binding.js';
import { DeviceConnection } from '../connection.js';
import { DeviceNotFoundError, DisconnectedError, PortClosedError, PortOpenError } from '../errors.js';
import { FirmwareDriver } from '../firmware/driver.js';
import { Firmware, type FirmwareOptions } from '../firmware/firmware.js';
import { recordingSource, simulatorSource } from '../firmware/source.js';
import type { ByteLink } from '../link.js';

/** One simulated device: a firmware on timers, reachable unless a disconnect fault is under way. */
class InProcessDevice {
  readonly driver: FirmwareDriver;
  link: FirmwareLink | undefined;
  unreachableUntil = 0;

  constructor(
    readonly path: string,
    readonly firmware: Firmware,
  ) {
    this.driver = new FirmwareDriver(firmware);
    firmware.onWrite = (bytes) => {
      this.link?.deliver(bytes);
      return true;
    };
    firmware.onDisconnect = (durationUs) => {
      this.unreachableUntil = performance.now() + durationUs / 1000;
      this.link?.lose('simulated unplug');
    };
  }
}

/** The host's end of an in-process link: asynchronous in both directions, like a port. */
class FirmwareLink implements ByteLink {
  onData: ((chunk: Uint8Array, receivedUs: number) => void) | undefined;
  onLost: ((error: Error) => void) | undefined;
  private open = true;

  constructor(
    private readonly device: InProcessDevice,
    private readonly clock: ClockUs,
  ) {}

  get path(): string {
    return this.device.path;
  }

  get isOpen(): boolean {
    return this.open;
  }

  write(bytes: Uint8Array): Promise<void> {
    if (!this.open) return Promise.reject(new PortClosedError(this.path, 'write'));
    const copy = bytes.slice();
    return new Promise((resolve) => {
      setImmediate(() => {
        if (this.open) {
          this.device.firmware.receive(copy);
          this.device.driver.kick();
        }
        resolve();
      });
    });
  }

  deliver(bytes: Uint8Array): void {
    const copy = bytes.slice();
    setImmediate(() => {
      if (this.open) this.onData?.(copy, this.clock());
    });
  }

  lose(reason: string): void {
    if (!this.open) return;
    this.open = false;
    this.detach();
    this.onLost?.(new DisconnectedError(this.path, reason));
  }

  async close(): Promise<void> {
    if (!this.open) return;
    this.open = false;
    this.detach();
  }

  private detach(): void {
    if (this.device.link !== this) return;
    this.device.link = undefined;
    // Like a USB CDC device seeing DTR drop: nobody is listening, so what it makes now is dropped and counted.
    this.device.firmware.setLinkUp(false);
  }
}

/** Shared by the simulator and replay bindings: devices made on first open, kept across reconnects. */
abstract class InProcessBinding implements AcquisitionBinding {
  abstract readonly name: string;
  protected readonly devices = new Map<string, InProcessDevice>();
  private readonly previous = new Map<string, Firmware[]>();

  constructor(protected readonly clock: ClockUs = hostClockUs) {}

  abstract list(): Promise<PortInfo[]>;
  protected abstract create(path: string): Promise<Firmware>;

  async open(path: string, options: OpenOptions = {}): Promise<DeviceConnection> {
    let device = this.devices.get(path);
    if (device === undefined) {
      device = new InProcessDevice(path, await this.create(path));
      this.devices.set(path, device);
      device.driver.start();
    }
    if (performance.now() < device.unreachableUntil) throw new DeviceNotFoundError(path);
    if (device.link !== undefined) throw new PortOpenError(path, 'in use by another connection');
    const link = new FirmwareLink(device, options.clock ?? this.clock);
    device.link = link;
    device.firmware.setLinkUp(true);
    return DeviceConnection.open(link, options);
  }

  /** Pulls the plug on a device for `ms` (its firmware keeps running and drops what it makes meanwhile). */
  unplug(path: string, ms: number): void {
    const device = this.devices.get(path);
    if (device === undefined) throw new DeviceNotFoundError(path);
    device.firmware.setLinkUp(false);
    device.firmware.onDisconnect?.(ms * 1000);
  }

  /**
   * Power-cycles a device: the link drops, nothing answers for `offMs`, and a new firmware boots in its place
   * (a new boot id, its clock and sequence numbers from zero, stopped).
   */
  async powerCycle(path: string, offMs: number): Promise<void> {
    const device = this.devices.get(path);
    if (device === undefined) throw new DeviceNotFoundError(path);
    device.driver.stop();
    // What the device already sent reaches the host (bytes on the wire) before the link drops.
    await new Promise((resolve) => setImmediate(resolve));
    const next = new InProcessDevice(path, await this.create(path));
    next.unreachableUntil = performance.now() + offMs;
    // The new device takes the path before the host hears of the loss, so its reconnect finds the new one.
    this.devices.set(path, next);
    this.previous.set(path, [...(this.previous.get(path) ?? []), device.firmware]);
    next.driver.start();
    device.link?.lose('device powered off');
  }

  /** Firmwares a path had before its power cycles, oldest first. */
  previousFirmware(path: string): readonly Firmware[] {
    return this.previous.get(path) ?? [];
  }

  /** The firmware behind a path, once opened (for tests and accounting). */
  firmware(path: string): Firmware | undefined {
    return this.devices.get(path)?.firmware;
  }

  /** Stops every device's timers (they keep the process alive until then). */
  dispose(): void {
    for (const device of this.devices.values()) {
      device.link?.lose('binding disposed');
      device.driver.stop();
    }
    this.devices.clear();
  }
}

export interface SimulatorBindingOptions {
  /** Device paths and their firmware settings (default one device, `sim://0`, 96 channels, seed 1). */
  readonly devices?: Readonly<
    Record<string, Omit<FirmwareOptions, 'source'> & { seed?: number; channels?: number }>
  >;
  readonly clock?: ClockUs;
}

/** The built-in motor-cortex simulator behind an in-process firmware that speaks the wire protocol. */
export class SimulatorBinding extends InProcessBinding {
  readonly name = 'simulator';
  private readonly specs: NonNullable<SimulatorBindingOptions['devices']>;

  constructor(options: SimulatorBindingOptions = {}) {
    super(options.clock);
    this.specs = options.devices ?? { 'sim://0': {} };
  }

  async list(): Promise<PortInfo[]> {
    return Object.entries(this.specs).map(([path, spec]) => ({
      path,
      binding: this.name,
      description: `simulated ${spec.channels ?? 96}-channel array, seed ${spec.seed ?? 1}`,
      serialNumber: spec.serialNumber ?? 'EBCI-SIM-0001',
    }));
  }

  protected async create(path: string): Promise<Firmware> {
    const spec = this.specs[path];
    if (spec === undefined) throw new DeviceNotFoundError(path);
    const { seed, channels, ...firmware } = spec;
    return new Firmware({
      ...firmware,
      source: simulatorSource({ seed: seed ?? 1, ...(channels !== undefined && { channels }) }),
    });
  }
}

/** A recording (any format `openRecording` reads) behind an in-process firmware, streamed in real time. */
export class ReplayBinding extends InProcessBinding {
  readonly name = 'replay';

  constructor(
    private readonly files: readonly string[],
    private readonly firmwareOptions: Omit<FirmwareOptions, 'source'> = {},
    clock?: ClockUs,
  ) {
    super(clock);
  }

  async list(): Promise<PortInfo[]> {
    return this.files.map((path) => ({
      path,
      binding: this.name,
      description: 'recording played as a device',
    }));
  }

  protected async create(path: string): Promise<Firmware> {
    if (!this.files.includes(path)) throw new DeviceNotFoundError(path);
    const recording = await openRecording(path);
    return new Firmware({ ...this.firmwareOptions, source: recordingSource(recording.session, path) });
  }
}
