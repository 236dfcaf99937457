import { Observable, type OperatorFunction } from 'rxjs';
import { ChannelCountError, InvalidOptionError } from '../errors.js';
import type { BinEvent, Frame, Gap, LatencyTrace } from '../types.js';
import { type ClockUs, hostClockUs } from '../util/clock.js';
import { InvalidFrameError } from './errors.js';
import { appendLatency } from './stamp-latency.js';

/** Counters of a `binSpikes` stage; pass one in to watch it (it is shared by every subscription). */
export interface BinningStats {
  /** Frames received. */
  frames: number;
  /** Frames dropped because they repeated a sequence number or started before the stream's current time. */
  dropped: number;
  /** Bins emitted. */
  bins: number;
  /** Gaps emitted. */
  gaps: number;
  /** Bins reported missing, summed over the gaps. */
  lostBins: number;
}

export function createBinningStats(): BinningStats {
  return { frames: 0, dropped: 0, bins: 0, gaps: 0, lostBins: 0 };
}

export interface BinSpikesOptions {
  readonly binWidthUs: number;
  readonly channels: number;
  /** Device time of the start of bin 0; defaults to the first frame's `deviceTimeUs`. */
  readonly originUs?: number;
  /** How a bin's kinematics are formed from its frames' kinematics (default 'mean'). */
  readonly kinematics?: 'mean' | 'last';
  readonly stats?: BinningStats;
  readonly clock?: ClockUs;
  /** Stage name in the latency trace (default 'bin'). */
  readonly stage?: string;
}

/** Relative slack on bin boundaries, so sums of fractional durations land on the boundary they mean. */
const BOUNDARY_EPS = 1e-6;

/**
 * Sums frames of spike counts or spike events into bins of `binWidthUs`, aligned at
 * `originUs + k * binWidthUs` (`Bin.index` is k).
 *
 * - Attribution: a counts frame goes to the bin containing its start (a frame straddling a boundary
 *   counts wholly in the earlier bin); each event goes to the bin containing its absolute time
 *   (`deviceTimeUs + offsetsUs[i]`). Frames may not be longer than a bin, and events must lie inside their frame.
 * - Emission: a bin is emitted by the frame that completes its width, with no wait for the next frame.
 *   The stream starts at the first whole bin; a trailing incomplete bin is not emitted on completion.
 * - Continuity: each frame should follow the previous one (seq + 1, starting where it ended, within a quarter
 *   of a frame; within that slack the frame is taken to start exactly where the previous one ended).
 *   A frame that repeats a seq or starts earlier than that is dropped and counted in `stats.dropped`.
 * - Gaps: a sequence jump, a time jump or an input `Gap` means data is missing. All bins not fully covered
 *   by received frames (the partial bin before the hole, the bins inside, the partial bin where data resumes)
 *   are reported as ONE `Gap` with `firstBin` and `bins`, and their partial counts are discarded: never a bin of
 *   zeros. Every bin index from the first whole bin on is reported exactly once, as a Bin or inside a Gap.
 *   An input Gap is reported at once (up to the bin containing its `endUs`); if data then resumes later
 *   still, a second Gap reports the further bins. A break that falls exactly on a bin boundary loses no bin
 *   and yields a Gap with `bins: 0`, so downstream state still resets. An input Gap before the first frame is
 *   ignored (no bin has started). A source that restarts its clock needs a new subscription.
 * - Latency: every Bin and Gap starts a trace at the receipt time of the frame that produced it
 *   (`receivedUs`, else `clock()`; an input Gap's own trace is continued), stamped `[stage, clock()]`.
 */
export function binSpikes(options: BinSpikesOptions): OperatorFunction<Frame | Gap, BinEvent> {
  validateOptions(options);
  return (source) =>
    new Observable<BinEvent>((subscriber) => {
      const binner = new SpikeBinner(options, (event) => subscriber.next(event));
      const subscription = source.subscribe({
        next: (item) => {
          if (subscriber.closed) return;
          try {
            if (item.kind === 'gap') binner.gap(item);
            else binner.frame(item);
          } catch (err) {
            subscriber.error(err);
          }
        },
        error: (err) => subscriber.error(err),
        complete: () => subscriber.complete(),
      });
      return () => {
        subscription.unsubscribe();
        binner.release();
      };
    });
}

function validateOptions(options: BinSpikesOptions): void {
  const { binWidthUs, channels, originUs, kinematics } = options;
  if (!(Number.isFinite(binWidthUs) && binWidthUs > 0)) {
    throw new InvalidOptionError('binWidthUs', `must be a positive number, got ${binWidthUs}`);
  }
  if (!(Number.isInteger(channels) && channels > 0)) {
    throw new InvalidOptionError('channels', `must be a positive integer, got ${channels}`);
  }
  if (originUs !== undefined && !Number.isFinite(originUs)) {
    throw new InvalidOptionError('originUs', `must be finite, got ${originUs}`);
  }
  if (kinematics !== undefined && kinematics !== 'mean' && kinematics !== 'last') {
    throw new InvalidOptionError('kinematics', `must be 'mean' or 'last', got ${String(kinematics)}`);
  }
}

/** The state of one subscription. */
class SpikeBinner {
  private readonly widthUs: number;
  private readonly channels: number;
  private readonly clock: ClockUs;
  private readonly stage: string;
  private readonly stats: BinningStats;
  private readonly kinematicsMode: 'mean' | 'last';

  private originUs: number | undefined;
  private started = false;
  /** Next bin to report (as a Bin or inside a Gap); data for earlier bins is discarded. */
  private bin = 0;
  /** Where the received data ends: the next continuous frame starts here. */
  private cursorUs = 0;
  private lastSeq = 0;
  /** Seq the next frame should carry; undefined after an input Gap that did not say how many frames it lost. */
  private expectedSeq: number | undefined;
  /** True at the start and after a Gap, until a Bin is emitted: a further zero-bin Gap would say nothing new. */
  private atBreak = true;
  private counts: Float32Array | undefined;
  private kinematics: Float64Array | undefined;
  private kinematicFrames = 0;

  constructor(
    options: BinSpikesOptions,
    private readonly emit: (event: BinEvent) => void,
  ) {
    this.widthUs = options.binWidthUs;
    this.channels = options.channels;
    this.originUs = options.originUs;
    this.clock = options.clock ?? hostClockUs;
    this.stage = options.stage ?? 'bin';
    this.stats = options.stats ?? createBinningStats();
    this.kinematicsMode = options.kinematics ?? 'mean';
    this.counts = new Float32Array(this.channels);
  }

  frame(frame: Frame): void {
    this.stats.frames++;
    this.validate(frame);
    if (!this.started) {
      this.start(frame.deviceTimeUs);
    } else {
      const slackUs = frame.durationUs / 4;
      if (frame.seq <= this.lastSeq || frame.deviceTimeUs < this.cursorUs - slackUs) {
        this.stats.dropped++;
        return;
      }
      const expected = this.expectedSeq;
      const lostFrames = expected !== undefined && frame.seq > expected ? frame.seq - expected : undefined;
      const timeJump = frame.deviceTimeUs > this.cursorUs + slackUs;
      if (lostFrames !== undefined || timeJump) {
        const reason = lostFrames !== undefined ? 'sequence' : 'time';
        this.reportGap(frame.deviceTimeUs, reason, lostFrames, frame.receivedUs);
        this.cursorUs = frame.deviceTimeUs;
      }
    }
    // Continuous frames are placed exactly where the previous one ended, absorbing jitter.
    const startUs = this.cursorUs;
    this.accumulate(frame, startUs);
    this.cursorUs = startUs + frame.durationUs;
    this.lastSeq = frame.seq;
    this.expectedSeq = frame.seq + 1;
    // A frame is at most one bin long, so it completes at most one bin.
    if (this.binOf(this.cursorUs) > this.bin) {
      this.emitBin(frame.receivedUs);
      this.accumulate(frame, startUs); // events of this frame that fall in the next bin
    }
  }

  gap(gap: Gap): void {
    if (!this.started) return;
    const resumeUs = Math.max(this.cursorUs, gap.endUs);
    this.reportGap(resumeUs, gap.reason, gap.lostFrames, undefined, gap.latency);
    this.cursorUs = resumeUs;
    this.expectedSeq = gap.lostFrames === undefined ? undefined : this.lastSeq + 1 + gap.lostFrames;
  }

  release(): void {
    this.counts = undefined;
    this.kinematics = undefined;
  }

  private start(timeUs: number): void {
    this.originUs ??= timeUs;
    this.bin = Math.max(0, this.firstWholeBin(timeUs));
    this.cursorUs = timeUs;
    this.started = true;
  }

  private binOf(timeUs: number): number {
    return Math.floor((timeUs - (this.originUs ?? 0)) / this.widthUs + BOUNDARY_EPS);
  }

  private binStartUs(bin: number): number {
    return (this.originUs ?? 0) + bin * this.widthUs;
  }

  /** The first bin that data starting at `timeUs` covers whole. */
  private firstWholeBin(timeUs: number): number {
    const bin = this.binOf(timeUs);
    return timeUs - this.binStartUs(bin) <= BOUNDARY_EPS * this.widthUs ? bin : bin + 1;
  }

  /** Adds the parts of `frame` (placed at `startUs`) that belong to the current bin. */
  private accumulate(frame: Frame, startUs: number): void {
    const counts = this.counts!;
    const inBin = this.binOf(startUs) === this.bin;
    if (frame.kind === 'counts') {
      if (inBin) for (let c = 0; c < counts.length; c++) counts[c] += frame.counts[c];
    } else {
      for (let i = 0; i < frame.channels.length; i++) {
        if (this.binOf(startUs + frame.offsetsUs[i]) === this.bin) counts[frame.channels[i]] += 1;
      }
    }
    if (inBin && frame.kinematics !== undefined) this.accumulateKinematics(frame.kinematics);
  }

  private accumulateKinematics(values: Float64Array): void {
    this.kinematics ??= new Float64Array(values.length);
    if (values.length !== this.kinematics.length) {
      throw new ChannelCountError(this.kinematics.length, values.length, 'frame kinematics');
    }
    if (this.kinematicsMode === 'last') this.kinematics.set(values);
    else for (let i = 0; i < values.length; i++) this.kinematics[i] += values[i];
    this.kinematicFrames++;
  }

  private emitBin(receivedUs: number | undefined): void {
    const counts = this.counts!;
    let kinematics: Float64Array | undefined;
    if (this.kinematics !== undefined && this.kinematicFrames > 0) {
      const n = this.kinematicsMode === 'last' ? 1 : this.kinematicFrames;
      kinematics = this.kinematics.map((value) => value / n);
    }
    const index = this.bin;
    this.counts = new Float32Array(this.channels);
    this.clearKinematics();
    this.bin++;
    this.atBreak = false;
    this.stats.bins++;
    const atUs = this.clock();
    this.emit({
      kind: 'bin',
      index,
      startUs: this.binStartUs(index),
      widthUs: this.widthUs,
      counts,
      ...(kinematics && { kinematics }),
      latency: { originUs: receivedUs ?? atUs, stages: [[this.stage, atUs]] },
    });
  }

  /** Reports every bin from the current one up to the last one not whole when data resumes at `resumeUs`. */
  private reportGap(
    resumeUs: number,
    reason: string,
    lostFrames: number | undefined,
    receivedUs: number | undefined,
    trace?: LatencyTrace,
  ): void {
    const firstBin = this.bin;
    const bins = Math.max(0, this.firstWholeBin(resumeUs) - firstBin);
    this.counts!.fill(0);
    this.clearKinematics();
    if (bins === 0 && this.atBreak) return;
    this.bin += bins;
    this.atBreak = true;
    this.stats.gaps++;
    this.stats.lostBins += bins;
    const atUs = this.clock();
    this.emit({
      kind: 'gap',
      startUs: this.binStartUs(firstBin),
      endUs: this.binStartUs(firstBin + bins),
      firstBin,
      bins,
      reason,
      ...(lostFrames !== undefined && { lostFrames }),
      latency: trace
        ? appendLatency(trace, this.stage, atUs)
        : { originUs: receivedUs ?? atUs, stages: [[this.stage, atUs]] },
    });
  }

  private clearKinematics(): void {
    this.kinematics?.fill(0);
    this.kinematicFrames = 0;
  }

  private validate(frame: Frame): void {
    const { seq, deviceTimeUs, durationUs } = frame;
    if (!Number.isFinite(seq) || !Number.isFinite(deviceTimeUs)) {
      throw new InvalidFrameError(seq, `seq and deviceTimeUs must be finite, got ${seq} and ${deviceTimeUs}`);
    }
    if (!(durationUs > 0 && durationUs <= this.widthUs)) {
      throw new InvalidFrameError(seq, `durationUs must be in (0, ${this.widthUs}], got ${durationUs}`);
    }
    if (frame.kind === 'counts') {
      if (frame.counts.length !== this.channels) {
        throw new ChannelCountError(this.channels, frame.counts.length, 'counts frame');
      }
      return;
    }
    if (frame.offsetsUs.length !== frame.channels.length) {
      throw new InvalidFrameError(
        seq,
        `${frame.channels.length} event channels but ${frame.offsetsUs.length} offsets`,
      );
    }
    for (let i = 0; i < frame.channels.length; i++) {
      if (frame.channels[i] >= this.channels) {
        throw new ChannelCountError(this.channels, frame.channels[i] + 1, 'events frame');
      }
      if (frame.offsetsUs[i] >= durationUs) {
        throw new InvalidFrameError(seq, `event ${i} at offset ${frame.offsetsUs[i]} is outside the frame`);
      }
    }
  }
}
