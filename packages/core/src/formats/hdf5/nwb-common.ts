/**
 * Names shared by the NWB writer and reader: where the edge-bci layout keeps each part of a session.
 *
 * The layout uses only types of the NWB core and hdmf-common namespaces (no extension), so any NWB tool
 * opens it:
 *
 * /processing/edge_bci                       ProcessingModule
 *   binned_spike_counts                      TimeSeries, data bins x channels (float32, unit 'counts'),
 *                                            timestamps = bin start times in seconds
 *   channels                                 DynamicTable: label (one row per channel, in column order)
 *   bins                                     DynamicTable: start_us (exact bin start times, microseconds)
 *   segments                                 TimeIntervals: start_time, stop_time, start_bin
 *   markers                                  DynamicTable: bin, label, is_break, time
 *   kinematic_columns                        DynamicTable: name, series, column (where each kinematic
 *                                            column lives under /processing/behavior)
 *   session_info                             DynamicTable, one row: bin_width_us, metadata_json
 * /processing/behavior                       ProcessingModule
 *   Position/<prefix>                        SpatialSeries for each position group (pos_x, pos_y ...)
 *   <prefix>                                 TimeSeries for each other kinematic group (vel_x, vel_y ...)
 * /units                                     Units: spike_times (+ spike_times_index), channel_label
 */
export const NWB_VERSION = '2.7.0';
export const EDGE_MODULE = 'edge_bci';
export const BEHAVIOR_MODULE = 'behavior';
export const COUNTS_SERIES = 'binned_spike_counts';
export const POSITION_CONTAINER = 'Position';

/** Kinematic columns grouped the way they are stored: one series per name prefix. */
export interface KinematicGroup {
  /** Path of the series relative to /processing/behavior, e.g. 'Position/pos' or 'vel'. */
  readonly series: string;
  readonly kind: 'position' | 'timeseries';
  /** Indices into `kinematicNames`, in series column order. */
  readonly columns: readonly number[];
}

const AXIS = /^(.+)_([xyz])$/i;
const POSITION = /(^|_)(pos|position)$/i;

function seriesName(prefix: string): string {
  const s = prefix.replace(/\//g, '_');
  return s === '.' || s === '' ? '_' : s;
}

/**
 * Groups kinematic names into series: 'pos_x', 'pos_y' → one SpatialSeries 'Position/pos' (prefixes
 * ending in 'pos' or 'position', at most three columns); 'vel_x', 'vel_y' → TimeSeries 'vel';
 * a name without an _x/_y/_z suffix is a one-column TimeSeries of its own.
 */
export function groupKinematics(names: readonly string[]): KinematicGroup[] {
  const byPrefix = new Map<string, number[]>();
  names.forEach((name, i) => {
    const m = AXIS.exec(name);
    const prefix = m === null ? name : m[1]!;
    const cols = byPrefix.get(prefix);
    if (cols === undefined) byPrefix.set(prefix, [i]);
    else cols.push(i);
  });
  const used = new Set<string>([POSITION_CONTAINER]);
  const groups: KinematicGroup[] = [];
  for (const [prefix, columns] of byPrefix) {
    const position =
      POSITION.test(prefix) && columns.length <= 3 && columns.every((i) => AXIS.test(names[i]!));
    let name = seriesName(prefix);
    const key = (n: string) => (position ? `${POSITION_CONTAINER}/${n}` : n);
    if (used.has(key(name))) {
      let k = 2;
      while (used.has(key(`${name}_${k}`))) k++;
      name = `${name}_${k}`;
    }
    used.add(key(name));
    groups.push({ series: key(name), kind: position ? 'position' : 'timeseries', columns });
  }
  return groups;
}
