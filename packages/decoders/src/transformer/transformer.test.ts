import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidOptionError, simulateSession } from '@edge-bci/core';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDecoder } from '../decoder-registry.js';
import { predictSession } from '../evaluate.js';
import { loadModelDir } from '../model-io.js';
import { NeuralDecoder } from '../neural/neural-decoder.js';
import { maxRelativeError, randomSequence, streamSequence } from '../neural/testing.js';
import { loadTf } from '../tf/backend.js';
import { type TransformerConfig, transformerFamily } from './transformer.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/**
 * A decoder with random weights, every one moved away from its initial value (gammas 1, biases 0)
 * so that each matters; saved and loaded back so the streaming engine is built from the moved weights.
 */
async function randomDecoder(
  config: Partial<TransformerConfig>,
  inputs: number,
  seed: number,
): Promise<NeuralDecoder<TransformerConfig>> {
  const dec = new NeuralDecoder(transformerFamily, config);
  await dec.initialise(inputs, ['vel_x', 'vel_y'], seed);
  let s = seed;
  for (const w of dec.weightMap.values()) {
    for (let i = 0; i < w.data.length; i++) {
      s = (s * 1103515245 + 12345) >>> 0;
      w.data[i] = w.data[i]! + ((s / 2 ** 32) * 2 - 1) * 0.3;
    }
  }
  const dir = mkdtempSync(join(tmpdir(), 'edge-bci-transformer-'));
  dirs.push(dir);
  await dec.save(dir);
  return NeuralDecoder.fromModel(transformerFamily, await loadModelDir(dir), dir);
}

describe('transformer decoder', () => {
  // Sequences much longer than the attention window (the ring buffers wrap many times); 300 bins
  // also take the reference pass through its blocked form (blocks of 128 queries).
  const configs: Array<[string, Partial<TransformerConfig>, number]> = [
    ['1 layer, gelu, window 5', { dModel: 8, heads: 2, layers: 1, attentionWindow: 5, windowBins: 5 }, 37],
    [
      '2 layers, relu, window 4, 3 heads',
      { dModel: 12, heads: 3, layers: 2, attentionWindow: 4, ffnMultiplier: 1.5, activation: 'relu' },
      300,
    ],
  ];
  for (const [label, config, bins] of configs) {
    it(`streams bin by bin exactly as the TensorFlow.js forward pass (${label}, ${bins} bins)`, async () => {
      const dec = await randomDecoder(config, 7, 3);
      const seq = randomSequence(bins, 7);
      const tfOut = await dec.forwardSequence(seq);
      const streamed = streamSequence(dec, seq);
      expect(maxRelativeError(streamed, tfOut)).toBeLessThan(1e-4);
      // After a reset the engine starts over exactly like a fresh sequence.
      const state = dec.initialState();
      const o = new Float32Array(2);
      for (let t = 0; t < 9; t++) dec.step(seq.subarray(t * 7, (t + 1) * 7), state, o);
      dec.reset(state);
      dec.step(seq.subarray(0, 7), state, o);
      expect(maxRelativeError(o, tfOut.subarray(0, 2))).toBeLessThan(1e-4);
      // and the comparison can fail: a perturbed relative-position bias breaks it
      dec.weightMap.get('transformer/layer0/attn/relBias')!.data[1]! += 0.5;
      expect(maxRelativeError(streamSequence(dec, seq), tfOut)).toBeGreaterThan(1e-3);
    });
  }

  it('attends only to the last W bins: inputs further back change nothing', async () => {
    const W = 4;
    const dec = await randomDecoder({ dModel: 8, heads: 2, layers: 1, attentionWindow: W }, 5, 5);
    const a = randomSequence(12, 5, 1);
    const b = a.slice();
    for (let i = 0; i < 5 * 3; i++) b[i] = b[i]! + 1; // bins 0..2
    const ya = streamSequence(dec, a);
    const yb = streamSequence(dec, b);
    // Bin t sees bins t-W+1..t: bins 0..2 affect outputs 0..5, nothing from bin 6 on.
    expect(Array.from(yb.subarray(6 * 2))).toEqual(Array.from(ya.subarray(6 * 2)));
    expect(maxRelativeError(yb.subarray(5 * 2, 6 * 2), ya.subarray(5 * 2, 6 * 2))).toBeGreaterThan(1e-6);
  });

  it('validates its options', () => {
    expect(() => new NeuralDecoder(transformerFamily, { dModel: 10, heads: 3 })).toThrow(InvalidOptionError);
    expect(() => new NeuralDecoder(transformerFamily, { attentionWindow: 16, windowBins: 8 })).toThrow(
      /windowBins/,
    );
    expect(() => new NeuralDecoder(transformerFamily, { activation: 'tanh' as 'gelu' })).toThrow(
      /activation/,
    );
  });

  it('fits a simulated session, leaks no tensors, and loads back to identical outputs', async () => {
    const { tf } = await loadTf();
    const session = simulateSession({ seconds: 120, channels: 16, seed: 4 });
    const config = {
      dModel: 16,
      heads: 2,
      layers: 1,
      attentionWindow: 6,
      windowBins: 10,
      burnInBins: 5,
      stride: 2,
      epochs: 6,
      batchSize: 32,
      learningRate: 3e-3,
    };
    const dec = new NeuralDecoder(transformerFamily, config);
    const before = tf.memory().numTensors;
    const report = await dec.fit(session, { trainBins: 1800, seed: 2 });
    const seq = randomSequence(20, 16);
    await dec.forwardSequence(seq);
    expect(tf.memory().numTensors).toBe(before);
    expect(report.chosen?.epochs).toBeGreaterThanOrEqual(1);
    // Better than predicting the mean on the held-out part.
    expect(Number(report.chosen?.validationLoss)).toBeLessThan(0.8);
    const D = 16;
    const F = 32;
    const W = 6;
    const d = dec.describe();
    expect(d.params).toBe(
      16 * D + D + (2 * D + 4 * D * D + 3 * D + 2 * W + 2 * D + D * F + F + F * D + D) + 2 * D + D * 2 + 2,
    );
    expect(d.macsPerStep).toBe(16 * D + (3 * D * D + 2 * W * D + D * D + 2 * D * F) + D * 2);
    expect(d.stateSize).toBe(2 * W * D);
    const dir = mkdtempSync(join(tmpdir(), 'edge-bci-transformer-'));
    dirs.push(dir);
    await dec.save(dir);
    const back = await loadDecoder(dir);
    expect(back.kind).toBe('transformer');
    const a = predictSession(dec, session, 1800, 2400);
    const b = predictSession(back, session, 1800, 2400);
    expect(Array.from(b)).toEqual(Array.from(a));
  });
});
