import {
  InvalidOptionError,
  MotorCortexSimulator,
  type RecordedSession,
  SIMULATOR_KINEMATIC_NAMES,
  type SimulatorOptions,
} from '@edge-bci/core';

/** What a firmware streams: one sub-bin of spike counts (and optional auxiliary values) at a time. */
export interface FirmwareSource {
  readonly channels: number;
  readonly subBinUs: number;
  readonly kinematicNames: readonly string[];
  /** Human-readable origin, e.g. 'simulator seed 1' or a file name. */
  readonly description: string;
  /**
   * Writes the next sub-bin's counts into `counts` (length `channels`) and its auxiliary values into
   * `kinematics` (length `kinematicNames.length`). Returns false when the source has ended.
   */
  next(counts: Uint16Array, kinematics: Float32Array): boolean;
}

/** Settings a host may change with a `configure` command while the device is stopped. */
export interface SourceConfig {
  readonly channels?: number;
  readonly subBinUs?: number;
}

/** Builds a source for a configuration, or throws `InvalidOptionError` when the source cannot honour it. */
export type FirmwareSourceFactory = (config: SourceConfig) => FirmwareSource;

/** Where a source starts streaming: this much of it is skipped first (default 0). */
export interface SourceStart {
  readonly startUs?: number;
}

function checkStart(startUs: number): void {
  if (!(Number.isFinite(startUs) && startUs >= 0)) {
    throw new InvalidOptionError('startUs', `must be a non-negative number, got ${startUs}`);
  }
}

/** The built-in motor-cortex simulator as a firmware source (channels and sub-bin width are configurable). */
export function simulatorSource(options: SimulatorOptions & SourceStart = {}): FirmwareSourceFactory {
  const { startUs = 0, ...simulatorOptions } = options;
  checkStart(startUs);
  return (config) => {
    const simulator = new MotorCortexSimulator({
      ...simulatorOptions,
      ...(config.channels !== undefined && { channels: config.channels }),
      ...(config.subBinUs !== undefined && { subBinUs: config.subBinUs }),
    });
    const kin = new Float64Array(SIMULATOR_KINEMATIC_NAMES.length);
    // Run the simulation forward to the start (about 1 s of compute per 10 min of 96 channels).
    const skip = Math.round(startUs / simulator.subBinUs);
    const scratch = new Uint16Array(simulator.channels);
    for (let i = 0; i < skip; i++) simulator.nextFrameInto(scratch);
    return {
      channels: simulator.channels,
      subBinUs: simulator.subBinUs,
      kinematicNames: SIMULATOR_KINEMATIC_NAMES,
      description: `simulator seed ${simulator.seed}, ${simulator.channels} channels, task ${simulator.task}`,
      next(counts, kinematics) {
        simulator.nextFrameInto(counts, kin);
        for (let j = 0; j < kinematics.length; j++) kinematics[j] = kin[j]!;
        return true;
      },
    };
  };
}

/**
 * A recorded session as a firmware source: one sub-bin per recorded bin, so nothing is invented below the
 * recording's resolution. Its channel count and bin width are fixed; a `configure` asking for others is refused.
 * Bins are streamed in order; breaks between segments are not signalled (the device cannot know them).
 */
export function recordingSource(
  session: RecordedSession,
  description = 'recording',
  start: SourceStart = {},
): FirmwareSourceFactory {
  const { channels, binWidthUs, kinematicNames } = session.metadata;
  const startUs = start.startUs ?? 0;
  checkStart(startUs);
  const firstBin = Math.round(startUs / binWidthUs);
  if (firstBin >= session.bins) {
    throw new InvalidOptionError('startUs', `the recording is ${(session.bins * binWidthUs) / 1e6} s long`);
  }
  if (!Number.isInteger(binWidthUs) || binWidthUs <= 0) {
    throw new InvalidOptionError(
      'binWidthUs',
      `a recording streamed by the firmware needs a whole bin width, got ${binWidthUs}`,
    );
  }
  for (let i = 0; i < session.counts.length; i++) {
    const v = session.counts[i]!;
    if (!(Number.isInteger(v) && v >= 0 && v <= 0xffff)) {
      throw new InvalidOptionError(
        'source',
        `the firmware streams whole spike counts; bin ${Math.floor(i / channels)} channel ${i % channels} holds ${v}`,
      );
    }
  }
  return (config) => {
    if (config.channels !== undefined && config.channels !== channels) {
      throw new InvalidOptionError('channels', `the recording has ${channels} channels`);
    }
    if (config.subBinUs !== undefined && config.subBinUs !== binWidthUs) {
      throw new InvalidOptionError('subBinUs', `the recording's bins are ${binWidthUs} us wide`);
    }
    let bin = firstBin;
    const k = kinematicNames.length;
    return {
      channels,
      subBinUs: binWidthUs,
      kinematicNames,
      description,
      next(counts, kinematics) {
        if (bin >= session.bins) return false;
        const row = bin * channels;
        for (let c = 0; c < channels; c++) counts[c] = session.counts[row + c]!;
        for (let j = 0; j < kinematics.length && j < k; j++) kinematics[j] = session.kinematics[bin * k + j]!;
        bin++;
        return true;
      },
    };
  };
}
