import { ChannelCountError, InvalidOptionError, type RecordedSession } from '@edge-bci/core';
import type { Decoder } from './decoder.js';
import { normaliseBin } from './normaliser-stats.js';

/**
 * Streams bins [fromBin, toBin) of `session` through `decoder.step`, one at a time, exactly as
 * a live pipeline would: each bin is z-scored with `decoder.normaliser` (frozen), and the
 * decoder state is reset at `fromBin` and at every segment start, so no history crosses a
 * continuity break. Returns the outputs, (toBin - fromBin) x decoder.outputs, row-major.
 */
export function predictSession(
  decoder: Decoder,
  session: RecordedSession,
  fromBin = 0,
  toBin: number = session.bins,
): Float32Array {
  const C = session.metadata.channels;
  if (C !== decoder.inputs) throw new ChannelCountError(decoder.inputs, C, 'session');
  if (
    !Number.isInteger(fromBin) ||
    !Number.isInteger(toBin) ||
    fromBin < 0 ||
    toBin < fromBin ||
    toBin > session.bins
  ) {
    throw new InvalidOptionError(
      'bins',
      `[${fromBin}, ${toBin}) is not a range of bins in [0, ${session.bins}]`,
    );
  }
  const m = decoder.outputs;
  const out = new Float32Array((toBin - fromBin) * m);
  const features = new Float32Array(C);
  const step = new Float32Array(m);
  const state = decoder.initialState();
  const starts = session.segmentStarts;
  let next = 0;
  while (next < starts.length && starts[next] <= fromBin) next++;
  for (let t = fromBin; t < toBin; t++) {
    if (t === fromBin) {
      decoder.reset(state);
    } else if (next < starts.length && starts[next] === t) {
      decoder.reset(state);
      while (next < starts.length && starts[next] <= t) next++;
    }
    normaliseBin(session.counts, decoder.normaliser, features, t * C);
    decoder.step(features, state, step);
    out.set(step, (t - fromBin) * m);
  }
  return out;
}
