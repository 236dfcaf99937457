/**
 * TensorFlow.js for training and calibration, loaded on first use so that a host that only decodes
 * never imports it. Backends, best first: `tensorflow` (@tensorflow/tfjs-node, an optional
 * dependency whose install needs a download; used when a working copy is present), `wasm`
 * (ships its binaries; SIMD, one thread in Node), then `cpu`. Override with `loadTf('wasm')` or the
 * environment variable EDGE_BCI_TF_BACKEND.
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { InvalidOptionError } from '@edge-bci/core';

export type Tf = typeof import('@tensorflow/tfjs-core');
export type TfBackendName = 'tensorflow' | 'wasm' | 'cpu';
export const TF_BACKENDS: readonly TfBackendName[] = ['tensorflow', 'wasm', 'cpu'];

export interface TfHandle {
  readonly tf: Tf;
  readonly backend: TfBackendName;
  /** Backends tried before this one and why they were not used. */
  readonly skipped: ReadonlyArray<{ readonly backend: TfBackendName; readonly reason: string }>;
}

let loading: Promise<TfHandle> | undefined;
let loadedFor: string | undefined;

async function tryBackend(tf: Tf, name: TfBackendName): Promise<void> {
  const require = createRequire(import.meta.url);
  if (name === 'tensorflow') {
    await import('@tensorflow/tfjs-node' as string);
  } else if (name === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    wasm.setWasmPaths(`${dirname(require.resolve('@tensorflow/tfjs-backend-wasm'))}/`);
  } else {
    await import('@tensorflow/tfjs-backend-cpu');
  }
  if (!(await tf.setBackend(name))) throw new Error(`setBackend('${name}') returned false`);
  await tf.ready();
}

/**
 * Loads TensorFlow.js with the best available backend, or `prefer` (then only that one).
 * The result is cached: every later call returns the same handle.
 */
export function loadTf(prefer?: TfBackendName | 'auto'): Promise<TfHandle> {
  const wanted = prefer ?? (process.env.EDGE_BCI_TF_BACKEND as TfBackendName | 'auto' | undefined) ?? 'auto';
  if (wanted !== 'auto' && !TF_BACKENDS.includes(wanted)) {
    throw new InvalidOptionError(
      'backend',
      `unknown TensorFlow.js backend '${wanted}' (${TF_BACKENDS.join(', ')}, auto)`,
    );
  }
  if (loading && loadedFor === wanted) return loading;
  loadedFor = wanted;
  loading = (async () => {
    // The umbrella package, not tfjs-core alone: in Node only it registers the gradients training needs.
    const tf = (await import('@tensorflow/tfjs')) as unknown as Tf;
    const skipped: Array<{ backend: TfBackendName; reason: string }> = [];
    for (const name of wanted === 'auto' ? TF_BACKENDS : [wanted]) {
      try {
        await tryBackend(tf, name);
        return { tf, backend: name, skipped };
      } catch (err) {
        skipped.push({ backend: name, reason: (err as Error).message.split('\n')[0]! });
      }
    }
    throw new InvalidOptionError(
      'backend',
      `no TensorFlow.js backend could be loaded: ${skipped.map((s) => `${s.backend}: ${s.reason}`).join('; ')}`,
    );
  })();
  return loading;
}
