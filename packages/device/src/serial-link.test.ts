import { readlinkSync, renameSync, symlinkSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { DeviceNotFoundError, DisconnectedError, PortClosedError } from './errors.js';
import { PtyPair } from './pty/socat.js';
import { SerialLink } from './serial-link.js';

const pairs: PtyPair[] = [];
afterEach(async () => {
  for (const p of pairs.splice(0)) await p.close();
});

function lost(link: SerialLink): Promise<Error> {
  return new Promise((resolve) => {
    link.onLost = resolve;
  });
}

describe('SerialLink', () => {
  it('carries bytes to and from a real pseudo-terminal, with their arrival time', async () => {
    const pair = await PtyPair.open();
    pairs.push(pair);
    const host = await SerialLink.open(pair.host);
    const device = await SerialLink.open(pair.device);
    const got = new Promise<[Uint8Array, number]>((resolve) => {
      host.onData = (chunk, at) => resolve([chunk, at]);
    });
    const before = performance.now() * 1000;
    await device.write(Uint8Array.of(0, 1, 2, 0xff));
    const [chunk, at] = await got;
    expect(Array.from(chunk)).toEqual([0, 1, 2, 0xff]);
    expect(at).toBeGreaterThanOrEqual(before);
    await host.close();
    await device.close();
    await expect(host.write(Uint8Array.of(1))).rejects.toBeInstanceOf(PortClosedError);
  });

  it('says DeviceNotFoundError for a missing path', async () => {
    await expect(SerialLink.open('/dev/edge-bci-no-such-port')).rejects.toBeInstanceOf(DeviceNotFoundError);
  });

  it('reports the link lost, with disconnected: true, when the device node vanishes', async () => {
    const pair = await PtyPair.open();
    pairs.push(pair);
    const host = await SerialLink.open(pair.host);
    const error = lost(host);
    await pair.unplug();
    const err = await error;
    expect(err).toBeInstanceOf(DisconnectedError);
    expect((err as DisconnectedError).disconnected).toBe(true);
    expect(host.isOpen).toBe(false);
    await host.close();
  });

  it('reports the link lost when the path is re-made for another device (a new pseudo-terminal pair)', async () => {
    const [a, b] = [await PtyPair.open(), await PtyPair.open()];
    pairs.push(a, b);
    const host = await SerialLink.open(a.host);
    const error = lost(host);
    // Re-point a.host at b's terminal, as a restarted simulator's socat does at the same path.
    const swap = `${a.host}.new`;
    symlinkSync(readlinkSync(b.host), swap);
    renameSync(swap, a.host);
    expect((await error).message).toMatch(/replaced/);
    await host.close();
  });
});
