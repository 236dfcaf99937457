/**
 * The reader on the real recordings in ../shared/data (MATLAB-written level-5 files, compressed, struct
 * arrays), checked against facts read independently with scipy.io.loadmat (../shared/data/README.md).
 * Read times are printed, not asserted.
 */
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  charRows,
  type MatChar,
  type MatFile,
  type MatNumeric,
  type MatStruct,
  type MatValue,
  numberAt,
  structField,
} from './mat-value.js';
import { readMatFile } from './mat5-reader.js';

const DATA = fileURLToPath(new URL('../../../../../../shared/data/', import.meta.url));
const HAVE_DATA = existsSync(`${DATA}README.md`);
if (!HAVE_DATA)
  console.warn(`skipping the real-file MAT tests: ${DATA} not found (the shared recordings folder)`);

function timedRead(rel: string): MatFile {
  const t0 = performance.now();
  const file = readMatFile(`${DATA}${rel}`);
  console.log(`read ${rel} in ${(performance.now() - t0).toFixed(1)} ms`);
  return file;
}

const sum = (v: MatNumeric): number => {
  let s = 0;
  for (let i = 0; i < v.real.length; i++) s += numberAt(v, i);
  return s;
};
/** Element (r, c), 0-based, of a column-major 2-D array. */
const at = (v: MatNumeric, r: number, c: number): number => numberAt(v, r + c * v.dims[0]!);
const numeric = (v: MatValue | undefined): MatNumeric => {
  expect(v?.type).toBe('numeric');
  return v as MatNumeric;
};

/** The struct holding binned data, found by its fields (its variable's name differs between files). */
function binnedData(file: MatFile): MatStruct {
  const found = [...file.variables.values()].find(
    (v): v is MatStruct =>
      v.type === 'struct' && v.fields.includes('spikeratedata') && v.fields.includes('spikeguide'),
  );
  expect(found, 'a struct with spikeratedata and spikeguide').toBeDefined();
  expect(found!.dims).toEqual([1, 1]);
  return found!;
}

describe.skipIf(!HAVE_DATA)('real recordings (../shared/data)', () => {
  it('contdata95.mat: Y (counts, stored as uint8) and X (double kinematics)', () => {
    const file = timedRead('contdata95/contdata95.mat');
    expect(file.format).toBe('mat5');
    expect(file.header).toMatch(/^MATLAB 5\.0 MAT-file/);
    expect([...file.variables.keys()].sort()).toEqual(['X', 'Y']);
    const Y = numeric(file.variables.get('Y'));
    // MATLAB class double, stored on disk as miUINT8 (scipy.io.loadmat reports the storage type, uint8;
    // MATLAB's class(Y), and this reader, say double).
    expect(Y.class).toBe('double');
    expect(Y.real).toBeInstanceOf(Float64Array);
    expect(Y.real.every((x) => Number.isInteger(x) && x >= 0 && x <= 255)).toBe(true);
    expect(Y.dims).toEqual([31413, 95]);
    expect(sum(Y)).toBe(3_813_312);
    expect([0, 1, 2, 3, 4].map((c) => at(Y, 0, c))).toEqual([3, 0, 0, 2, 0]);
    const X = numeric(file.variables.get('X'));
    expect(X.class).toBe('double');
    expect(X.dims).toEqual([31413, 4]);
    [2.34005595, -7.98074947, -1.46258316, -2.29316057].forEach((x, c) => {
      expect(Math.abs(at(X, 100, c) - x)).toBeLessThan(1e-8);
    });
    [-282389.04067994, -59695.62922564, 19678.35384794, 73812.32884847].forEach((s, c) => {
      let t = 0;
      for (let r = 0; r < 31413; r++) t += at(X, r, c);
      expect(Math.abs(t - s) / Math.abs(s)).toBeLessThan(1e-10);
    });
  });

  it('contdata95.mat: reading one variable only', () => {
    const file = readMatFile(`${DATA}contdata95/contdata95.mat`, { variables: ['Y'] });
    expect([...file.variables.keys()]).toEqual(['Y']);
  });

  it('center_out_data.mat: a 1x286 struct array of trials', () => {
    const file = timedRead('miller-center-out/center_out_data.mat');
    const td = file.variables.get('trial_data') as MatStruct;
    expect(td.type).toBe('struct');
    expect(td.dims).toEqual([1, 286]);
    expect(td.elements).toHaveLength(286);
    expect(td.fields).toEqual(
      expect.arrayContaining(['M1_spikes', 'M1_unit_guide', 'target_direction', 'pos', 'vel']),
    );
    const spikes1 = numeric(structField(td, 'M1_spikes', 0));
    expect(spikes1.dims).toEqual([91, 84]);
    let spikes = 0;
    let bins = 0;
    for (let i = 0; i < 286; i++) {
      const s = numeric(structField(td, 'M1_spikes', i));
      expect(s.dims[1]).toBe(84);
      bins += s.dims[0]!;
      spikes += sum(s);
    }
    expect(spikes).toBe(1_073_553);
    expect(bins).toBe(22_263);
    expect(numberAt(numeric(structField(td, 'target_direction', 0)), 0)).toBe(Math.PI / 4);
    const guide = numeric(structField(td, 'M1_unit_guide', 0));
    expect(guide.dims).toEqual([84, 2]);
    expect([0, 1, 2].map((r) => [at(guide, r, 0), at(guide, r, 1)])).toEqual([
      [1, 1],
      [1, 2],
      [3, 1],
    ]);
  });

  it.each([
    [
      'miller-nick-co/Nick_CO_001-01-binned.mat',
      11880,
      97,
      22_897_320,
      'ee01u1',
      [1.0, 1.05],
      [0.48026797, -33.89168],
    ],
    [
      'miller-nick-co/Nick_CO_002-01-binned.mat',
      12880,
      95,
      23_193_720,
      undefined,
      undefined,
      [4.177471, -42.057777],
    ],
    ['miller-spike-wf/Spike_07-18-12_WF_001.mat', 24000, 96, 29_011_840, 'ee01u0', [0.0, 0.05], undefined],
    ['miller-spike-wf/Spike_07-19-12_WF_001.mat', 24000, 96, 62_141_120, undefined, undefined, undefined],
  ] as const)('%s: binnedData', (rel, bins, units, total, guide0, time01, cursor0) => {
    const b = binnedData(timedRead(rel));
    const rate = numeric(structField(b, 'spikeratedata'));
    expect(rate.dims).toEqual([bins, units]);
    expect(sum(rate)).toBeCloseTo(total, 3);
    const guide = structField(b, 'spikeguide') as MatChar;
    expect(guide.type).toBe('char');
    expect(guide.dims[0]).toBe(units);
    if (guide0 !== undefined) expect(charRows(guide)[0]).toBe(guide0);
    const time = numeric(structField(b, 'timeframe'));
    expect(time.dims[0]).toBe(bins);
    if (time01 !== undefined) {
      expect(Math.abs(numberAt(time, 0) - time01[0])).toBeLessThan(1e-6);
      expect(Math.abs(numberAt(time, 1) - time01[1])).toBeLessThan(1e-6);
    }
    if (cursor0 !== undefined) {
      const cursor = numeric(structField(b, 'cursorposbin'));
      expect(cursor.dims).toEqual([bins, 2]);
      expect(Math.abs(at(cursor, 0, 0) - cursor0[0]) / Math.abs(cursor0[0])).toBeLessThan(1e-6);
      expect(Math.abs(at(cursor, 0, 1) - cursor0[1]) / Math.abs(cursor0[1])).toBeLessThan(1e-6);
    }
  });

  it('all ten Spike_* days read, each with 96 channels of binned data', () => {
    const files = readdirSync(`${DATA}miller-spike-wf`).filter((f) => /^Spike_.*\.mat$/.test(f));
    expect(files).toHaveLength(10);
    for (const f of files.sort()) {
      const b = binnedData(timedRead(`miller-spike-wf/${f}`));
      const rate = numeric(structField(b, 'spikeratedata'));
      expect(rate.dims[1]).toBe(96);
      expect(numeric(structField(b, 'cursorposbin')).dims).toEqual([rate.dims[0], 2]);
      expect((structField(b, 'spikeguide') as MatChar).dims).toEqual([96, 6]);
    }
  });
});
