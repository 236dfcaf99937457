/**
 * `edge-bci firmware` and `edge-bci acquire` as separate processes over a real pseudo-terminal (socat):
 * the built CLI on both ends, checked against the firmware's ledger and against the simulator's ground truth.
 * Needs `pnpm build` first (`pnpm test` builds).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Bin,
  type Gap,
  MotorCortexSimulator,
  readSessionFile,
  type SessionFileEvent,
} from '@edge-bci/core';
import { afterEach, describe, expect, it } from 'vitest';
import { type Child, killAll, sleep, startEdgeBci } from './processes.js';

const CHANNELS = 96;
const SEED = 5;
const BIN_MS = 20;
const BIN_US = BIN_MS * 1000;

const haveSocat = (() => {
  try {
    execFileSync('socat', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

interface Ledger {
  reason: string;
  bootId: number;
  packetsMade: number;
  packetsWritten: number;
  dataPackets: number;
  statusPackets: number;
  droppedWhileDisconnected: number;
  commandsReceived: number;
  firstDataSeq: number;
  firstDataTimeUs: number;
  lastSeq: number;
  ended: boolean;
  faults?: {
    flipped: number;
    truncated: number;
    garbage: number;
    stalls: number;
    disconnects: number;
    damagedSeqs: number[];
  };
}

interface AcquireResult {
  ended: string;
  framesReceived: number;
  dataFramesReceived: number;
  framesLost: number;
  crcErrors: number;
  malformed: number;
  resyncs: number;
  reconnects: number;
  reboots: number;
  binsEmitted: number;
  streamOriginDeviceUs?: number;
  gaps: number;
  lostBins: number;
  frameToBinLatencyUs: { p50: number; p99: number; max: number; count: number };
  record?: { path: string; bins: number };
  presence: Array<{ state: string; detail: string; atMs: number }>;
}

/** The simulator the firmware streams, sub-bin by sub-bin (1 ms frames), summed into bins on demand. */
class GroundTruth {
  private readonly counts: Uint16Array[] = [];
  private readonly kinematics: Float64Array[] = [];
  private readonly simulator = new MotorCortexSimulator({ seed: SEED, channels: CHANNELS, subBinUs: 1000 });

  private frame(j: number): number {
    while (this.counts.length <= j) {
      const f = this.simulator.nextFrame();
      this.counts.push(f.counts);
      this.kinematics.push(f.kinematics!);
    }
    return j;
  }

  /** Counts and mean kinematics of sub-bins [first, first + BIN_MS), and each kinematic's largest magnitude. */
  bin(first: number): { counts: number[]; kinematics: number[]; largest: number[] } {
    const counts = new Array<number>(CHANNELS).fill(0);
    const kinematics = [0, 0, 0, 0];
    const largest = [0, 0, 0, 0];
    for (let j = first; j < first + BIN_MS; j++) {
      this.frame(j);
      const c = this.counts[j]!;
      for (let i = 0; i < CHANNELS; i++) counts[i]! += c[i]!;
      const k = this.kinematics[j]!;
      for (let i = 0; i < 4; i++) {
        kinematics[i]! += k[i]!;
        largest[i] = Math.max(largest[i]!, Math.abs(k[i]!));
      }
    }
    return { counts, kinematics: kinematics.map((v) => v / BIN_MS), largest };
  }

  /** True when `bin` holds sub-bins [first, first + BIN_MS): counts exactly, kinematics to float32 precision. */
  matches(bin: Bin, first: number): boolean {
    const truth = this.bin(first);
    if (bin.counts.length !== CHANNELS || bin.kinematics?.length !== 4) return false;
    for (let i = 0; i < CHANNELS; i++) if (bin.counts[i] !== truth.counts[i]) return false;
    // The wire carries float32: each sub-bin's value is off by at most 2^-24 of itself, so is their mean.
    for (let i = 0; i < 4; i++) {
      if (!(Math.abs(bin.kinematics[i]! - truth.kinematics[i]!) <= 2 ** -23 * truth.largest[i]! + 1e-12)) {
        return false;
      }
    }
    return true;
  }

  /** Expect-style version of `matches`, with a readable difference. */
  expectBin(bin: Bin, first: number, what: string): void {
    const truth = this.bin(first);
    expect(Array.from(bin.counts), `${what}: counts`).toEqual(truth.counts);
    expect(bin.kinematics, `${what}: kinematics`).toHaveLength(4);
    for (let i = 0; i < 4; i++) {
      const error = Math.abs(bin.kinematics![i]! - truth.kinematics[i]!);
      expect(error, `${what}: kinematic ${i}`).toBeLessThanOrEqual(2 ** -23 * truth.largest[i]! + 1e-12);
    }
  }
}

const bins = (events: readonly SessionFileEvent[]) => events.filter((e): e is Bin => e.kind === 'bin');
const gaps = (events: readonly SessionFileEvent[]) => events.filter((e): e is Gap => e.kind === 'gap');

/** The recording's report says it was closed cleanly and nothing in it is damaged or cut off. */
function expectWhole(report: ReturnType<typeof readSessionFile>['report'], binsWritten: number): void {
  expect(report.cleanClose).toBe(true);
  expect(report.truncated).toBeUndefined();
  expect(report.corrupt).toEqual([]);
  expect(report.bytesSkipped).toBe(0);
  expect(report.unknownChunks).toEqual([]);
  expect(report.trailingBytes).toBe(0);
  expect(report.binsRead).toBe(binsWritten);
  expect(report.totals?.bins).toBe(binsWritten);
}

/**
 * Every bin index from 0 to the last reported is there exactly once, as a bin or inside a gap, in order.
 * Returns the number of bins the gaps cover.
 */
function expectTiled(events: readonly SessionFileEvent[]): { next: number; gapBins: number } {
  let next = 0;
  let gapBins = 0;
  for (const e of events) {
    if (e.kind === 'bin') {
      expect(e.index, 'a bin follows the previous bin or gap').toBe(next);
      expect(e.startUs).toBe(e.index * BIN_US);
      expect(e.widthUs).toBe(BIN_US);
      next++;
    } else if (e.kind === 'gap') {
      expect(e.reason).not.toBe('corrupt');
      expect(e.firstBin, `gap ${e.reason} starts where the data stopped`).toBe(next);
      expect(e.bins).toBeGreaterThanOrEqual(0);
      expect(e.startUs).toBe(next * BIN_US);
      next += e.bins!;
      gapBins += e.bins!;
      expect(e.endUs).toBe(next * BIN_US);
    }
  }
  return { next, gapBins };
}

async function startFirmware(
  dir: string,
  extra: string[],
  report: string,
): Promise<{ fw: Child; port: string }> {
  const fw = startEdgeBci([
    'firmware',
    '--pty',
    '--pty-dir',
    dir,
    '--channels',
    String(CHANNELS),
    '--seed',
    String(SEED),
    '--json',
    '--report',
    report,
    ...extra,
  ]);
  const line = await fw.waitFor(/\{"event":"ready"[^\n]*\}\n/);
  const ready = JSON.parse(line) as { port: string; channels: number; subBinUs: number; pid: number };
  expect(ready.port).toBe(join(dir, 'host'));
  expect(ready.channels).toBe(CHANNELS);
  expect(ready.subBinUs).toBe(1000);
  expect(ready.pid).toBe(fw.pid);
  expect(existsSync(ready.port)).toBe(true);
  return { fw, port: ready.port };
}

function acquire(port: string, extra: string[]): Child {
  return startEdgeBci(['acquire', '--port', port, '--bin-ms', String(BIN_MS), '--json', ...extra]);
}

const parseResult = (stdout: string) => JSON.parse(stdout) as AcquireResult;
const readLedger = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as Ledger;

let dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'edge-bci-acq-'));
  dirs.push(dir);
  return dir;
}

afterEach(async () => {
  await killAll();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

describe.skipIf(!haveSocat)('edge-bci firmware <-> edge-bci acquire over a pseudo-terminal', () => {
  it('clean link: every packet received, the recording equals the simulator bin for bin', async () => {
    const dir = tempDir();
    const ledgerPath = join(dir, 'firmware.json');
    const record = join(dir, 'clean.ebci');
    const { fw, port } = await startFirmware(dir, ['--seconds', '3'], ledgerPath);
    const acq = acquire(port, ['--record', record]);
    const [a, f] = await Promise.all([acq.exited, fw.exited]);
    expect(a.code, a.stderr).toBe(0);
    expect(f.code, f.stderr).toBe(0);
    const result = parseResult(a.stdout);
    const ledger = readLedger(ledgerPath);
    console.log(
      `clean: ${result.framesReceived} frames, ${result.framesLost} lost, ${result.crcErrors} CRC errors, ` +
        `frame-to-bin p50 ${result.frameToBinLatencyUs.p50} us p99 ${result.frameToBinLatencyUs.p99} us`,
    );

    expect(ledger.reason).toBe('end of stream');
    expect(ledger.ended).toBe(true);
    expect(ledger.faults).toBeUndefined();
    expect(ledger.dataPackets).toBe(3000);
    expect(ledger.droppedWhileDisconnected).toBe(0);
    expect(ledger.packetsWritten).toBe(ledger.packetsMade);
    expect(ledger.lastSeq).toBe(ledger.packetsMade - 1);

    expect(result.ended).toBe('endOfStream');
    expect(result.framesLost).toBe(0);
    expect(result.crcErrors).toBe(0);
    expect(result.resyncs).toBe(0);
    expect(result.malformed).toBe(0);
    expect(result.reconnects).toBe(0);
    expect(result.reboots).toBe(0);
    // Seqs start at 0 with the handshake's ack, so every packet made was received, the last ack included.
    expect(result.framesReceived).toBe(ledger.packetsMade);
    expect(result.dataFramesReceived).toBe(3000);
    // Stream time 0 is the first data frame, a bin boundary; frame 2999 completes bin 149.
    expect(result.binsEmitted).toBe((3000 * 1000) / BIN_US);
    expect(result.gaps).toBe(0);
    expect(result.lostBins).toBe(0);
    expect(result.record).toEqual({ path: record, bins: result.binsEmitted });
    expect(result.frameToBinLatencyUs.count).toBe(result.binsEmitted);
    expect(result.frameToBinLatencyUs.p50).toBeGreaterThan(0);
    expect(result.frameToBinLatencyUs.p99).toBeLessThan(50_000);
    expect(result.presence.map((p) => p.state)).toEqual(['connecting', 'streaming', 'stopped']);

    const file = readSessionFile(record);
    expectWhole(file.report, result.binsEmitted);
    expect(file.metadata.channels).toBe(CHANNELS);
    expect(file.metadata.binWidthUs).toBe(BIN_US);
    expect(file.metadata.kinematicNames).toEqual(['pos_x', 'pos_y', 'vel_x', 'vel_y']);
    expect(gaps(file.events)).toEqual([]);
    const recorded = bins(file.events);
    expect(recorded).toHaveLength(150);
    const truth = new GroundTruth();
    recorded.forEach((bin, k) => {
      expect(bin.index).toBe(k);
      expect(bin.startUs).toBe(k * BIN_US);
      truth.expectBin(bin, k * BIN_MS, `bin ${k}`);
    });
    expect(file.session.bins).toBe(150);
    expect(file.session.segmentStarts).toEqual([0]);
  }, 20_000);

  it('every fault at once: exact accounting, no corrupted frame in the recording, gaps cover the rest', async () => {
    const dir = tempDir();
    const ledgerPath = join(dir, 'firmware.json');
    const record = join(dir, 'faults.ebci');
    const { fw, port } = await startFirmware(
      dir,
      [
        '--seconds',
        '5',
        '--flip-rate',
        '0.01',
        '--drop-rate',
        '0.01',
        '--garbage-rate',
        '0.01',
        '--stall-every',
        '1',
        '--stall-ms',
        '150',
        '--disconnect-every',
        '1.5',
        '--disconnect-ms',
        '300',
        '--drift-ppm',
        '80',
      ],
      ledgerPath,
    );
    const acq = acquire(port, ['--record', record]);
    const [a, f] = await Promise.all([acq.exited, fw.exited]);
    expect(a.code, a.stderr).toBe(0);
    expect(f.code, f.stderr).toBe(0);
    const result = parseResult(a.stdout);
    const ledger = readLedger(ledgerPath);
    const faults = ledger.faults!;
    console.log(
      `faults: ledger ${JSON.stringify({ ...ledger, faults: { ...faults, damagedSeqs: faults.damagedSeqs.length } })}\n` +
        `acquire ${JSON.stringify({ ...result, presence: result.presence.length })}`,
    );

    expect(ledger.reason).toBe('end of stream');
    expect(ledger.dataPackets).toBe(5000);
    expect(faults.flipped).toBeGreaterThan(0);
    expect(faults.truncated).toBeGreaterThan(0);
    expect(faults.garbage).toBeGreaterThan(0);
    expect(faults.stalls).toBeGreaterThan(0);
    expect(faults.disconnects).toBeGreaterThan(0);
    // A packet both flipped and cut short is listed once: flipped + truncated minus the overlap.
    const damaged = faults.damagedSeqs;
    const overlap = faults.flipped + faults.truncated - damaged.length;
    expect(overlap).toBeGreaterThanOrEqual(0);
    expect(overlap).toBeLessThanOrEqual(Math.min(faults.flipped, faults.truncated));
    for (let i = 1; i < damaged.length; i++) expect(damaged[i]!).toBeGreaterThan(damaged[i - 1]!);
    expect(damaged[0]).toBeGreaterThanOrEqual(ledger.firstDataSeq - 1);
    expect(damaged.at(-1)).toBeLessThanOrEqual(ledger.lastSeq);

    expect(result.ended).toBe('endOfStream');
    // Every packet the firmware numbered was received or counted lost, exactly.
    expect(result.framesReceived + result.framesLost).toBe(ledger.packetsMade);
    expect(result.framesLost).toBeGreaterThanOrEqual(ledger.droppedWhileDisconnected);
    expect(result.framesLost).toBeGreaterThanOrEqual(damaged.length);
    expect(result.crcErrors).toBeGreaterThan(0);
    expect(result.resyncs).toBeGreaterThan(0);
    expect(result.resyncs).toBeGreaterThanOrEqual(result.crcErrors);
    expect(result.reconnects).toBeGreaterThanOrEqual(1);
    expect(result.reboots).toBe(0);
    expect(result.presence.map((p) => p.state)).toContain('reconnecting');
    expect(result.record!.bins).toBe(result.binsEmitted);

    const file = readSessionFile(record);
    expectWhole(file.report, result.binsEmitted);
    const recorded = bins(file.events);
    expect(recorded.length).toBe(result.binsEmitted);
    // Many bins came through whole, and no corrupted frame reached one: each equals the simulator at its index.
    expect(recorded.length).toBeGreaterThanOrEqual(20);
    const truth = new GroundTruth();
    // Stream time 0 is the first data packet received; when the firmware's first ones were damaged, later.
    const skipped = (result.streamOriginDeviceUs! - ledger.firstDataTimeUs) / 1000;
    expect(Number.isInteger(skipped) && skipped >= 0).toBe(true);
    for (const bin of recorded) {
      const k = bin.startUs / bin.widthUs;
      expect(k).toBe(bin.index);
      truth.expectBin(bin, skipped + k * BIN_MS, `bin ${k}`);
    }
    // Gaps in the file account for every bin that is not there, and the pipeline's counts agree.
    const { next, gapBins } = expectTiled(file.events);
    const written = gaps(file.events);
    expect(written.length).toBe(result.gaps);
    expect(gapBins).toBe(result.lostBins);
    expect(next).toBe(result.binsEmitted + result.lostBins);
    // Up to the end of the stream (the closing status says where it is), data lost at the very end included.
    // (A partial last bin is reported inside a trailing gap when data was lost at the end, else not at all.)
    const streamBins = (5000 - skipped) / BIN_MS;
    expect([Math.floor(streamBins), Math.ceil(streamBins)]).toContain(next);
    const reasons = new Set(written.map((g) => g.reason));
    expect(reasons).toContain('disconnect');
    expect(reasons).toContain('lost');
  }, 30_000);

  it('unplugged by killing the firmware, a new boot on the same port: reconnects, reports a reboot', async () => {
    const dir = tempDir();
    const record = join(dir, 'reboot.ebci');
    const first = await startFirmware(dir, [], join(dir, 'first.json'));
    const acq = acquire(first.port, ['--record', record, '--seconds', '6']);
    await acq.waitFor(/streaming: /, { stream: 'stderr' });
    await sleep(1500);
    // Pull the device out: the firmware and its socat die at once, the pty vanishes.
    first.fw.killGroup('SIGKILL');
    const killed = await first.fw.exited;
    expect(killed.signal).toBe('SIGKILL');
    await acq.waitFor(/reconnecting: /, { stream: 'stderr' });
    await sleep(300);
    const second = await startFirmware(dir, [], join(dir, 'second.json'));
    expect(second.port).toBe(first.port);
    const a = await acq.exited;
    expect(a.code, a.stderr).toBe(0);
    second.fw.killGroup('SIGTERM');
    const f = await second.fw.exited;
    expect(f.code, f.stderr).toBe(0);
    const result = parseResult(a.stdout);
    const ledger = readLedger(join(dir, 'second.json'));
    console.log(`reboot: ${JSON.stringify({ ...result, presence: result.presence.map((p) => p.state) })}`);

    expect(result.ended).toBe('time');
    expect(result.reconnects).toBeGreaterThanOrEqual(1);
    expect(result.reboots).toBe(1);
    const states = result.presence.map((p) => p.state);
    const lost = states.indexOf('reconnecting');
    expect(lost).toBeGreaterThan(0);
    expect(states.slice(lost)).toContain('streaming');
    expect(states.at(-1)).toBe('stopped');
    // The second boot was stopped by the host: it streamed, and the host's stop was acknowledged.
    expect(ledger.reason).toBe('SIGTERM');
    expect(ledger.dataPackets).toBeGreaterThan(500);
    expect(ledger.commandsReceived).toBeGreaterThanOrEqual(3);

    const file = readSessionFile(record);
    expectWhole(file.report, result.binsEmitted);
    const { gapBins } = expectTiled(file.events);
    expect(gapBins).toBe(result.lostBins);
    // One gap, for the unplug and the new boot, and nothing else lost on the way.
    const written = gaps(file.events);
    expect(written, JSON.stringify(written)).toHaveLength(1);
    const gap = written[0]!;
    expect(['disconnect', 'reboot']).toContain(gap.reason);
    expect(gap.bins).toBeGreaterThan(0);
    expect(result.framesLost).toBe(0);
    const before = bins(file.events).filter((b) => b.index < gap.firstBin!);
    const after = bins(file.events).filter((b) => b.index >= gap.firstBin! + gap.bins!);
    expect(before.length).toBeGreaterThan(50);
    expect(after.length).toBeGreaterThan(25);
    // Before the unplug the first boot's data; after it the second boot's, from its own first sub-bin on,
    // shifted by where the stream had got to: one offset fits every bin after the gap.
    const truth = new GroundTruth();
    for (const bin of before) truth.expectBin(bin, bin.index * BIN_MS, `bin ${bin.index} (first boot)`);
    const firstAfter = after[0]!;
    const candidates = Array.from({ length: BIN_MS }, (_, j) => j).filter((j) =>
      truth.matches(firstAfter, j),
    );
    expect(candidates, 'where the second boot starts in the first bin after the gap').toHaveLength(1);
    const shift = candidates[0]! - firstAfter.index * BIN_MS;
    for (const bin of after)
      truth.expectBin(bin, bin.index * BIN_MS + shift, `bin ${bin.index} (second boot)`);
  }, 30_000);

  it('SIGTERM to acquire mid-stream: exits 0, the recording holds every bin so far and reads back whole', async () => {
    const dir = tempDir();
    const ledgerPath = join(dir, 'firmware.json');
    const record = join(dir, 'sigterm.ebci');
    const { fw, port } = await startFirmware(dir, [], ledgerPath);
    const acq = acquire(port, ['--record', record]);
    await acq.waitFor(/streaming: /, { stream: 'stderr' });
    await sleep(1200);
    acq.process.kill('SIGTERM');
    const a = await acq.exited;
    expect(a.code, a.stderr).toBe(0);
    expect(a.stderr).toMatch(/stopped: stopped by the host/);
    fw.killGroup('SIGTERM');
    const f = await fw.exited;
    expect(f.code, f.stderr).toBe(0);
    const result = parseResult(a.stdout);
    const ledger = readLedger(ledgerPath);

    expect(result.ended).toBe('SIGTERM');
    expect(result.framesLost).toBe(0);
    expect(result.crcErrors).toBe(0);
    // The host stopped the device and waited for its ack: nothing was made that it did not receive.
    expect(result.framesReceived).toBe(ledger.packetsMade);
    expect(result.dataFramesReceived).toBe(ledger.dataPackets);
    expect(result.binsEmitted).toBe(Math.floor(ledger.dataPackets / BIN_MS));
    expect(result.binsEmitted).toBeGreaterThan(40);
    expect(result.record!.bins).toBe(result.binsEmitted);

    const file = readSessionFile(record);
    expectWhole(file.report, result.binsEmitted);
    expect(gaps(file.events)).toEqual([]);
    const truth = new GroundTruth();
    bins(file.events).forEach((bin, k) => {
      expect(bin.index).toBe(k);
      truth.expectBin(bin, k * BIN_MS, `bin ${k}`);
    });
  }, 20_000);

  it('acquire --binding simulator works without hardware', async () => {
    const acq = startEdgeBci(['acquire', '--binding', 'simulator', '--seconds', '1', '--json']);
    const a = await acq.exited;
    expect(a.code, a.stderr).toBe(0);
    const result = parseResult(a.stdout);
    expect(result.ended).toBe('time');
    expect(result.framesLost).toBe(0);
    expect(result.crcErrors).toBe(0);
    expect(result.binsEmitted).toBeGreaterThanOrEqual(40);
    expect(result.binsEmitted).toBeLessThanOrEqual(50);
    expect(result.dataFramesReceived).toBeGreaterThanOrEqual(result.binsEmitted * BIN_MS);
  }, 15_000);
});
