import { InvalidOptionError } from '@edge-bci/core';
import type { Decoder } from './decoder.js';
import { WIENER_KIND, WienerDecoder } from './wiener/wiener.js';

/** Decoder kinds that `createDecoder` can build untrained, in the order the CLI lists them. */
export const DECODER_KINDS = [WIENER_KIND] as const;
export type DecoderKind = (typeof DECODER_KINDS)[number];

/** A new, unfitted decoder of `kind`; `config` overrides its defaults. */
export function createDecoder(kind: string, config: Readonly<Record<string, unknown>> = {}): Decoder {
  switch (kind) {
    case WIENER_KIND:
      return new WienerDecoder(config);
    default:
      throw new InvalidOptionError('decoder', `unknown kind '${kind}' (known: ${DECODER_KINDS.join(', ')})`);
  }
}

/** The kinematic columns of `kinematicNames` that a decoder's outputs correspond to (by name). */
export function outputColumns(
  decoder: Pick<Decoder, 'outputNames'>,
  kinematicNames: readonly string[],
): number[] {
  return decoder.outputNames.map((name) => {
    const i = kinematicNames.indexOf(name);
    if (i < 0) {
      throw new InvalidOptionError(
        'kinematics',
        `the decoder outputs '${name}', which this session does not have (it has ${kinematicNames.join(', ')})`,
      );
    }
    return i;
  });
}
