/**
 * Maps device timestamps (the acquisition device's own microsecond clock) onto the host's monotonic
 * clock, from the stream of (device time, host arrival time) pairs that every received frame gives us.
 *
 * ## The model
 *
 * For a frame whose last sample was taken at device time `d`, the host sees its last byte at
 *
 *     host = d + offset(d) + latency
 *
 * where `offset(d) = c + b·d` is the clock difference (`c` an arbitrary offset, `b` the rate difference
 * between the two crystals, tens to hundreds of ppm) and `latency` is the transport delay: a fixed
 * minimum (serialisation, USB polling, driver) plus jitter that is **never negative** and heavy-tailed
 * (scheduler hiccups, USB stalls of hundreds of milliseconds after which frames arrive in a burst).
 *
 * Because delay only ever adds, the points `y = host − d` lie on or above the line `c + b·d + minLatency`,
 * and the frames that arrived fastest sit right on it. So we do not average the points (the average is
 * pulled up by every stall); we fit the **lower envelope** of the cloud, the way NTP, PTP and Lab
 * Streaming Layer do.
 *
 * ## The method
 *
 * 1. Device time is cut into segments (`segmentUs`, 1 s by default). For each segment we keep only the
 *    sample with the smallest `host − device`: one point per segment, in a fixed ring that covers the last
 *    `windowUs` of device time (10 s by default). `observe` is O(1) and allocates nothing.
 * 2. When an estimate is asked for and the ring has changed, we build the lower convex hull of those
 *    segment minima (monotone chain, O(number of segments), in preallocated typed arrays).
 * 3. Among all lines lying below every point, we take the one that minimises the total gap to the points
 *    (a small linear programme; its solution is the hull edge above the mean device time of the points).
 *    That line is the mapping: `toHost(d) = d + line(d) − minLatencyUs`.
 *
 * Why it is robust: a stall only raises the points of the frames it delays, and a raised point is either
 * not the minimum of its segment or lies above the hull; either way it does not move the line. Only a stall
 * that covers a whole segment raises that segment's point, and the hull ignores it as long as its
 * neighbours are clean. The line passes under every segment minimum in the window, so the fastest frames
 * have residuals (`hostUs − toHost(deviceUs)`) of zero or more; any other frame can only fall below it by
 * the small noise of the fastest frames (well under a microsecond at 1 kHz with 100 µs jitter).
 *
 * ## Assumptions and limits
 *
 * - Device timestamps increase (the caller unwraps counter roll-over). A step backwards by more than one
 *   segment is taken as a device reboot (new clock epoch) and resets the mapper, as `reset()` does.
 * - The host clock is monotonic and never steps. A sample that arrives *earlier* than physically possible
 *   (a host clock step, a device timestamp from the future) pulls the envelope down: the method trusts
 *   the fastest frames.
 * - The rate difference is constant over the window (crystal drift with temperature is slow compared
 *   with 10 s); a shorter window follows drift changes faster, a longer one averages jitter better.
 * - Some frames in most segments get through with (close to) the minimum latency. If every frame in every
 *   segment is delayed by the same extra amount, that amount is indistinguishable from the clock offset.
 * - The constant minimum latency itself cannot be observed from one-way timestamps: `toHost` returns the
 *   host time at which a frame *could earliest have arrived*. Subtract a known fixed latency (for example
 *   the time the frame takes on the wire at the link's baud rate) with the `minLatencyUs` option.
 *
 * Before the fit is possible (fewer than `minSamples` samples, or points spanning less than half a segment)
 * the mapping is the smallest `host − device` seen so far, with zero drift (or, after a long gap, the last
 * drift estimated in this epoch).
 */

export interface ClockMapperOptions {
  /** Span of device time the line is fitted over, in µs. Default 10 s. Must hold at least two segments. */
  windowUs?: number;
  /** Length of one segment of device time, in µs; each contributes its fastest frame. Default 1 s. */
  segmentUs?: number;
  /**
   * Samples observed (since the start or the last reset) before the fit is used, and samples the segment
   * still being filled needs before its minimum takes part in the fit. Default 32.
   */
  minSamples?: number;
  /** How many of the most recent samples `jitter` summarises. Default 2000. */
  jitterSamples?: number;
  /** Known fixed part of the transport latency, in µs, subtracted from every mapping. Default 0. */
  minLatencyUs?: number;
}

/** Distribution of residuals `hostUs − toHost(deviceUs)`, in µs, over recent samples. */
export interface ClockJitter {
  p50: number;
  p99: number;
  max: number;
  /** Number of samples summarised (0: no samples, and every figure is 0). */
  count: number;
}

const DEFAULT_WINDOW_US = 10_000_000;
const DEFAULT_SEGMENT_US = 1_000_000;
const DEFAULT_MIN_SAMPLES = 32;
const DEFAULT_JITTER_SAMPLES = 2000;

function checkPositive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(`ClockMapper: option ${name} must be a finite number > 0, got ${String(value)}`);
  }
  return value;
}

function checkCount(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`ClockMapper: option ${name} must be an integer >= 1, got ${String(value)}`);
  }
  return value;
}

function percentile(sorted: Float64Array, n: number, p: number): number {
  const pos = p * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export class ClockMapper {
  readonly windowUs: number;
  readonly segmentUs: number;
  readonly minSamples: number;
  readonly minLatencyUs: number;

  /** Completed segments kept in the window. */
  private readonly segments: number;
  /** Ring slots: the completed segments plus the one being filled. */
  private readonly slots: number;
  private readonly segIdx: Float64Array;
  private readonly segCount: Float64Array;
  /** Per segment, the sample with the smallest offset: x = device − deviceRef, y = host − device − offsetRef. */
  private readonly segX: Float64Array;
  private readonly segY: Float64Array;
  private readonly hullX: Float64Array;
  private readonly hullY: Float64Array;

  private readonly jitterCap: number;
  private readonly jitX: Float64Array;
  private readonly jitY: Float64Array;
  private readonly jitScratch: Float64Array;
  private jitHead = 0;
  private jitLen = 0;

  /** Epoch references, so the fit works on small numbers. */
  private deviceRef = 0;
  private offsetRef = 0;
  private count = 0;
  private lastDevice = 0;
  private currentSeg = 0;

  private dirty = false;
  private isFitted = false;
  private slope = 0;
  private anchorX = 0;
  private anchorY = 0;

  constructor(options: ClockMapperOptions = {}) {
    this.windowUs = checkPositive('windowUs', options.windowUs ?? DEFAULT_WINDOW_US);
    this.segmentUs = checkPositive('segmentUs', options.segmentUs ?? DEFAULT_SEGMENT_US);
    if (this.windowUs < 2 * this.segmentUs) {
      throw new RangeError(
        `ClockMapper: option windowUs (${this.windowUs}) must be at least twice segmentUs (${this.segmentUs})`,
      );
    }
    this.minSamples = checkCount('minSamples', options.minSamples ?? DEFAULT_MIN_SAMPLES);
    this.jitterCap = checkCount('jitterSamples', options.jitterSamples ?? DEFAULT_JITTER_SAMPLES);
    const minLatency = options.minLatencyUs ?? 0;
    if (!Number.isFinite(minLatency) || minLatency < 0) {
      throw new RangeError(
        `ClockMapper: option minLatencyUs must be a finite number >= 0, got ${String(minLatency)}`,
      );
    }
    this.minLatencyUs = minLatency;

    this.segments = Math.ceil(this.windowUs / this.segmentUs);
    this.slots = this.segments + 1;
    this.segIdx = new Float64Array(this.slots).fill(Number.NaN);
    this.segCount = new Float64Array(this.slots);
    this.segX = new Float64Array(this.slots);
    this.segY = new Float64Array(this.slots);
    this.hullX = new Float64Array(this.slots);
    this.hullY = new Float64Array(this.slots);
    this.jitX = new Float64Array(this.jitterCap);
    this.jitY = new Float64Array(this.jitterCap);
    this.jitScratch = new Float64Array(this.jitterCap);
  }

  /**
   * Feeds one frame: `deviceUs` the device timestamp of the frame's end, `hostUs` the host monotonic time
   * (µs) at which its last byte arrived. O(1), allocation-free.
   */
  observe(deviceUs: number, hostUs: number): void {
    if (!Number.isFinite(deviceUs)) {
      throw new RangeError(`ClockMapper.observe: deviceUs must be a finite number, got ${String(deviceUs)}`);
    }
    if (!Number.isFinite(hostUs)) {
      throw new RangeError(`ClockMapper.observe: hostUs must be a finite number, got ${String(hostUs)}`);
    }
    if (this.count > 0 && deviceUs < this.lastDevice - this.segmentUs) this.reset();
    if (this.count === 0) {
      this.deviceRef = deviceUs;
      this.offsetRef = hostUs - deviceUs;
      this.lastDevice = deviceUs;
      this.currentSeg = 0;
    }
    const x = deviceUs - this.deviceRef;
    const y = hostUs - deviceUs - this.offsetRef;
    this.count++;
    if (this.count === this.minSamples) this.dirty = true;
    if (deviceUs > this.lastDevice) this.lastDevice = deviceUs;

    const idx = Math.floor(x / this.segmentUs);
    if (idx > this.currentSeg) {
      this.currentSeg = idx;
      this.dirty = true;
    }
    if (idx >= this.currentSeg - this.segments) {
      const slot = ((idx % this.slots) + this.slots) % this.slots;
      if (this.segIdx[slot] !== idx) {
        this.segIdx[slot] = idx;
        this.segCount[slot] = 0;
        this.segY[slot] = Number.POSITIVE_INFINITY;
      }
      const n = this.segCount[slot]! + 1;
      this.segCount[slot] = n;
      if (y < this.segY[slot]!) {
        this.segX[slot] = x;
        this.segY[slot] = y;
        this.dirty = true;
      } else if (n === this.minSamples) {
        this.dirty = true;
      }
    }

    const j = this.jitHead;
    this.jitX[j] = x;
    this.jitY[j] = y;
    this.jitHead = j + 1 === this.jitterCap ? 0 : j + 1;
    if (this.jitLen < this.jitterCap) this.jitLen++;
  }

  /** Best estimate of the host time (µs) at which device time `deviceUs` happened. */
  toHost(deviceUs: number): number {
    if (!Number.isFinite(deviceUs)) {
      throw new RangeError(`ClockMapper.toHost: deviceUs must be a finite number, got ${String(deviceUs)}`);
    }
    if (this.count === 0) {
      throw new Error('ClockMapper.toHost: no samples observed yet (since construction or the last reset)');
    }
    if (this.dirty) this.refit();
    const x = deviceUs - this.deviceRef;
    return deviceUs + this.offsetRef + this.anchorY + this.slope * (x - this.anchorX) - this.minLatencyUs;
  }

  /**
   * Rate difference `(host clock rate / device clock rate − 1) × 1e6`: positive when the device clock runs
   * slow relative to the host. 0 until it can be estimated.
   */
  get driftPpm(): number {
    if (this.dirty) this.refit();
    return this.slope * 1e6;
  }

  /** Current `host − device` offset (µs), i.e. `toHost(d) − d` at the latest device time; NaN before any sample. */
  get offsetUs(): number {
    if (this.count === 0) return Number.NaN;
    return this.toHost(this.lastDevice) - this.lastDevice;
  }

  /** True while the mapping comes from the fit (enough samples, spanning at least half a segment). */
  get fitted(): boolean {
    if (this.dirty) this.refit();
    return this.isFitted;
  }

  /** Samples observed since construction or the last reset. */
  get sampleCount(): number {
    return this.count;
  }

  /**
   * Residuals `hostUs − toHost(deviceUs)` of the most recent samples (at most `jitterSamples`, and only those
   * within the fit window), against the current fit. O(n log n) in preallocated scratch: call it rarely.
   */
  get jitter(): ClockJitter {
    if (this.count === 0) return { p50: 0, p99: 0, max: 0, count: 0 };
    if (this.dirty) this.refit();
    const oldest = this.lastDevice - this.deviceRef - this.windowUs;
    let n = 0;
    for (let i = 0; i < this.jitLen; i++) {
      const x = this.jitX[i]!;
      if (x < oldest) continue;
      this.jitScratch[n++] =
        this.jitY[i]! - (this.anchorY + this.slope * (x - this.anchorX)) + this.minLatencyUs;
    }
    if (n === 0) return { p50: 0, p99: 0, max: 0, count: 0 };
    const sorted = this.jitScratch.subarray(0, n).sort();
    return {
      p50: percentile(sorted, n, 0.5),
      p99: percentile(sorted, n, 0.99),
      max: sorted[n - 1]!,
      count: n,
    };
  }

  /** Forgets everything, e.g. after the device rebooted (new clock epoch). */
  reset(): void {
    this.segIdx.fill(Number.NaN);
    this.segCount.fill(0);
    this.jitHead = 0;
    this.jitLen = 0;
    this.count = 0;
    this.lastDevice = 0;
    this.currentSeg = 0;
    this.dirty = false;
    this.isFitted = false;
    this.slope = 0;
    this.anchorX = 0;
    this.anchorY = 0;
  }

  /** Rebuilds the lower hull of the segment minima and picks the line. O(segments), allocation-free. */
  private refit(): void {
    this.dirty = false;
    const first = this.currentSeg - this.segments;
    let h = 0;
    let n = 0;
    let sumX = 0;
    let firstX = 0;
    let lastX = 0;
    for (let idx = first; idx <= this.currentSeg; idx++) {
      const slot = ((idx % this.slots) + this.slots) % this.slots;
      if (this.segIdx[slot] !== idx) continue;
      // The segment being filled takes part only once it holds enough samples for a fair minimum.
      if (idx === this.currentSeg && this.segCount[slot]! < this.minSamples) continue;
      const x = this.segX[slot]!;
      const y = this.segY[slot]!;
      if (n === 0) firstX = x;
      lastX = x;
      n++;
      sumX += x;
      // Monotone chain, lower hull: drop the last vertex while it does not make a left turn.
      while (h >= 2) {
        const ox = this.hullX[h - 2]!;
        const oy = this.hullY[h - 2]!;
        const cross = (this.hullX[h - 1]! - ox) * (y - oy) - (this.hullY[h - 1]! - oy) * (x - ox);
        if (cross > 0) break;
        h--;
      }
      this.hullX[h] = x;
      this.hullY[h] = y;
      h++;
    }

    if (this.count >= this.minSamples && h >= 2 && lastX - firstX >= this.segmentUs / 2) {
      // The line below every point with the least total gap to them: the hull edge above their mean x.
      const meanX = sumX / n;
      let e = 0;
      while (e < h - 2 && this.hullX[e + 1]! < meanX) e++;
      this.slope = (this.hullY[e + 1]! - this.hullY[e]!) / (this.hullX[e + 1]! - this.hullX[e]!);
      this.anchorX = this.hullX[e]!;
      this.anchorY = this.hullY[e]!;
      this.isFitted = true;
      return;
    }

    // Not enough for a fit: the lowest line with the last known slope (0 if none) under every point kept.
    let bestX = 0;
    let bestY = 0;
    let best = Number.POSITIVE_INFINITY;
    for (let idx = first; idx <= this.currentSeg; idx++) {
      const slot = ((idx % this.slots) + this.slots) % this.slots;
      if (this.segIdx[slot] !== idx) continue;
      const v = this.segY[slot]! - this.slope * this.segX[slot]!;
      if (v < best) {
        best = v;
        bestX = this.segX[slot]!;
        bestY = this.segY[slot]!;
      }
    }
    this.anchorX = bestX;
    this.anchorY = bestY;
    this.isFitted = false;
  }
}
