import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simulateSession } from '@edge-bci/core';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDecoder } from '../decoder-registry.js';
import { predictSession } from '../evaluate.js';
import { loadModelDir } from '../model-io.js';
import { NeuralDecoder } from '../neural/neural-decoder.js';
import { maxRelativeError, randomSequence, streamSequence } from '../neural/testing.js';
import { loadTf } from '../tf/backend.js';
import { type GruConfig, gruFamily } from './gru.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/**
 * A copy of `dec` whose weights `edit` changed, rebuilt through save and load (the streaming engine
 * keeps its own transposed copies of the weights, so editing `weightMap` in place does not reach it).
 */
async function edited(
  dec: NeuralDecoder<GruConfig>,
  edit: (w: Map<string, { shape: readonly number[]; data: Float32Array }>) => void,
): Promise<NeuralDecoder<GruConfig>> {
  const w = new Map([...dec.weightMap].map(([k, v]) => [k, { shape: v.shape, data: v.data.slice() }]));
  const dir = mkdtempSync(join(tmpdir(), 'edge-bci-gru-'));
  dirs.push(dir);
  await dec.save(dir);
  const model = await loadModelDir(dir);
  edit(w);
  return NeuralDecoder.fromModel(
    gruFamily,
    { ...model, weights: { ...model.weights, ...Object.fromEntries(w) } },
    dir,
  );
}

describe('gru decoder', () => {
  it('streams bin by bin exactly as the TensorFlow.js forward pass (reset after, one layer)', async () => {
    const init = new NeuralDecoder(gruFamily, { hidden: 12, layers: 1, windowBins: 8, burnInBins: 2 });
    await init.initialise(7, ['vel_x', 'vel_y'], 3);
    // Non-zero biases so every term of the cell is exercised.
    const dec = await edited(init, (w) => {
      for (const [name, { data }] of w)
        if (name.includes('bias')) for (let i = 0; i < data.length; i++) data[i] = 0.3 * Math.sin(i + 1);
    });
    // A sequence much longer than a training window: the state runs across all of it.
    const seq = randomSequence(60, 7);
    const tfOut = await dec.forwardSequence(seq);
    const err = maxRelativeError(streamSequence(dec, seq), tfOut);
    expect(err).toBeLessThan(1e-4);
    // and the comparison can fail: a perturbed recurrent weight breaks it
    const bad = await edited(dec, (w) => {
      w.get('gru/layer0/recurrent_n')!.data[5]! += 0.2;
    });
    expect(maxRelativeError(streamSequence(bad, seq), tfOut)).toBeGreaterThan(1e-3);
  });

  it('streams exactly as TensorFlow.js with two layers and the reset gate before the product', async () => {
    const dec = new NeuralDecoder(gruFamily, { hidden: 10, layers: 2, resetAfter: false, windowBins: 6 });
    await dec.initialise(5, ['a', 'b', 'c'], 9);
    const seq = randomSequence(50, 5, 11);
    const tfOut = await dec.forwardSequence(seq);
    expect(maxRelativeError(streamSequence(dec, seq), tfOut)).toBeLessThan(1e-4);
    expect([...dec.weightMap.keys()].some((k) => k.includes('recurrent_bias'))).toBe(false);
    const d = dec.describe();
    expect(d.stateSize).toBe(20);
    expect(d.macsPerStep).toBe(3 * 10 * (5 + 10) + 3 * 10 * (10 + 10) + 3 * 10);
    const bad = await edited(dec, (w) => {
      w.get('gru/layer1/recurrent_z')!.data[0]! -= 0.3;
    });
    expect(maxRelativeError(streamSequence(bad, seq), tfOut)).toBeGreaterThan(1e-3);
  });

  it('rejects invalid options', () => {
    expect(() => new NeuralDecoder(gruFamily, { hidden: 0 })).toThrow(/hidden/);
    expect(() => new NeuralDecoder(gruFamily, { layers: 1.5 })).toThrow(/layers/);
  });

  it('fits a simulated session, leaks no tensors, and loads back to identical outputs', async () => {
    const { tf } = await loadTf();
    const session = simulateSession({ seconds: 120, channels: 16, seed: 4 });
    const dec = new NeuralDecoder(gruFamily, {
      hidden: 16,
      windowBins: 12,
      burnInBins: 4,
      stride: 2,
      epochs: 6,
      batchSize: 32,
      learningRate: 5e-3,
    });
    const before = tf.memory().numTensors;
    const report = await dec.fit(session, { trainBins: 1800, seed: 2 });
    expect(tf.memory().numTensors).toBe(before);
    await dec.forwardSequence(randomSequence(30, 16));
    expect(tf.memory().numTensors).toBe(before);
    expect(report.chosen?.epochs).toBeGreaterThanOrEqual(1);
    // Better than predicting the mean on the held-out part.
    expect(Number(report.chosen?.validationLoss)).toBeLessThan(0.8);
    const d = dec.describe();
    expect(d.params).toBe(3 * (16 * 16 + 16 * 16 + 16) + 16 + 16 * 2 + 2);
    expect(d.macsPerStep).toBe(3 * 16 * (16 + 16) + 16 * 2);
    expect(d.stateSize).toBe(16);
    const dir = mkdtempSync(join(tmpdir(), 'edge-bci-gru-'));
    dirs.push(dir);
    await dec.save(dir);
    const back = await loadDecoder(dir);
    expect(back.kind).toBe('gru');
    const a = predictSession(dec, session, 1800, 2400);
    const b = predictSession(back, session, 1800, 2400);
    expect(Array.from(b)).toEqual(Array.from(a));
  });
});
