import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../errors.js';
import { type SimulateSessionOptions, simulateSession } from './simulate-session.js';
import { MotorCortexSimulator } from './simulator.js';

describe('simulateSession', () => {
  it('bins the simulator frames: counts summed, kinematics averaged', () => {
    const s = simulateSession({ seed: 51, seconds: 3, binWidthUs: 20_000, drift: { noiseBursts: 20 } });
    const sim = new MotorCortexSimulator({ seed: 51, drift: { noiseBursts: 20 } });
    expect(s.bins).toBe(150);
    expect(s.counts.length).toBe(150 * 96);
    expect(s.kinematics.length).toBe(150 * 4);
    expect(s.segmentStarts).toEqual([0]);
    expect(s.metadata).toEqual(sim.metadata(20_000));
    for (let b = 0; b < s.bins; b++) {
      expect(s.startUs[b]).toBe(b * 20_000);
      const counts = new Float32Array(96);
      const kin = new Float64Array(4);
      for (let j = 0; j < 20; j++) {
        const f = sim.nextFrame();
        for (let i = 0; i < 96; i++) counts[i]! += f.counts[i]!;
        for (let k = 0; k < 4; k++) kin[k]! += f.kinematics![k]! / 20;
      }
      expect(s.counts.subarray(b * 96, b * 96 + 96)).toEqual(counts);
      for (let k = 0; k < 4; k++) expect(s.kinematics[b * 4 + k]).toBeCloseTo(kin[k]!, 9);
    }
  });

  it('marks each reach start with a trial marker at its bin', () => {
    const s = simulateSession({ seed: 52, seconds: 60 });
    expect(s.markers.length).toBeGreaterThan(40);
    let last = -1;
    for (const m of s.markers) {
      expect(m).toMatchObject({ kind: 'marker', label: 'trial', break: false });
      expect(m.bin).toBeGreaterThan(last);
      last = m.bin;
      // The hand is at rest in the bin before and moving in the marked bin.
      expect([s.kinematics[4 * (m.bin - 1) + 2], s.kinematics[4 * (m.bin - 1) + 3]]).toEqual([0, 0]);
      expect(Math.hypot(s.kinematics[4 * m.bin + 2]!, s.kinematics[4 * m.bin + 3]!)).toBeGreaterThan(0);
    }
    // And nowhere else does the hand leave rest.
    let departures = 0;
    for (let b = 1; b < s.bins; b++) {
      const rest = s.kinematics[4 * (b - 1) + 2] === 0 && s.kinematics[4 * (b - 1) + 3] === 0;
      if (rest && (s.kinematics[4 * b + 2] !== 0 || s.kinematics[4 * b + 3] !== 0)) departures++;
    }
    expect(departures).toBe(s.markers.length);
  });

  it('keeps whole bins only and reports progress up to 1', () => {
    const seen: number[] = [];
    const s = simulateSession({ seconds: 1.26, binWidthUs: 100_000, onProgress: (f) => seen.push(f) });
    expect(s.bins).toBe(12);
    expect(seen.at(-1)).toBe(1);
    for (let i = 1; i < seen.length; i++) expect(seen[i]!).toBeGreaterThan(seen[i - 1]!);
    expect(simulateSession({ seconds: 0.3, binWidthUs: 100_000 }).bins).toBe(3);
  });

  const bad: Array<[string, SimulateSessionOptions]> = [
    ['seconds', { seconds: 0 }],
    ['seconds', { seconds: -5 }],
    ['seconds', { seconds: Number.NaN }],
    ['seconds', { seconds: 0.01 }],
    ['binWidthUs', { seconds: 1, binWidthUs: 2500, subBinUs: 2000 }],
    ['binWidthUs', { seconds: 1, binWidthUs: 0 }],
    ['binWidthUs', { seconds: 1, binWidthUs: 12_345.5 }],
    ['channels', { seconds: 1, channels: -3 }],
  ];
  it.each(bad)('rejects a bad %s', (option, options) => {
    expect(() => simulateSession(options)).toThrow(InvalidOptionError);
    try {
      simulateSession(options);
    } catch (e) {
      expect((e as InvalidOptionError).option).toBe(option);
    }
  });

  it('runs far faster than real time (printed, not asserted)', () => {
    const seconds = 300;
    const t0 = performance.now();
    const s = simulateSession({ seed: 53, seconds, channels: 96 });
    const wall = (performance.now() - t0) / 1000;
    expect(s.bins).toBe(6000);
    console.log(
      `simulateSession: 96 channels, ${seconds} s simulated in ${wall.toFixed(2)} s wall = ` +
        `${Math.round(seconds / wall)}x real time`,
    );
  });
});
