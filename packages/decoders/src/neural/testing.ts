/**
 * Checks every neural decoder family must pass, shared by their test files: the streaming engine
 * equals the TensorFlow.js forward pass, step allocates nothing observable, and nothing leaks.
 */
import { Rng } from '@edge-bci/core';
import type { TrainingConfig } from './family.js';
import type { NeuralDecoder } from './neural-decoder.js';

/** A reproducible random input sequence (T x inputs), roughly z-scored spike counts. */
export function randomSequence(T: number, inputs: number, seed = 7): Float32Array {
  const rng = new Rng(seed);
  const x = new Float32Array(T * inputs);
  for (let i = 0; i < x.length; i++) x[i] = rng.normal();
  return x;
}

/** Streams `sequence` bin by bin through the decoder's engine: T x outputs. */
export function streamSequence<C extends TrainingConfig>(
  decoder: NeuralDecoder<C>,
  sequence: Float32Array,
): Float32Array {
  const C = decoder.inputs;
  const M = decoder.outputs;
  const T = sequence.length / C;
  const state = decoder.initialState();
  const out = new Float32Array(T * M);
  const o = new Float32Array(M);
  for (let t = 0; t < T; t++) {
    decoder.step(sequence.subarray(t * C, (t + 1) * C), state, o);
    out.set(o, t * M);
  }
  return out;
}

/** Largest |a - b| / max(1, |b|) over all elements: relative error with an absolute floor near zero. */
export function maxRelativeError(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++)
    worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!)));
  return worst;
}
