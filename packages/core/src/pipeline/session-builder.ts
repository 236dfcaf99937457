import { ChannelCountError } from '../errors.js';
import type { BinEvent, RecordedSession, SessionMarker, SessionMetadata } from '../types.js';

/**
 * Collects streamed bins into an in-memory session (for fitting on live data). A gap, or a jump in
 * bin index, starts a new continuous segment; bins without kinematics get NaN there, which fitting
 * rejects, so only sources with ground truth (simulator, replay) can be collected for training.
 */
export class SessionBuilder {
  private counts: Float32Array;
  private kinematics: Float64Array;
  private startUs: Float64Array;
  private n = 0;
  private lastIndex: number | undefined;
  private readonly segmentStarts: number[] = [];
  private readonly markers: SessionMarker[] = [];
  private brokeSinceLast = true;

  constructor(
    readonly metadata: SessionMetadata,
    initialCapacity = 1024,
  ) {
    this.counts = new Float32Array(initialCapacity * metadata.channels);
    this.kinematics = new Float64Array(initialCapacity * metadata.kinematicNames.length);
    this.startUs = new Float64Array(initialCapacity);
  }

  get bins(): number {
    return this.n;
  }

  add(ev: BinEvent): void {
    if (ev.kind === 'gap') {
      this.brokeSinceLast = true;
      return;
    }
    const c = this.metadata.channels;
    const k = this.metadata.kinematicNames.length;
    if (ev.counts.length !== c) throw new ChannelCountError(c, ev.counts.length, 'bin');
    if (this.n === this.startUs.length) this.grow();
    if (this.brokeSinceLast || (this.lastIndex !== undefined && ev.index !== this.lastIndex + 1)) {
      this.segmentStarts.push(this.n);
      this.brokeSinceLast = false;
    }
    this.counts.set(ev.counts, this.n * c);
    if (ev.kinematics && ev.kinematics.length === k) this.kinematics.set(ev.kinematics, this.n * k);
    else this.kinematics.fill(Number.NaN, this.n * k, (this.n + 1) * k);
    this.startUs[this.n] = ev.startUs;
    this.lastIndex = ev.index;
    this.n++;
  }

  addMarker(label: string, isBreak = false): void {
    this.markers.push({ kind: 'marker', bin: this.n, label, break: isBreak });
  }

  private grow(): void {
    const cap = this.startUs.length * 2;
    const counts = new Float32Array(cap * this.metadata.channels);
    counts.set(this.counts);
    const kin = new Float64Array(cap * this.metadata.kinematicNames.length);
    kin.set(this.kinematics);
    const start = new Float64Array(cap);
    start.set(this.startUs);
    this.counts = counts;
    this.kinematics = kin;
    this.startUs = start;
  }

  build(): RecordedSession {
    const c = this.metadata.channels;
    const k = this.metadata.kinematicNames.length;
    return {
      metadata: this.metadata,
      bins: this.n,
      counts: this.counts.slice(0, this.n * c),
      kinematics: this.kinematics.slice(0, this.n * k),
      startUs: this.startUs.slice(0, this.n),
      segmentStarts: [...this.segmentStarts],
      markers: [...this.markers],
    };
  }
}
