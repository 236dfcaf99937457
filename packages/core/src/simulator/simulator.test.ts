import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../errors.js';
import type { SpikeCountFrame } from '../types.js';
import { crc32 } from '../util/crc32.js';
import { simulateSession } from './simulate-session.js';
import {
  MotorCortexSimulator,
  SIMULATOR_MODEL_VERSION,
  type SimulatorOptions,
  simulatorChannelLabels,
} from './simulator.js';

const ALL_KNOBS = {
  baselineDrift: 0.3,
  gainChange: -0.1,
  pdRotation: 20,
  deadChannels: 0.1,
  noiseBursts: 10,
  startHours: 5,
  rateScale: 1.2,
};

/** True when two typed arrays hold the same bytes (far faster than toEqual on long arrays). */
function sameBits(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

function frames(options: SimulatorOptions, count: number): SpikeCountFrame[] {
  const sim = new MotorCortexSimulator(options);
  return Array.from({ length: count }, () => sim.nextFrame());
}

describe('MotorCortexSimulator determinism', () => {
  it('gives bit-identical output for one seed and different output for another', () => {
    const options = { seed: 41, task: 'random-target' as const, drift: ALL_KNOBS };
    const a = simulateSession({ ...options, seconds: 20 });
    const b = simulateSession({ ...options, seconds: 20 });
    expect(sameBits(b.counts, a.counts)).toBe(true);
    expect(sameBits(b.kinematics, a.kinematics)).toBe(true);
    expect(b.markers).toEqual(a.markers);
    expect(JSON.stringify(b.metadata)).toBe(JSON.stringify(a.metadata));
    const c = simulateSession({ ...options, seed: 42, seconds: 20 });
    expect(sameBits(c.counts, a.counts)).toBe(false);
    expect(sameBits(c.kinematics, a.kinematics)).toBe(false);
    expect(frames({ seed: 41 }, 200)).toEqual(frames({ seed: 41 }, 200));
  });

  it('reproduces the pinned output of model version 1', () => {
    // If this fails, one seed now gives different data: bump SIMULATOR_MODEL_VERSION and re-pin.
    const s = simulateSession({ seed: 1, seconds: 5 });
    expect(SIMULATOR_MODEL_VERSION).toBe(1);
    expect(crc32(new Uint8Array(s.counts.buffer))).toBe(2898530323);
    expect(crc32(new Uint8Array(s.kinematics.buffer))).toBe(2120330758);
    expect(s.markers.length).toBe(5);
  });

  it('keeps the hand and each channel independent of the number of channels', () => {
    const drift = { noiseBursts: 20, baselineDrift: 0.5, pdRotation: 10 };
    const small = simulateSession({ seed: 43, channels: 32, seconds: 20, drift });
    const large = simulateSession({ seed: 43, channels: 96, seconds: 20, drift });
    expect(sameBits(small.kinematics, large.kinematics)).toBe(true);
    expect(small.markers).toEqual(large.markers);
    let differing = 0;
    for (let b = 0; b < small.bins; b++) {
      if (!sameBits(small.counts.subarray(b * 32, b * 32 + 32), large.counts.subarray(b * 96, b * 96 + 32))) {
        differing++;
      }
    }
    expect(differing).toBe(0);
    const t32 = new MotorCortexSimulator({ seed: 43, channels: 32 }).tuning;
    expect(t32).toEqual(new MotorCortexSimulator({ seed: 43 }).tuning.slice(0, 32));
  });
});

describe('MotorCortexSimulator frames', () => {
  it('numbers frames and stamps device time from 0', () => {
    const sim = new MotorCortexSimulator({ subBinUs: 2000, channels: 10 });
    expect(sim.timeUs).toBe(0);
    expect(sim.seq).toBe(0);
    for (let i = 0; i < 5; i++) {
      const f = sim.nextFrame();
      expect(f.kind).toBe('counts');
      expect(f.seq).toBe(i);
      expect(f.deviceTimeUs).toBe(i * 2000);
      expect(f.durationUs).toBe(2000);
      expect(f.counts).toBeInstanceOf(Uint16Array);
      expect(f.counts.length).toBe(10);
      expect(f.kinematics).toBeInstanceOf(Float64Array);
      expect(f.kinematics!.length).toBe(4);
    }
    expect(sim.timeUs).toBe(10_000);
    expect(sim.seq).toBe(5);
    expect(sim.hours).toBeCloseTo(10_000 / 3.6e9, 15);
  });

  it('sums 1 ms steps into wider sub-bins and averages their kinematics', () => {
    const ms = frames({ seed: 44, drift: { noiseBursts: 30 } }, 5000);
    const wide = frames({ seed: 44, subBinUs: 5000, drift: { noiseBursts: 30 } }, 1000);
    let total = 0;
    wide.forEach((f, j) => {
      const parts = ms.slice(5 * j, 5 * j + 5);
      const sum = new Uint16Array(96);
      for (const p of parts) for (let i = 0; i < 96; i++) sum[i]! += p.counts[i]!;
      expect(f.counts).toEqual(sum);
      total += sum.reduce((a, x) => a + x, 0);
      for (let k = 0; k < 4; k++) {
        const mean = parts.reduce((a, p) => a + p.kinematics![k]!, 0) / 5;
        expect(f.kinematics![k]).toBeCloseTo(mean, 9);
      }
    });
    expect(total).toBeGreaterThan(1000);
  });

  it('fills caller arrays the same way nextFrame allocates them', () => {
    const a = new MotorCortexSimulator({ seed: 45 });
    const b = new MotorCortexSimulator({ seed: 45 });
    const counts = new Uint16Array(96);
    const kin = new Float64Array(4);
    for (let i = 0; i < 300; i++) {
      const f = a.nextFrame();
      expect(b.nextFrameInto(counts, kin)).toBe(f.seq);
      expect(counts).toEqual(f.counts);
      expect(kin).toEqual(f.kinematics);
    }
  });

  it('flags the frame in which each reach starts', () => {
    const sim = new MotorCortexSimulator({ seed: 46, channels: 4 });
    const counts = new Uint16Array(4);
    const kin = new Float64Array(4);
    let previousSpeed = 0;
    let starts = 0;
    let mismatches = 0;
    for (let i = 0; i < 30_000; i++) {
      sim.nextFrameInto(counts, kin);
      const speed = Math.hypot(kin[2]!, kin[3]!);
      // A reach starts exactly when the hand leaves rest.
      if (sim.trialStartedThisFrame !== (previousSpeed === 0 && speed > 0)) mismatches++;
      if (sim.trialStartedThisFrame) starts++;
      previousSpeed = speed;
    }
    expect(mismatches).toBe(0);
    expect(starts).toBeGreaterThan(20);
    expect(sim.trialCount).toBe(starts);
  });
});

describe('MotorCortexSimulator metadata', () => {
  it('describes the session completely and without a creation time', () => {
    const sim = new MotorCortexSimulator({ seed: 47, task: 'random-target', drift: { pdRotation: 5 } });
    const m = sim.metadata(50_000);
    expect(m.channels).toBe(96);
    expect(m.channelLabels.length).toBe(96);
    expect(m.channelLabels[0]).toBe('ch001');
    expect(m.channelLabels[95]).toBe('ch096');
    expect(m.binWidthUs).toBe(50_000);
    expect(m.kinematicNames).toEqual(['pos_x', 'pos_y', 'vel_x', 'vel_y']);
    expect(m.createdAt).toBeUndefined();
    expect(m.source).toMatchObject({
      generator: 'edge-bci simulator',
      seed: 47,
      task: 'random-target',
      subBinUs: 1000,
      lagMs: 100,
      refractoryMs: 2,
      drift: { pdRotation: 5, baselineDrift: 0, startHours: 0, rateScale: 1 },
    });
    expect(sim.metadata().binWidthUs).toBe(1000);
    expect(JSON.stringify(new MotorCortexSimulator({ seed: 47 }).metadata())).toBe(
      JSON.stringify(new MotorCortexSimulator({ seed: 47 }).metadata()),
    );
    expect(simulatorChannelLabels(1200)[0]).toBe('ch0001');
    expect(() => sim.metadata(1500)).toThrow(InvalidOptionError);
  });
});

describe('MotorCortexSimulator options', () => {
  const bad: Array<[string, SimulatorOptions]> = [
    ['seed', { seed: -1 }],
    ['seed', { seed: 1.5 }],
    ['seed', { seed: 2 ** 32 }],
    ['channels', { channels: 0 }],
    ['channels', { channels: 2.5 }],
    ['channels', { channels: 5000 }],
    ['task', { task: 'pinball' as 'center-out' }],
    ['subBinUs', { subBinUs: 500 }],
    ['subBinUs', { subBinUs: 1500 }],
    ['subBinUs', { subBinUs: 0 }],
    ['lagMs', { lagMs: -10 }],
    ['lagMs', { lagMs: 12.5 }],
    ['refractoryMs', { refractoryMs: -1 }],
    ['refractoryMs', { refractoryMs: Number.NaN }],
    ['drift', { drift: { baselinedrift: 0.3 } as never }],
    ['drift.baselineDrift', { drift: { baselineDrift: -0.1 } }],
    ['drift.gainChange', { drift: { gainChange: -1 } }],
    ['drift.pdRotation', { drift: { pdRotation: Number.POSITIVE_INFINITY } }],
    ['drift.deadChannels', { drift: { deadChannels: 1.5 } }],
    ['drift.noiseBursts', { drift: { noiseBursts: -2 } }],
    ['drift.startHours', { drift: { startHours: -24 } }],
    ['drift.rateScale', { drift: { rateScale: -1 } }],
  ];
  it.each(bad)('rejects a bad %s', (option, options) => {
    let error: unknown;
    try {
      new MotorCortexSimulator(options);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as InvalidOptionError).option).toBe(option);
    expect((error as InvalidOptionError).code).toBe('INVALID_OPTION');
  });

  it('accepts the edges of every range', () => {
    expect(
      () =>
        new MotorCortexSimulator({
          seed: 0,
          channels: 1,
          subBinUs: 1000,
          lagMs: 0,
          refractoryMs: 0,
          drift: { deadChannels: 1, gainChange: -0.99, noiseBursts: 0, startHours: 0, rateScale: 0 },
        }),
    ).not.toThrow();
    expect(() => new MotorCortexSimulator({ seed: 0xffffffff, channels: 4096, lagMs: 1000 })).not.toThrow();
    expect(() => new MotorCortexSimulator().channelState(-1)).toThrow(InvalidOptionError);
  });
});
