/**
 * Layout adapters: turn the variables of a MAT file (level 5 or v7.3) into a session. Layouts are
 * recognised by the fields and shapes of the values, never by variable names; options override
 * what is detected.
 *
 * - `binned-data`: a `binnedData`-style struct (`spikeratedata` in spikes/s, `spikeguide`,
 *   `timeframe`, `cursorposbin`, `velocbin`), as in the Miller lab's files.
 * - `trial-data`: a TrialData struct array (`<array>_spikes` counts per trial, `pos`, `vel`,
 *   `bin_size`, `idx_*` event indices), as in the Miller lab's TrialData format. Trials are joined
 *   into one session with a segment break and a `trial` marker at each join.
 * - `edge-bci`: a struct written by `sessionToMatVariables` (`counts`, `kinematics`, `bin_width_us`,
 *   ...), which keeps everything of a session exactly.
 * - `matrices`: two plain matrices with one row per bin, one of spike counts and one of kinematics
 *   (as in `contdata95.mat`).
 */
import { InvalidOptionError } from '../errors.js';
import type { RecordedSession, SessionMarker, SessionMetadata } from '../types.js';
import { numberedLabels } from '../util/labels.js';
import { LayoutError } from './errors.js';
import {
  charRows,
  type MatFile,
  type MatNumeric,
  type MatStruct,
  type MatValue,
  numberAt,
  numel,
  toRowMajor,
} from './mat/mat-value.js';

export const MAT_LAYOUTS = ['edge-bci', 'binned-data', 'trial-data', 'matrices'] as const;
export type MatLayout = (typeof MAT_LAYOUTS)[number];

export interface LayoutOptions {
  /** Force a layout instead of detecting it. */
  readonly layout?: MatLayout;
  /** `matrices`: the variable holding spike counts (bins x channels). */
  readonly countsVariable?: string;
  /** `matrices`: the variable holding kinematics (bins x K). */
  readonly kinematicsVariable?: string;
  /** Bin width when the file does not say (`matrices`), or to override what it says. */
  readonly binWidthUs?: number;
  /** Names for the kinematic columns, overriding the layout's. */
  readonly kinematicNames?: readonly string[];
  /** `trial-data`: which array's spikes to use, e.g. 'M1' for `M1_spikes` (default: M1 if present, else the first). */
  readonly array?: string;
}

export interface LayoutResult {
  readonly session: RecordedSession;
  readonly layout: MatLayout;
  /** The variables the session came from. */
  readonly variables: readonly string[];
  /** Trials joined (trial-data), else undefined. */
  readonly trials?: number;
  /** Assumptions made where the file did not say (bin width, column names). */
  readonly assumptions: readonly string[];
}

const DEFAULT_BIN_US = 50_000;

const isMatrix = (v: MatValue | undefined): v is MatNumeric =>
  v !== undefined && v.type === 'numeric' && v.dims.length === 2 && !v.imag;

function field(s: MatStruct, name: string, i = 0): MatValue | undefined {
  return s.fields.includes(name) ? s.elements[i]?.[name] : undefined;
}

function isBinnedData(v: MatValue): v is MatStruct {
  return v.type === 'struct' && v.elements.length === 1 && isMatrix(field(v, 'spikeratedata'));
}

function spikeFields(v: MatStruct): string[] {
  return v.fields.filter((f) => /_spikes$/.test(f) && isMatrix(v.elements[0]?.[f]));
}

const SESSION_FIELDS = ['counts', 'kinematics', 'bin_width_us', 'start_us'];

function isEdgeBciSession(v: MatValue): v is MatStruct {
  return v.type === 'struct' && v.elements.length === 1 && SESSION_FIELDS.every((f) => v.fields.includes(f));
}

function isTrialData(v: MatValue): v is MatStruct {
  return (
    v.type === 'struct' &&
    v.elements.length >= 1 &&
    spikeFields(v).length > 0 &&
    (v.fields.includes('pos') || v.fields.includes('vel'))
  );
}

function isIntegerValued(m: MatNumeric): boolean {
  const n = numel(m.dims);
  const step = Math.max(1, Math.floor(n / 5000));
  for (let i = 0; i < n; i += step) {
    const x = numberAt(m, i);
    if (!(x >= 0 && Number.isInteger(x))) return false;
  }
  return true;
}

/** Detects the layout of a MAT file's variables, or explains why none fits. */
export function detectLayout(file: MatFile, path = '<mat>'): { layout: MatLayout; variables: string[] } {
  const entries = [...file.variables];
  const own = entries.find(([, v]) => isEdgeBciSession(v));
  if (own) return { layout: 'edge-bci', variables: [own[0]] };
  const binned = entries.find(([, v]) => isBinnedData(v));
  if (binned) return { layout: 'binned-data', variables: [binned[0]] };
  const trial = entries.find(([, v]) => isTrialData(v));
  if (trial) return { layout: 'trial-data', variables: [trial[0]] };
  const pair = findMatrixPair(file);
  if (pair) return { layout: 'matrices', variables: [pair.counts, pair.kinematics] };
  const seen = entries.map(([n, v]) => `${n} (${v.type} ${v.dims.join('x')})`).join(', ') || 'no variables';
  throw new LayoutError(
    path,
    `no known layout: expected a binnedData struct (spikeratedata, ...), a TrialData struct array (<array>_spikes, pos/vel) or two matrices with one row per bin (counts and kinematics); found ${seen}`,
  );
}

/** Two numeric matrices with the same number of rows: integer-valued counts and kinematics. */
function findMatrixPair(file: MatFile): { counts: string; kinematics: string } | undefined {
  const mats = [...file.variables].filter(
    (e): e is [string, MatNumeric] => isMatrix(e[1]) && numel(e[1].dims) > 0,
  );
  let best: { counts: string; kinematics: string; score: number } | undefined;
  for (const [cn, c] of mats) {
    if (!isIntegerValued(c)) continue;
    for (const [kn, k] of mats) {
      if (kn === cn || k.dims[0] !== c.dims[0]) continue;
      // Prefer the widest counts matrix and a narrow kinematics one.
      const score = c.dims[1]! - k.dims[1]!;
      if (score > 0 && (!best || score > best.score)) best = { counts: cn, kinematics: kn, score };
    }
  }
  return best && { counts: best.counts, kinematics: best.kinematics };
}

function defaultKinematicNames(cols: number, assumptions: string[]): string[] {
  const byCols: Record<number, string[]> = {
    2: ['vel_x', 'vel_y'],
    4: ['pos_x', 'pos_y', 'vel_x', 'vel_y'],
    6: ['pos_x', 'pos_y', 'vel_x', 'vel_y', 'acc_x', 'acc_y'],
  };
  const names = byCols[cols] ?? Array.from({ length: cols }, (_, i) => `kin_${i + 1}`);
  assumptions.push(
    `kinematic columns not named in the file; assumed ${names.join(', ')} (override with --kinematic-names, or kinematicNames in the API)`,
  );
  return names;
}

function checkNames(names: readonly string[], cols: number, path: string): string[] {
  if (names.length !== cols) {
    throw new InvalidOptionError(
      'kinematicNames',
      `${path} has ${cols} kinematic columns, ${names.length} names were given`,
    );
  }
  return [...names];
}

function finish(
  metadata: SessionMetadata,
  counts: Float32Array,
  kinematics: Float64Array,
  startUs: Float64Array,
  segmentStarts: number[],
  markers: SessionMarker[],
): RecordedSession {
  return { metadata, bins: startUs.length, counts, kinematics, startUs, segmentStarts, markers };
}

/**
 * Spike counts from a rate in spikes/s. A count within 1e-3 of a whole number is that number: rates
 * stored as float32 carry rounding noise far below that, while a real fractional count (smoothed
 * rates) is kept as it is.
 */
function rateToCount(rate: number, binS: number): number {
  const c = rate * binS;
  const r = Math.round(c);
  return Math.abs(c - r) < 1e-3 ? r : c;
}

function fromBinnedData(
  file: MatFile,
  name: string,
  s: MatStruct,
  opts: LayoutOptions,
  path: string,
): LayoutResult {
  const assumptions: string[] = [];
  const rates = toRowMajor(field(s, 'spikeratedata') as MatNumeric);
  const bins = rates.rows;
  const tf = field(s, 'timeframe');
  const times = isMatrix(tf) ? toRowMajor(tf).data : undefined;
  let binWidthUs = opts.binWidthUs;
  if (binWidthUs === undefined) {
    if (times && times.length >= 2) {
      // Over the whole span, not per step: timeframe is often float32, whose steps late in a long
      // session are quantised to tens of microseconds.
      binWidthUs = Math.round(((times[times.length - 1]! - times[0]!) / (times.length - 1)) * 1e6);
    } else {
      binWidthUs = DEFAULT_BIN_US;
      assumptions.push(`no timeframe; assumed ${DEFAULT_BIN_US / 1000} ms bins`);
    }
  }
  if (!(binWidthUs > 0)) throw new LayoutError(path, `${name}.timeframe does not increase`);
  const binS = binWidthUs / 1e6;
  const counts = new Float32Array(bins * rates.cols);
  for (let i = 0; i < counts.length; i++) counts[i] = rateToCount(rates.data[i]!, binS);
  const guide = field(s, 'spikeguide');
  let labels = guide?.type === 'char' ? charRows(guide) : [];
  if (labels.length !== rates.cols) {
    if (guide)
      assumptions.push(
        `spikeguide has ${labels.length} rows for ${rates.cols} units; labels numbered instead`,
      );
    labels = numberedLabels('unit', rates.cols);
  }
  const kinCols: Array<{ name: string; data: Float64Array; cols: number; col: number }> = [];
  const pos = field(s, 'cursorposbin');
  const vel = field(s, 'velocbin');
  const names: string[] = [];
  if (isMatrix(pos) && pos.dims[0] === bins) {
    const m = toRowMajor(pos);
    ['pos_x', 'pos_y'].slice(0, m.cols).forEach((n, c) => {
      kinCols.push({ name: n, data: m.data, cols: m.cols, col: c });
      names.push(n);
    });
  }
  if (isMatrix(vel) && vel.dims[0] === bins) {
    const m = toRowMajor(vel);
    ['vel_x', 'vel_y', 'speed'].slice(0, m.cols).forEach((n, c) => {
      kinCols.push({ name: n, data: m.data, cols: m.cols, col: c });
      names.push(n);
    });
  }
  const kinematicNames = opts.kinematicNames ? checkNames(opts.kinematicNames, kinCols.length, path) : names;
  const kinematics = new Float64Array(bins * kinCols.length);
  kinCols.forEach((k, j) => {
    for (let i = 0; i < bins; i++) kinematics[i * kinCols.length + j] = k.data[i * k.cols + k.col]!;
  });
  const startUs = new Float64Array(bins);
  const segmentStarts = bins > 0 ? [0] : [];
  for (let i = 0; i < bins; i++) {
    startUs[i] = times ? Math.round(times[i]! * 1e6) : i * binWidthUs;
    if (i > 0 && times && Math.abs(startUs[i]! - startUs[i - 1]! - binWidthUs) > binWidthUs / 2)
      segmentStarts.push(i);
  }
  const metadata: SessionMetadata = {
    channels: rates.cols,
    channelLabels: labels,
    binWidthUs,
    kinematicNames,
    source: { format: file.format, layout: 'binned-data', variable: name, rateUnits: 'spikes/s' },
  };
  return {
    session: finish(metadata, counts, kinematics, startUs, segmentStarts, []),
    layout: 'binned-data',
    variables: [name],
    assumptions,
  };
}

function fromTrialData(
  file: MatFile,
  name: string,
  s: MatStruct,
  opts: LayoutOptions,
  path: string,
): LayoutResult {
  const assumptions: string[] = [];
  const arrays = spikeFields(s).map((f) => f.replace(/_spikes$/, ''));
  const array = opts.array ?? (arrays.includes('M1') ? 'M1' : arrays[0]!);
  if (!arrays.includes(array)) {
    throw new InvalidOptionError('array', `${path}: no ${array}_spikes; arrays here: ${arrays.join(', ')}`);
  }
  const spikesField = `${array}_spikes`;
  const trials = s.elements.length;
  const first = s.elements[0]![spikesField] as MatNumeric;
  const channels = first.dims[1]!;
  const kinFields = ['pos', 'vel', 'acc'].filter((f) => isMatrix(s.elements[0]?.[f]));
  const kinWidths = kinFields.map((f) => (s.elements[0]![f] as MatNumeric).dims[1]!);
  const autoNames = kinFields.flatMap((f, j) =>
    Array.from({ length: kinWidths[j]! }, (_, c) => `${f}_${['x', 'y', 'z'][c] ?? c + 1}`),
  );
  const K = autoNames.length;
  const kinematicNames = opts.kinematicNames ? checkNames(opts.kinematicNames, K, path) : autoNames;
  let binWidthUs = opts.binWidthUs;
  if (binWidthUs === undefined) {
    const bs = field(s, 'bin_size');
    if (bs && (bs.type === 'numeric' || bs.type === 'logical') && numel(bs.dims) > 0) {
      binWidthUs = Math.round(numberAt(bs, 0) * 1e6);
    } else {
      binWidthUs = DEFAULT_BIN_US;
      assumptions.push(`no bin_size; assumed ${DEFAULT_BIN_US / 1000} ms bins`);
    }
  }
  let bins = 0;
  for (let t = 0; t < trials; t++) {
    const sp = s.elements[t]![spikesField];
    if (!isMatrix(sp) || sp.dims[1] !== channels) {
      throw new LayoutError(
        path,
        `${name}(${t + 1}).${spikesField} is not a matrix with ${channels} columns`,
      );
    }
    bins += sp.dims[0]!;
  }
  const counts = new Float32Array(bins * channels);
  const kinematics = new Float64Array(bins * K);
  const startUs = new Float64Array(bins);
  const segmentStarts: number[] = [];
  const markers: SessionMarker[] = [];
  const eventFields = s.fields.filter((f) => f.startsWith('idx_'));
  let row = 0;
  for (let t = 0; t < trials; t++) {
    const el = s.elements[t]!;
    const sp = toRowMajor(el[spikesField] as MatNumeric);
    const n = sp.rows;
    if (n === 0) continue;
    segmentStarts.push(row);
    markers.push({ kind: 'marker', bin: row, label: 'trial', break: true });
    counts.set(Float32Array.from(sp.data), row * channels);
    let col = 0;
    kinFields.forEach((f, j) => {
      const v = el[f];
      const w = kinWidths[j]!;
      if (!isMatrix(v) || v.dims[0] !== n || v.dims[1] !== w) {
        throw new LayoutError(path, `${name}(${t + 1}).${f} does not have ${n} rows and ${w} columns`);
      }
      const m = toRowMajor(v);
      for (let i = 0; i < n; i++)
        for (let c = 0; c < w; c++) kinematics[(row + i) * K + col + c] = m.data[i * w + c]!;
      col += w;
    });
    for (const f of eventFields) {
      const ev = el[f];
      if (!ev || (ev.type !== 'numeric' && ev.type !== 'logical') || numel(ev.dims) === 0) continue;
      const idx = numberAt(ev, 0);
      // MATLAB indices are 1-based; events outside the trial (NaN, 0, past the end) are left out.
      if (Number.isInteger(idx) && idx >= 1 && idx <= n) {
        markers.push({ kind: 'marker', bin: row + idx - 1, label: f.slice(4), break: false });
      }
    }
    for (let i = 0; i < n; i++) startUs[row + i] = (row + i) * binWidthUs;
    row += n;
  }
  markers.sort((a, b) => a.bin - b.bin || Number(b.break) - Number(a.break));
  const guide = field(s, `${array}_unit_guide`);
  let labels: string[];
  if (isMatrix(guide) && guide.dims[0] === channels && guide.dims[1]! >= 2) {
    const g = toRowMajor(guide);
    labels = Array.from(
      { length: channels },
      (_, i) => `elec${g.data[i * g.cols]}u${g.data[i * g.cols + 1]}`,
    );
  } else {
    labels = numberedLabels(`${array}_`, channels);
  }
  const metadata: SessionMetadata = {
    channels,
    channelLabels: labels,
    binWidthUs,
    kinematicNames,
    source: { format: file.format, layout: 'trial-data', variable: name, array, trials },
  };
  return {
    session: finish(metadata, counts, kinematics, startUs, segmentStarts, markers),
    layout: 'trial-data',
    variables: [name],
    trials,
    assumptions,
  };
}

function fromMatrices(
  file: MatFile,
  cn: string,
  kn: string,
  opts: LayoutOptions,
  path: string,
): LayoutResult {
  const assumptions: string[] = [];
  const cv = file.variables.get(cn);
  const kv = file.variables.get(kn);
  if (!isMatrix(cv)) throw new LayoutError(path, `counts variable '${cn}' is not a numeric matrix`);
  if (!isMatrix(kv)) throw new LayoutError(path, `kinematics variable '${kn}' is not a numeric matrix`);
  const c = toRowMajor(cv);
  const k = toRowMajor(kv);
  if (c.rows !== k.rows) {
    throw new LayoutError(
      path,
      `'${cn}' has ${c.rows} rows (bins) but '${kn}' has ${k.rows}; both need one row per bin`,
    );
  }
  const binWidthUs = opts.binWidthUs ?? DEFAULT_BIN_US;
  if (opts.binWidthUs === undefined) {
    assumptions.push(
      `bin width not in the file; assumed ${DEFAULT_BIN_US / 1000} ms (override with --bin-ms, or binWidthUs in the API)`,
    );
  }
  const kinematicNames = opts.kinematicNames
    ? checkNames(opts.kinematicNames, k.cols, path)
    : defaultKinematicNames(k.cols, assumptions);
  const metadata: SessionMetadata = {
    channels: c.cols,
    channelLabels: numberedLabels('ch', c.cols),
    binWidthUs,
    kinematicNames,
    source: { format: file.format, layout: 'matrices', countsVariable: cn, kinematicsVariable: kn },
  };
  const startUs = new Float64Array(c.rows);
  for (let i = 0; i < c.rows; i++) startUs[i] = i * binWidthUs;
  return {
    session: finish(metadata, Float32Array.from(c.data), k.data, startUs, c.rows > 0 ? [0] : [], []),
    layout: 'matrices',
    variables: [cn, kn],
    assumptions,
  };
}

/** Turns a MAT file into a session, detecting its layout unless `options.layout` says. */
export function sessionFromMat(file: MatFile, options: LayoutOptions = {}, path = '<mat>'): LayoutResult {
  if (options.countsVariable || options.kinematicsVariable) {
    const pair = findMatrixPair(file);
    const cn = options.countsVariable ?? pair?.counts;
    const kn = options.kinematicsVariable ?? pair?.kinematics;
    if (!cn || !kn) throw new LayoutError(path, 'name both the counts and the kinematics variables');
    for (const v of [cn, kn]) {
      if (!file.variables.has(v)) {
        throw new LayoutError(
          path,
          `no variable '${v}' (variables: ${[...file.variables.keys()].join(', ')})`,
        );
      }
    }
    return fromMatrices(file, cn, kn, options, path);
  }
  const want = options.layout;
  const entries = [...file.variables];
  if (want === 'edge-bci' || !want) {
    const hit = entries.find(([, v]) => isEdgeBciSession(v));
    if (hit) return fromEdgeBci(hit[0], hit[1] as MatStruct, path);
    if (want)
      throw new LayoutError(path, `no struct with fields ${SESSION_FIELDS.join(', ')} (edge-bci layout)`);
  }
  if (want === 'binned-data' || !want) {
    const hit = entries.find(([, v]) => isBinnedData(v));
    if (hit) return fromBinnedData(file, hit[0], hit[1] as MatStruct, options, path);
    if (want) throw new LayoutError(path, 'no struct with a spikeratedata matrix (binned-data layout)');
  }
  if (want === 'trial-data' || !want) {
    const hit = entries.find(([, v]) => isTrialData(v));
    if (hit) return fromTrialData(file, hit[0], hit[1] as MatStruct, options, path);
    if (want)
      throw new LayoutError(
        path,
        'no struct array with <array>_spikes and pos/vel fields (trial-data layout)',
      );
  }
  const pair = findMatrixPair(file);
  if (pair) return fromMatrices(file, pair.counts, pair.kinematics, options, path);
  if (want) throw new LayoutError(path, 'no two matrices with one row per bin (matrices layout)');
  detectLayout(file, path);
  throw new LayoutError(path, 'no known layout');
}

// --- The SDK's own MAT layout: a struct that keeps a whole session exactly. ---

const dims2 = (rows: number, cols: number) => [rows, cols];

function colMajor<T extends Float64Array | Float32Array>(
  rowMajor: ArrayLike<number>,
  rows: number,
  cols: number,
  out: T,
): T {
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[r + c * rows] = rowMajor[r * cols + c]!;
  return out;
}

function matCharRow(s: string): MatValue {
  const data = new Uint16Array(s.length);
  for (let i = 0; i < s.length; i++) data[i] = s.charCodeAt(i);
  return { type: 'char', dims: [s.length === 0 ? 0 : 1, s.length], data };
}

function matCellOfStrings(strings: readonly string[]): MatValue {
  return { type: 'cell', dims: [1, strings.length], cells: strings.map(matCharRow) };
}

function matDoubleRow(values: ArrayLike<number>): MatValue {
  return { type: 'numeric', class: 'double', dims: [1, values.length], real: Float64Array.from(values) };
}

/**
 * A session as MAT variables (one struct, `session`) that `sessionFromMat` reads back exactly:
 * counts as single (float32, as the SDK holds them), kinematics as double, bin start times in us,
 * labels and names as cell arrays of strings, 0-based segment starts and markers.
 */
export function sessionToMatVariables(session: RecordedSession): Map<string, MatValue> {
  const { metadata: m, bins } = session;
  const K = m.kinematicNames.length;
  const el: Record<string, MatValue> = {
    counts: {
      type: 'numeric',
      class: 'single',
      dims: dims2(bins, m.channels),
      real: colMajor(session.counts, bins, m.channels, new Float32Array(bins * m.channels)),
    },
    kinematics: {
      type: 'numeric',
      class: 'double',
      dims: dims2(bins, K),
      real: colMajor(session.kinematics, bins, K, new Float64Array(bins * K)),
    },
    start_us: {
      type: 'numeric',
      class: 'double',
      dims: dims2(bins, 1),
      real: Float64Array.from(session.startUs),
    },
    bin_width_us: matDoubleRow([m.binWidthUs]),
    channel_labels: matCellOfStrings(m.channelLabels),
    kinematic_names: matCellOfStrings(m.kinematicNames),
    segment_starts: matDoubleRow(session.segmentStarts),
    marker_bins: matDoubleRow(session.markers.map((x) => x.bin)),
    marker_labels: matCellOfStrings(session.markers.map((x) => x.label)),
    marker_breaks: matDoubleRow(session.markers.map((x) => (x.break ? 1 : 0))),
    source: matCharRow(JSON.stringify(m.source ?? {})),
  };
  return new Map<string, MatValue>([
    ['session', { type: 'struct', dims: [1, 1], fields: Object.keys(el), elements: [el] }],
  ]);
}

function strings(v: MatValue | undefined, what: string, path: string): string[] {
  if (v?.type !== 'cell') throw new LayoutError(path, `${what} is not a cell array of strings`);
  return v.cells.map((c) => {
    if (c.type !== 'char') throw new LayoutError(path, `${what} holds a ${c.type}, not a string`);
    // Written as one row: read every character back, trailing blanks included.
    return String.fromCharCode(...c.data);
  });
}

function numbers(v: MatValue | undefined, what: string, path: string): number[] {
  if (!v || (v.type !== 'numeric' && v.type !== 'logical'))
    throw new LayoutError(path, `${what} is not numeric`);
  return Array.from({ length: numel(v.dims) }, (_, i) => numberAt(v, i));
}

function fromEdgeBci(name: string, s: MatStruct, path: string): LayoutResult {
  const el = s.elements[0]!;
  const c = el.counts;
  const k = el.kinematics;
  if (!isMatrix(c) || !isMatrix(k))
    throw new LayoutError(path, `${name}.counts and ${name}.kinematics must be matrices`);
  const cm = toRowMajor(c);
  const km = toRowMajor(k);
  const bins = cm.rows;
  if (km.rows !== bins)
    throw new LayoutError(path, `${name}: ${bins} bins of counts but ${km.rows} of kinematics`);
  const channelLabels = strings(el.channel_labels, `${name}.channel_labels`, path);
  const kinematicNames = strings(el.kinematic_names, `${name}.kinematic_names`, path);
  if (channelLabels.length !== cm.cols)
    throw new LayoutError(path, `${name}: ${cm.cols} channels but ${channelLabels.length} labels`);
  if (kinematicNames.length !== km.cols)
    throw new LayoutError(path, `${name}: ${km.cols} kinematic columns but ${kinematicNames.length} names`);
  const startUs = Float64Array.from(numbers(el.start_us, `${name}.start_us`, path));
  if (startUs.length !== bins)
    throw new LayoutError(path, `${name}.start_us has ${startUs.length} values for ${bins} bins`);
  const [binWidthUs] = numbers(el.bin_width_us, `${name}.bin_width_us`, path);
  const mBins = el.marker_bins ? numbers(el.marker_bins, `${name}.marker_bins`, path) : [];
  const mLabels = el.marker_labels ? strings(el.marker_labels, `${name}.marker_labels`, path) : [];
  const mBreaks = el.marker_breaks ? numbers(el.marker_breaks, `${name}.marker_breaks`, path) : [];
  const src = el.source?.type === 'char' ? charRows(el.source).join('') : '{}';
  let source: Record<string, unknown> = {};
  try {
    source = JSON.parse(src || '{}');
  } catch {
    source = { note: src };
  }
  const metadata: SessionMetadata = {
    channels: cm.cols,
    channelLabels,
    binWidthUs: binWidthUs!,
    kinematicNames,
    source,
  };
  return {
    session: finish(
      metadata,
      Float32Array.from(cm.data),
      km.data,
      startUs,
      numbers(el.segment_starts, `${name}.segment_starts`, path),
      mBins.map((bin, i) => ({ kind: 'marker', bin, label: mLabels[i] ?? '', break: mBreaks[i] === 1 })),
    ),
    layout: 'edge-bci',
    variables: [name],
    assumptions: [],
  };
}
