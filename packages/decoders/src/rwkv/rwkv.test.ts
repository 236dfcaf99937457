import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simulateSession } from '@edge-bci/core';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDecoder } from '../decoder-registry.js';
import { predictSession } from '../evaluate.js';
import { NeuralDecoder } from '../neural/neural-decoder.js';
import { maxRelativeError, randomSequence, streamSequence } from '../neural/testing.js';
import { loadTf } from '../tf/backend.js';
import { type RwkvConfig, rwkvFamily } from './rwkv.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function initialised(config: Partial<RwkvConfig>, inputs: number, seed: number) {
  const dec = new NeuralDecoder(rwkvFamily, config);
  await dec.initialise(inputs, ['vel_x', 'vel_y'], seed);
  return dec;
}

describe('rwkv decoder', () => {
  it('streams bin by bin exactly as the TensorFlow.js forward pass (one layer)', async () => {
    const dec = await initialised(
      { dModel: 16, layers: 1, ffnHidden: 32, windowBins: 8, burnInBins: 2 },
      7,
      3,
    );
    // 60 bins: far longer than a training window.
    const seq = randomSequence(60, 7);
    const tfOut = await dec.forwardSequence(seq);
    const streamed = streamSequence(dec, seq);
    expect(maxRelativeError(streamed, tfOut)).toBeLessThan(1e-4);
    // and the comparison can fail: a perturbed weight breaks it
    const decay = dec.weightMap.get('rwkv/block0/att/time_first')!.data;
    decay[3]! += 0.5;
    expect(maxRelativeError(streamSequence(dec, seq), tfOut)).toBeGreaterThan(1e-3);
  });

  it('streams exactly as the TensorFlow.js forward pass (two layers), and resets to the same outputs', async () => {
    const dec = await initialised({ dModel: 12, layers: 2, ffnHidden: 20 }, 5, 9);
    const seq = randomSequence(45, 5, 11);
    const tfOut = await dec.forwardSequence(seq);
    const streamed = streamSequence(dec, seq);
    expect(maxRelativeError(streamed, tfOut)).toBeLessThan(1e-4);
    // A state that has run, then reset, gives the fresh outputs again.
    const state = dec.initialState();
    const o = new Float32Array(2);
    for (let t = 0; t < 10; t++) dec.step(seq.subarray(t * 5, (t + 1) * 5), state, o);
    dec.reset(state);
    dec.step(seq.subarray(0, 5), state, o);
    expect(Array.from(o)).toEqual(Array.from(streamed.subarray(0, 2)));
    const d = dec.describe();
    expect(d.stateSize).toBe(2 * 5 * 12);
    const D = 12;
    const F = 20;
    expect(d.macsPerStep).toBe(5 * D + 3 * D + 2 * (5 * D * D + 2 * D * F + 19 * D + F) + 3 * D + D * 2);
  });

  it('keeps exp from overflowing with large keys (the max trick), in both forms', async () => {
    const dec = await initialised({ dModel: 8, layers: 1, ffnHidden: 16 }, 4, 5);
    // Keys of +-100 and more would overflow exp() in float32 without the max trick. (The engine
    // keeps transposed copies of the matrices, so scale a vector it reads in place: LN1's gamma.)
    const gamma = dec.weightMap.get('rwkv/block0/ln1/gamma')!.data;
    for (let i = 0; i < gamma.length; i++) gamma[i]! *= 150;
    const seq = randomSequence(30, 4, 2);
    const tfOut = await dec.forwardSequence(seq);
    const streamed = streamSequence(dec, seq);
    expect(streamed.every(Number.isFinite)).toBe(true);
    expect(tfOut.every(Number.isFinite)).toBe(true);
    expect(maxRelativeError(streamed, tfOut)).toBeLessThan(1e-4);
  });

  it('rejects invalid options', () => {
    expect(() => new NeuralDecoder(rwkvFamily, { dModel: 0 })).toThrow(/dModel/);
    expect(() => new NeuralDecoder(rwkvFamily, { layers: 1.5 })).toThrow(/layers/);
    expect(() => new NeuralDecoder(rwkvFamily, { ffnHidden: -2 })).toThrow(/ffnHidden/);
    expect(() => new NeuralDecoder(rwkvFamily, { dropout: 1 })).toThrow(/dropout/);
  });

  it('fits a simulated session, leaks no tensors, and loads back to identical outputs', async () => {
    const { tf } = await loadTf();
    const session = simulateSession({ seconds: 120, channels: 16, seed: 4 });
    const dec = new NeuralDecoder(rwkvFamily, {
      dModel: 16,
      layers: 1,
      ffnHidden: 32,
      windowBins: 10,
      burnInBins: 3,
      stride: 2,
      epochs: 6,
      batchSize: 32,
      learningRate: 3e-3,
    });
    const before = tf.memory().numTensors;
    const report = await dec.fit(session, { trainBins: 1800, seed: 2 });
    await dec.forwardSequence(randomSequence(20, 16));
    expect(tf.memory().numTensors).toBe(before);
    expect(report.chosen?.epochs).toBeGreaterThanOrEqual(1);
    // Better than predicting the mean on the held-out part.
    expect(Number(report.chosen?.validationLoss)).toBeLessThan(0.8);
    const D = 16;
    const F = 32;
    const d = dec.describe();
    expect(d.params).toBe(
      16 * D +
        D +
        2 * D +
        (2 * D + 5 * D + 4 * D * D + 2 * D + 2 * D + 2 * D * F + D * D) +
        2 * D +
        D * 2 +
        2,
    );
    const dir = mkdtempSync(join(tmpdir(), 'edge-bci-rwkv-'));
    dirs.push(dir);
    await dec.save(dir);
    const back = await loadDecoder(dir);
    expect(back.kind).toBe('rwkv');
    const a = predictSession(dec, session, 1800, 2400);
    const b = predictSession(back, session, 1800, 2400);
    expect(Array.from(b)).toEqual(Array.from(a));
  });
});
