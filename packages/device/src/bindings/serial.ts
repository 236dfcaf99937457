import { execFileSync } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { SerialPort } from 'serialport';
import type { AcquisitionBinding, OpenOptions, PortInfo } from '../binding.js';
import { DeviceConnection } from '../connection.js';
import { SerialLink } from '../serial-link.js';

function hasUdevadm(): boolean {
  try {
    execFileSync('udevadm', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Real serial ports through node-serialport: USB CDC (`/dev/ttyACM*`), USB-UART bridges (`/dev/ttyUSB*`),
 * COM ports, and pseudo-terminals (for the firmware simulator).
 */
export class SerialBinding implements AcquisitionBinding {
  readonly name = 'serial';

  /**
   * Serial ports on this machine. Pseudo-terminals are not enumerated by the system; name them in
   * `EDGE_BCI_PORTS` (separated by the path delimiter) to have them listed.
   */
  async list(): Promise<PortInfo[]> {
    const found = new Map<string, PortInfo>();
    // node-serialport lists through `udevadm` on Linux and crashes the process when it is missing.
    if (process.platform !== 'linux' || hasUdevadm()) {
      try {
        for (const p of await SerialPort.list()) {
          found.set(p.path, {
            path: p.path,
            binding: this.name,
            ...(p.manufacturer && { manufacturer: p.manufacturer }),
            ...(p.serialNumber && { serialNumber: p.serialNumber }),
            ...(p.vendorId && { vendorId: p.vendorId }),
            ...(p.productId && { productId: p.productId }),
          });
        }
      } catch {
        // fall through to the device-node scan
      }
    } else {
      const dev = await readdir('/dev').catch(() => [] as string[]);
      for (const name of dev) {
        if (/^tty(ACM|USB)\d+$/.test(name))
          found.set(`/dev/${name}`, { path: `/dev/${name}`, binding: this.name });
      }
    }
    const extra = (process.env.EDGE_BCI_PORTS ?? '').split(process.platform === 'win32' ? ';' : ':');
    for (const path of extra) {
      if (path) found.set(path, { path, binding: this.name, description: 'from EDGE_BCI_PORTS' });
    }
    return [...found.values()];
  }

  async open(path: string, options: OpenOptions = {}): Promise<DeviceConnection> {
    const link = await SerialLink.open(path, {
      ...(options.baudRate !== undefined && { baudRate: options.baudRate }),
      ...(options.clock && { clock: options.clock }),
    });
    return DeviceConnection.open(link, options);
  }
}
