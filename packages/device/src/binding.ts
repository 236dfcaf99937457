import type { ConnectionOptions, DeviceConnection } from './connection.js';

/** A port a binding can open. */
export interface PortInfo {
  readonly path: string;
  readonly binding: string;
  readonly description?: string;
  readonly manufacturer?: string;
  readonly serialNumber?: string;
  readonly vendorId?: string;
  readonly productId?: string;
}

export interface OpenOptions extends ConnectionOptions {
  /** Serial bindings only: UART rate (ignored by USB CDC and pseudo-terminals). */
  readonly baudRate?: number;
}

/**
 * The hardware seam, after node-serialport's `BindingInterface`: find ports, open one. `open` resolves once
 * the device has answered the handshake, so the connection's `info` is set. Implementations: `SerialBinding`
 * (a real serial port), `SimulatorBinding` (the built-in simulator behind an in-process firmware) and
 * `ReplayBinding` (a recording behind an in-process firmware). All pass one contract suite.
 */
export interface AcquisitionBinding {
  readonly name: string;
  list(): Promise<PortInfo[]>;
  /** Throws `DeviceNotFoundError`, `PortOpenError` or `HandshakeError`. */
  open(path: string, options?: OpenOptions): Promise<DeviceConnection>;
}
