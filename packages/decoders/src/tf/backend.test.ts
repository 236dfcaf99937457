import { describe, expect, it } from 'vitest';
import { loadTf } from './backend.js';
import { matMul2d, tanh } from './ops.js';

describe('loadTf', () => {
  it('loads the WASM backend with gradients registered, and names what it skipped', async () => {
    const { tf, backend, skipped } = await loadTf('wasm');
    expect(backend).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(skipped).toEqual([]);
    // Gradients come from the umbrella package; tfjs-core alone registers none in Node.
    const g = tf.grad((x) => tf.mean(x));
    expect(Array.from(g(tf.tensor1d([1, 2, 3, 4])).dataSync())).toEqual([0.25, 0.25, 0.25, 0.25]);
  });

  it('rejects an unknown backend by name', () => {
    expect(() => loadTf('gpu' as never)).toThrow(/unknown TensorFlow.js backend 'gpu'/);
  });

  it('matMul2d has the gradient of a plain matrix product, and tanh is tanh', async () => {
    const { tf } = await loadTf('wasm');
    const a = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
    const b = tf.tensor2d([0.5, -1, 2, 0, 1, 3], [3, 2]);
    const fast = tf.grads((x, w) => tf.sum(tf.square(matMul2d(tf, x as never, w as never))));
    const plain = tf.grads((x, w) => tf.sum(tf.square(tf.matMul(x as never, w as never))));
    const [fa, fb] = fast([a, b]);
    const [pa, pb] = plain([a, b]);
    expect(Array.from(fa!.dataSync())).toEqual(Array.from(pa!.dataSync()));
    expect(Array.from(fb!.dataSync())).toEqual(Array.from(pb!.dataSync()));
    const x = tf.tensor1d([-3, -0.5, 0, 0.7, 2]);
    const t = tanh(tf, x).dataSync();
    [-3, -0.5, 0, 0.7, 2].forEach((v, i) => {
      expect(t[i]).toBeCloseTo(Math.tanh(v), 6);
    });
  });
});
