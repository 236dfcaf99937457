import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../errors.js';
import type { RecordedSession } from '../types.js';
import { LayoutError } from './errors.js';
import { detectLayout, sessionFromMat, sessionToMatVariables } from './layouts.js';
import type { MatFile, MatNumeric, MatValue } from './mat/mat-value.js';

/** A MATLAB matrix from row-major rows (stored column-major, as MATLAB does). */
function mat(rows: number[][], cls: MatNumeric['class'] = 'double'): MatNumeric {
  const r = rows.length;
  const c = rows[0]?.length ?? 0;
  const real = cls === 'uint8' ? new Uint8Array(r * c) : new Float64Array(r * c);
  rows.forEach((row, i) => {
    row.forEach((v, j) => {
      real[i + j * r] = v;
    });
  });
  return { type: 'numeric', class: cls, dims: [r, c], real };
}
const str = (s: string): MatValue => ({
  type: 'char',
  dims: [1, s.length],
  data: Uint16Array.from(s, (ch) => ch.charCodeAt(0)),
});
const charMatrix = (rows: string[]): MatValue => {
  const n = rows.length;
  const w = rows[0]!.length;
  const data = new Uint16Array(n * w);
  rows.forEach((s, i) => {
    [...s].forEach((ch, j) => {
      data[i + j * n] = ch.charCodeAt(0);
    });
  });
  return { type: 'char', dims: [n, w], data };
};
const file = (vars: Record<string, MatValue>): MatFile => ({
  format: 'mat5',
  header: '',
  variables: new Map(Object.entries(vars)),
});

describe('matrices layout', () => {
  const f = file({
    X: mat([
      [1.5, 2, 0.1, 0.2],
      [1.6, 2.1, 0.3, 0.4],
      [1.7, 2.2, 0.5, 0.6],
    ]),
    Y: mat(
      [
        [1, 0, 2, 0, 0],
        [0, 3, 0, 1, 0],
        [2, 0, 0, 0, 4],
      ],
      'uint8',
    ),
  });
  it('finds the counts (integer, wider) and kinematics by their shapes, not their names', () => {
    expect(detectLayout(f)).toEqual({ layout: 'matrices', variables: ['Y', 'X'] });
    const r = sessionFromMat(f);
    expect(r.session.metadata.channels).toBe(5);
    expect(Array.from(r.session.counts.subarray(5, 10))).toEqual([0, 3, 0, 1, 0]);
    expect(Array.from(r.session.kinematics.subarray(4, 8))).toEqual([1.6, 2.1, 0.3, 0.4]);
    expect(r.session.metadata.kinematicNames).toEqual(['pos_x', 'pos_y', 'vel_x', 'vel_y']);
    expect(r.assumptions.join('\n')).toMatch(/assumed 50 ms/);
  });
  it('takes the bin width, names and variables from options', () => {
    const r = sessionFromMat(f, {
      binWidthUs: 20_000,
      kinematicNames: ['a', 'b', 'c', 'd'],
      countsVariable: 'Y',
      kinematicsVariable: 'X',
    });
    expect(r.session.metadata.binWidthUs).toBe(20_000);
    expect(Array.from(r.session.startUs)).toEqual([0, 20_000, 40_000]);
    expect(r.session.metadata.kinematicNames).toEqual(['a', 'b', 'c', 'd']);
    expect(() => sessionFromMat(f, { kinematicNames: ['a'] })).toThrow(InvalidOptionError);
    expect(() => sessionFromMat(f, { countsVariable: 'Z', kinematicsVariable: 'X' })).toThrow(
      /no variable 'Z'/,
    );
  });
  it('rejects matrices whose rows disagree', () => {
    const g = file({ Y: mat([[1, 2, 3]], 'uint8'), X: mat([[1], [2]]) });
    expect(() => sessionFromMat(g, { countsVariable: 'Y', kinematicsVariable: 'X' })).toThrow(LayoutError);
  });
});

describe('layout detection', () => {
  it('names what it found when nothing fits', () => {
    const f = file({ a: mat([[1]]), note: str('hello') });
    expect(() => detectLayout(f, 'x.mat')).toThrow(LayoutError);
    expect(() => sessionFromMat(f, {}, 'x.mat')).toThrow(/found a \(numeric 1x1\), note \(char 1x5\)/);
  });
  it('refuses a forced layout that is not there', () => {
    const f = file({ Y: mat([[1, 2]], 'uint8'), X: mat([[0.5]]) });
    expect(() => sessionFromMat(f, { layout: 'trial-data' })).toThrow(/trial-data/);
    expect(() => sessionFromMat(f, { layout: 'binned-data' })).toThrow(/spikeratedata/);
  });
});

describe('binned-data layout', () => {
  const binned: MatValue = {
    type: 'struct',
    dims: [1, 1],
    fields: ['timeframe', 'spikeratedata', 'spikeguide', 'cursorposbin', 'velocbin'],
    elements: [
      {
        timeframe: mat([[1.0], [1.05], [1.1]]),
        spikeratedata: mat([
          [20, 0],
          [40, 60],
          [0, 20],
        ]),
        spikeguide: charMatrix(['ee01u1', 'ee02u0']),
        cursorposbin: mat([
          [0.5, -1],
          [0.6, -1.1],
          [0.7, -1.2],
        ]),
        velocbin: mat([
          [1, 2, 2.2],
          [1, 2, 2.2],
          [1, 2, 2.2],
        ]),
      },
    ],
  };
  it('turns rates into counts with the bin width from timeframe, whatever the variable is called', () => {
    const r = sessionFromMat(file({ anything: binned }));
    expect(r.layout).toBe('binned-data');
    const s = r.session;
    expect(s.metadata.binWidthUs).toBe(50_000);
    expect(Array.from(s.counts)).toEqual([1, 0, 2, 3, 0, 1]);
    expect(s.metadata.channelLabels).toEqual(['ee01u1', 'ee02u0']);
    expect(s.metadata.kinematicNames).toEqual(['pos_x', 'pos_y', 'vel_x', 'vel_y', 'speed']);
    expect(Array.from(s.startUs)).toEqual([1_000_000, 1_050_000, 1_100_000]);
  });
});

describe('trial-data layout', () => {
  const trial = (n: number, offset: number): Record<string, MatValue> => ({
    M1_spikes: mat(Array.from({ length: n }, (_, i) => [i + offset, 1, 0])),
    M1_unit_guide: mat([
      [1, 1],
      [1, 2],
      [3, 1],
    ]),
    pos: mat(Array.from({ length: n }, (_, i) => [i, -i])),
    vel: mat(Array.from({ length: n }, () => [0.5, 0.25])),
    bin_size: mat([[0.05]]),
    idx_go_cue: mat([[2]]),
    idx_trial_end: mat([[Number.NaN]]),
  });
  const td: MatValue = {
    type: 'struct',
    dims: [1, 2],
    fields: Object.keys(trial(1, 0)),
    elements: [trial(3, 0), trial(4, 10)],
  };
  it('joins trials with a segment break and a trial marker at each join, and keeps events as markers', () => {
    const r = sessionFromMat(file({ td }));
    expect(r.layout).toBe('trial-data');
    expect(r.trials).toBe(2);
    const s = r.session;
    expect(s.bins).toBe(7);
    expect(s.segmentStarts).toEqual([0, 3]);
    expect(s.markers).toEqual([
      { kind: 'marker', bin: 0, label: 'trial', break: true },
      { kind: 'marker', bin: 1, label: 'go_cue', break: false },
      { kind: 'marker', bin: 3, label: 'trial', break: true },
      { kind: 'marker', bin: 4, label: 'go_cue', break: false },
    ]);
    expect(s.metadata.channelLabels).toEqual(['elec1u1', 'elec1u2', 'elec3u1']);
    expect(s.metadata.kinematicNames).toEqual(['pos_x', 'pos_y', 'vel_x', 'vel_y']);
    expect(Array.from(s.counts.subarray(9, 12))).toEqual([10, 1, 0]);
    expect(() => sessionFromMat(file({ td }), { array: 'PMd' })).toThrow(/no PMd_spikes/);
  });
});

describe("the SDK's own MAT layout", () => {
  it('keeps a whole session exactly', () => {
    const s: RecordedSession = {
      metadata: {
        channels: 2,
        channelLabels: ['a', 'b '],
        binWidthUs: 20_000,
        kinematicNames: ['vel_x', 'vel_y'],
        source: { k: 1 },
      },
      bins: 3,
      counts: Float32Array.from([1, 2, 0.5, 0, 3, 4]),
      kinematics: Float64Array.from([0.1, -0, 1e-300, 2, 3, Number.NaN]),
      startUs: Float64Array.from([0, 20_000, 100_000]),
      segmentStarts: [0, 2],
      markers: [{ kind: 'marker', bin: 2, label: 'trial', break: true }],
    };
    const back = sessionFromMat({ format: 'mat5', header: '', variables: sessionToMatVariables(s) }).session;
    expect(back.metadata).toEqual(s.metadata);
    expect(Array.from(back.counts)).toEqual(Array.from(s.counts));
    Array.from(s.kinematics).forEach((v, i) => {
      expect(Object.is(back.kinematics[i], v)).toBe(true);
    });
    expect(Array.from(back.startUs)).toEqual(Array.from(s.startUs));
    expect(back.segmentStarts).toEqual(s.segmentStarts);
    expect(back.markers).toEqual(s.markers);
  });
});
