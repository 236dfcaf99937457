/**
 * Reads NWB 2.x files into a `RecordedSession`.
 *
 * - A file with the edge-bci layout (/processing/edge_bci/binned_spike_counts, see nwb-common.ts) is read
 *   exactly: counts, kinematics, bin start times, segments, markers, labels, bin width and metadata.
 * - Any other NWB file is read through its Units table: `spike_times` + `spike_times_index` give each unit's
 *   spike times, binned at `binWidthUs` (required then). Bins start at t0 = floor(first time / width) * width
 *   (times relative to the file's timestamps_reference_time, the span covering every spike and position
 *   sample) and a time t falls in bin floor((t - t0) / width). Labels come from a `channel_label` column,
 *   else from the electrodes the units reference ('elec<id>'), else the unit ids ('unit<id>').
 *   Behaviour comes from the first SpatialSeries in a Position container (processing/behavior first, then
 *   other processing modules, then acquisition; a bare SpatialSeries counts too): each bin gets the mean of
 *   the samples inside it; a bin without samples gets the linear interpolation at its centre (the first or
 *   last sample outside the sampled span). Samples with NaN are dropped. Columns are named pos_x, pos_y,
 *   pos_z, and velocity vel_* is the difference of binned position divided by the bin width in seconds
 *   (backward difference; the first bin takes the forward difference).
 *   Trials (/intervals/trials) become markers 'trial <id>' at their start bins (no continuity break).
 */
import { InvalidOptionError } from '../../errors.js';
import type { RecordedSession, SessionMarker, SessionMetadata } from '../../types.js';
import { NwbFormatError } from './errors.js';
import {
  attr,
  attrNumber,
  attrString,
  type Dataset,
  type Group,
  type H5File,
  type H5Wasm,
  hasHdf5Signature,
  isDataset,
  isGroup,
  readNumbers,
  readNumeric,
  readStrings,
  toFloat64,
  withHdf5Reader,
} from './h5.js';
import { BEHAVIOR_MODULE, COUNTS_SERIES, EDGE_MODULE, POSITION_CONTAINER } from './nwb-common.js';

export interface ReadNwbOptions {
  /** Bin width for files without the edge-bci layout (binning the Units table). Required for those. */
  readonly binWidthUs?: number;
  /** 'auto' (default) reads the edge-bci layout when present; 'units' always bins the Units table. */
  readonly layout?: 'auto' | 'units';
}

export interface NwbReadReport {
  readonly nwbVersion: string;
  readonly identifier: string | undefined;
  readonly sessionDescription: string | undefined;
  readonly sessionStartTime: string | undefined;
  /** Units in the Units table (0 when the file has none). */
  readonly units: number;
  /** Spike times binned (units layout) or found in the Units table (edge-bci layout). */
  readonly spikes: number;
  /** HDF5 path of the SpatialSeries behaviour came from (units layout). */
  readonly positionSeries: string | undefined;
  readonly positionSamples: number;
  /** Position samples dropped because they held NaN. */
  readonly positionSamplesDropped: number;
  /** Trials turned into markers. */
  readonly trials: number;
}

export interface ReadNwbResult {
  readonly session: RecordedSession;
  readonly layout: 'edge-bci-binned' | 'units';
  readonly nwbVersion: string;
  /** What the reader assumed where the file did not say (binning, resampling, label sources). */
  readonly assumptions: readonly string[];
  readonly report: NwbReadReport;
}

/** Largest bins x channels the Units path will allocate (a guard against a tiny bin width). */
const MAX_CELLS = 250_000_000;

class NwbReader {
  constructor(
    readonly h5: H5Wasm,
    readonly file: H5File,
    readonly path: string,
  ) {}

  fail(reason: string, object?: string): never {
    throw new NwbFormatError(this.path, reason, object);
  }

  group(path: string): Group | undefined {
    const g = this.file.get(path);
    return isGroup(this.h5, g) ? g : undefined;
  }

  dataset(path: string): Dataset | undefined {
    const d = this.file.get(path);
    return isDataset(this.h5, d) ? d : undefined;
  }

  need(path: string): Dataset {
    const d = this.dataset(path);
    if (d === undefined) this.fail('missing', path);
    return d;
  }

  text(path: string): string | undefined {
    const d = this.dataset(path);
    if (d === undefined) return undefined;
    try {
      return readStrings(d)[0];
    } catch {
      return undefined;
    }
  }

  numbers(path: string): Float64Array {
    const d = this.need(path);
    try {
      return readNumbers(d);
    } catch (e) {
      this.fail(`expected numbers: ${(e as Error).message}`, path);
    }
  }

  strings(path: string): string[] {
    const d = this.need(path);
    try {
      return readStrings(d);
    } catch (e) {
      this.fail(`expected text: ${(e as Error).message}`, path);
    }
  }

  integers(path: string): number[] {
    const v = this.numbers(path);
    const out = Array.from(v);
    const i = out.findIndex((x) => !Number.isInteger(x));
    if (i >= 0) this.fail(`value ${out[i]} at ${i} is not an integer`, path);
    return out;
  }

  /** Column `name` of DynamicTable `table`, checked to have `rows` entries. */
  column(table: string, name: string, rows: number, kind: 'numbers' | 'strings'): Float64Array | string[] {
    const p = `${table}/${name}`;
    const v = kind === 'numbers' ? this.numbers(p) : this.strings(p);
    if (v.length !== rows) this.fail(`has ${v.length} rows, expected ${rows}`, p);
    return v;
  }

  rows(table: string): number {
    return this.need(`${table}/id`).shape?.[0] ?? 0;
  }

  neurodataType(obj: Group | Dataset): string | undefined {
    return attrString(obj, 'neurodata_type');
  }
}

// ---------------------------------------------------------------------------------------------------------
// edge-bci layout

function readEdgeLayout(r: NwbReader): { session: RecordedSession; assumptions: string[] } {
  const base = `/processing/${EDGE_MODULE}`;
  const countsDs = r.need(`${base}/${COUNTS_SERIES}/data`);
  const shape = countsDs.shape ?? [];
  if (shape.length !== 2)
    r.fail(`expected a bins x channels matrix, got shape [${shape.join(',')}]`, countsDs.path);
  const [B, C] = shape as [number, number];
  const raw = readNumeric(countsDs);
  const counts = raw instanceof Float32Array ? raw : Float32Array.from(toFloat64(raw));

  const labels = r.column(`${base}/channels`, 'label', C, 'strings') as string[];
  const startUs = r.column(`${base}/bins`, 'start_us', B, 'numbers') as Float64Array;
  const binWidthUs = r.column(`${base}/session_info`, 'bin_width_us', 1, 'numbers')[0] as number;
  if (!(binWidthUs > 0))
    r.fail(`bin width ${binWidthUs} is not positive`, `${base}/session_info/bin_width_us`);
  let meta: { source?: Record<string, unknown>; createdAt?: string } = {};
  const json = (r.column(`${base}/session_info`, 'metadata_json', 1, 'strings') as string[])[0]!;
  try {
    meta = JSON.parse(json) as typeof meta;
  } catch {
    r.fail('is not valid JSON', `${base}/session_info/metadata_json`);
  }

  const segRows = r.rows(`${base}/segments`);
  const segmentStarts = r.integers(`${base}/segments/start_bin`);
  if (segmentStarts.length !== segRows)
    r.fail(`has ${segmentStarts.length} rows, expected ${segRows}`, `${base}/segments/start_bin`);

  const nMarkers = r.rows(`${base}/markers`);
  const mBin = r.integers(`${base}/markers/bin`);
  const mLabel = r.column(`${base}/markers`, 'label', nMarkers, 'strings') as string[];
  const mBreak = r.column(`${base}/markers`, 'is_break', nMarkers, 'numbers') as Float64Array;
  if (mBin.length !== nMarkers)
    r.fail(`has ${mBin.length} rows, expected ${nMarkers}`, `${base}/markers/bin`);
  const markers: SessionMarker[] = mBin.map((bin, i) => ({
    kind: 'marker',
    bin,
    label: mLabel[i]!,
    break: mBreak[i] !== 0,
  }));

  const K = r.rows(`${base}/kinematic_columns`);
  const names = r.column(`${base}/kinematic_columns`, 'name', K, 'strings') as string[];
  const series = r.column(`${base}/kinematic_columns`, 'series', K, 'strings') as string[];
  const cols = r.integers(`${base}/kinematic_columns/column`);
  const kinematics = new Float64Array(B * K);
  const cache = new Map<string, { data: Float64Array; width: number }>();
  for (let k = 0; k < K; k++) {
    const p = `/processing/${BEHAVIOR_MODULE}/${series[k]}/data`;
    let s = cache.get(p);
    if (s === undefined) {
      const ds = r.need(p);
      const sh = ds.shape ?? [];
      if (sh[0] !== B || sh.length > 2) r.fail(`expected ${B} rows, got shape [${sh.join(',')}]`, p);
      s = { data: readNumbers(ds), width: sh.length === 2 ? sh[1]! : 1 };
      cache.set(p, s);
    }
    const c = cols[k]!;
    if (c < 0 || c >= s.width) r.fail(`column ${c} of '${names[k]}' is outside the series`, p);
    for (let b = 0; b < B; b++) kinematics[b * K + k] = s.data[b * s.width + c]!;
  }

  const metadata: SessionMetadata = {
    channels: C,
    channelLabels: labels,
    binWidthUs,
    kinematicNames: names,
    ...(meta.source !== undefined ? { source: meta.source } : {}),
    ...(meta.createdAt !== undefined ? { createdAt: meta.createdAt } : {}),
  };
  return {
    session: { metadata, bins: B, counts, kinematics, startUs, segmentStarts, markers },
    assumptions: [],
  };
}

// ---------------------------------------------------------------------------------------------------------
// Units layout

interface Spikes {
  readonly ids: number[];
  readonly labels: string[];
  /** Spike times in seconds, all units concatenated. */
  readonly times: Float64Array;
  /** End (exclusive) of each unit's spikes in `times`. */
  readonly ends: number[];
  readonly labelSource: string;
}

function readUnits(r: NwbReader): Spikes {
  const table = '/units';
  if (r.group(table) === undefined)
    r.fail('the file has neither a Units table nor edge-bci binned data', table);
  const n = r.rows(table);
  const ids = r.integers(`${table}/id`);
  if (r.dataset(`${table}/spike_times`) === undefined)
    r.fail('the Units table has no spike_times column', table);
  const times = r.numbers(`${table}/spike_times`);
  const bad = times.findIndex((t) => !Number.isFinite(t));
  if (bad >= 0) r.fail(`spike time ${bad} is ${times[bad]}`, `${table}/spike_times`);
  let ends: number[];
  if (r.dataset(`${table}/spike_times_index`) !== undefined) {
    ends = r.integers(`${table}/spike_times_index`);
    if (ends.length !== n) r.fail(`has ${ends.length} entries for ${n} units`, `${table}/spike_times_index`);
    let prev = 0;
    for (const [i, e] of ends.entries()) {
      if (e < prev)
        r.fail(
          `ragged index inconsistent: entry ${i} (${e}) is below the one before (${prev})`,
          `${table}/spike_times_index`,
        );
      prev = e;
    }
    if (prev !== times.length) {
      r.fail(
        `ragged index inconsistent: the last entry is ${prev} but spike_times has ${times.length} values`,
        `${table}/spike_times_index`,
      );
    }
  } else {
    if (times.length !== n)
      r.fail(`${times.length} spike times for ${n} units and no spike_times_index`, `${table}/spike_times`);
    ends = ids.map((_, i) => i + 1);
  }

  let labels: string[] | undefined;
  let labelSource = 'unit ids';
  const labelDs = r.dataset(`${table}/channel_label`);
  if (labelDs !== undefined) {
    const l = r.strings(`${table}/channel_label`);
    if (l.length === n) {
      labels = l;
      labelSource = 'the channel_label column';
    }
  }
  if (labels === undefined) {
    const el = electrodeLabels(r, n);
    if (el !== undefined) {
      labels = el;
      labelSource = 'the electrodes the units reference';
    }
  }
  labels ??= ids.map((id) => `unit${id}`);
  return { ids, labels, times, ends, labelSource };
}

function electrodeLabels(r: NwbReader, units: number): string[] | undefined {
  const el = r.dataset('/units/electrodes');
  if (el === undefined) return undefined;
  const rows = r.integers('/units/electrodes');
  let ends: number[];
  if (r.dataset('/units/electrodes_index') !== undefined) ends = r.integers('/units/electrodes_index');
  else ends = rows.map((_, i) => i + 1);
  if (ends.length !== units || (ends[ends.length - 1] ?? 0) > rows.length) return undefined;
  let tablePath = '/general/extracellular_ephys/electrodes';
  const ref = attr(el, 'table');
  const refObj = Array.isArray(ref) ? ref[0] : ref;
  if (refObj instanceof Object && 'ref_data' in refObj) {
    const target = el.dereference(refObj as Parameters<Dataset['dereference']>[0]);
    if (isGroup(r.h5, target)) tablePath = target.path;
  }
  const idDs = r.dataset(`${tablePath}/id`);
  const eids = idDs === undefined ? undefined : Array.from(readNumbers(idDs));
  const labels: string[] = [];
  const seen = new Map<string, number>();
  for (let u = 0; u < units; u++) {
    const from = u === 0 ? 0 : ends[u - 1]!;
    if (from >= ends[u]!) return undefined; // a unit without electrodes: fall back to unit ids
    const row = rows[from]!;
    const id = eids?.[row] ?? row;
    const base = `elec${id}`;
    const k = (seen.get(base) ?? 0) + 1;
    seen.set(base, k);
    labels.push(k === 1 ? base : `${base}_u${k}`);
  }
  return labels;
}

interface PositionSeries {
  readonly path: string;
  readonly times: Float64Array;
  /** Rows x width values after conversion and offset. */
  readonly data: Float64Array;
  readonly width: number;
  readonly dropped: number;
  readonly unit: string | undefined;
}

function findSpatialSeries(r: NwbReader): Group | undefined {
  const candidates: Group[] = [];
  const isType = (g: Group | undefined, t: string) => g !== undefined && r.neurodataType(g) === t;
  const visit = (container: Group | undefined) => {
    if (container === undefined) return;
    for (const k of container.keys()) {
      const c = container.get(k);
      if (!isGroup(r.h5, c)) continue;
      if (isType(c, POSITION_CONTAINER)) {
        for (const s of c.keys()) {
          const ss = c.get(s);
          if (isGroup(r.h5, ss) && isType(ss, 'SpatialSeries')) candidates.push(ss);
        }
      } else if (isType(c, 'SpatialSeries')) candidates.push(c);
    }
  };
  visit(r.group(`/processing/${BEHAVIOR_MODULE}`));
  const processing = r.group('/processing');
  if (processing !== undefined)
    for (const m of processing.keys()) if (m !== BEHAVIOR_MODULE) visit(r.group(`/processing/${m}`));
  visit(r.group('/acquisition'));
  return candidates[0];
}

function readPosition(r: NwbReader, g: Group): PositionSeries {
  const dataPath = `${g.path}/data`;
  const ds = r.need(dataPath);
  const shape = ds.shape ?? [];
  if (shape.length < 1 || shape.length > 2)
    r.fail(`expected samples x dimensions, got shape [${shape.join(',')}]`, dataPath);
  const n = shape[0]!;
  const width = shape.length === 2 ? shape[1]! : 1;
  let data = r.numbers(dataPath);
  const conversion = attrNumber(ds, 'conversion') ?? 1;
  const offset = attrNumber(ds, 'offset') ?? 0;
  if (conversion !== 1 || offset !== 0) data = Float64Array.from(data, (x) => x * conversion + offset);
  let times: Float64Array;
  if (r.dataset(`${g.path}/timestamps`) !== undefined) {
    times = r.numbers(`${g.path}/timestamps`);
    if (times.length !== n) r.fail(`has ${times.length} timestamps for ${n} samples`, `${g.path}/timestamps`);
  } else if (r.dataset(`${g.path}/starting_time`) !== undefined) {
    const st = r.need(`${g.path}/starting_time`);
    const t0 = r.numbers(`${g.path}/starting_time`)[0]!;
    const rate = attrNumber(st, 'rate');
    if (rate === undefined || !(rate > 0)) r.fail('starting_time has no positive rate', st.path);
    times = Float64Array.from({ length: n }, (_, i) => t0 + i / rate);
  } else {
    r.fail('has neither timestamps nor starting_time', g.path);
  }
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(times[i]!)) r.fail(`timestamp ${i} is ${times[i]}`, `${g.path}/timestamps`);
    if (i > 0 && times[i]! < times[i - 1]!)
      r.fail(`timestamps are not sorted (at ${i})`, `${g.path}/timestamps`);
  }
  // Drop samples holding NaN (missing tracking).
  const keep: number[] = [];
  for (let i = 0; i < n; i++) {
    let ok = true;
    for (let j = 0; j < width; j++) if (!Number.isFinite(data[i * width + j]!)) ok = false;
    if (ok) keep.push(i);
  }
  if (keep.length < n) {
    data = Float64Array.from(
      { length: keep.length * width },
      (_, x) => data[keep[Math.floor(x / width)]! * width + (x % width)]!,
    );
    times = Float64Array.from(keep, (i) => times[i]!);
  }
  if (n > 0 && keep.length === 0) r.fail('has no finite sample', dataPath);
  return { path: g.path, times, data, width, dropped: n - keep.length, unit: attrString(ds, 'unit') };
}

function binIndex(tUs: number, t0Us: number, w: number): number {
  const x = (tUs - t0Us) / w;
  let i = Math.floor(x);
  if (x - i > 1 - 1e-9) i++; // a time a rounding error short of a boundary belongs to the next bin
  return i;
}

/**
 * Mean of the samples in each bin (a sample's bin found as for spikes); linear interpolation at the
 * bin centre where a bin has none, the first or last sample outside the sampled span.
 */
function resample(pos: PositionSeries, t0Us: number, w: number, B: number): Float64Array {
  const D = pos.width;
  const n = pos.times.length;
  const out = new Float64Array(B * D);
  const tUs = Float64Array.from(pos.times, (t) => t * 1e6);
  const sums = new Float64Array(B * D);
  const hits = new Uint32Array(B);
  for (let i = 0; i < n; i++) {
    const b = binIndex(tUs[i]!, t0Us, w);
    if (b < 0 || b >= B) continue;
    hits[b]!++;
    for (let d = 0; d < D; d++) sums[b * D + d]! += pos.data[i * D + d]!;
  }
  let next = 0; // first sample after the current bin
  for (let b = 0; b < B; b++) {
    while (next < n && binIndex(tUs[next]!, t0Us, w) <= b) next++;
    if (hits[b]! > 0) {
      for (let d = 0; d < D; d++) out[b * D + d] = sums[b * D + d]! / hits[b]!;
      continue;
    }
    const before = next - 1;
    if (before < 0) for (let d = 0; d < D; d++) out[b * D + d] = pos.data[d]!;
    else if (next >= n) for (let d = 0; d < D; d++) out[b * D + d] = pos.data[(n - 1) * D + d]!;
    else {
      const c = t0Us + (b + 0.5) * w;
      const ta = tUs[before]!;
      const tb = tUs[next]!;
      const f = tb === ta ? 0 : (c - ta) / (tb - ta);
      for (let d = 0; d < D; d++) {
        const a = pos.data[before * D + d]!;
        out[b * D + d] = a + (pos.data[next * D + d]! - a) * f;
      }
    }
  }
  return out;
}

function readUnitsLayout(
  r: NwbReader,
  binWidthUs: number | undefined,
): {
  session: RecordedSession;
  assumptions: string[];
  spikes: number;
  units: number;
  position?: PositionSeries;
  trials: number;
} {
  if (binWidthUs === undefined) {
    throw new InvalidOptionError(
      'binWidthUs',
      `${r.path} has no edge-bci binned data; binWidthUs is required to bin its Units table`,
    );
  }
  if (!(binWidthUs > 0) || !Number.isFinite(binWidthUs))
    throw new InvalidOptionError('binWidthUs', `must be positive, got ${binWidthUs}`);
  const w = binWidthUs;
  const units = readUnits(r);
  const C = units.ids.length;
  const ss = findSpatialSeries(r);
  const position = ss === undefined ? undefined : readPosition(r, ss);

  let minT = Number.POSITIVE_INFINITY;
  let maxT = Number.NEGATIVE_INFINITY;
  for (const t of units.times) {
    if (t < minT) minT = t;
    if (t > maxT) maxT = t;
  }
  if (position !== undefined && position.times.length > 0) {
    minT = Math.min(minT, position.times[0]!);
    maxT = Math.max(maxT, position.times[position.times.length - 1]!);
  }
  let B = 0;
  let t0Us = 0;
  if (Number.isFinite(minT)) {
    t0Us = Math.floor((minT * 1e6) / w) * w;
    B = binIndex(maxT * 1e6, t0Us, w) + 1;
  }
  if (B * Math.max(C, 1) > MAX_CELLS) {
    throw new InvalidOptionError(
      'binWidthUs',
      `${w} us gives ${B} bins x ${C} units, more than this reader allocates`,
    );
  }
  const startUs = Float64Array.from({ length: B }, (_, b) => t0Us + b * w);
  const counts = new Float32Array(B * C);
  let start = 0;
  for (let u = 0; u < C; u++) {
    const end = units.ends[u]!;
    for (let i = start; i < end; i++) {
      const b = binIndex(units.times[i]! * 1e6, t0Us, w);
      counts[b * C + u] += 1;
    }
    start = end;
  }

  const assumptions = [
    `binned the Units table at ${w} us from t0 = ${t0Us} us (floor of the first spike or position time to a multiple of the bin width)`,
    `channel labels from ${units.labelSource}`,
  ];
  let kinematicNames: string[] = [];
  let kinematics = new Float64Array(0);
  if (position !== undefined) {
    const D = position.width;
    const pos = resample(position, t0Us, w, B);
    const axes = D <= 3 ? ['x', 'y', 'z'].slice(0, D) : Array.from({ length: D }, (_, d) => String(d));
    kinematicNames = [...axes.map((a) => `pos_${a}`), ...axes.map((a) => `vel_${a}`)];
    const K = 2 * D;
    kinematics = new Float64Array(B * K);
    const ws = w / 1e6;
    for (let b = 0; b < B; b++) {
      for (let d = 0; d < D; d++) {
        kinematics[b * K + d] = pos[b * D + d]!;
        let v = 0;
        if (b > 0) v = (pos[b * D + d]! - pos[(b - 1) * D + d]!) / ws;
        else if (B > 1) v = (pos[D + d]! - pos[d]!) / ws;
        kinematics[b * K + D + d] = v;
      }
    }
    assumptions.push(
      `position from ${position.path} (unit ${position.unit ?? 'unknown'}): mean of the samples in each bin, linear interpolation at the bin centre for bins without samples`,
      'velocity = difference of binned position / bin width in seconds (first bin: forward difference)',
    );
    if (position.dropped > 0) assumptions.push(`dropped ${position.dropped} position samples holding NaN`);
  } else {
    assumptions.push('no SpatialSeries found: no kinematics');
  }

  const markers: SessionMarker[] = [];
  let trials = 0;
  if (r.dataset('/intervals/trials/start_time') !== undefined) {
    const st = r.numbers('/intervals/trials/start_time');
    const tid =
      r.dataset('/intervals/trials/id') !== undefined
        ? r.integers('/intervals/trials/id')
        : st.map((_, i) => i);
    st.forEach((t, i) => {
      if (!Number.isFinite(t)) return;
      const b = binIndex(t * 1e6, t0Us, w);
      if (b < 0 || b >= B) return;
      markers.push({ kind: 'marker', bin: b, label: `trial ${tid[i] ?? i}`, break: false });
      trials++;
    });
    markers.sort((a, b) => a.bin - b.bin);
    if (trials > 0) assumptions.push('trials became markers at their start bins (no continuity break)');
  }

  const metadata: SessionMetadata = {
    channels: C,
    channelLabels: units.labels,
    binWidthUs: w,
    kinematicNames,
    source: {
      format: 'nwb',
      layout: 'units',
      identifier: r.text('/identifier'),
      positionSeries: position?.path,
    },
    ...(r.text('/session_start_time') !== undefined ? { createdAt: r.text('/session_start_time')! } : {}),
  };
  return {
    session: { metadata, bins: B, counts, kinematics, startUs, segmentStarts: B > 0 ? [0] : [], markers },
    assumptions,
    spikes: units.times.length,
    units: C,
    ...(position !== undefined ? { position } : {}),
    trials,
  };
}

function nwbVersionOf(r: NwbReader, file: H5File): string {
  const v = attrString(file, 'nwb_version');
  if (v === undefined) {
    if (r.dataset('/nwb_version') !== undefined) r.fail('this is an NWB 1.x file; only NWB 2.x is supported');
    r.fail('not an NWB file: the root group has no nwb_version attribute');
  }
  const major = Number.parseInt(v.replace(/^NWB-/i, ''), 10);
  if (major !== 2) r.fail(`NWB version '${v}' is not supported (NWB 2.x only)`);
  return v;
}

/** Whether `path` is an HDF5 file whose root says it is NWB. Not-HDF5 files give false; damaged HDF5 throws. */
export async function isNwbFile(path: string): Promise<boolean> {
  if (!(await hasHdf5Signature(path))) return false;
  return withHdf5Reader(
    path,
    (file) => attr(file, 'nwb_version') !== undefined || attrString(file, 'neurodata_type') === 'NWBFile',
  );
}

/**
 * Reads an NWB 2.x file into a session (see the module doc for the two layouts).
 * @throws Hdf5FormatError when the file is not HDF5, is truncated or corrupt.
 * @throws NwbFormatError when it is not NWB 2.x, or its tables are inconsistent (ragged index, NaN spike times...).
 * @throws InvalidOptionError when binning is needed and `binWidthUs` is missing or invalid.
 */
export async function readNwb(path: string, options: ReadNwbOptions = {}): Promise<ReadNwbResult> {
  return withHdf5Reader(path, (file, h5) => {
    const r = new NwbReader(h5, file, path);
    const nwbVersion = nwbVersionOf(r, file);
    const base = {
      nwbVersion,
      identifier: r.text('/identifier'),
      sessionDescription: r.text('/session_description'),
      sessionStartTime: r.text('/session_start_time'),
    };
    const unitRows = r.dataset('/units/id') !== undefined ? r.rows('/units') : 0;
    const unitSpikes = r.dataset('/units/spike_times')?.shape?.[0] ?? 0;
    const edge = r.group(`/processing/${EDGE_MODULE}/${COUNTS_SERIES}`);
    if (edge !== undefined && options.layout !== 'units') {
      const { session, assumptions } = readEdgeLayout(r);
      const asked = options.binWidthUs;
      if (asked !== undefined && asked !== session.metadata.binWidthUs) {
        assumptions.push(
          `binWidthUs ${asked} ignored: the file holds edge-bci counts binned at ${session.metadata.binWidthUs} us`,
        );
      }
      return {
        session,
        layout: 'edge-bci-binned',
        nwbVersion,
        assumptions,
        report: {
          ...base,
          units: unitRows,
          spikes: unitSpikes,
          positionSeries: undefined,
          positionSamples: 0,
          positionSamplesDropped: 0,
          trials: 0,
        },
      };
    }
    const u = readUnitsLayout(r, options.binWidthUs);
    return {
      session: u.session,
      layout: 'units',
      nwbVersion,
      assumptions: u.assumptions,
      report: {
        ...base,
        units: u.units,
        spikes: u.spikes,
        positionSeries: u.position?.path,
        positionSamples: u.position?.times.length ?? 0,
        positionSamplesDropped: u.position?.dropped ?? 0,
        trials: u.trials,
      },
    };
  });
}
