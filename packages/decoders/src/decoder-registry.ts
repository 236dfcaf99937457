import { join } from 'node:path';
import type { Decoder } from './decoder.js';
import { ModelFormatError } from './errors.js';
import { NEURAL_FAMILIES } from './kinds.js';
import { type LoadedModel, loadModelDir, MODEL_JSON } from './model-io.js';
import { NeuralDecoder } from './neural/neural-decoder.js';
import { WIENER_KIND, WienerDecoder } from './wiener/wiener.js';

/** Builds a decoder of one kind from a validated model directory. */
export type DecoderLoader = (model: LoadedModel, dir: string) => Decoder | Promise<Decoder>;

const loaders = new Map<string, DecoderLoader>();

/** Registers (or replaces) the loader for `kind`, so `loadDecoder` can read that kind. */
export function registerDecoderKind(kind: string, loader: DecoderLoader): void {
  if (typeof kind !== 'string' || kind.length === 0)
    throw new TypeError('decoder kind must be a non-empty string');
  loaders.set(kind, loader);
}

/** Kinds `loadDecoder` can read, in registration order. */
export function registeredDecoderKinds(): string[] {
  return [...loaders.keys()];
}

/**
 * Loads any registered decoder from a model directory, dispatching on its `kind`.
 * @throws ModelFormatError when the directory is malformed or its kind is not registered.
 */
export async function loadDecoder(dir: string): Promise<Decoder> {
  const model = await loadModelDir(dir);
  const loader = loaders.get(model.kind);
  if (loader === undefined) {
    throw new ModelFormatError(
      join(dir, MODEL_JSON),
      `unknown decoder kind "${model.kind}" (registered: ${registeredDecoderKinds().join(', ') || 'none'})`,
    );
  }
  return loader(model, dir);
}

registerDecoderKind(WIENER_KIND, (model, dir) => WienerDecoder.fromModel(model, dir));
registerDecoderKind('kalman', async (model, dir) =>
  (await import('./kalman/kalman.js')).KalmanDecoder.fromModel(model, dir),
);
for (const [kind, family] of Object.entries(NEURAL_FAMILIES)) {
  registerDecoderKind(kind, async (model, dir) => NeuralDecoder.fromModel(await family(), model, dir));
}
