import { InvalidOptionError } from '@edge-bci/core';
import type { Decoder } from './decoder.js';
import type { NeuralFamily, TrainingConfig } from './neural/family.js';
import { NeuralDecoder } from './neural/neural-decoder.js';
import { WIENER_KIND, WienerDecoder } from './wiener/wiener.js';

type AnyFamily = NeuralFamily<TrainingConfig & Record<string, unknown>>;

/**
 * Network families by kind, each loaded only when asked for: a host that decodes with one kind
 * never loads the others.
 */
export const NEURAL_FAMILIES: Readonly<Record<string, () => Promise<AnyFamily>>> = {
  mlp: () => import('./mlp/mlp.js').then((m) => m.mlpFamily as unknown as AnyFamily),
  gru: () => import('./gru/gru.js').then((m) => m.gruFamily as unknown as AnyFamily),
  transformer: () =>
    import('./transformer/transformer.js').then((m) => m.transformerFamily as unknown as AnyFamily),
  rwkv: () => import('./rwkv/rwkv.js').then((m) => m.rwkvFamily as unknown as AnyFamily),
  mamba: () => import('./mamba/mamba.js').then((m) => m.mambaFamily as unknown as AnyFamily),
  snn: () => import('./snn/snn.js').then((m) => m.snnFamily as unknown as AnyFamily),
};

/** Every decoder kind `createDecoder` can build, in the order the CLI lists them. */
export const DECODER_KINDS = [
  WIENER_KIND,
  'kalman',
  'mlp',
  'gru',
  'transformer',
  'rwkv',
  'mamba',
  'snn',
] as const;
export type DecoderKind = (typeof DECODER_KINDS)[number];

/** A new, unfitted decoder of `kind`; `config` overrides its defaults. */
export async function createDecoder(
  kind: string,
  config: Readonly<Record<string, unknown>> = {},
): Promise<Decoder> {
  if (kind === WIENER_KIND) return new WienerDecoder(config);
  if (kind === 'kalman') {
    const { KalmanDecoder } = await import('./kalman/kalman.js');
    return new KalmanDecoder(config);
  }
  const family = NEURAL_FAMILIES[kind];
  if (!family)
    throw new InvalidOptionError('decoder', `unknown kind '${kind}' (known: ${DECODER_KINDS.join(', ')})`);
  return new NeuralDecoder(await family(), config as Partial<TrainingConfig & Record<string, unknown>>);
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
