import { InvalidOptionError } from '../errors.js';
import type { Bin, BinEvent, RecordedSession } from '../types.js';

/**
 * The bins [fromBin, toBin) of an in-memory session as a stream of events, in order: each bin with
 * its kinematics, and a Gap before every bin that starts a new continuous segment (other than the
 * first one emitted), so that streaming stages reset exactly where fitting did.
 */
export function* sessionBinEvents(
  session: RecordedSession,
  fromBin = 0,
  toBin = session.bins,
): Generator<BinEvent> {
  if (
    !(
      Number.isInteger(fromBin) &&
      Number.isInteger(toBin) &&
      fromBin >= 0 &&
      fromBin <= toBin &&
      toBin <= session.bins
    )
  ) {
    throw new InvalidOptionError(
      'range',
      `[${fromBin}, ${toBin}) is not within the session's ${session.bins} bins`,
    );
  }
  const { channels, binWidthUs, kinematicNames } = session.metadata;
  const k = kinematicNames.length;
  const breaks = new Set(session.segmentStarts);
  for (let i = fromBin; i < toBin; i++) {
    const startUs = session.startUs[i]!;
    if (i > fromBin && breaks.has(i)) {
      const prevEnd = session.startUs[i - 1]! + binWidthUs;
      yield {
        kind: 'gap',
        startUs: prevEnd,
        endUs: Math.max(prevEnd, startUs),
        reason: 'segment',
        firstBin: i,
        bins: 0,
      };
    }
    const bin: Bin = {
      kind: 'bin',
      index: i,
      startUs,
      widthUs: binWidthUs,
      counts: session.counts.slice(i * channels, (i + 1) * channels),
      kinematics: session.kinematics.slice(i * k, (i + 1) * k),
    };
    yield bin;
  }
}
