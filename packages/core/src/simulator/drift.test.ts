import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../errors.js';
import {
  BrownianPaths,
  BURST_DURATION_MS,
  BURST_RATE_HZ,
  DEFAULT_DRIFT,
  DRIFT_KNOBS,
  NoiseBurstProcess,
  parseDrift,
  resolveDrift,
} from './drift.js';
import { Rng } from './rng.js';

describe('drift options', () => {
  it('lists every knob once, with its default and a one-line description', () => {
    expect(DRIFT_KNOBS.map((k) => k.name).sort()).toEqual(Object.keys(DEFAULT_DRIFT).sort());
    expect(DRIFT_KNOBS.map((k) => k.name)).toEqual([
      'baselineDrift',
      'gainChange',
      'pdRotation',
      'deadChannels',
      'noiseBursts',
      'startHours',
      'rateScale',
    ]);
    for (const k of DRIFT_KNOBS) {
      expect(k.default).toBe(DEFAULT_DRIFT[k.name]);
      expect(k.description.length).toBeGreaterThan(10);
      expect(k.description).not.toContain('\n');
    }
  });

  it('fills in defaults: no drift at all', () => {
    expect(resolveDrift()).toEqual(DEFAULT_DRIFT);
    expect(resolveDrift({ pdRotation: -3 })).toEqual({ ...DEFAULT_DRIFT, pdRotation: -3 });
    expect(resolveDrift({ pdRotation: undefined })).toEqual(DEFAULT_DRIFT);
    expect(Object.isFrozen(resolveDrift())).toBe(true);
  });

  it('parses command-line assignments', () => {
    expect(parseDrift('baselineDrift=0.3')).toEqual({ baselineDrift: 0.3 });
    expect(parseDrift(['pdRotation=-15', 'deadChannels=0.1,noiseBursts=2'])).toEqual({
      pdRotation: -15,
      deadChannels: 0.1,
      noiseBursts: 2,
    });
    expect(parseDrift(' startHours = 48 ,')).toEqual({ startHours: 48 });
    expect(parseDrift([])).toEqual({});
    for (const bad of ['baselinedrift=0.3', 'pdRotation', 'pdRotation=', 'pdRotation=fast', 'x=1']) {
      expect(() => parseDrift(bad)).toThrow(InvalidOptionError);
    }
  });
});

describe('BrownianPaths', () => {
  const n = 2000;
  const paths = new BrownianPaths(new Rng(61).fork('walk'), n);
  const at = (h: number) => {
    const out = new Float64Array(n);
    paths.valuesAt(h, out);
    return out;
  };
  const variance = (xs: Float64Array) => xs.reduce((a, x) => a + x * x, 0) / xs.length;

  it('starts at 0 and has unit variance per hour', () => {
    expect(at(0)).toEqual(new Float64Array(n));
    // SE of a variance estimate from 2000 normals is sqrt(2/2000) = 3 %.
    expect(variance(at(4)) / 4).toBeGreaterThan(0.9);
    expect(variance(at(4)) / 4).toBeLessThan(1.1);
    expect(variance(at(2.5)) / 2.5).toBeGreaterThan(0.9);
    expect(variance(at(2.5)) / 2.5).toBeLessThan(1.1);
    const a = at(3 + 10 / 60);
    const b = at(3 + 11 / 60);
    const step = a.map((x, i) => b[i]! - x);
    expect(variance(step) * 60).toBeGreaterThan(0.9);
    expect(variance(step) * 60).toBeLessThan(1.1);
  });

  it('gives the same value at one time whatever was asked before', () => {
    const fresh = new BrownianPaths(new Rng(61).fork('walk'), n);
    const out = new Float64Array(n);
    fresh.valuesAt(100.3, out);
    expect(out).toEqual(at(100.3));
    const first = at(7.77);
    at(1.2);
    at(60);
    expect(at(7.77)).toEqual(first);
  });

  it('is continuous across hour boundaries', () => {
    const before = at(5 - 1e-9);
    const after = at(5 + 1e-9);
    for (let i = 0; i < n; i++) expect(Math.abs(after[i]! - before[i]!)).toBeLessThan(1e-6);
  });
});

describe('NoiseBurstProcess', () => {
  it('starts bursts at the given rate, each 50-200 ms at 100-300 Hz', () => {
    const p = new NoiseBurstProcess(20, new Rng(62));
    const minutes = 30;
    let runs = 0;
    let longest = 0;
    let run = 0;
    let lo = Number.POSITIVE_INFINITY;
    let hi = 0;
    for (let k = 0; k < minutes * 60_000; k++) {
      const r = p.rateAt(k);
      if (r > 0) {
        run++;
        lo = Math.min(lo, r);
        hi = Math.max(hi, r);
      } else if (run > 0) {
        runs++;
        longest = Math.max(longest, run);
        run = 0;
      }
    }
    // 600 expected, Poisson SD 24.5
    expect(p.count).toBeGreaterThan(530);
    expect(p.count).toBeLessThan(670);
    expect(runs).toBeLessThanOrEqual(p.count);
    expect(runs).toBeGreaterThan(0.9 * p.count);
    expect(lo).toBeGreaterThanOrEqual(BURST_RATE_HZ[0]);
    expect(hi).toBeLessThanOrEqual(BURST_RATE_HZ[1]);
    expect(longest).toBeGreaterThanOrEqual(BURST_DURATION_MS[1] - 20);
  });

  it('never bursts at rate 0', () => {
    const p = new NoiseBurstProcess(0, new Rng(63));
    let max = 0;
    for (let k = 0; k < 100_000; k++) max = Math.max(max, p.rateAt(k));
    expect(max).toBe(0);
    expect(p.count).toBe(0);
  });
});
