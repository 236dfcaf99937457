/**
 * A pseudo-terminal pair made by `socat`, used to stand in for a USB serial device in tests and demos:
 * the firmware simulator opens `device`, the acquisition code opens `host`, and `unplug()` / `replug()`
 * model pulling and re-inserting the cable.
 *
 * Observed behaviour (socat 1.7.4.4, Linux 6.x, Node 20, serialport 13 / bindings-cpp 13, 2 vCPUs):
 *
 * Unplug (socat killed with SIGTERM; it removes both links on the way out, exit code 143):
 * - Host port with a read pending (flowing, 'data' listener attached and idle): 'close' is emitted with
 *   a DisconnectedError (`err.disconnected === true`, message 'bad file descriptor', from the fd poller)
 *   0.5-2.3 ms after the kill (median 1.2 ms); no 'error' event; `isOpen` is false by then.
 * - Writes pending at the kill (host stuck on a full pty) all fail with 'bad file descriptor' (the
 *   callback error has no `disconnected` flag); the port then emits 'error', 'close' (no argument, stream
 *   autoDestroy) and 'close' (DisconnectedError). A write issued after the hang-up fails with
 *   `EIO: i/o error, write` (code 'EIO') within 1 ms, with the same error/close/close sequence.
 * - TRAP: a read on a hung-up pty slave returns 0 bytes, and bindings-cpp retries such reads at once,
 *   forever. So a port that is not reading at the moment of the kill (paused, no 'data' listener yet),
 *   or whose read is in flight in the thread pool at that moment (4 of 30 unplugs under a
 *   1000 msg/s stream), never sees 'close' and spins ~80% of a CPU in the thread pool, `isOpen` staying
 *   true. Only a write (-> EIO -> close) or close() ends it. Reconnect logic needs a data watchdog
 *   and/or a periodic existence check of the link path (it vanishes on unplug).
 * - Opening the link after unplug fails with `Error: No such file or directory, cannot open <path>`
 *   (a plain Error: no `code`, no `errno`; match the message). After replug the same path opens again.
 * - A SerialPort whose disconnect came through the read path can be open()ed again after replug and
 *   works; one that saw an 'error' (write path) is destroyed: open() succeeds but writes fail with
 *   'Cannot call write after a stream was destroyed' and no data arrives. Use a new SerialPort per
 *   connection. The 'close' event can fire twice for one disconnect.
 * - The device-side port is hung up too: its next write fails with EIO ('error', then 'close').
 *
 * Device side closing its fd while socat runs: nothing happens. socat keeps its own fd on each pty
 * slave, so it never reads EOF and never exits (0.5 s timeout never starts); `ignoreeof` changes
 * nothing; the host sees no event and no data; socat uses no CPU. The device can reopen the path and
 * data flows again. Disconnects must therefore be modelled by killing socat (unplug()).
 *
 * Latency/throughput (device SerialPort writes 283-byte messages at 1000/s for 3 s, same process):
 * write() to host 'data' p50 0.15-0.18 ms, p90 0.24-0.29 ms, p99 1.7-2.6 ms, max 4-8 ms (event loop
 * jitter); no bytes lost. No latency timer or batching: ~75-85% of 'data' chunks are exactly one
 * 283-byte write, the rest are coalesced writes (566, 849, 1132 B) or split ones (108, 120, 163 B),
 * so framing must not assume message-aligned chunks. `highWaterMark` caps the read size (1024 ->
 * chunks <= 1024 B; 283 -> every chunk 283 B here) and is also the writable high-water mark; it does
 * not change latency. The pty ignores
 * baudRate: 115200 baud would carry 11.5 KB/s, yet 283 KB/s and 33 MB/s bursts (chunks up to 13 KB)
 * pass, so the link rate of a real UART is not modelled.
 *
 * Device writes while nobody has the host side open: nothing is discarded by the kernel and no error is
 * raised. 34-39 KB are accepted (pty queues plus socat's buffer), then the device's write() gets EAGAIN
 * (serialport waits for writability; Node's Writable queue grows, write() returns false past
 * highWaterMark, default 64 KB). The write callback fires only once all of that write is in the kernel.
 * When the host later opens with serialport, its open() calls tcflush(TCIOFLUSH): the 13-19 KB sitting
 * in the host slave's input queue are dropped, cut at an arbitrary byte offset, and the ~20.5 KB behind
 * them (stale, possibly seconds old) are delivered. A plain fs open drains all of it. Count stream
 * bytes from the host's first 'data' on, and resynchronise framing after every (re)open.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { lstat, mkdtemp, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EdgeBciError } from '@edge-bci/core';

/** Why a {@link PtyPair} operation failed. */
export type PtyErrorCode =
  /** socat could not be started (missing binary, no permission). */
  | 'PTY_SPAWN'
  /** socat did not report a ready pty pair in time. */
  | 'PTY_TIMEOUT'
  /** socat exited before the pair was ready; the message carries its last stderr lines. */
  | 'PTY_EXIT'
  /** A directory or link name socat cannot take in an address. */
  | 'PTY_ARGS'
  /** The pair was closed; it cannot be replugged. */
  | 'PTY_CLOSED';

/** An error from {@link PtyPair}, with a machine-readable `code`. */
export class PtyError extends EdgeBciError {
  declare readonly code: PtyErrorCode;

  constructor(code: PtyErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

export interface PtyPairOptions {
  /** Directory for the two links. Default: a fresh `edge-bci-pty-*` temp dir, removed by close(). */
  dir?: string;
  /** Link names for the device and host sides. Default: `['device', 'host']`. */
  names?: [string, string];
  /** socat executable. Default: `socat` from PATH. */
  socat?: string;
  /** How long to wait for socat to be ready, in ms. Default: 5000. */
  timeoutMs?: number;
}

/** socat prints this (with -d -d) once both ptys exist and it starts copying. */
const READY_LINE = 'starting data transfer loop';
/** Characters safe inside a socat address option value. */
const SAFE_PATH = /^[A-Za-z0-9_./@%+-]+$/;
const SAFE_NAME = /^[A-Za-z0-9_.-]+$/;
/** How long close()/unplug() wait after SIGTERM before SIGKILL. */
const KILL_GRACE_MS = 2000;

/** Running socat children and owned dirs, cleaned up synchronously if the process exits first. */
const liveChildren = new Set<ChildProcess>();
const ownedDirs = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of liveChildren) child.kill('SIGTERM');
    for (const dir of ownedDirs) {
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        // Best effort: the process is exiting.
      }
    }
  });
}

/** One running socat process and a promise settled when it is gone. */
interface Running {
  child: ChildProcess;
  exited: Promise<void>;
}

/** A socat pty pair: `device` and `host` are symlinks to the two pty slaves. */
export class PtyPair {
  /** Directory holding the two links. */
  readonly dir: string;
  /** Path the device (firmware simulator) side opens. */
  readonly device: string;
  /** Path the host (acquisition) side opens. */
  readonly host: string;

  readonly #ownsDir: boolean;
  readonly #socat: string;
  readonly #timeoutMs: number;
  #running: Running | undefined;
  #closed = false;
  #stderr = '';
  /** Serialises open/unplug/replug/close so concurrent calls do not interleave. */
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(
    dir: string,
    ownsDir: boolean,
    names: [string, string],
    socat: string,
    timeoutMs: number,
  ) {
    this.dir = dir;
    this.#ownsDir = ownsDir;
    this.device = join(dir, names[0]);
    this.host = join(dir, names[1]);
    this.#socat = socat;
    this.#timeoutMs = timeoutMs;
  }

  /** Starts socat and resolves once both links exist. */
  static async open(options: PtyPairOptions = {}): Promise<PtyPair> {
    const names = options.names ?? ['device', 'host'];
    for (const name of names) {
      if (!SAFE_NAME.test(name) || name === '.' || name === '..') {
        throw new PtyError('PTY_ARGS', `invalid pty link name ${JSON.stringify(name)}: use [A-Za-z0-9_.-]`);
      }
    }
    if (names[0] === names[1]) throw new PtyError('PTY_ARGS', 'the two pty link names must differ');
    const ownsDir = options.dir === undefined;
    const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'edge-bci-pty-')));
    if (!SAFE_PATH.test(dir)) {
      if (ownsDir) await rm(dir, { recursive: true, force: true });
      throw new PtyError('PTY_ARGS', `pty dir ${JSON.stringify(dir)} has characters socat cannot take`);
    }
    if (ownsDir) ownedDirs.add(dir);
    installExitHook();
    const pair = new PtyPair(dir, ownsDir, names, options.socat ?? 'socat', options.timeoutMs ?? 5000);
    try {
      await pair.#start();
    } catch (err) {
      await pair.close();
      throw err;
    }
    return pair;
  }

  /** Process id of the running socat, or undefined while unplugged or closed. */
  get pid(): number | undefined {
    return this.#running?.child.pid;
  }

  /** True while socat runs, i.e. both links exist and carry data. */
  get plugged(): boolean {
    return this.#running !== undefined;
  }

  /** Last stderr output of socat (up to 4 KB), for diagnostics. */
  get log(): string {
    return this.#stderr;
  }

  /** Kills socat: both links vanish and open ports on them hang up, like a pulled USB cable. */
  unplug(): Promise<void> {
    return this.#serial(() => this.#stop());
  }

  /** Starts socat again on the same link paths. No-op while plugged. */
  replug(): Promise<void> {
    return this.#serial(async () => {
      if (this.#closed) throw new PtyError('PTY_CLOSED', 'pty pair is closed');
      if (!this.#running) await this.#start();
    });
  }

  /** Kills socat, waits for it to exit and removes the temp dir if open() made it. Idempotent. */
  close(): Promise<void> {
    return this.#serial(async () => {
      if (this.#closed) return;
      this.#closed = true;
      await this.#stop();
      if (this.#ownsDir) {
        await rm(this.dir, { recursive: true, force: true });
        ownedDirs.delete(this.dir);
      }
    });
  }

  #serial<T>(op: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(op, op);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  async #start(): Promise<void> {
    // Links left by a socat that died by SIGKILL would look ready before the new one made its own.
    await Promise.all([removeLink(this.device), removeLink(this.host)]);
    this.#stderr = '';
    const addr = (link: string) => `pty,raw,echo=0,link=${link}`;
    const child = spawn(this.#socat, ['-d', '-d', addr(this.device), addr(this.host)], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const exited = new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.once('error', () => resolve());
    });
    const running: Running = { child, exited };
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (text: string) => {
      this.#stderr = (this.#stderr + text).slice(-4096);
    });
    void exited.then(() => {
      liveChildren.delete(child);
      if (this.#running === running) this.#running = undefined;
    });
    liveChildren.add(child);
    this.#running = running;
    try {
      await this.#waitReady(child);
    } catch (err) {
      await this.#stop();
      throw err;
    }
    // Do not hold the event loop open: the exit hook kills socat if close() is never called.
    child.unref();
    unrefStream(child.stderr);
    this.#guard(child);
  }

  /**
   * The exit hook cannot run when this process is killed with SIGKILL, and socat would outlive it, keeping
   * the pair (and its links) alive. A tiny shell holds a pipe from us: when the pipe closes, whatever the
   * way this process ended, it stops socat. When socat exits first, we close the pipe and the shell ends
   * (its kill then finds nothing: process ids are not reused within milliseconds).
   */
  #guard(child: ChildProcess): void {
    if (child.pid === undefined) return;
    const guard = spawn('/bin/sh', ['-c', `cat >/dev/null; kill -TERM ${child.pid} 2>/dev/null`], {
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    guard.on('error', () => {}); // no shell: no guard, the exit hook still covers normal exits
    guard.unref();
    unrefStream(guard.stdin);
    child.once('exit', () => guard.stdin?.end());
  }

  #waitReady(child: ChildProcess): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const finish = (err?: PtyError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearInterval(poll);
        child.stderr?.off('data', onData);
        child.off('error', onError);
        child.off('exit', onExit);
        if (err) reject(err);
        else resolve();
      };
      const check = () => {
        void Promise.all([isLink(this.device), isLink(this.host)]).then(([a, b]) => {
          if (a && b) finish();
        });
      };
      const onData = () => {
        if (this.#stderr.includes(READY_LINE)) check();
      };
      const onError = (err: NodeJS.ErrnoException) => {
        const hint = err.code === 'ENOENT' ? ': install socat (Debian: apt-get install socat)' : '';
        finish(
          new PtyError('PTY_SPAWN', `cannot start ${this.#socat} (${err.code ?? err.message})${hint}`, {
            cause: err,
          }),
        );
      };
      const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
        const tail = this.#stderr.trim().split('\n').slice(-3).join(' | ');
        finish(
          new PtyError('PTY_EXIT', `socat exited (${signal ?? code}) before the pty pair was ready: ${tail}`),
        );
      };
      const timer = setTimeout(() => {
        finish(
          new PtyError(
            'PTY_TIMEOUT',
            `socat did not create ${this.device} and ${this.host} within ${this.#timeoutMs} ms`,
          ),
        );
      }, this.#timeoutMs);
      const poll = setInterval(check, 20);
      child.stderr?.on('data', onData);
      child.once('error', onError);
      child.once('exit', onExit);
    });
  }

  /** SIGTERM (then SIGKILL after a grace period), wait for exit, remove any links left behind. */
  async #stop(): Promise<void> {
    const running = this.#running;
    if (!running) return;
    const { child, exited } = running;
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      child.kill('SIGTERM');
      let grace: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        exited.then(() => false),
        new Promise<boolean>((resolve) => {
          grace = setTimeout(() => resolve(true), KILL_GRACE_MS);
        }),
      ]);
      clearTimeout(grace);
      if (timedOut) {
        child.kill('SIGKILL');
        await exited;
      }
    }
    await exited;
    liveChildren.delete(child);
    if (this.#running === running) this.#running = undefined;
    // socat unlinks on SIGTERM; after SIGKILL the links would dangle onto reusable /dev/pts numbers.
    await Promise.all([removeLink(this.device), removeLink(this.host)]);
  }
}

async function isLink(path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Removes `path` if it is a symlink; leaves anything else alone. */
async function removeLink(path: string): Promise<void> {
  if (await isLink(path)) await unlink(path).catch(() => undefined);
}

function unrefStream(stream: unknown): void {
  if (stream && typeof (stream as { unref?: unknown }).unref === 'function') {
    (stream as { unref(): void }).unref();
  }
}
