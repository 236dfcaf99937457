import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../errors.js';
import type { RecordedSession, SessionMarker } from '../../types.js';
import { NwbFormatError } from './errors.js';
import { type Dataset, type Group, type H5File, type H5Wasm, loadH5wasm } from './h5.js';
import { writeMat73 } from './mat73.js';
import { groupKinematics } from './nwb-common.js';
import { isNwbFile, readNwb } from './nwb-reader.js';
import { objectUuid, writeNwb } from './nwb-writer.js';

let dir: string;
let h5: H5Wasm;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'edge-bci-nwb-'));
  h5 = await loadH5wasm();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const UUID4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const AWKWARD = [
  0.1,
  1e-300,
  -0,
  5e-324,
  -1.7976931348623157e308,
  Number.NaN,
  1 / 3,
  123456.789,
  2 ** 53 + 2,
  -2.5e-8,
];

/** Three segments with gaps between them, fractional start times, integer counts and awkward float64 kinematics. */
function segmentedSession(): RecordedSession {
  const C = 4;
  const names = ['pos_x', 'pos_y', 'vel_x', 'vel_y', 'force'];
  const K = names.length;
  const B = 60;
  const w = 20_000;
  const startUs = new Float64Array(B);
  for (let b = 0; b < B; b++) {
    if (b < 20) startUs[b] = 1_000_000 + b * w;
    else if (b < 40) startUs[b] = 2_000_000.5 + (b - 20) * w;
    else startUs[b] = 5_000_000 + (b - 40) * w;
  }
  const counts = new Float32Array(B * C);
  for (let i = 0; i < counts.length; i++) counts[i] = (i * 7 + (i >> 3)) % 5;
  const kinematics = new Float64Array(B * K);
  for (let i = 0; i < kinematics.length; i++) kinematics[i] = AWKWARD[i % AWKWARD.length]! * (1 + (i % 3));
  kinematics[2] = -0;
  const markers: SessionMarker[] = [
    { kind: 'marker', bin: 0, label: 'trial 1', break: true },
    { kind: 'marker', bin: 20, label: 'trial 2', break: true },
    { kind: 'marker', bin: 40, label: 'trial 3 — ünïcode', break: true },
    { kind: 'marker', bin: 45, label: 'go', break: false },
    { kind: 'marker', bin: 60, label: 'end', break: false },
  ];
  return {
    metadata: {
      channels: C,
      channelLabels: ['elec1', 'elec2', 'ee03u1', 'ch 4'],
      binWidthUs: w,
      kinematicNames: names,
      source: { generator: 'test', seed: 3, nested: { ok: true } },
      createdAt: '2024-05-01T12:00:00.000Z',
    },
    bins: B,
    counts,
    kinematics,
    startUs,
    segmentStarts: [0, 20, 40],
    markers,
  };
}

/** One continuous segment on a grid of the bin width, positions only (for the Units path). */
function contiguousSession(): RecordedSession {
  const C = 3;
  const B = 25;
  const w = 25_000;
  const counts = new Float32Array(B * C);
  for (let i = 0; i < counts.length; i++) counts[i] = (i * 5 + 1) % 4;
  const kinematics = new Float64Array(B * 2);
  for (let b = 0; b < B; b++) {
    kinematics[b * 2] = Math.sin(b / 3) * 0.1;
    kinematics[b * 2 + 1] = b * 0.01 - 0.05;
  }
  return {
    metadata: {
      channels: C,
      channelLabels: ['a', 'b', 'c'],
      binWidthUs: w,
      kinematicNames: ['pos_x', 'pos_y'],
    },
    bins: B,
    counts,
    kinematics,
    startUs: Float64Array.from({ length: B }, (_, b) => 500_000 + b * w),
    segmentStarts: [0],
    markers: [],
  };
}

function expectSameFloats(actual: ArrayLike<number>, expected: ArrayLike<number>): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (!Object.is(actual[i], expected[i])) {
      throw new Error(
        `value ${i}: expected ${Object.is(expected[i], -0) ? '-0' : expected[i]}, got ${Object.is(actual[i], -0) ? '-0' : actual[i]}`,
      );
    }
  }
}

function withFile<T>(path: string, fn: (f: H5File) => T): T {
  const f = new h5.File(path, 'r');
  try {
    return fn(f);
  } finally {
    f.close();
  }
}

describe('NWB writer and reader (edge-bci layout)', () => {
  const session = segmentedSession();
  let path: string;
  beforeAll(async () => {
    path = join(dir, 'session.nwb');
    const r = await writeNwb(path, session, { fileCreateDate: '2024-05-02T08:00:00.000Z' });
    expect(r.unitsWritten).toBe(true);
    expect(r.behaviorSeries).toEqual(['Position/pos', 'vel', 'force']);
  });

  it('reads the session back exactly', async () => {
    const r = await readNwb(path);
    expect(r.layout).toBe('edge-bci-binned');
    expect(r.nwbVersion).toBe('2.7.0');
    const s = r.session;
    expect(s.bins).toBe(session.bins);
    expect(s.metadata).toEqual(session.metadata);
    expectSameFloats(s.counts, session.counts);
    expect(s.counts).toBeInstanceOf(Float32Array);
    expectSameFloats(s.kinematics, session.kinematics);
    expect(s.kinematics).toBeInstanceOf(Float64Array);
    expectSameFloats(s.startUs, session.startUs);
    expect(s.segmentStarts).toEqual([0, 20, 40]);
    expect(s.markers).toEqual(session.markers);
  });

  it('has the required NWB root attributes, datasets and groups', () => {
    withFile(path, (f) => {
      expect(f.attrs.neurodata_type!.value).toBe('NWBFile');
      expect(f.attrs.namespace!.value).toBe('core');
      expect(f.attrs.nwb_version!.value).toBe('2.7.0');
      expect(f.attrs.object_id!.value).toMatch(UUID4);
      const text = (name: string) => (f.get(name) as Dataset).value;
      expect(text('file_create_date')).toEqual(['2024-05-02T08:00:00.000Z']);
      expect((f.get('file_create_date') as Dataset).shape).toEqual([1]);
      expect(text('identifier')).toMatch(/^edge-bci-[0-9a-f]{32}$/);
      expect(text('session_description')).toBe('edge-bci recorded session');
      expect(text('session_start_time')).toBe('2024-05-01T12:00:00.000Z');
      expect(text('timestamps_reference_time')).toBe('2024-05-01T12:00:00.000Z');
      for (const g of [
        'acquisition',
        'analysis',
        'processing',
        'stimulus',
        'stimulus/presentation',
        'stimulus/templates',
        'general',
      ]) {
        expect(f.get(g), g).toBeInstanceOf(h5.Group);
      }
    });
  });

  it('gives every typed object a namespace and a unique UUID v4 object_id, and tables their required parts', () => {
    withFile(path, (f) => {
      const ids = new Set<string>();
      let typed = 0;
      for (const p of f.paths()) {
        const obj = f.get(p) as Group | Dataset;
        const attrs = obj.attrs;
        if (!('neurodata_type' in attrs)) continue;
        typed++;
        const type = attrs.neurodata_type!.value as string;
        expect(['core', 'hdmf-common'], p).toContain(attrs.namespace!.value);
        const id = attrs.object_id!.value as string;
        expect(id, p).toMatch(UUID4);
        expect(ids.has(id), `${p} repeats an object_id`).toBe(false);
        ids.add(id);
        if (['DynamicTable', 'Units', 'TimeIntervals'].includes(type)) {
          const g = obj as Group;
          expect(typeof attrs.description!.value, p).toBe('string');
          const colnames = attrs.colnames!.value as string[];
          for (const c of colnames)
            expect((g.get(c) as Dataset).attrs.neurodata_type!.value, `${p}/${c}`).toBe('VectorData');
          const rows = (g.get('id') as Dataset).shape![0];
          for (const c of colnames) {
            const index = g.get(`${c}_index`) as Dataset | null;
            expect((index ?? (g.get(c) as Dataset)).shape![0], `${p}/${c} rows`).toBe(rows);
          }
        }
        if (type === 'VectorData' || type === 'VectorIndex')
          expect(typeof attrs.description!.value, p).toBe('string');
        if (type === 'TimeSeries' || type === 'SpatialSeries') {
          expect(typeof (obj as Group).get('data')).toBe('object');
          expect(((obj as Group).get('data') as Dataset).attrs.unit).toBeDefined();
          expect(((obj as Group).get('timestamps') as Dataset).attrs.unit!.value).toBe('seconds');
        }
      }
      expect(typed).toBeGreaterThan(30);
      const index = f.get('units/spike_times_index') as Dataset;
      const target = index.dereference((index.attrs.target!.value as never[])[0]!) as unknown as Dataset;
      expect(target.path).toBe('/units/spike_times');
      expect((f.get('processing/behavior/Position/pos') as Group).attrs.neurodata_type!.value).toBe(
        'SpatialSeries',
      );
      expect((f.get('processing/edge_bci/binned_spike_counts/data') as Dataset).shape).toEqual([60, 4]);
      expect((f.get('processing/edge_bci/binned_spike_counts/data') as Dataset).attrs.unit!.value).toBe(
        'counts',
      );
    });
  });

  it('stores spike times in the Units table that re-bin to the exact counts', () => {
    const { times, ends, labels } = withFile(path, (f) => ({
      times: (f.get('units/spike_times') as Dataset).value as Float64Array,
      ends: Array.from((f.get('units/spike_times_index') as Dataset).value as Uint32Array),
      labels: (f.get('units/channel_label') as Dataset).value as string[],
    }));
    expect(labels).toEqual(session.metadata.channelLabels);
    const C = session.metadata.channels;
    const w = session.metadata.binWidthUs;
    const rebinned = new Float32Array(session.bins * C);
    let start = 0;
    for (let u = 0; u < C; u++) {
      for (let i = start; i < ends[u]!; i++) {
        const t = times[i]! * 1e6;
        const b = session.startUs.findIndex((s) => s <= t && t < s + w);
        expect(b, `spike ${t} us of unit ${u} falls in no bin`).toBeGreaterThanOrEqual(0);
        rebinned[b * C + u]! += 1;
      }
      start = ends[u]!;
    }
    expectSameFloats(rebinned, session.counts);
  });

  it('stores behaviour as standard SpatialSeries and TimeSeries, with float64 values intact', () => {
    withFile(path, (f) => {
      const pos = (f.get('processing/behavior/Position/pos/data') as Dataset).value as Float64Array;
      const vel = (f.get('processing/behavior/vel/data') as Dataset).value as Float64Array;
      const force = f.get('processing/behavior/force/data') as Dataset;
      expect(force.shape).toEqual([60]);
      const K = 5;
      for (let b = 0; b < 60; b++) {
        expect(Object.is(pos[b * 2], session.kinematics[b * K])).toBe(true);
        expect(Object.is(pos[b * 2 + 1], session.kinematics[b * K + 1])).toBe(true);
        expect(Object.is(vel[b * 2 + 1], session.kinematics[b * K + 3])).toBe(true);
        expect(Object.is((force.value as Float64Array)[b], session.kinematics[b * K + 4])).toBe(true);
      }
    });
  });

  it('derives ids deterministically from the content, and from the identifier when given', async () => {
    const again = join(dir, 'again.nwb');
    await writeNwb(again, session, { fileCreateDate: '2030-01-01T00:00:00Z' });
    const ids = (p: string) =>
      withFile(p, (f) => [f.attrs.object_id!.value, (f.get('identifier') as Dataset).value]);
    expect(ids(again)).toEqual(ids(path));
    const named = join(dir, 'named.nwb');
    await writeNwb(named, session, {
      identifier: 'lab-42-session-7',
      sessionDescription: 'named',
      sessionStartTime: '2024-01-01T09:30:00+01:00',
    });
    const [rootId, identifier] = ids(named);
    expect(identifier).toBe('lab-42-session-7');
    expect(rootId).toBe(objectUuid('lab-42-session-7', '/'));
    expect(rootId).not.toBe(ids(path)[0]);
    const r = await readNwb(named);
    expect(r.report.sessionDescription).toBe('named');
    expect(r.report.sessionStartTime).toBe('2024-01-01T09:30:00+01:00');
  });

  it('reads its own file through the Units path too (contiguous session)', async () => {
    const s = contiguousSession();
    const p = join(dir, 'contiguous.nwb');
    await writeNwb(p, s);
    const r = await readNwb(p, { layout: 'units', binWidthUs: s.metadata.binWidthUs });
    expect(r.layout).toBe('units');
    expect(r.session.bins).toBe(s.bins);
    expectSameFloats(r.session.startUs, s.startUs);
    expectSameFloats(r.session.counts, s.counts);
    expect(r.session.metadata.channelLabels).toEqual(['a', 'b', 'c']);
    expect(r.session.metadata.kinematicNames).toEqual(['pos_x', 'pos_y', 'vel_x', 'vel_y']);
    for (let b = 0; b < s.bins; b++) {
      expect(r.session.kinematics[b * 4]).toBe(s.kinematics[b * 2]);
      expect(r.session.kinematics[b * 4 + 1]).toBe(s.kinematics[b * 2 + 1]);
    }
    expect(r.session.kinematics[5 * 4 + 3]).toBeCloseTo(0.01 / 0.025, 12); // vel_y = Δpos_y / width
    expect(r.report.positionSeries).toBe('/processing/behavior/Position/pos');
  });

  it('skips the Units table when counts are not integers, and says why', async () => {
    const s = contiguousSession();
    const counts = Float32Array.from(s.counts);
    counts[7] = 0.5;
    const r = await writeNwb(join(dir, 'rates.nwb'), { ...s, counts });
    expect(r.unitsWritten).toBe(false);
    expect(r.unitsSkippedReason).toMatch(/not a non-negative integer/);
    const back = await readNwb(join(dir, 'rates.nwb'));
    expectSameFloats(back.session.counts, counts);
  });

  it('writes and reads an empty session', async () => {
    const s: RecordedSession = {
      metadata: { channels: 2, channelLabels: ['x', 'y'], binWidthUs: 1000, kinematicNames: [] },
      bins: 0,
      counts: new Float32Array(0),
      kinematics: new Float64Array(0),
      startUs: new Float64Array(0),
      segmentStarts: [],
      markers: [],
    };
    const p = join(dir, 'empty.nwb');
    await writeNwb(p, s);
    const r = await readNwb(p);
    expect(r.session).toEqual(s);
  });

  it('refuses an inconsistent session', async () => {
    const s = contiguousSession();
    await expect(
      writeNwb(join(dir, 'bad.nwb'), { ...s, counts: new Float32Array(3) }),
    ).rejects.toBeInstanceOf(InvalidOptionError);
    await expect(writeNwb(join(dir, 'bad.nwb'), { ...s, segmentStarts: [0, 30] })).rejects.toBeInstanceOf(
      InvalidOptionError,
    );
    await expect(writeNwb(join(dir, 'bad.nwb'), s, { sessionStartTime: 'yesterday' })).rejects.toBeInstanceOf(
      InvalidOptionError,
    );
  });
});

describe('kinematic grouping', () => {
  it('puts position groups in SpatialSeries and the rest in TimeSeries', () => {
    expect(
      groupKinematics(['pos_x', 'pos_y', 'vel_x', 'vel_y', 'hand_position_z', 'force', 'force_x']),
    ).toEqual([
      { series: 'Position/pos', kind: 'position', columns: [0, 1] },
      { series: 'vel', kind: 'timeseries', columns: [2, 3] },
      { series: 'Position/hand_position', kind: 'position', columns: [4] },
      { series: 'force', kind: 'timeseries', columns: [5, 6] },
    ]);
  });
});

// ---------------------------------------------------------------------------------------------------------
// An NWB file from elsewhere: built here with h5wasm, without the edge_bci module.

interface ForeignOptions {
  readonly spikeTimes?: Float64Array;
  readonly index?: Uint32Array;
  readonly withPosition?: boolean;
}

function typed(obj: Group | Dataset, ns: string, type: string, id: string): void {
  obj.create_attribute('namespace', ns);
  obj.create_attribute('neurodata_type', type);
  obj.create_attribute('object_id', id);
}

let uuidCounter = 0;
const uuid = () => `00000000-0000-4000-8000-${(++uuidCounter).toString(16).padStart(12, '0')}`;

function writeForeign(path: string, o: ForeignOptions = {}): void {
  const f = new h5.File(path, 'w');
  try {
    typed(f, 'core', 'NWBFile', uuid());
    f.create_attribute('nwb_version', '2.6.0');
    f.create_dataset({ name: 'file_create_date', data: ['2024-01-01T00:00:00Z'], shape: [1], dtype: 'S' });
    f.create_dataset({ name: 'identifier', data: 'foreign-1', dtype: 'S' });
    f.create_dataset({ name: 'session_description', data: 'made by another tool', dtype: 'S' });
    f.create_dataset({ name: 'session_start_time', data: '2024-01-01T00:00:00Z', dtype: 'S' });
    f.create_dataset({ name: 'timestamps_reference_time', data: '2024-01-01T00:00:00Z', dtype: 'S' });
    for (const g of ['acquisition', 'analysis', 'processing', 'stimulus', 'general']) f.create_group(g);
    (f.get('stimulus') as Group).create_group('presentation');
    (f.get('stimulus') as Group).create_group('templates');
    // electrodes table with ids 10 and 11
    const ee = (f.get('general') as Group).create_group('extracellular_ephys');
    const el = ee.create_group('electrodes');
    typed(el, 'hdmf-common', 'DynamicTable', uuid());
    el.create_attribute('colnames', ['location'], [1], 'S');
    el.create_attribute('description', 'electrodes');
    typed(
      el.create_dataset({ name: 'id', data: Int32Array.of(10, 11) }),
      'hdmf-common',
      'ElementIdentifiers',
      uuid(),
    );
    el.create_dataset({ name: 'location', data: ['M1', 'M1'], shape: [2], dtype: 'S' });
    // units: unit 0 on electrode row 1 (id 11), unit 1 on electrode row 0 (id 10)
    const units = f.create_group('units');
    typed(units, 'core', 'Units', uuid());
    units.create_attribute('colnames', ['spike_times', 'electrodes'], [2], 'S');
    units.create_attribute('description', 'sorted units');
    typed(
      units.create_dataset({ name: 'id', data: Int32Array.of(0, 1) }),
      'hdmf-common',
      'ElementIdentifiers',
      uuid(),
    );
    const st = units.create_dataset({
      name: 'spike_times',
      data: o.spikeTimes ?? Float64Array.of(0.005, 0.012, 0.031, 0.095, 0.041, 0.042, 0.043),
    });
    typed(st, 'hdmf-common', 'VectorData', uuid());
    st.create_attribute('description', 'spike times');
    const sti = units.create_dataset({ name: 'spike_times_index', data: o.index ?? Uint32Array.of(4, 7) });
    typed(sti, 'hdmf-common', 'VectorIndex', uuid());
    sti.create_attribute('target', st.create_reference());
    const ue = units.create_dataset({ name: 'electrodes', data: Int32Array.of(1, 0) });
    typed(ue, 'hdmf-common', 'DynamicTableRegion', uuid());
    ue.create_attribute('table', el.create_reference());
    ue.create_attribute('description', 'electrode of each unit');
    typed(
      units.create_dataset({ name: 'electrodes_index', data: Uint32Array.of(1, 2) }),
      'hdmf-common',
      'VectorIndex',
      uuid(),
    );
    if (o.withPosition !== false) {
      // position at 100 Hz over 0..0.09 s: x = 10 t, y = -t
      const behavior = (f.get('processing') as Group).create_group('behavior');
      typed(behavior, 'core', 'ProcessingModule', uuid());
      behavior.create_attribute('description', 'behaviour');
      const position = behavior.create_group('Position');
      typed(position, 'core', 'Position', uuid());
      const ss = position.create_group('SpatialSeries');
      typed(ss, 'core', 'SpatialSeries', uuid());
      const t = Float64Array.from({ length: 10 }, (_, i) => i / 100);
      const xy = new Float64Array(20);
      t.forEach((ti, i) => {
        xy[2 * i] = 10 * ti;
        xy[2 * i + 1] = -ti;
      });
      ss.create_dataset({ name: 'data', data: xy, shape: [10, 2] }).create_attribute('unit', 'meters');
      ss.create_dataset({ name: 'timestamps', data: t });
      // trials at 0 s and 0.05 s
      const intervals = f.create_group('intervals');
      const trials = intervals.create_group('trials');
      typed(trials, 'core', 'TimeIntervals', uuid());
      trials.create_attribute('colnames', ['start_time', 'stop_time'], [2], 'S');
      trials.create_attribute('description', 'trials');
      trials.create_dataset({ name: 'id', data: Int32Array.of(1, 2) });
      trials.create_dataset({ name: 'start_time', data: Float64Array.of(0, 0.05) });
      trials.create_dataset({ name: 'stop_time', data: Float64Array.of(0.05, 0.1) });
    }
  } finally {
    f.close();
  }
}

describe('NWB reader on a file from elsewhere (Units + Position)', () => {
  let path: string;
  beforeAll(() => {
    path = join(dir, 'foreign.nwb');
    writeForeign(path);
  });

  it('bins the Units table at the given width and labels units by electrode', async () => {
    const r = await readNwb(path, { binWidthUs: 20_000 });
    expect(r.layout).toBe('units');
    expect(r.nwbVersion).toBe('2.6.0');
    const s = r.session;
    expect(s.bins).toBe(5);
    expectSameFloats(s.startUs, [0, 20_000, 40_000, 60_000, 80_000]);
    expect(s.metadata.channelLabels).toEqual(['elec11', 'elec10']);
    // unit 0: 5 ms, 12 ms → bin 0; 31 ms → bin 1; 95 ms → bin 4.  unit 1: 41, 42, 43 ms → bin 2
    expect(Array.from(s.counts)).toEqual([2, 0, 1, 0, 0, 3, 0, 0, 1, 0]);
    expect(r.report.spikes).toBe(7);
    expect(r.report.units).toBe(2);
    expect(s.segmentStarts).toEqual([0]);
    expect(s.markers).toEqual([
      { kind: 'marker', bin: 0, label: 'trial 1', break: false },
      { kind: 'marker', bin: 2, label: 'trial 2', break: false },
    ]);
  });

  it('averages position inside each bin and derives velocity from it', async () => {
    const r = await readNwb(path, { binWidthUs: 20_000 });
    const s = r.session;
    expect(s.metadata.kinematicNames).toEqual(['pos_x', 'pos_y', 'vel_x', 'vel_y']);
    expect(r.report.positionSeries).toBe('/processing/behavior/Position/SpatialSeries');
    expect(r.report.positionSamples).toBe(10);
    for (let b = 0; b < 5; b++) {
      // samples at 20b and 20b + 10 ms: mean time 20b + 5 ms
      const t = 0.02 * b + 0.005;
      expect(s.kinematics[b * 4]).toBeCloseTo(10 * t, 12);
      expect(s.kinematics[b * 4 + 1]).toBeCloseTo(-t, 12);
      expect(s.kinematics[b * 4 + 2]).toBeCloseTo(10, 9); // Δx / 0.02 s
      expect(s.kinematics[b * 4 + 3]).toBeCloseTo(-1, 9);
    }
    expect(r.assumptions.join(' ')).toMatch(/mean of the samples/);
  });

  it('requires binWidthUs for such a file', async () => {
    const err = await readNwb(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidOptionError);
    expect((err as InvalidOptionError).option).toBe('binWidthUs');
  });

  it('reports an inconsistent ragged index', async () => {
    const p = join(dir, 'ragged.nwb');
    writeForeign(p, { index: Uint32Array.of(4, 9) });
    const err = await readNwb(p, { binWidthUs: 20_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NwbFormatError);
    expect((err as NwbFormatError).reason).toMatch(/ragged index inconsistent/);
    writeForeign(p, { index: Uint32Array.of(5, 4) });
    await expect(readNwb(p, { binWidthUs: 20_000 })).rejects.toThrow(/ragged index inconsistent/);
  });

  it('reports NaN spike times', async () => {
    const p = join(dir, 'nan.nwb');
    writeForeign(p, { spikeTimes: Float64Array.of(0.005, Number.NaN, 0.031, 0.095, 0.041, 0.042, 0.043) });
    const err = await readNwb(p, { binWidthUs: 20_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NwbFormatError);
    expect((err as NwbFormatError).reason).toMatch(/NaN/);
  });

  it('reads a file without behaviour as counts only', async () => {
    const p = join(dir, 'nobehaviour.nwb');
    writeForeign(p, { withPosition: false });
    const r = await readNwb(p, { binWidthUs: 50_000 });
    expect(r.session.metadata.kinematicNames).toEqual([]);
    expect(r.session.bins).toBe(2);
    expect(Array.from(r.session.counts)).toEqual([3, 3, 1, 0]);
  });
});

describe('NWB detection', () => {
  it('tells NWB files from other HDF5 files and from non-HDF5 files', async () => {
    const nwb = join(dir, 'detect.nwb');
    await writeNwb(nwb, contiguousSession());
    const mat = join(dir, 'detect.mat');
    await writeMat73(mat, {
      x: { type: 'numeric', class: 'double', dims: [1, 1], real: Float64Array.of(1) },
    });
    expect(await isNwbFile(nwb)).toBe(true);
    expect(await isNwbFile(mat)).toBe(false);
    const err = await readNwb(mat).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NwbFormatError);
    expect((err as NwbFormatError).reason).toMatch(/no nwb_version/);
  });

  it('refuses an NWB file with neither Units nor edge-bci data', async () => {
    const p = join(dir, 'bare.nwb');
    const f = new h5.File(p, 'w');
    try {
      typed(f, 'core', 'NWBFile', uuid());
      f.create_attribute('nwb_version', '2.7.0');
    } finally {
      f.close();
    }
    await expect(readNwb(p, { binWidthUs: 1000 })).rejects.toThrow(
      /neither a Units table nor edge-bci binned data/,
    );
  });
});
