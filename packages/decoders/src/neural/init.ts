import type { Rng } from '@edge-bci/core';

/** Glorot (Xavier) uniform initial weights for a [fanIn, fanOut] matrix, from a seeded generator. */
export function glorotUniform(rng: Rng, fanIn: number, fanOut: number, size = fanIn * fanOut): Float32Array {
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  const w = new Float32Array(size);
  for (let i = 0; i < size; i++) w[i] = (rng.uniform() * 2 - 1) * limit;
  return w;
}

/** Uniform values in [lo, hi). */
export function uniform(rng: Rng, size: number, lo: number, hi: number): Float32Array {
  const w = new Float32Array(size);
  for (let i = 0; i < size; i++) w[i] = lo + rng.uniform() * (hi - lo);
  return w;
}
