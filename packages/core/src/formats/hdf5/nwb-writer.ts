/**
 * Writes a `RecordedSession` as an NWB 2.x file (schema 2.7.0) that standard NWB tools open, keeping the
 * session exactly (see nwb-common.ts for the layout) and also exposing it the standard way: a Units table
 * of spike times derived from the counts, and behaviour as SpatialSeries/TimeSeries.
 *
 * Decisions:
 * - object_id: NWB requires every typed object to carry a unique UUID (v4 form). They are derived from a
 *   SHA-256 of the file identifier and the object's path, so the same session written twice gives the same
 *   ids, and different sessions (or an explicit identifier) give different ones. When no identifier is
 *   given it is 'edge-bci-' + the first 32 hex digits of a SHA-256 of the session's content.
 * - Spikes in the Units table: a bin holding k spikes on a channel gets k spike times spread evenly inside
 *   it, at start + (j + 0.5) * width / k for j = 0..k-1, so re-binning at the same bins gives the counts
 *   back. Written only when every count is a non-negative integer.
 * - Times: bin start times (device clock, microseconds) / 1e6 are the seconds NWB stores; the exact
 *   microsecond values are kept in the 'bins' table. session_start_time (and timestamps_reference_time)
 *   come from options, else the session's createdAt, else the file creation time.
 * - '/specifications' (the cached schema) is not written: it would mean bundling the full NWB core and
 *   hdmf-common schemas; NWB readers fall back to the schema they ship.
 */
import { createHash } from 'node:crypto';
import { InvalidOptionError } from '../../errors.js';
import type { RecordedSession } from '../../types.js';
import { type Dataset, type Group, withHdf5Writer } from './h5.js';
import {
  BEHAVIOR_MODULE,
  COUNTS_SERIES,
  EDGE_MODULE,
  groupKinematics,
  type KinematicGroup,
  NWB_VERSION,
  POSITION_CONTAINER,
} from './nwb-common.js';

export interface WriteNwbOptions {
  /** NWB `identifier`. Default: derived from a hash of the session's content (see the module doc). */
  readonly identifier?: string;
  /** NWB `session_description`. Default: 'edge-bci recorded session'. */
  readonly sessionDescription?: string;
  /** ISO 8601 date-time with time zone. Default: the session's createdAt, else the file creation time. */
  readonly sessionStartTime?: string;
  /** ISO 8601 date-time of file creation. Default: now. */
  readonly fileCreateDate?: string;
  /** Write the Units table (default true; skipped anyway when counts are not non-negative integers). */
  readonly units?: boolean;
}

export interface WriteNwbResult {
  readonly identifier: string;
  readonly nwbVersion: string;
  /** Whether /units was written, and if not, why. */
  readonly unitsWritten: boolean;
  readonly unitsSkippedReason: string | undefined;
  /** Spike times written to the Units table. */
  readonly spikes: number;
  /** Series written under /processing/behavior, e.g. ['Position/pos', 'vel']. */
  readonly behaviorSeries: readonly string[];
}

type TypedColumn =
  | Float64Array
  | Float32Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint32Array
  | BigUint64Array;

interface Column {
  readonly name: string;
  readonly description: string;
  readonly data: TypedColumn | readonly string[];
}

function checkSession(s: RecordedSession): void {
  const bad = (msg: string): never => {
    throw new InvalidOptionError('session', msg);
  };
  const m = s.metadata;
  const C = m.channels;
  const K = m.kinematicNames.length;
  if (!Number.isInteger(s.bins) || s.bins < 0) bad(`bins must be a non-negative integer, got ${s.bins}`);
  if (!Number.isInteger(C) || C < 0) bad(`channels must be a non-negative integer, got ${C}`);
  if (m.channelLabels.length !== C) bad(`${m.channelLabels.length} channel labels for ${C} channels`);
  if (!(m.binWidthUs > 0) || !Number.isFinite(m.binWidthUs))
    bad(`binWidthUs must be positive, got ${m.binWidthUs}`);
  if (s.counts.length !== s.bins * C) bad(`counts has ${s.counts.length} values, expected ${s.bins} x ${C}`);
  if (s.kinematics.length !== s.bins * K)
    bad(`kinematics has ${s.kinematics.length} values, expected ${s.bins} x ${K}`);
  if (s.startUs.length !== s.bins) bad(`startUs has ${s.startUs.length} values, expected ${s.bins}`);
  let prev = -1;
  for (const b of s.segmentStarts) {
    if (!Number.isInteger(b) || b <= prev || b >= Math.max(s.bins, 1))
      bad(`segmentStarts must be sorted bin indices, got [${s.segmentStarts.join(',')}]`);
    prev = b;
  }
  if (s.bins > 0 && s.segmentStarts[0] !== 0) bad('segmentStarts must start with 0');
  for (const mk of s.markers) {
    if (!Number.isInteger(mk.bin) || mk.bin < 0 || mk.bin > s.bins)
      bad(`marker '${mk.label}' at bin ${mk.bin} is outside 0..${s.bins}`);
  }
}

function parseTime(option: string, value: string): string {
  if (Number.isNaN(Date.parse(value)))
    throw new InvalidOptionError(option, `'${value}' is not an ISO 8601 date-time`);
  return value;
}

function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** 'edge-bci-' + 32 hex digits of a SHA-256 over everything the session holds. */
export function contentIdentifier(s: RecordedSession): string {
  const h = createHash('sha256');
  const m = s.metadata;
  h.update(
    JSON.stringify({
      bins: s.bins,
      channels: m.channels,
      labels: m.channelLabels,
      binWidthUs: m.binWidthUs,
      kinematicNames: m.kinematicNames,
      source: m.source ?? null,
      createdAt: m.createdAt ?? null,
      segmentStarts: s.segmentStarts,
      markers: s.markers,
    }),
  );
  h.update(bytesOf(s.counts));
  h.update(bytesOf(s.kinematics));
  h.update(bytesOf(s.startUs));
  return `edge-bci-${h.digest('hex').slice(0, 32)}`;
}

/** A UUID in version-4 form, derived from the identifier and an object's path. */
export function objectUuid(identifier: string, path: string): string {
  const d = createHash('sha256').update(`${identifier}\n${path}`).digest();
  d[6] = (d[6]! & 0x0f) | 0x40;
  d[8] = (d[8]! & 0x3f) | 0x80;
  const hex = d.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

class NwbWriter {
  constructor(private readonly identifier: string) {}

  typed(obj: Group | Dataset, namespace: 'core' | 'hdmf-common', type: string): void {
    obj.create_attribute('namespace', namespace);
    obj.create_attribute('neurodata_type', type);
    obj.create_attribute('object_id', objectUuid(this.identifier, obj.path));
  }

  text(parent: Group, name: string, value: string): Dataset {
    return parent.create_dataset({ name, data: value, dtype: 'S' });
  }

  strings(parent: Group, name: string, values: readonly string[]): Dataset {
    return parent.create_dataset({ name, data: [...values], shape: [values.length], dtype: 'S' });
  }

  numbers(parent: Group, name: string, data: TypedColumn, shape: number[] = [data.length]): Dataset {
    return parent.create_dataset({ name, data, shape });
  }

  processingModule(processing: Group, name: string, description: string): Group {
    const g = processing.create_group(name);
    this.typed(g, 'core', 'ProcessingModule');
    g.create_attribute('description', description);
    return g;
  }

  /** A TimeSeries (or subtype) with explicit timestamps in seconds. */
  timeSeries(
    parent: Group,
    name: string,
    type: 'TimeSeries' | 'SpatialSeries',
    data: Float64Array | Float32Array,
    shape: number[],
    unit: string,
    timestampsS: Float64Array,
    description: string,
    comments: string,
  ): Group {
    const g = parent.create_group(name);
    this.typed(g, 'core', type);
    g.create_attribute('description', description);
    g.create_attribute('comments', comments);
    const d = this.numbers(g, 'data', data, shape);
    d.create_attribute('unit', unit);
    d.create_attribute('conversion', 1, [], '<f');
    d.create_attribute('offset', 0, [], '<f');
    d.create_attribute('resolution', -1, [], '<f');
    const t = this.numbers(g, 'timestamps', timestampsS);
    t.create_attribute('interval', 1, [], '<i');
    t.create_attribute('unit', 'seconds');
    return g;
  }

  /** A DynamicTable (or subtype) with `n` rows, ids 0..n-1 and the given columns. */
  table(
    parent: Group,
    name: string,
    type: { namespace: 'core' | 'hdmf-common'; type: string },
    description: string,
    n: number,
    columns: readonly Column[],
    ragged: ReadonlyMap<string, Uint32Array | BigUint64Array> = new Map(),
  ): Group {
    const g = parent.create_group(name);
    this.typed(g, type.namespace, type.type);
    g.create_attribute('description', description);
    g.create_attribute(
      'colnames',
      columns.map((c) => c.name),
      [columns.length],
      'S',
    );
    const ids = this.numbers(
      g,
      'id',
      Int32Array.from({ length: n }, (_, i) => i),
    );
    this.typed(ids, 'hdmf-common', 'ElementIdentifiers');
    for (const c of columns) {
      const ds = isStrings(c.data) ? this.strings(g, c.name, c.data) : this.numbers(g, c.name, c.data);
      this.typed(ds, 'hdmf-common', 'VectorData');
      ds.create_attribute('description', c.description);
      const index = ragged.get(c.name);
      if (index !== undefined) {
        const ix = this.numbers(g, `${c.name}_index`, index);
        this.typed(ix, 'hdmf-common', 'VectorIndex');
        ix.create_attribute('description', `Index for VectorData '${c.name}'`);
        ix.create_attribute('target', ds.create_reference());
      }
    }
    return g;
  }
}

function isStrings(d: Column['data']): d is readonly string[] {
  return Array.isArray(d);
}

/** Spike times per channel from integer counts: k spikes spread evenly inside their bin. */
function spikesFromCounts(
  s: RecordedSession,
): { times: Float64Array; index: Uint32Array | BigUint64Array } | string {
  const C = s.metadata.channels;
  const w = s.metadata.binWidthUs;
  let total = 0;
  for (let i = 0; i < s.counts.length; i++) {
    const k = s.counts[i]!;
    if (!Number.isInteger(k) || k < 0)
      return `count ${k} at bin ${Math.floor(i / C)}, channel ${i % C} is not a non-negative integer`;
    total += k;
  }
  const times = new Float64Array(total);
  const ends = new Float64Array(C);
  let at = 0;
  for (let c = 0; c < C; c++) {
    const from = at;
    for (let b = 0; b < s.bins; b++) {
      const k = s.counts[b * C + c]!;
      const start = s.startUs[b]!;
      for (let j = 0; j < k; j++) times[at++] = (start + ((j + 0.5) * w) / k) / 1e6;
    }
    times.subarray(from, at).sort();
    ends[c] = at;
  }
  const index = total <= 0xffffffff ? Uint32Array.from(ends) : BigUint64Array.from(ends, (x) => BigInt(x));
  return { times, index };
}

/**
 * Writes `session` as an NWB 2.x file at `path` (through a temporary file renamed into place).
 * @throws InvalidOptionError when the session is inconsistent or an option is invalid.
 * @throws Hdf5WriteError when the HDF5 library fails to write.
 */
export async function writeNwb(
  path: string,
  session: RecordedSession,
  options: WriteNwbOptions = {},
): Promise<WriteNwbResult> {
  checkSession(session);
  const m = session.metadata;
  const C = m.channels;
  const K = m.kinematicNames.length;
  const B = session.bins;
  const w = m.binWidthUs;
  const identifier = options.identifier ?? contentIdentifier(session);
  if (identifier === '') throw new InvalidOptionError('identifier', 'must not be empty');
  const fileCreateDate = parseTime('fileCreateDate', options.fileCreateDate ?? new Date().toISOString());
  const createdAt =
    m.createdAt !== undefined && !Number.isNaN(Date.parse(m.createdAt)) ? m.createdAt : undefined;
  const sessionStartTime = parseTime(
    'sessionStartTime',
    options.sessionStartTime ?? createdAt ?? fileCreateDate,
  );
  const sessionDescription = options.sessionDescription ?? 'edge-bci recorded session';
  const spikes = options.units === false ? 'not requested' : spikesFromCounts(session);
  const groups: KinematicGroup[] = groupKinematics(m.kinematicNames);
  const timestampsS = Float64Array.from(session.startUs, (t) => t / 1e6);

  return withHdf5Writer(path, (file) => {
    const nwb = new NwbWriter(identifier);
    nwb.typed(file, 'core', 'NWBFile');
    file.create_attribute('nwb_version', NWB_VERSION);
    nwb.strings(file, 'file_create_date', [fileCreateDate]);
    nwb.text(file, 'identifier', identifier);
    nwb.text(file, 'session_description', sessionDescription);
    nwb.text(file, 'session_start_time', sessionStartTime);
    nwb.text(file, 'timestamps_reference_time', sessionStartTime);
    file.create_group('acquisition');
    file.create_group('analysis');
    const processing = file.create_group('processing');
    const stimulus = file.create_group('stimulus');
    stimulus.create_group('presentation');
    stimulus.create_group('templates');
    const general = file.create_group('general');
    const script = nwb.text(general, 'source_script', 'edge-bci (@edge-bci/core writeNwb)');
    script.create_attribute('file_name', 'edge-bci');

    // (a) the exact binned counts and everything needed to rebuild the session
    const edge = nwb.processingModule(
      processing,
      EDGE_MODULE,
      'edge-bci binned session: spike counts per bin and channel, with the bin times, segments, markers and channel labels needed to rebuild it exactly',
    );
    nwb.timeSeries(
      edge,
      COUNTS_SERIES,
      'TimeSeries',
      session.counts,
      [B, C],
      'counts',
      timestampsS,
      `Spike counts per bin (rows) and channel (columns, see the 'channels' table); bin width ${w} us; timestamps are bin start times`,
      'Written by edge-bci; exact bin start times in microseconds are in the bins table',
    );
    nwb.table(
      edge,
      'channels',
      { namespace: 'hdmf-common', type: 'DynamicTable' },
      'Channel of each column of binned_spike_counts',
      C,
      [{ name: 'label', description: 'Channel or unit label', data: m.channelLabels }],
    );
    nwb.table(
      edge,
      'bins',
      { namespace: 'hdmf-common', type: 'DynamicTable' },
      'Exact start time of each bin',
      B,
      [
        {
          name: 'start_us',
          description: 'Bin start time on the device clock, in microseconds',
          data: session.startUs,
        },
      ],
    );
    const segStarts = session.segmentStarts;
    const segStop = segStarts.map((_, i) => {
      const last = (i + 1 < segStarts.length ? segStarts[i + 1]! : B) - 1;
      return last >= 0 && last < B ? (session.startUs[last]! + w) / 1e6 : Number.NaN;
    });
    nwb.table(
      edge,
      'segments',
      { namespace: 'core', type: 'TimeIntervals' },
      'Continuous segments of the session: continuity breaks between them (gaps, trial joins)',
      segStarts.length,
      [
        {
          name: 'start_time',
          description: 'Start of the segment, in seconds',
          data: Float64Array.from(segStarts, (b) => (b < B ? timestampsS[b]! : Number.NaN)),
        },
        {
          name: 'stop_time',
          description: 'End of the segment (end of its last bin), in seconds',
          data: Float64Array.from(segStop),
        },
        {
          name: 'start_bin',
          description: 'Index of the first bin of the segment',
          data: BigInt64Array.from(segStarts, (b) => BigInt(b)),
        },
      ],
    );
    nwb.table(
      edge,
      'markers',
      { namespace: 'hdmf-common', type: 'DynamicTable' },
      'Session markers (trial starts, joins, resets)',
      session.markers.length,
      [
        {
          name: 'bin',
          description: 'Index of the first bin after the marker',
          data: BigInt64Array.from(session.markers, (mk) => BigInt(mk.bin)),
        },
        { name: 'label', description: 'Marker label', data: session.markers.map((mk) => mk.label) },
        {
          name: 'is_break',
          description: '1 when continuity breaks at the marker, 0 for a label on a continuous recording',
          data: Uint8Array.from(session.markers, (mk) => (mk.break ? 1 : 0)),
        },
        {
          name: 'time',
          description: 'Start time of the marker bin in seconds (NaN for a marker after the last bin)',
          data: Float64Array.from(session.markers, (mk) => (mk.bin < B ? timestampsS[mk.bin]! : Number.NaN)),
        },
      ],
    );
    const seriesOf = new Array<string>(K);
    const columnOf = new Int32Array(K);
    for (const g of groups) {
      g.columns.forEach((k, j) => {
        seriesOf[k] = g.series;
        columnOf[k] = j;
      });
    }
    nwb.table(
      edge,
      'kinematic_columns',
      { namespace: 'hdmf-common', type: 'DynamicTable' },
      `Where each kinematic column is stored under /processing/${BEHAVIOR_MODULE}`,
      K,
      [
        { name: 'name', description: 'Kinematic column name', data: m.kinematicNames },
        {
          name: 'series',
          description: `Series path relative to /processing/${BEHAVIOR_MODULE}`,
          data: seriesOf,
        },
        { name: 'column', description: 'Column of the series data holding it', data: columnOf },
      ],
    );
    const metadataJson = JSON.stringify({ source: m.source, createdAt: m.createdAt });
    nwb.table(
      edge,
      'session_info',
      { namespace: 'hdmf-common', type: 'DynamicTable' },
      'Session-wide values (one row)',
      1,
      [
        { name: 'bin_width_us', description: 'Bin width in microseconds', data: Float64Array.of(w) },
        {
          name: 'metadata_json',
          description: 'The session metadata source and createdAt, as JSON',
          data: [metadataJson],
        },
      ],
    );

    // (c) behaviour, in standard types
    const behaviorSeries: string[] = [];
    if (K > 0) {
      const behavior = nwb.processingModule(
        processing,
        BEHAVIOR_MODULE,
        'Behavioural kinematics of the edge-bci session, one sample per bin',
      );
      let position: Group | undefined;
      for (const g of groups) {
        const n = g.columns.length;
        const data = new Float64Array(B * n);
        for (let b = 0; b < B; b++)
          for (let j = 0; j < n; j++) data[b * n + j] = session.kinematics[b * K + g.columns[j]!]!;
        const names = g.columns.map((k) => m.kinematicNames[k]!);
        const shape = n === 1 ? [B] : [B, n];
        const desc = `Kinematic columns ${names.join(', ')}, one sample per bin (at the bin start time)`;
        if (g.kind === 'position') {
          if (position === undefined) {
            position = behavior.create_group(POSITION_CONTAINER);
            nwb.typed(position, 'core', 'Position');
          }
          nwb.timeSeries(
            position,
            g.series.slice(POSITION_CONTAINER.length + 1),
            'SpatialSeries',
            data,
            shape,
            'a.u.',
            timestampsS,
            desc,
            `columns: ${names.join(', ')}`,
          );
        } else {
          nwb.timeSeries(
            behavior,
            g.series,
            'TimeSeries',
            data,
            shape,
            'a.u.',
            timestampsS,
            desc,
            `columns: ${names.join(', ')}`,
          );
        }
        behaviorSeries.push(g.series);
      }
    }

    // (b) Units: spike times that re-bin to the counts
    let spikeCount = 0;
    if (typeof spikes !== 'string') {
      spikeCount = spikes.times.length;
      nwb.table(
        file,
        'units',
        { namespace: 'core', type: 'Units' },
        `Spike times reconstructed from binned counts (bin width ${w} us): k spikes in a bin are placed at start + (j + 0.5) * width / k. The exact counts are in /processing/${EDGE_MODULE}/${COUNTS_SERIES}.`,
        C,
        [
          {
            name: 'spike_times',
            description: 'Spike times in seconds (reconstructed from binned counts)',
            data: spikes.times,
          },
          {
            name: 'channel_label',
            description: 'Label of the channel the unit was counted on',
            data: m.channelLabels,
          },
        ],
        new Map([['spike_times', spikes.index]]),
      );
    }
    return {
      identifier,
      nwbVersion: NWB_VERSION,
      unitsWritten: typeof spikes !== 'string',
      unitsSkippedReason: typeof spikes === 'string' ? spikes : undefined,
      spikes: spikeCount,
      behaviorSeries,
    };
  });
}
