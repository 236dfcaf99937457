import { InvalidOptionError } from '../errors.js';
import type { RecordedSession, SessionMarker } from '../types.js';
import { MotorCortexSimulator, type SimulatorOptions, subBinsPerBin } from './simulator.js';

export interface SimulateSessionOptions extends SimulatorOptions {
  /** Length of the session in seconds; only whole bins are kept (floor). */
  seconds: number;
  /** Bin width in us, a multiple of `subBinUs`. Default 50 000 (50 ms). */
  binWidthUs?: number;
  /** Called with the fraction done (0-1], about every 1 % and once with 1 at the end. */
  onProgress?: (fraction: number) => void;
}

/**
 * Simulate a whole session and bin it: counts summed over each bin, kinematics averaged over the
 * bin's 1 ms samples, `startUs` = bin index * binWidthUs, one segment, and a marker
 * { label: 'trial', break: false } at the bin in which each reach starts (at most one per bin).
 * The metadata is `new MotorCortexSimulator(options).metadata(binWidthUs)`.
 */
export function simulateSession(options: SimulateSessionOptions): RecordedSession {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionError('options', 'must be an object');
  }
  const { seconds, binWidthUs = 50_000, onProgress, ...simOptions } = options;
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds <= 0) {
    throw new InvalidOptionError('seconds', `must be a finite number > 0, got ${String(seconds)}`);
  }
  if (onProgress !== undefined && typeof onProgress !== 'function') {
    throw new InvalidOptionError('onProgress', 'must be a function');
  }
  const sim = new MotorCortexSimulator(simOptions);
  const framesPerBin = subBinsPerBin(binWidthUs, sim.subBinUs);
  const bins = Math.floor(Math.round(seconds * 1e6) / binWidthUs);
  if (bins < 1) {
    throw new InvalidOptionError('seconds', `${seconds} s is shorter than one bin (${binWidthUs} us)`);
  }
  const n = sim.channels;
  if (bins * n > 2 ** 31) {
    throw new InvalidOptionError('seconds', `${bins} bins x ${n} channels is too large for one session`);
  }
  const counts = new Float32Array(bins * n);
  const kinematics = new Float64Array(bins * 4);
  const startUs = new Float64Array(bins);
  const markers: SessionMarker[] = [];
  const progressEvery = Math.max(1, Math.ceil(bins / 100));
  for (let b = 0; b < bins; b++) {
    startUs[b] = b * binWidthUs;
    let steps = 0;
    let trial = false;
    for (let f = 0; f < framesPerBin; f++) {
      steps += sim.addNextFrame(counts, b * n, kinematics, b * 4);
      if (sim.trialStartedThisFrame) trial = true;
    }
    const inv = 1 / steps;
    for (let j = 0; j < 4; j++) kinematics[b * 4 + j] *= inv;
    if (trial) markers.push({ kind: 'marker', bin: b, label: 'trial', break: false });
    if (onProgress && ((b + 1) % progressEvery === 0 || b === bins - 1)) onProgress((b + 1) / bins);
  }
  return {
    metadata: sim.metadata(binWidthUs),
    bins,
    counts,
    kinematics,
    startUs,
    segmentStarts: [0],
    markers,
  };
}
