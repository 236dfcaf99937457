import {
  createDecoder,
  DECODER_KINDS,
  type Decoder,
  type DecodeTarget,
  loadDecoder,
  TF_BACKENDS,
  type TfBackendName,
} from '@edge-bci/decoders';
import { choiceOption, numberOption, UsageError } from './args.js';

/** Options shared by `train` and `decode`: which decoder, what to learn, on which part. */
export const DECODER_OPTIONS = {
  decoder: { type: 'string' },
  model: { type: 'string' },
  'train-fraction': { type: 'string' },
  target: { type: 'string' },
  history: { type: 'string' },
  set: { type: 'string', multiple: true },
  seed: { type: 'string' },
  backend: { type: 'string' },
} as const;

export const DECODER_USAGE = `Decoders: ${DECODER_KINDS.join(', ')}
  --train-fraction F     fit on the first F of the bins (default 0.5 for decode, 1 for train)
  --target velocity|position
  --set KEY=VALUE        override a hyperparameter (repeatable; VALUE is JSON, e.g. hidden=[128,64])
  --history K            bins of history (wiener, mlp)
  --seed N               seed for initial weights and shuffling (default 1)
  --backend ${TF_BACKENDS.join('|')}   TensorFlow.js backend for training (default: best available)`;

export interface DecoderChoice {
  readonly kind: string;
  readonly config: Record<string, unknown>;
  readonly target: DecodeTarget;
  readonly seed: number;
  readonly backend: TfBackendName | undefined;
}

export function decoderChoice(values: {
  decoder?: string;
  target?: string;
  history?: string;
  set?: string[];
  seed?: string;
  backend?: string;
}): DecoderChoice {
  if (!values.decoder)
    throw new UsageError(`needs --decoder (one of ${DECODER_KINDS.join(', ')}) or --model DIR`);
  const kind = choiceOption(values.decoder, 'decoder', DECODER_KINDS, DECODER_KINDS[0]!);
  const config: Record<string, unknown> = {};
  if (values.history !== undefined)
    config.history = numberOption(values.history, 'history', 10, { min: 1, max: 100, integer: true });
  for (const kv of values.set ?? []) {
    const m = /^([A-Za-z][\w]*)=(.*)$/.exec(kv);
    if (!m) throw new UsageError(`--set takes KEY=VALUE, got '${kv}'`);
    try {
      config[m[1]!] = JSON.parse(m[2]!);
    } catch {
      throw new UsageError(
        `--set ${m[1]}: '${m[2]}' is not a JSON value (numbers, true/false, [1,2], "text")`,
      );
    }
  }
  return {
    kind,
    config,
    target: choiceOption<DecodeTarget>(values.target, 'target', ['velocity', 'position'], 'velocity'),
    seed: numberOption(values.seed, 'seed', 1, { min: 0, max: 2 ** 32 - 1, integer: true }),
    backend:
      values.backend === undefined ? undefined : choiceOption(values.backend, 'backend', TF_BACKENDS, 'wasm'),
  };
}

export async function newDecoder(choice: DecoderChoice): Promise<Decoder> {
  return createDecoder(choice.kind, choice.config);
}

export { loadDecoder };
