import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../errors.js';
import { pearson } from '../metrics/regression.js';
import { Rng, RngBank } from './rng.js';

function draws(rng: Rng, n: number): number[] {
  return Array.from({ length: n }, () => rng.uint32());
}

describe('Rng', () => {
  it('gives the same sequence for one seed, bit for bit, and pins it', () => {
    expect(draws(new Rng(42), 1000)).toEqual(draws(new Rng(42), 1000));
    // Pinned values: if these change, every simulated session changes (bump SIMULATOR_MODEL_VERSION).
    expect(draws(new Rng(1), 4)).toEqual([4141671517, 3764672873, 1531678462, 338230569]);
    expect(draws(new Rng(1).fork('task'), 2)).toEqual([2768707719, 1621397103]);
    expect(draws(new Rng(), 4)).toEqual(draws(new Rng(1), 4));
  });

  it('gives different sequences for neighbouring seeds', () => {
    const a = draws(new Rng(7), 100);
    const b = draws(new Rng(8), 100);
    expect(a.filter((x, i) => x === b[i]).length).toBe(0);
    expect(draws(new Rng(0), 4)).not.toEqual(draws(new Rng(0xffffffff), 4));
  });

  it('draws uniform numbers in [0, 1) with the right moments', () => {
    const r = new Rng(3);
    const n = 200_000;
    let sum = 0;
    let sq = 0;
    let min = 1;
    let max = 0;
    for (let i = 0; i < n; i++) {
      const u = r.uniform();
      sum += u;
      sq += u * u;
      min = Math.min(min, u);
      max = Math.max(max, u);
    }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
    expect(Math.abs(sum / n - 0.5)).toBeLessThan(0.003);
    expect(Math.abs(sq / n - sum ** 2 / n ** 2 - 1 / 12)).toBeLessThan(0.002);
  });

  it('draws standard normals', () => {
    const r = new Rng(4);
    const n = 200_000;
    let sum = 0;
    let sq = 0;
    let beyond3 = 0;
    for (let i = 0; i < n; i++) {
      const z = r.normal();
      sum += z;
      sq += z * z;
      if (Math.abs(z) > 3) beyond3++;
    }
    expect(Math.abs(sum / n)).toBeLessThan(0.01);
    expect(Math.abs(sq / n - 1)).toBeLessThan(0.015);
    // P(|z| > 3) = 0.0027
    expect(beyond3 / n).toBeGreaterThan(0.002);
    expect(beyond3 / n).toBeLessThan(0.0035);
  });

  it('draws unbiased integers in [0, n)', () => {
    const r = new Rng(5);
    const counts = new Array(7).fill(0);
    const n = 70_000;
    for (let i = 0; i < n; i++) counts[r.int(7)]++;
    // chi-square with 6 degrees of freedom; 22.5 is its 0.999 quantile
    const chi2 = counts.reduce((s, c) => s + (c - n / 7) ** 2 / (n / 7), 0);
    expect(chi2).toBeLessThan(22.5);
    expect(r.int(1)).toBe(0);
    const big = r.int(2 ** 32);
    expect(big).toBeGreaterThanOrEqual(0);
    expect(big).toBeLessThan(2 ** 32);
    for (const bad of [0, -1, 1.5, 2 ** 32 + 1, Number.NaN])
      expect(() => r.int(bad)).toThrow(InvalidOptionError);
  });

  it('forks streams that depend only on the key and the label', () => {
    const a = new Rng(9);
    const before = draws(a.fork('task'), 50);
    draws(a, 1234);
    a.normal();
    expect(draws(a.fork('task'), 50)).toEqual(before);
    expect(draws(a.fork('spikes'), 50)).not.toEqual(before);
    expect(draws(new Rng(10).fork('task'), 50)).not.toEqual(before);
    // Nested forks are distinct from single ones.
    expect(draws(a.fork('task').fork('task'), 50)).not.toEqual(before);
    expect(draws(a.fork('a').fork('b'), 50)).not.toEqual(draws(a.fork('ab'), 50));
  });

  it('forks uncorrelated streams for similar labels', () => {
    const root = new Rng(11);
    const x = Float64Array.from(
      { length: 20_000 },
      (() => {
        const r = root.fork('channel/1');
        return () => r.uniform();
      })(),
    );
    const y = Float64Array.from(
      { length: 20_000 },
      (() => {
        const r = root.fork('channel/2');
        return () => r.uniform();
      })(),
    );
    const p = Float64Array.from(
      { length: 20_000 },
      (() => {
        const r = new Rng(11);
        return () => r.uniform();
      })(),
    );
    // SD of a null correlation is 1/sqrt(20000) = 0.007
    expect(Math.abs(pearson(x, y))).toBeLessThan(0.03);
    expect(Math.abs(pearson(x, p))).toBeLessThan(0.03);
  });

  it('rejects seeds that are not 32-bit unsigned integers', () => {
    for (const bad of [-1, 1.5, 2 ** 32, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new Rng(bad)).toThrow(InvalidOptionError);
    }
    expect(() => new Rng(0)).not.toThrow();
    expect(() => new Rng(0xffffffff)).not.toThrow();
  });
});

describe('RngBank', () => {
  it('continues each source stream exactly', () => {
    const root = new Rng(12);
    const bank = new RngBank([root.fork('a'), root.fork('b'), root.fork('c')]);
    const a = root.fork('a');
    const c = root.fork('c');
    for (let i = 0; i < 100; i++) {
      expect(bank.uint32(0)).toBe(a.uint32());
      expect(bank.uint32(2)).toBe(c.uint32());
    }
    expect(bank.size).toBe(3);
  });
});
