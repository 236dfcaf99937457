import { type ChildProcess, spawn } from 'node:child_process';
import { BIN } from './cli.js';

/** How a child process ended, with everything it printed. */
export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A running `edge-bci` child process. */
export interface Child {
  readonly process: ChildProcess;
  readonly pid: number;
  /** Output so far. */
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** Settles when the process has exited and its output is closed. */
  readonly exited: Promise<Exit>;
  /** Resolves with the first stderr/stdout text matching `pattern` (rejects after `timeoutMs` or on exit). */
  waitFor(pattern: RegExp, options?: { stream?: 'stdout' | 'stderr'; timeoutMs?: number }): Promise<string>;
  /**
   * Sends `signal` to the process's whole group (the process and what it started, e.g. socat). After the
   * process itself has exited, only with `evenIfExited` (to reach a child it left behind).
   */
  killGroup(signal: NodeJS.Signals, evenIfExited?: boolean): void;
  readonly running: () => boolean;
}

const live = new Set<Child>();
/** Every child started, for the last sweep of the groups they made. */
const started = new Set<Child>();

/**
 * Starts `edge-bci ...args` in its own process group, so that the firmware and the socat it starts can be
 * killed together (a device pulled out with its cable) and nothing outlives a test.
 */
export function startEdgeBci(args: string[]): Child {
  const proc = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  if (proc.pid === undefined) throw new Error(`could not start edge-bci ${args.join(' ')}`);
  let out = '';
  let err = '';
  const listeners = new Set<() => void>();
  proc.stdout!.setEncoding('utf8');
  proc.stderr!.setEncoding('utf8');
  proc.stdout!.on('data', (d: string) => {
    out += d;
    for (const l of listeners) l();
  });
  proc.stderr!.on('data', (d: string) => {
    err += d;
    for (const l of listeners) l();
  });
  let done = false;
  const exited = new Promise<Exit>((resolve) => {
    proc.on('close', (code, signal) => {
      done = true;
      live.delete(child);
      for (const l of listeners) l();
      resolve({ code, signal, stdout: out, stderr: err });
    });
  });
  const pid = proc.pid;
  const child: Child = {
    process: proc,
    pid,
    stdout: () => out,
    stderr: () => err,
    exited,
    running: () => !done,
    waitFor(pattern, { stream = 'stdout', timeoutMs = 10_000 } = {}) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = (stream === 'stdout' ? out : err).match(pattern);
          if (match) finish(() => resolve(match[0]));
          else if (done)
            finish(() => reject(new Error(`exited before ${pattern} on ${stream}:\n${out}\n${err}`)));
        };
        const timer = setTimeout(
          () =>
            finish(() => reject(new Error(`no ${pattern} on ${stream} in ${timeoutMs} ms:\n${out}\n${err}`))),
          timeoutMs,
        );
        const finish = (settle: () => void) => {
          clearTimeout(timer);
          listeners.delete(check);
          settle();
        };
        listeners.add(check);
        check();
      });
    },
    killGroup(signal, evenIfExited = false) {
      if (done && !evenIfExited) return;
      try {
        process.kill(-pid, signal);
      } catch {
        // already gone
      }
    },
  };
  live.add(child);
  started.add(child);
  return child;
}

/**
 * SIGKILLs every child still running and its group, waits for them, and sweeps the groups of children that
 * already exited (a socat a killed firmware left behind): for afterEach.
 */
export async function killAll(): Promise<void> {
  const children = [...started];
  started.clear();
  for (const c of children) c.killGroup('SIGKILL', true);
  await Promise.all(children.map((c) => c.exited));
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Last resort if a test run dies without its afterEach: no firmware or socat outlives the test process.
process.once('exit', () => {
  for (const c of live) c.killGroup('SIGKILL');
});
