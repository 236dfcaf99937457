/**
 * Plays a recorded session back as a live `Bin | Gap` stream, at its original pace or faster.
 */
import { asyncScheduler, Observable, type SchedulerLike, type Subscriber, type Subscription } from 'rxjs';
import { InvalidOptionError } from '../errors.js';
import type { BinEvent, Gap, RecordedSession, SessionMetadata } from '../types.js';
import {
  type ReadSessionFileOptions,
  readSessionFile,
  type SessionFileContents,
  type SessionFileReport,
} from './reader.js';

export interface ReplayOptions {
  /** Playback rate: 1 plays in real time, 2 twice as fast, `Infinity` as fast as possible. Default 1. */
  readonly speed?: number;
  /** Scheduler that times the emissions (default `asyncScheduler`); a `TestScheduler` makes tests exact. */
  readonly scheduler?: SchedulerLike;
  /** Start at the first bin whose `index` is at least this (default: the beginning). */
  readonly fromBin?: number;
}

/** What a `ReplaySource` can play: a session file (path or bytes), its read contents, or a session in memory. */
export type ReplayInput = string | Uint8Array | SessionFileContents | RecordedSession;

/** A bin on the replay timeline; `counts` and `kinematics` are never handed out, only copies. */
interface BinItem {
  readonly kind: 'bin';
  /** Position among the bins (0 .. length-1). */
  readonly ordinal: number;
  /** Position among all items. */
  readonly item: number;
  readonly index: number;
  readonly startUs: number;
  readonly widthUs: number;
  readonly counts: Float32Array;
  readonly kinematics: Float64Array | undefined;
  /** Playback time at which the bin starts. */
  readonly startAt: number;
  /** Playback time at which the bin is emitted (when it is complete). */
  readonly at: number;
}

interface GapItem {
  readonly kind: 'gap';
  readonly gap: Gap;
  /** Playback time at which the gap is emitted. */
  readonly at: number;
}

type Item = BinItem | GapItem;

/** Most items emitted in one scheduler callback when they are all due, so a fast replay yields now and then. */
const BATCH = 1024;

/**
 * The items of a session on one playback clock, in microseconds. The playback clock is the device clock,
 * except that where time goes backwards (trials recorded separately and joined) the clock closes the jump up,
 * so the later bins follow the earlier ones instead of all being overdue at once.
 */
class Timeline {
  readonly items: Item[] = [];
  readonly bins: BinItem[] = [];
  private shift = 0;
  private lastAt = Number.NEGATIVE_INFINITY;
  private lastBinEndAt: number | undefined;

  addBin(
    index: number,
    startUs: number,
    widthUs: number,
    counts: Float32Array,
    kinematics: Float64Array | undefined,
  ): void {
    let startAt = startUs - this.shift;
    if (this.lastBinEndAt !== undefined && startAt < this.lastBinEndAt) {
      this.shift = startUs - this.lastBinEndAt;
      startAt = this.lastBinEndAt;
    }
    const at = Math.max(this.lastAt, startAt + widthUs);
    const bin: BinItem = {
      kind: 'bin',
      ordinal: this.bins.length,
      item: this.items.length,
      index,
      startUs,
      widthUs,
      counts,
      kinematics,
      startAt,
      at,
    };
    this.items.push(bin);
    this.bins.push(bin);
    this.lastAt = at;
    this.lastBinEndAt = startAt + widthUs;
  }

  /** A gap is emitted at its end, when the hole is over and a live source would notice it. */
  addGap(gap: Gap): void {
    const at = Math.max(this.lastAt, gap.endUs - this.shift);
    this.items.push({ kind: 'gap', gap, at });
    this.lastAt = at;
  }

  /** Playback time the replay is measured from: the start of the first bin. */
  get originAt(): number {
    return this.bins[0]?.startAt ?? this.items[0]?.at ?? 0;
  }
}

/** The gap written in place of a segment boundary that the stream itself does not show. */
function segmentGap(prev: BinItem | undefined, index: number, startUs: number): Gap {
  if (prev === undefined)
    return { kind: 'gap', startUs, endUs: startUs, reason: 'segment', firstBin: index, bins: 0 };
  return {
    kind: 'gap',
    startUs: Math.min(prev.startUs + prev.widthUs, startUs),
    endUs: startUs,
    reason: 'segment',
    firstBin: prev.index + 1,
    bins: index - prev.index - 1,
  };
}

function timelineOfSession(session: RecordedSession): Timeline {
  const t = new Timeline();
  const { metadata, bins, counts, kinematics, startUs } = session;
  const c = metadata.channels;
  const k = metadata.kinematicNames.length;
  const w = metadata.binWidthUs;
  const breaks = new Set(session.segmentStarts);
  for (let d = 0; d < bins; d++) {
    if (d > 0 && breaks.has(d)) t.addGap(segmentGap(t.bins[d - 1], d, startUs[d]!));
    t.addBin(
      d,
      startUs[d]!,
      w,
      counts.subarray(d * c, (d + 1) * c),
      k > 0 ? kinematics.subarray(d * k, (d + 1) * k) : undefined,
    );
  }
  return t;
}

/**
 * A file's events as a timeline. Continuity breaks that the file marks without a gap (a break marker,
 * a jump in bin indices) get a 'segment' gap, so the stream breaks exactly where the session does.
 */
function timelineOfContents({ events, session }: SessionFileContents): Timeline {
  const t = new Timeline();
  const breaks = new Set(session.segmentStarts);
  let gapSinceBin = false;
  for (const e of events) {
    if (e.kind === 'gap') {
      t.addGap(e);
      gapSinceBin = true;
    } else if (e.kind === 'bin') {
      const d = t.bins.length;
      if (d > 0 && breaks.has(d) && !gapSinceBin) t.addGap(segmentGap(t.bins[d - 1], e.index, e.startUs));
      t.addBin(e.index, e.startUs, e.widthUs, e.counts, e.kinematics);
      gapSinceBin = false;
    }
  }
  return t;
}

/**
 * Replays a session file or an in-memory session as `Bin | Gap` events.
 *
 * Timing: a bin is emitted when it would have been complete, `startUs + widthUs`, measured from the start
 * of the first bin played and divided by `speed`, relative to the moment of subscription. Every emission
 * is scheduled against that fixed origin (not as a delay after the previous one), so a replay does not
 * drift however long it runs. Gaps are emitted at their `endUs`. Where a session's time goes backwards
 * (joined trials), playback closes the jump up.
 *
 * Continuity: gaps in the file are replayed; every other segment start (in a `RecordedSession`, or a break
 * marker or index jump in a file) is preceded by a Gap with reason 'segment', so downstream stages reset
 * exactly where the session's segments start. Bins replayed from a `RecordedSession` get indices 0 .. bins-1.
 *
 * Each emitted Bin or Gap is a fresh object with its own arrays; subscribers may keep or modify them.
 * Each subscription is an independent replay.
 */
export class ReplaySource {
  readonly metadata: SessionMetadata;
  /** The read report when replaying a file, so damage can be shown; undefined for a `RecordedSession`. */
  readonly fileReport: SessionFileReport | undefined;
  private readonly timeline: Timeline;
  private readonly runs = new Set<ReplayRun>();

  /** `input` is a session file's path or bytes (read at once), its read contents, or a `RecordedSession`. */
  constructor(input: ReplayInput, options: ReadSessionFileOptions = {}) {
    if (typeof input === 'string' || input instanceof Uint8Array) {
      input = readSessionFile(input, options);
    }
    if ('report' in input) {
      this.metadata = input.metadata;
      this.fileReport = input.report;
      this.timeline = timelineOfContents(input);
    } else {
      this.metadata = input.metadata;
      this.fileReport = undefined;
      this.timeline = timelineOfSession(input);
    }
  }

  /** Number of bins. */
  get length(): number {
    return this.timeline.bins.length;
  }

  /**
   * Time a whole replay takes at speed 1: from the start of the first bin to the last emission
   * (the end of the last bin, or a later trailing gap). Jumps back in time do not count.
   */
  get durationUs(): number {
    const { items, originAt } = this.timeline;
    return items.length === 0 ? 0 : Math.max(0, items[items.length - 1]!.at - originAt);
  }

  /** Starts a replay on each subscription. */
  events$(options: ReplayOptions = {}): Observable<BinEvent> {
    const speed = options.speed ?? 1;
    if (typeof speed !== 'number' || !(speed > 0)) {
      throw new InvalidOptionError('speed', `must be a positive number or Infinity, got ${speed}`);
    }
    const fromBin = options.fromBin ?? 0;
    checkBinIndex('fromBin', fromBin);
    const scheduler = options.scheduler ?? asyncScheduler;
    return new Observable<BinEvent>((subscriber) => {
      const run = new ReplayRun(this.timeline, subscriber, scheduler, speed, this.ordinalOf(fromBin));
      this.runs.add(run);
      run.start();
      return () => {
        run.stop();
        this.runs.delete(run);
      };
    });
  }

  /**
   * Moves every running replay to the first bin whose `index` is at least `binIndex` (past the last bin:
   * to the end, which completes the replay). The target bin is emitted one bin width (divided by speed)
   * after the seek, and timing continues from there as if the replay had been subscribed at that moment with
   * `fromBin`. When the target is not the bin that was due next, a Gap with reason 'seek' is emitted first,
   * at the time of the seek (forward seeks give the skipped span in `firstBin`/`bins`), so that downstream
   * stages do not join bins across the jump. Has no effect on replays subscribed later; use `fromBin`.
   */
  seek(binIndex: number): void {
    checkBinIndex('binIndex', binIndex);
    const ordinal = this.ordinalOf(binIndex);
    for (const run of this.runs) run.seek(ordinal);
  }

  /**
   * Like `seek`, to the bin in progress `offsetUs` after the start of the replay (on the scale of `durationUs`:
   * speed 1, jumps back in time closed up). Offsets at or past `durationUs` go to the end.
   */
  seekTime(offsetUs: number): void {
    if (!Number.isFinite(offsetUs))
      throw new InvalidOptionError('offsetUs', `must be finite, got ${offsetUs}`);
    const target = this.timeline.originAt + Math.max(0, offsetUs);
    // The bin in progress at `target` is the first whose emission time is after it.
    const ordinal = lowerBound(this.timeline.bins, (b) => b.at <= target);
    for (const run of this.runs) run.seek(ordinal);
  }

  private ordinalOf(binIndex: number): number {
    return lowerBound(this.timeline.bins, (b) => b.index < binIndex);
  }
}

function checkBinIndex(option: string, value: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new InvalidOptionError(option, `must be a non-negative bin index, got ${value}`);
  }
}

/** Number of leading items for which `before` holds (it must hold for a prefix only). */
function lowerBound<T>(items: readonly T[], before: (item: T) => boolean): number {
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (before(items[mid]!)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** One subscription's replay. */
class ReplayRun {
  private nextItem: number;
  /** Scheduler time (ms) at which playback time `anchorAt` (us) is reached. */
  private anchorMs = 0;
  private anchorAt: number;
  private lastBin: BinItem | undefined;
  private pendingSeek: number | undefined;
  private action: Subscription | undefined;
  private ticking = false;
  private stopped = false;

  constructor(
    private readonly timeline: Timeline,
    private readonly subscriber: Subscriber<BinEvent>,
    private readonly scheduler: SchedulerLike,
    private readonly speed: number,
    startOrdinal: number,
  ) {
    const { items, bins } = timeline;
    const bin = bins[startOrdinal];
    // From the first bin, leading gaps are played too; from any later bin, the replay starts at that bin.
    this.nextItem = startOrdinal === 0 ? 0 : (bin?.item ?? items.length);
    this.anchorAt = bin?.startAt ?? timeline.originAt;
  }

  /** Anchors the clock at the moment of subscription; the first emission goes through the scheduler too. */
  start(): void {
    this.anchorMs = this.scheduler.now();
    this.schedule(0);
  }

  stop(): void {
    this.stopped = true;
    this.action?.unsubscribe();
    this.action = undefined;
  }

  seek(ordinal: number): void {
    if (this.stopped) return;
    this.pendingSeek = ordinal;
    if (this.ticking) return; // the running tick picks it up
    this.schedule(0);
  }

  private schedule(delayMs: number): void {
    this.action?.unsubscribe();
    this.action = this.scheduler.schedule(() => this.tick(), delayMs);
  }

  /** Scheduler time at which an item is due; computed from the fixed anchor, so errors never accumulate. */
  private dueMs(item: Item): number {
    return this.anchorMs + Math.max(0, item.at - this.anchorAt) / 1000 / this.speed;
  }

  private tick(): void {
    this.action = undefined; // this action has run; a new one is scheduled below if needed
    this.ticking = true;
    try {
      const { items } = this.timeline;
      let emitted = 0;
      while (!this.subscriber.closed) {
        if (this.pendingSeek !== undefined) this.applySeek();
        if (this.nextItem >= items.length) {
          this.subscriber.complete();
          return;
        }
        const item = items[this.nextItem]!;
        const now = this.scheduler.now();
        const due = this.dueMs(item);
        if (due > now || emitted === BATCH) {
          this.schedule(due > now ? due - now : 0);
          return;
        }
        this.nextItem++;
        emitted++;
        if (item.kind === 'bin') {
          this.lastBin = item;
          this.subscriber.next({
            kind: 'bin',
            index: item.index,
            startUs: item.startUs,
            widthUs: item.widthUs,
            counts: item.counts.slice(),
            ...(item.kinematics !== undefined ? { kinematics: item.kinematics.slice() } : {}),
          });
        } else {
          this.subscriber.next({ ...item.gap });
        }
      }
    } finally {
      this.ticking = false;
    }
  }

  private applySeek(): void {
    const ordinal = this.pendingSeek!;
    this.pendingSeek = undefined;
    const target = this.timeline.bins[ordinal];
    if (target === undefined) {
      this.nextItem = this.timeline.items.length;
      return;
    }
    const last = this.lastBin;
    if (last === undefined || ordinal !== last.ordinal + 1) {
      if (last !== undefined) {
        const forward = ordinal > last.ordinal;
        this.subscriber.next({
          kind: 'gap',
          startUs: Math.min(last.startUs + last.widthUs, target.startUs),
          endUs: target.startUs,
          reason: 'seek',
          ...(forward ? { firstBin: last.index + 1, bins: target.index - last.index - 1 } : {}),
        });
      }
      this.nextItem = target.item;
    }
    // Seeking to the bin that was due next keeps any gap before it; only the clock is re-anchored.
    this.anchorMs = this.scheduler.now();
    this.anchorAt = target.startAt;
  }
}
