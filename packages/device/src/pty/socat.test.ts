import { existsSync, lstatSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import { afterEach, describe, expect, it } from 'vitest';
import { PtyError, PtyPair } from './socat.js';

/** Pairs and ports made by a test, closed after it whatever happened. */
const pairs: PtyPair[] = [];
const ports: SerialPort[] = [];

afterEach(async () => {
  for (const port of ports.splice(0)) if (port.isOpen) await closePort(port).catch(() => undefined);
  for (const pair of pairs.splice(0)) await pair.close();
});

async function openPair(): Promise<PtyPair> {
  const pair = await PtyPair.open();
  pairs.push(pair);
  return pair;
}

function openPort(path: string): Promise<SerialPort> {
  const port = new SerialPort({ path, baudRate: 115200, autoOpen: false });
  return new Promise((resolve, reject) => {
    port.open((err) => {
      if (err) return reject(err);
      ports.push(port);
      resolve(port);
    });
  });
}

function closePort(port: SerialPort): Promise<void> {
  return new Promise((resolve, reject) => port.close((err) => (err ? reject(err) : resolve())));
}

function write(port: SerialPort, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    port.write(data, (err) => (err ? reject(err) : resolve()));
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Collects everything `port` emits as 'data'. */
function collect(port: SerialPort): { bytes: () => Buffer } {
  const chunks: Buffer[] = [];
  port.on('data', (chunk: Buffer) => chunks.push(chunk));
  return { bytes: () => Buffer.concat(chunks) };
}

/** Resolves once `read()` returns at least `n` bytes, or rejects after `ms`. */
async function waitForBytes(read: () => Buffer, n: number, ms = 2000): Promise<Buffer> {
  const deadline = performance.now() + ms;
  while (read().length < n) {
    if (performance.now() > deadline) throw new Error(`got ${read().length} of ${n} bytes`);
    await sleep(5);
  }
  return read();
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** All 256 byte values, runs of 0x00, CR/LF pairs, control characters and random bytes. */
function testPattern(): Buffer {
  const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  const tricky = Buffer.from([0, 0, 0, 0x0d, 0x0a, 0x0a, 0x0d, 0x03, 0x04, 0x11, 0x13, 0x1a, 0x7f, 0xff, 0]);
  const random = Buffer.alloc(8192);
  for (let i = 0; i < random.length; i++) random[i] = (i * 2654435761) >>> 24;
  return Buffer.concat([all, tricky, all.reverse(), random]);
}

describe('PtyPair', () => {
  it('creates two links to pty slaves and a running socat', async () => {
    const pair = await openPair();
    expect(pair.plugged).toBe(true);
    expect(pair.pid).toBeTypeOf('number');
    expect(isAlive(pair.pid!)).toBe(true);
    for (const path of [pair.device, pair.host]) {
      expect(lstatSync(path).isSymbolicLink()).toBe(true);
    }
    expect(pair.device).not.toBe(pair.host);
  });

  it('carries every byte value both ways, raw: no CR/LF translation, no echo', async () => {
    const pair = await openPair();
    const device = await openPort(pair.device);
    const host = await openPort(pair.host);
    const atDevice = collect(device);
    const atHost = collect(host);
    const pattern = testPattern();

    await write(device, pattern);
    expect((await waitForBytes(atHost.bytes, pattern.length)).equals(pattern)).toBe(true);

    const back = Buffer.from(pattern).reverse();
    await write(host, back);
    expect((await waitForBytes(atDevice.bytes, back.length)).equals(back)).toBe(true);

    // Nothing extra arrives later: no echo of what either side wrote, no added CR.
    await sleep(100);
    expect(atHost.bytes().length).toBe(pattern.length);
    expect(atDevice.bytes().length).toBe(back.length);
  });

  it('unplug hangs up the host port; the path is gone; replug brings it back', async () => {
    const pair = await openPair();
    const dir = pair.dir;
    const device = await openPort(pair.device);
    const host = await openPort(pair.host);
    host.on('error', () => undefined);
    device.on('error', () => undefined);
    collect(host);
    await sleep(50); // let the host's read wait on the poller, as in steady state

    const closed = new Promise<{ err: (Error & { disconnected?: boolean }) | null; at: number }>((resolve) =>
      host.once('close', (err: (Error & { disconnected?: boolean }) | null) =>
        resolve({ err, at: performance.now() }),
      ),
    );
    const t0 = performance.now();
    await pair.unplug();
    const { err, at } = await closed;
    expect(err?.disconnected).toBe(true);
    expect(at - t0).toBeLessThan(500);
    expect(host.isOpen).toBe(false);
    expect(pair.plugged).toBe(false);
    expect(pair.pid).toBeUndefined();
    expect(existsSync(pair.host)).toBe(false);
    expect(existsSync(pair.device)).toBe(false);
    expect(existsSync(dir)).toBe(true);

    // The device side is hung up too: its next write fails with EIO.
    await expect(write(device, Buffer.from([1]))).rejects.toMatchObject({ code: 'EIO' });
    // Opening the vanished path fails like a missing /dev/ttyUSB0 (plain Error, message only).
    await expect(openPort(pair.host)).rejects.toThrow(/No such file or directory, cannot open/);

    await pair.replug();
    expect(pair.plugged).toBe(true);
    const device2 = await openPort(pair.device);
    const host2 = await openPort(pair.host);
    const atHost = collect(host2);
    await write(device2, Buffer.from([0, 1, 2, 0]));
    expect([...(await waitForBytes(atHost.bytes, 4))]).toEqual([0, 1, 2, 0]);
  });

  it('close stops socat, removes its temp dir, and is idempotent', async () => {
    const pair = await PtyPair.open();
    const pid = pair.pid!;
    await pair.close();
    expect(isAlive(pid)).toBe(false);
    expect(existsSync(pair.dir)).toBe(false);
    await pair.close();
    await expect(pair.replug()).rejects.toMatchObject({ code: 'PTY_CLOSED' });
  });

  it('close after unplug works, and a caller-provided dir is kept', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edge-bci-pty-test-'));
    try {
      const pair = await PtyPair.open({ dir, names: ['fw', 'ttyUSB0'] });
      expect(pair.host).toBe(join(dir, 'ttyUSB0'));
      await pair.unplug();
      await pair.unplug();
      await pair.close();
      expect(existsSync(dir)).toBe(true);
      expect(existsSync(pair.host)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names a missing socat with an install hint', async () => {
    const err = await PtyPair.open({ socat: '/nonexistent/socat' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PtyError);
    expect(err).toMatchObject({ code: 'PTY_SPAWN' });
    expect((err as Error).message).toMatch(/apt-get install socat/);
  });

  it('rejects link names socat cannot take', async () => {
    await expect(PtyPair.open({ names: ['a,b', 'c'] })).rejects.toMatchObject({ code: 'PTY_ARGS' });
  });
});

/** Behaviour of serialport over socat that reconnect logic relies on; see the notes in socat.ts. */
describe('serialport over a socat pty (observed behaviour)', () => {
  it('a read started after the hang-up never sees it; a write does (EIO, then close)', async () => {
    const pair = await openPair();
    const host = await openPort(pair.host);
    host.on('error', () => undefined);
    await pair.unplug();
    collect(host); // starts reading only now: the read returns 0 bytes and is retried forever
    await sleep(100);
    expect(host.isOpen).toBe(true);
    const closed = new Promise((resolve) => host.once('close', resolve));
    await expect(write(host, Buffer.from([0]))).rejects.toMatchObject({ code: 'EIO' });
    await closed;
    expect(host.isOpen).toBe(false);
  });

  it('the device closing its fd does not end socat or the host side', async () => {
    const pair = await openPair();
    const device = await openPort(pair.device);
    const host = await openPort(pair.host);
    const atHost = collect(host);
    await closePort(device);
    await sleep(700); // longer than socat's 0.5 s close timeout
    expect(pair.plugged).toBe(true);
    expect(host.isOpen).toBe(true);
    const again = await openPort(pair.device);
    await write(again, Buffer.from('after reopen'));
    expect((await waitForBytes(atHost.bytes, 12)).toString()).toBe('after reopen');
  });

  it('bytes written while the host is closed are kept, minus what serialport flushes on open', async () => {
    const pair = await openPair();
    const device = await openPort(pair.device);
    const words = 65_536 / 4; // well over the 34-39 KB the ptys and socat hold
    const stream = Buffer.alloc(words * 4);
    for (let i = 0; i < words; i++) stream.writeUInt32LE(i, i * 4);
    let accepted = false;
    device.write(stream, () => {
      accepted = true;
    });
    await sleep(200);
    expect(accepted).toBe(false); // blocked: back-pressure, not an error and not dropped

    const host = await openPort(pair.host);
    const atHost = collect(host);
    await sleep(300);
    const got = atHost.bytes();
    expect(accepted).toBe(true);
    expect(got.length).toBeGreaterThan(0);
    expect(got.length).toBeLessThan(stream.length); // open() flushed the host's input queue
    // What arrives is the unflushed tail of the stream, intact.
    expect(got.equals(stream.subarray(stream.length - got.length))).toBe(true);
  });
});
