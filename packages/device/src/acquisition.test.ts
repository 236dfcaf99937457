import { type Frame, type Gap, MotorCortexSimulator } from '@edge-bci/core';
import { afterEach, describe, expect, it } from 'vitest';
import { Acquisition, type PresenceState } from './acquisition.js';
import { SimulatorBinding } from './bindings/in-process.js';
import type { Configuration } from './connection.js';
import { AcquisitionStoppedError, DeviceNotFoundError } from './errors.js';
import type { FaultOptions } from './firmware/faults.js';
import type { FirmwareOptions } from './firmware/firmware.js';

const SEED = 9;
const CHANNELS = 48;

/** The simulator's sub-bins 0..n-1: what the firmware streams, frame by frame. */
function groundTruth(n: number): Uint16Array[] {
  const sim = new MotorCortexSimulator({ seed: SEED, channels: CHANNELS, subBinUs: 1000 });
  return Array.from({ length: n }, () => sim.nextFrame().counts);
}

interface Run {
  acquisition: Acquisition;
  binding: SimulatorBinding;
  items: Array<Frame | Gap>;
  presence: PresenceState[];
  /** Device time of the first data packet received (stream time 0). */
  firstReceivedUs: number | undefined;
}

let bindings: SimulatorBinding[] = [];
afterEach(() => {
  for (const b of bindings) b.dispose();
  bindings = [];
});

function setup(
  seconds: number,
  faults?: FaultOptions,
  silenceTimeoutMs?: number,
  device: Omit<FirmwareOptions, 'source'> = {},
  configure?: Configuration,
): Run {
  const binding = new SimulatorBinding({
    devices: { 'sim://t': { seed: SEED, channels: CHANNELS, seconds, ...(faults && { faults }), ...device } },
  });
  bindings.push(binding);
  const acquisition = new Acquisition({
    binding,
    path: 'sim://t',
    reconnect: { initialDelayMs: 20, maxDelayMs: 100 },
    ...(silenceTimeoutMs !== undefined && { silenceTimeoutMs }),
    ...(configure && { configure }),
  });
  const items: Array<Frame | Gap> = [];
  const presence: PresenceState[] = [];
  const run: Run = { acquisition, binding, items, presence, firstReceivedUs: undefined };
  acquisition.frames$.subscribe((item) => items.push(item));
  acquisition.presence$.subscribe((p) => presence.push(p.state));
  acquisition.messages$.subscribe((m) => {
    if ((m.type === 'counts' || m.type === 'events') && run.firstReceivedUs === undefined) {
      run.firstReceivedUs = m.deviceTimeUs;
    }
  });
  return run;
}

/**
 * Every frame equals the ground truth at its index; gaps and frames tile the stream without overlap.
 * Stream time 0 is the first data packet received, which is not the firmware's first when that one was lost.
 */
function checkAgainstTruth(
  run: Run,
  seconds: number,
): { frames: number; gapFrames: number; skipped: number } {
  const { items } = run;
  const truth = groundTruth(seconds * 1000);
  const ledger = run.binding.firmware('sim://t')!.ledger;
  const skipped = (run.firstReceivedUs! - ledger.firstDataTimeUs) / 1000;
  expect(Number.isInteger(skipped) && skipped >= 0).toBe(true);
  let cursor = 0;
  let frames = 0;
  let gapFrames = 0;
  let seq = -1;
  for (const item of items) {
    if (item.kind === 'gap') {
      expect(item.startUs).toBe(cursor);
      expect(item.endUs).toBeGreaterThan(cursor);
      gapFrames += item.lostFrames!;
      cursor = item.endUs;
      seq += item.lostFrames!;
      continue;
    }
    expect(item.deviceTimeUs).toBe(cursor);
    expect(item.seq).toBe(seq + 1);
    seq = item.seq;
    const k = skipped + item.deviceTimeUs / 1000;
    expect({ k, valid: Number.isInteger(k) && k >= 0 && k < truth.length }).toEqual({ k, valid: true });
    let counts: Uint16Array;
    if (item.kind === 'counts') counts = item.counts;
    else {
      counts = new Uint16Array(CHANNELS);
      for (const c of item.channels) counts[c]! += 1;
      for (const offset of item.offsetsUs) expect(offset).toBeLessThan(item.durationUs);
    }
    expect(Array.from(counts)).toEqual(Array.from(truth[k]!));
    expect(item.kinematics).toHaveLength(4);
    expect(item.receivedUs).toBeGreaterThan(0);
    cursor += item.durationUs;
    frames++;
  }
  return { frames, gapFrames, skipped };
}

describe('Acquisition', () => {
  it('streams a clean device into frames identical to the source, every packet accounted for', async () => {
    const run = setup(1);
    const info = await run.acquisition.start();
    expect(info.channels).toBe(CHANNELS);
    expect(await run.acquisition.done).toBe('endOfStream');
    const stats = run.acquisition.stats();
    const ledger = run.binding.firmware('sim://t')!.ledger;
    expect(stats.framesLost).toBe(0);
    expect(stats.crcErrors).toBe(0);
    expect(stats.framesReceived).toBe(ledger.packetsMade);
    const { frames, gapFrames } = checkAgainstTruth(run, 1);
    expect(frames).toBe(1000);
    expect(gapFrames).toBe(0);
    expect(run.presence).toEqual(['connecting', 'streaming', 'stopped']);
  });

  it('under every fault, passes no corrupted frame on and accounts for every packet sent', async () => {
    const run = setup(3, {
      flipRate: 0.03,
      dropRate: 0.02,
      garbageRate: 0.02,
      stallEveryS: 0.7,
      stallMs: 120,
      disconnectEveryS: 1.2,
      disconnectMs: 150,
      seed: 11,
    });
    await run.acquisition.start();
    expect(await run.acquisition.done).toBe('endOfStream');
    const stats = run.acquisition.stats();
    const ledger = run.binding.firmware('sim://t')!.ledger;
    const faults = ledger.faults!;
    expect(faults.flipped + faults.truncated).toBeGreaterThan(20);
    expect(faults.stalls).toBeGreaterThan(0);
    expect(faults.disconnects).toBeGreaterThan(0);
    // Every packet the firmware numbered is received or reported lost, exactly.
    expect(stats.framesReceived + stats.framesLost).toBe(ledger.packetsMade);
    expect(stats.framesLost).toBeGreaterThanOrEqual(ledger.droppedWhileDisconnected);
    expect(stats.crcErrors).toBeGreaterThan(0);
    expect(stats.resyncs).toBeGreaterThanOrEqual(stats.crcErrors);
    // An unplug that comes while the host is still reconnecting from the last one merges with it.
    expect(stats.reconnects).toBeGreaterThanOrEqual(1);
    expect(stats.reconnects).toBeLessThanOrEqual(faults.disconnects);
    const { frames, gapFrames, skipped } = checkAgainstTruth(run, 3);
    expect(frames).toBe(stats.dataFramesReceived);
    expect(skipped + frames + gapFrames).toBe(3000);
    const reasons = new Set(run.items.filter((i): i is Gap => i.kind === 'gap').map((g) => g.reason));
    expect(reasons).toContain('disconnect');
    expect(reasons).toContain('lost');
    expect(run.presence).toContain('reconnecting');
  });

  it('reconnects after an unplug and reports the gap, without a restart', async () => {
    const run = setup(1.5);
    await run.acquisition.start();
    await new Promise((resolve) => setTimeout(resolve, 300));
    run.binding.unplug('sim://t', 200);
    expect(await run.acquisition.done).toBe('endOfStream');
    const stats = run.acquisition.stats();
    expect(stats.reconnects).toBe(1);
    const gaps = run.items.filter((i): i is Gap => i.kind === 'gap');
    expect(gaps.map((g) => g.reason)).toEqual(['disconnect']);
    expect(gaps[0]!.endUs - gaps[0]!.startUs).toBeGreaterThanOrEqual(150_000);
    expect(run.presence[0]).toBe('connecting');
    expect(run.presence.at(-1)).toBe('stopped');
    const lostAt = run.presence.indexOf('reconnecting');
    expect(lostAt).toBeGreaterThan(1);
    expect(run.presence.slice(lostAt)).toContain('streaming');
    checkAgainstTruth(run, 1.5);
  });

  it('treats a silent link as lost: the watchdog reconnects', async () => {
    const run = setup(1.5, undefined, 150);
    await run.acquisition.start();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const firmware = run.binding.firmware('sim://t')!;
    firmware.setLinkUp(false); // the device stops talking, the port stays open
    expect(await run.acquisition.done).toBe('endOfStream');
    expect(run.acquisition.stats().reconnects).toBe(1);
    expect(run.items.some((i) => i.kind === 'gap' && i.reason === 'disconnect')).toBe(true);
  });

  it('gives up on a port that never appears, with DeviceNotFoundError and presence error', async () => {
    const binding = new SimulatorBinding({ devices: {} });
    bindings.push(binding);
    const acquisition = new Acquisition({
      binding,
      path: 'sim://absent',
      reconnect: { initialDelayMs: 10, giveUpAfterMs: 50 },
    });
    await expect(acquisition.start()).rejects.toBeInstanceOf(DeviceNotFoundError);
    expect(acquisition.presence$.value.state).toBe('error');
    const limited = new Acquisition({
      binding,
      path: 'sim://absent',
      connectTimeoutMs: 60,
      reconnect: { initialDelayMs: 10 },
    });
    const states: string[] = [];
    limited.presence$.subscribe((p) => states.push(p.state));
    await expect(limited.start()).rejects.toBeInstanceOf(DeviceNotFoundError);
    expect(states[0]).toBe('connecting');
    expect(states.at(-1)).toBe('error');
    expect(states.filter((s) => s === 'connecting').length).toBeGreaterThan(1); // it retried before giving up
  });

  it('streams spike events (and two-byte counts) as faithfully as counts', async () => {
    for (const device of [{ mode: 'events' as const }, { countWidth: 2 as const }]) {
      const run = setup(0.5, { flipRate: 0.02, seed: 3 }, undefined, device);
      const info = await run.acquisition.start();
      expect(info).toMatchObject(device);
      expect(await run.acquisition.done).toBe('endOfStream');
      const { frames, gapFrames, skipped } = checkAgainstTruth(run, 0.5);
      expect(skipped + frames + gapFrames).toBe(500);
      const kinds = new Set(run.items.filter((i) => i.kind !== 'gap').map((i) => i.kind));
      expect([...kinds]).toEqual([device.mode === 'events' ? 'events' : 'counts']);
    }
  });

  it('configures the device before starting', async () => {
    const run = setup(0.5, undefined, undefined, {}, { subBinUs: 2000 });
    const info = await run.acquisition.start();
    expect(info.subBinUs).toBe(2000);
    await run.acquisition.done;
    const frames = run.items.filter((i): i is Frame => i.kind !== 'gap');
    expect(frames.length).toBe(250);
    for (const f of frames) expect(f.durationUs).toBe(2000);
  });

  it('estimates the device clock drift', async () => {
    const run = setup(4, undefined, undefined, { driftPpm: 500 });
    await run.acquisition.start();
    await run.acquisition.done;
    const { driftPpm, jitterUs } = run.acquisition.stats().clock;
    // In-process delivery jitters by hundreds of us over a short run: the estimate is coarse but signed right.
    expect(driftPpm).toBeGreaterThan(350);
    expect(driftPpm).toBeLessThan(650);
    expect(jitterUs.p99).toBeGreaterThanOrEqual(jitterUs.p50);
  });

  it('follows a device that power-cycles: a reboot gap, then the new boot from its start', async () => {
    const run = setup(1.2);
    await run.acquisition.start();
    await new Promise((resolve) => setTimeout(resolve, 400));
    await run.binding.powerCycle('sim://t', 150);
    expect(await run.acquisition.done).toBe('endOfStream');
    const stats = run.acquisition.stats();
    expect(stats.reboots).toBe(1);
    expect(stats.reconnects).toBe(1);
    // The old boot's packets were all received; the new boot's numbering starts again without counting a loss.
    expect(stats.framesLost).toBe(0);
    const [old] = run.binding.previousFirmware('sim://t');
    const fresh = run.binding.firmware('sim://t')!;
    // Every packet of both boots arrived (the binding lets what was sent land before the power goes).
    expect(stats.framesReceived).toBe(old!.ledger.packetsMade + fresh.ledger.packetsMade);
    const gaps = run.items.filter((i): i is Gap => i.kind === 'gap');
    expect(gaps.map((g) => g.reason)).toEqual(['reboot']);
    expect(gaps[0]!.endUs - gaps[0]!.startUs).toBeGreaterThanOrEqual(150_000);
    // After the gap the stream is the new boot's source from its first sub-bin.
    const truth = groundTruth(1200);
    const after = run.items.slice(run.items.indexOf(gaps[0]!) + 1).filter((i) => i.kind === 'counts');
    expect(after).toHaveLength(1200);
    after.forEach((f, k) => {
      if (f.kind === 'counts') expect(Array.from(f.counts)).toEqual(Array.from(truth[k]!));
    });
  });

  it('stop() while still connecting: start() rejects with AcquisitionStoppedError, nothing left running', async () => {
    const binding = new SimulatorBinding({ devices: {} });
    bindings.push(binding);
    const acquisition = new Acquisition({ binding, path: 'sim://later', reconnect: { initialDelayMs: 10 } });
    const started = acquisition.start();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await acquisition.stop();
    await expect(started).rejects.toBeInstanceOf(AcquisitionStoppedError);
    expect(await acquisition.done).toBe('stopped');
    expect(acquisition.presence$.value.state).toBe('stopped');
  });

  it('stop() completes the frames and closes the device', async () => {
    const run = setup(10);
    await run.acquisition.start();
    await new Promise((resolve) => setTimeout(resolve, 100));
    await run.acquisition.stop();
    expect(await run.acquisition.done).toBe('stopped');
    expect(run.binding.firmware('sim://t')!.isStreaming).toBe(false);
    expect(run.items.length).toBeGreaterThan(20);
  });
});
