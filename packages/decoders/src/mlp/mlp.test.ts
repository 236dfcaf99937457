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
import { mlpFamily } from './mlp.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('mlp decoder', () => {
  it('streams bin by bin exactly as the TensorFlow.js forward pass over the whole sequence', async () => {
    const dec = new NeuralDecoder(mlpFamily, { history: 4, hidden: [16, 8] });
    await dec.initialise(7, ['vel_x', 'vel_y'], 3);
    const seq = randomSequence(40, 7);
    const tfOut = await dec.forwardSequence(seq);
    const streamed = streamSequence(dec, seq);
    expect(maxRelativeError(streamed, tfOut)).toBeLessThan(1e-4);
    // and the comparison can fail: a perturbed weight breaks it
    dec.weightMap.get('mlp/out/bias')!.data[0]! += 0.1;
    expect(maxRelativeError(streamSequence(dec, seq), tfOut)).toBeGreaterThan(1e-3);
  });

  it('fits a simulated session, leaks no tensors, and loads back to identical outputs', async () => {
    const { tf } = await loadTf();
    const session = simulateSession({ seconds: 120, channels: 16, seed: 4 });
    const dec = new NeuralDecoder(mlpFamily, {
      history: 5,
      hidden: [32, 16],
      windowBins: 5,
      burnInBins: 4,
      epochs: 5,
      batchSize: 32,
    });
    const before = tf.memory().numTensors;
    const report = await dec.fit(session, { trainBins: 1800, seed: 2 });
    expect(tf.memory().numTensors).toBe(before);
    expect(report.chosen?.epochs).toBeGreaterThanOrEqual(1);
    // Better than predicting the mean on the held-out part.
    expect(Number(report.chosen?.validationLoss)).toBeLessThan(0.8);
    const d = dec.describe();
    expect(d.params).toBe(5 * 16 * 32 + 32 + 32 * 16 + 16 + 16 * 2 + 2);
    expect(d.macsPerStep).toBe(5 * 16 * 32 + 32 * 16 + 16 * 2);
    const dir = mkdtempSync(join(tmpdir(), 'edge-bci-mlp-'));
    dirs.push(dir);
    await dec.save(dir);
    const back = await loadDecoder(dir);
    expect(back.kind).toBe('mlp');
    const a = predictSession(dec, session, 1800, 2400);
    const b = predictSession(back, session, 1800, 2400);
    expect(Array.from(b)).toEqual(Array.from(a));
  });
});
