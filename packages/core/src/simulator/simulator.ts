/**
 * A seeded simulator of monkey motor cortex (threshold crossings on a Utah-like array) during
 * reaching, to stand in for a real recording.
 *
 * ## Hand (task.ts)
 * A 2-D hand, in mm and mm/s, alternates holds (200-600 ms) and minimum-jerk reaches
 * (0.5-1.2 s, longer for longer reaches, 2 mm endpoint scatter):
 *   x(t) = x0 + (xf - x0)(10 s^3 - 15 s^4 + 6 s^5),  v(t) = (xf - x0)/T (30 s^2 - 60 s^3 + 30 s^4),  s = t/T.
 * Velocity is the analytic derivative. Tasks: 'center-out' (8 targets on a circle of radius 80 mm,
 * centre -> target -> centre, blocks of 8 in random order) and 'random-target' (targets uniform in a
 * 200 x 200 mm square, each reach starting where the last ended).
 *
 * ## Channels (neurons.ts)
 * Each channel i has a baseline b_i (lognormal, median 12 Hz, clamped to 5-40 Hz), a modulation
 * depth d_i, a speed term s_i and a preferred direction u_i = (cos th_i, sin th_i), th_i uniform.
 * 80 % are tuned (d = b U(0.4, 0.9) + U(3, 8) Hz, s = d U(0, 0.4)), 10 % weakly tuned
 * (d = b U(0.05, 0.2), s = 0), 10 % untuned. The rate leads the hand by `lagMs` (default 100 ms):
 *
 *   rate_i(t) = max(0, b_i(h) + g(h) [d_i (v(t + lag) . u_i(h)) + s_i |v(t + lag)|] / v_ref + A(t) w_i)
 *
 * with v_ref = 200 mm/s (about the peak speed of a centre-out reach), h the array time in hours
 * (below), A(t) the common artifact rate of a noise burst and w_i the channel's pickup weight.
 * The simulator runs the hand `lagMs` ahead of the spikes in a ring buffer.
 *
 * ## Spikes
 * At 1 ms steps (dt = 1 ms): a channel spikes with probability p, then stays silent for
 * ceil(refractoryMs) steps (default 2): any two spikes of a channel are at least refractoryMs apart
 * whatever their position inside their steps. p is not 1 - exp(-rate dt) but the hazard that keeps
 * the *mean* rate equal to `rate` despite the dead time: with x = rate dt and R dead steps,
 * p / (1 + R p) = x, so p = x / (1 - R x) (p = 1 when x >= 1 / (R + 1); the most a channel can fire
 * is 1000 / (R + 1) Hz). A 40 Hz baseline therefore measures 40 Hz, not 37. A sub-bin (`subBinUs`,
 * a multiple of 1 ms) sums its 1 ms steps.
 *
 * ## Drift (drift.ts)
 * Knobs are functions of array time h = drift.startHours + session time (hours since "day 0"):
 * - baselineDrift sigma: b_i(h) = b_i exp(sigma W_i(h)), W_i independent standard Brownian motions
 *   (piecewise linear between 1-minute knots, consistent whatever h a session starts at);
 * - gainChange c: g(h) = (1 + c)^h, common to all channels, deterministic;
 * - pdRotation r: th_i(h) = th_i + r h degrees, common to all channels;
 * - deadChannels f: round(f N) channels chosen by the seed are silent for the whole session;
 * - noiseBursts m: Poisson onsets at m per minute, each 50-200 ms with A = U(100, 300) Hz,
 *   picked up by ~85 % of channels with w_i = U(0.5, 1.5) (before refractoriness);
 * - rateScale k multiplies b_i, d_i and s_i.
 * The rate coefficients are refreshed every 100 ms of session time.
 *
 * ## Seeds and streams
 * Everything follows from `seed` through named forks of one `Rng` (rng.ts): the *array* (channel
 * tuning, dead channels, drift paths) from fork('array'), the *session* (hand, spike noise, bursts)
 * from fork(`session/${startHours}`). Hence:
 * - the same options give bit-identical output;
 * - channel i's tuning and spike noise do not depend on the number of channels, and the hand does
 *   not depend on anything but seed, task and startHours;
 * - a session with another startHours is another day of the same array: same neurons, drift
 *   continued, new hand trajectory and new spike noise (so day 2 never replays day 0's spikes);
 * - every channel draws one uniform per step whatever its rate, so turning a knob changes only the
 *   spikes the knob has to change (common random numbers).
 *
 * ## Frames
 * Frame n covers [n subBinUs, (n + 1) subBinUs) of device time (which starts at 0). Its kinematics
 * [pos_x, pos_y, vel_x, vel_y] are the mean of the hand samples taken at the middle of each of its
 * 1 ms steps (for 1 ms frames: the value at the middle of the frame).
 */
import { InvalidOptionError } from '../errors.js';
import type { SessionMetadata, SpikeCountFrame } from '../types.js';
import { numberedLabels } from '../util/labels.js';
import { type DriftOptions, NoiseBurstProcess, resolveDrift } from './drift.js';
import { type ChannelState, type ChannelTuning, NeuronPopulation, REFERENCE_SPEED_MM_S } from './neurons.js';
import { Rng, validateSeed } from './rng.js';
import { ReachingTask, TASK_NAMES, type TaskName } from './task.js';

/** Bumped whenever a change makes one seed produce different data. Recorded in `metadata().source`. */
export const SIMULATOR_MODEL_VERSION = 1;

/** Kinematic columns of every frame and session, in order. */
export const SIMULATOR_KINEMATIC_NAMES: readonly string[] = Object.freeze([
  'pos_x',
  'pos_y',
  'vel_x',
  'vel_y',
]);

/** Units of `SIMULATOR_KINEMATIC_NAMES`. */
export const SIMULATOR_KINEMATIC_UNITS: readonly string[] = Object.freeze(['mm', 'mm', 'mm/s', 'mm/s']);

export interface SimulatorOptions {
  /** Integer in [0, 2^32). Default 1. */
  seed?: number;
  /** Number of channels, 1-4096. Default 96. */
  channels?: number;
  /** Default 'center-out'. */
  task?: TaskName;
  /** Width of one frame in us, a multiple of 1000 up to 1 s. Default 1000. */
  subBinUs?: number;
  /** Whole ms by which neural activity leads the hand, 0-1000. Default 100. */
  lagMs?: number;
  /** Absolute refractory period in ms, 0-100 (rounded up to whole 1 ms steps). Default 2. */
  refractoryMs?: number;
  /** Drift knobs; see `DriftOptions`. Default: none. */
  drift?: Partial<DriftOptions>;
}

const STEP_US = 1000;
const MS_PER_HOUR = 3_600_000;
/** Steps between refreshes of the drift state. */
const DRIFT_REFRESH_STEPS = 100;

function integerOption(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidOptionError(name, `must be an integer in [${min}, ${max}], got ${String(value)}`);
  }
  return value;
}

/** Check a bin width against a sub-bin width; returns the number of sub-bins per bin. */
export function subBinsPerBin(binWidthUs: unknown, subBinUs: number, option = 'binWidthUs'): number {
  if (typeof binWidthUs !== 'number' || !Number.isInteger(binWidthUs) || binWidthUs <= 0) {
    throw new InvalidOptionError(option, `must be a positive integer, got ${String(binWidthUs)}`);
  }
  if (binWidthUs % subBinUs !== 0) {
    throw new InvalidOptionError(option, `must be a multiple of subBinUs (${subBinUs}), got ${binWidthUs}`);
  }
  return binWidthUs / subBinUs;
}

/** Channel labels 'ch001', 'ch002', ... (wider when there are more than 999 channels). */
export function simulatorChannelLabels(channels: number): string[] {
  return numberedLabels('ch', channels, Math.max(3, String(channels).length));
}

/** Motor cortex during reaching, one frame at a time. See the comment at the top of this file. */
export class MotorCortexSimulator {
  readonly seed: number;
  readonly channels: number;
  readonly task: TaskName;
  readonly subBinUs: number;
  readonly lagMs: number;
  readonly refractoryMs: number;
  /** Every drift knob, defaults filled in. */
  readonly drift: Readonly<DriftOptions>;

  private readonly stepsPerFrame: number;
  private readonly hand: ReachingTask;
  private readonly population: NeuronPopulation;
  private readonly bursts: NoiseBurstProcess;
  /** Hand samples from step k to k + lag: slot j % size holds step j ([px, py, vx, vy]). */
  private readonly ring: Float64Array;
  private readonly ringReach: Uint8Array;
  private readonly ringSize: number;
  private readonly lagSteps: number;
  private readonly driftOn: boolean;
  /** 1 ms steps simulated so far. */
  private steps = 0;
  private frames = 0;
  private trials = 0;
  private trialStarted = false;
  private inBurst = false;
  /** Scratch of one frame. */
  private readonly frameCounts: Uint16Array;
  private readonly frameKin = new Float64Array(4);

  constructor(options: SimulatorOptions = {}) {
    this.seed = validateSeed(options.seed ?? 1);
    this.channels = integerOption('channels', options.channels ?? 96, 1, 4096);
    const task = options.task ?? 'center-out';
    if (!TASK_NAMES.includes(task)) {
      throw new InvalidOptionError('task', `must be one of ${TASK_NAMES.join(', ')}, got ${String(task)}`);
    }
    this.task = task;
    this.subBinUs = integerOption('subBinUs', options.subBinUs ?? 1000, STEP_US, 1_000_000);
    if (this.subBinUs % STEP_US !== 0) {
      throw new InvalidOptionError('subBinUs', `must be a multiple of ${STEP_US} us, got ${this.subBinUs}`);
    }
    this.lagMs = integerOption('lagMs', options.lagMs ?? 100, 0, 1000);
    const refractoryMs = options.refractoryMs ?? 2;
    if (
      typeof refractoryMs !== 'number' ||
      !Number.isFinite(refractoryMs) ||
      refractoryMs < 0 ||
      refractoryMs > 100
    ) {
      throw new InvalidOptionError(
        'refractoryMs',
        `must be a number in [0, 100], got ${String(refractoryMs)}`,
      );
    }
    this.refractoryMs = refractoryMs;
    this.drift = resolveDrift(options.drift ?? {});

    const root = new Rng(this.seed);
    const array = root.fork('array');
    const session = root.fork(`session/${this.drift.startHours}`);
    this.stepsPerFrame = this.subBinUs / STEP_US;
    this.hand = new ReachingTask(this.task, session.fork('task'));
    this.population = new NeuronPopulation({
      channels: this.channels,
      refractorySteps: Math.ceil(refractoryMs),
      drift: this.drift,
      arrayRng: array,
      sessionRng: session,
    });
    this.bursts = new NoiseBurstProcess(this.drift.noiseBursts, session.fork('bursts'));
    this.driftOn = this.population.drifting;
    this.lagSteps = this.lagMs;
    this.ringSize = this.lagSteps + 1;
    this.ring = new Float64Array(4 * this.ringSize);
    this.ringReach = new Uint8Array(this.ringSize);
    for (let j = 0; j < this.lagSteps; j++) this.ringReach[j] = this.hand.step(this.ring, 4 * j) ? 1 : 0;
    this.frameCounts = new Uint16Array(this.channels);
  }

  /** Device time (us) at the start of the next frame = session time simulated so far. */
  get timeUs(): number {
    return this.steps * STEP_US;
  }

  /** Sequence number of the next frame (frames are numbered from 0). */
  get seq(): number {
    return this.frames;
  }

  /** Array time (hours since day 0) at the start of the next frame. */
  get hours(): number {
    return this.drift.startHours + this.steps / MS_PER_HOUR;
  }

  /** True when a reach (trial) started within the last frame (hand time; the neurons led it by lagMs). */
  get trialStartedThisFrame(): boolean {
    return this.trialStarted;
  }

  /** Reaches (trials) started so far, up to the end of the last frame. */
  get trialCount(): number {
    return this.trials;
  }

  /** True when the last frame overlapped a noise burst. */
  get noiseBurstThisFrame(): boolean {
    return this.inBurst;
  }

  /** Noise bursts started so far (neural time). */
  get noiseBurstCount(): number {
    return this.bursts.count;
  }

  /** Day-0 parameters of every channel (ground truth; drift not applied). */
  get tuning(): readonly ChannelTuning[] {
    return this.population.tuning;
  }

  /** Indices of the dead channels, ascending. */
  get deadChannels(): number[] {
    const out: number[] = [];
    this.population.dead.forEach((d, i) => {
      if (d) out.push(i);
    });
    return out;
  }

  /** Effective channel parameters (drift and rateScale applied) at array time `hours` (default: now). */
  channelState(hours = this.hours): ChannelState {
    if (typeof hours !== 'number' || !Number.isFinite(hours) || hours < 0) {
      throw new InvalidOptionError('hours', `must be a finite number >= 0, got ${String(hours)}`);
    }
    return this.population.stateAt(hours);
  }

  /** Simulate one frame into the scratch buffers (counts, summed kinematics). Allocation-free. */
  private runFrame(): void {
    const counts = this.frameCounts;
    counts.fill(0);
    const kin = this.frameKin;
    kin[0] = kin[1] = kin[2] = kin[3] = 0;
    const { ring, ringReach, ringSize, lagSteps, population, bursts, hand } = this;
    let started = false;
    let burst = false;
    for (let j = 0; j < this.stepsPerFrame; j++) {
      const k = this.steps;
      if (this.driftOn && k % DRIFT_REFRESH_STEPS === 0)
        population.setHours(this.drift.startHours + k / MS_PER_HOUR);
      // The hand at t + lag drives the neurons; the hand at t is what the frame reports.
      const ahead = (k + lagSteps) % ringSize;
      ringReach[ahead] = hand.step(ring, 4 * ahead) ? 1 : 0;
      const common = bursts.rateAt(k);
      if (common > 0) burst = true;
      population.step(ring[4 * ahead + 2]!, ring[4 * ahead + 3]!, common, counts);
      const now = k % ringSize;
      const o = 4 * now;
      kin[0] += ring[o]!;
      kin[1] += ring[o + 1]!;
      kin[2] += ring[o + 2]!;
      kin[3] += ring[o + 3]!;
      if (ringReach[now]) {
        started = true;
        this.trials++;
      }
      this.steps++;
    }
    this.trialStarted = started;
    this.inBurst = burst;
    this.frames++;
  }

  /** The next frame, in newly allocated arrays. */
  nextFrame(): SpikeCountFrame {
    const counts = new Uint16Array(this.channels);
    const kinematics = new Float64Array(4);
    const deviceTimeUs = this.timeUs;
    const seq = this.nextFrameInto(counts, kinematics);
    return { kind: 'counts', seq, deviceTimeUs, durationUs: this.subBinUs, counts, kinematics };
  }

  /**
   * The next frame without allocating: writes its counts into `counts` (length >= channels) and, when
   * given, its mean kinematics into `kinematics` (length >= 4). Returns the frame's sequence number;
   * its device time is seq * subBinUs.
   */
  nextFrameInto(counts: Uint16Array, kinematics?: Float64Array): number {
    const seq = this.frames;
    this.runFrame();
    counts.set(this.frameCounts);
    if (kinematics) {
      const inv = 1 / this.stepsPerFrame;
      for (let j = 0; j < 4; j++) kinematics[j] = this.frameKin[j]! * inv;
    }
    return seq;
  }

  /**
   * Simulate the next frame and *add* it to running sums: counts to `counts[countsOffset + i]` and
   * the kinematic samples (their sum over the frame's 1 ms steps, not the mean) to
   * `kinematicSums[kinematicsOffset + j]`. Returns the number of 1 ms steps in the frame. For binning
   * without allocation (see `simulateSession`).
   */
  addNextFrame(
    counts: Float32Array | Float64Array,
    countsOffset: number,
    kinematicSums: Float64Array,
    kinematicsOffset: number,
  ): number {
    this.runFrame();
    const c = this.frameCounts;
    for (let i = 0; i < this.channels; i++) counts[countsOffset + i] += c[i]!;
    for (let j = 0; j < 4; j++) kinematicSums[kinematicsOffset + j] += this.frameKin[j]!;
    return this.stepsPerFrame;
  }

  /**
   * Session metadata for bins of `binWidthUs` (default: one frame). Contains everything needed to
   * regenerate the data and no creation time, so one seed always gives identical files.
   */
  metadata(binWidthUs: number = this.subBinUs): SessionMetadata {
    subBinsPerBin(binWidthUs, this.subBinUs);
    return {
      channels: this.channels,
      channelLabels: simulatorChannelLabels(this.channels),
      binWidthUs,
      kinematicNames: [...SIMULATOR_KINEMATIC_NAMES],
      source: {
        generator: 'edge-bci simulator',
        modelVersion: SIMULATOR_MODEL_VERSION,
        seed: this.seed,
        task: this.task,
        channels: this.channels,
        subBinUs: this.subBinUs,
        lagMs: this.lagMs,
        refractoryMs: this.refractoryMs,
        referenceSpeedMmPerS: REFERENCE_SPEED_MM_S,
        drift: { ...this.drift },
        kinematicUnits: [...SIMULATOR_KINEMATIC_UNITS],
      },
    };
  }
}
