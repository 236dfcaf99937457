import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidOptionError, simulateSession } from '@edge-bci/core';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDecoder } from '../decoder-registry.js';
import { predictSession } from '../evaluate.js';
import { NeuralDecoder } from '../neural/neural-decoder.js';
import { maxRelativeError, randomSequence, streamSequence } from '../neural/testing.js';
import { loadTf } from '../tf/backend.js';
import { type SnnConfig, snnFamily, snnSpikeFunction } from './snn.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Streams `seq` through a fresh decoder and checks it against the TF forward pass. */
async function compare(config: Partial<SnnConfig>, inputs: number, T: number, seed: number) {
  const dec = new NeuralDecoder(snnFamily, config);
  await dec.initialise(inputs, ['vel_x', 'vel_y'], seed);
  const seq = randomSequence(T, inputs, seed + 10);
  const tfOut = await dec.forwardSequence(seq);
  const streamed = streamSequence(dec, seq);
  return { dec, seq, tfOut, streamed };
}

describe('snn decoder', () => {
  it('streams bin by bin exactly as the TensorFlow.js forward pass (one layer)', async () => {
    const { dec, seq, tfOut, streamed } = await compare({ hidden: [16] }, 7, 60, 3);
    // The comparison means something only if neurons actually spiked (and not all the time).
    const stats = dec.describe();
    expect(stats.activationSparsity).toBeGreaterThan(0.05);
    expect(stats.activationSparsity).toBeLessThan(0.95);
    expect(maxRelativeError(streamed, tfOut)).toBeLessThan(1e-4);
    // and the comparison can fail: a perturbed weight breaks it
    dec.weightMap.get('snn/out/bias')!.data[0]! += 0.1;
    expect(maxRelativeError(streamSequence(dec, seq), tfOut)).toBeGreaterThan(1e-3);
  });

  it('streams exactly with two layers, history, adaptive thresholds, ATan and fixed beta', async () => {
    const config: Partial<SnnConfig> = {
      hidden: [12, 10],
      history: 3,
      adaptive: true,
      surrogate: 'atan',
      surrogateSlope: 2,
      learnBeta: false,
      beta: 0.85,
      readoutBeta: 0.7,
      windowBins: 20,
    };
    // 80 steps: longer than any training window or history.
    const { dec, tfOut, streamed } = await compare(config, 6, 80, 5);
    expect(dec.describe().activationSparsity).toBeLessThan(0.95);
    expect(dec.describe().acsPerStep).toBeGreaterThan(0);
    expect(maxRelativeError(streamed, tfOut)).toBeLessThan(1e-4);
    // Reset state and stream again: the same outputs.
    expect(Array.from(streamSequence(dec, randomSequence(80, 6, 15)))).toEqual(Array.from(streamed));
  });

  it('counts accumulates and sparsity over every step the engine ran', async () => {
    const dec = new NeuralDecoder(snnFamily, { hidden: [20] });
    await dec.initialise(5, ['vel_x', 'vel_y'], 2);
    expect(dec.describe().acsPerStep).toBe(0);
    streamSequence(dec, randomSequence(50, 5, 1));
    streamSequence(dec, randomSequence(30, 5, 2));
    const d = dec.describe();
    // One layer: each spike adds its row into the two readout units.
    expect(d.acsPerStep!).toBeCloseTo(20 * 2 * (1 - d.activationSparsity!), 9);
    expect(d.macsPerStep).toBe(5 * 20 + 20 + 2);
    expect(d.stateSize).toBe(2 * 20 + 2);
    expect(d.params).toBe(5 * 20 + 20 + 20 + 20 * 2 + 2 + 2);
  });

  it('passes the surrogate gradient through the step function', async () => {
    const { tf } = await loadTf();
    const x = [-0.5, -0.04, 0.01, 0.2, 1];
    const fast = snnSpikeFunction(tf, {
      ...snnFamily.defaults,
      surrogate: 'fastSigmoid',
      surrogateSlope: 25,
    });
    const atan = snnSpikeFunction(tf, { ...snnFamily.defaults, surrogate: 'atan', surrogateSlope: 2 });
    const before = tf.memory().numTensors;
    const [value, gFast, gAtan] = tf.tidy(() => {
      const t = tf.tensor1d(x);
      return [
        fast(t).arraySync() as number[],
        tf
          .grad((v) => tf.sum(fast(v)))(t)
          .arraySync() as number[],
        tf
          .grad((v) => tf.sum(atan(v)))(t)
          .arraySync() as number[],
      ];
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(value).toEqual([0, 0, 1, 1, 1]);
    x.forEach((v, i) => {
      expect(gFast[i]!).toBeCloseTo(1 / (1 + 25 * Math.abs(v)) ** 2, 5);
      expect(gAtan[i]!).toBeCloseTo(1 / (1 + (Math.PI * v) ** 2), 5);
    });
  });

  it('trains the other variants (two layers, history, adaptive, ATan, fixed beta) without leaks', async () => {
    const { tf } = await loadTf();
    const session = simulateSession({ seconds: 40, channels: 8, seed: 6 });
    const dec = new NeuralDecoder(snnFamily, {
      hidden: [8, 6],
      history: 2,
      adaptive: true,
      surrogate: 'atan',
      surrogateSlope: 2,
      learnBeta: false,
      windowBins: 12,
      burnInBins: 3,
      stride: 3,
      epochs: 2,
      batchSize: 16,
    });
    const before = tf.memory().numTensors;
    const report = await dec.fit(session, { trainBins: 600, seed: 3 });
    expect(tf.memory().numTensors).toBe(before);
    expect(Number.isFinite(Number(report.chosen?.validationLoss))).toBe(true);
    expect([...dec.weightMap.keys()]).toContain('snn/lif1/adapt');
    expect([...dec.weightMap.keys()]).not.toContain('snn/lif0/beta');
  });

  it('rejects invalid options', () => {
    expect(() => new NeuralDecoder(snnFamily, { hidden: [] })).toThrow(InvalidOptionError);
    expect(() => new NeuralDecoder(snnFamily, { beta: 1.5 })).toThrow(/beta/);
    expect(() => new NeuralDecoder(snnFamily, { surrogate: 'relu' as never })).toThrow(/surrogate/);
    expect(() => new NeuralDecoder(snnFamily, { history: 0 })).toThrow(/history/);
    expect(() => new NeuralDecoder(snnFamily, { threshold: 0 })).toThrow(/threshold/);
  });

  it('fits a simulated session, leaks no tensors, streams as trained, and loads back', async () => {
    const { tf } = await loadTf();
    const session = simulateSession({ seconds: 120, channels: 16, seed: 4 });
    const dec = new NeuralDecoder(snnFamily, {
      hidden: [32],
      windowBins: 16,
      burnInBins: 4,
      stride: 2,
      epochs: 6,
      batchSize: 32,
      learningRate: 3e-3,
      rateRegularisation: 0.1,
    });
    const before = tf.memory().numTensors;
    const report = await dec.fit(session, { trainBins: 1800, seed: 2 });
    expect(tf.memory().numTensors).toBe(before);
    expect(report.chosen?.epochs).toBeGreaterThanOrEqual(1);
    // Better than predicting the mean on the held-out part.
    expect(Number(report.chosen?.validationLoss)).toBeLessThan(0.8);
    // The trained network (learned betas) streams as its TF forward pass, over 400 real bins.
    const C = 16;
    const seq = new Float32Array(400 * C);
    const { mean, std } = dec.normaliser;
    for (let i = 0; i < seq.length; i++)
      seq[i] = (session.counts[1800 * C + i]! - mean[i % C]!) / std[i % C]!;
    const mid = tf.memory().numTensors;
    const tfOut = await dec.forwardSequence(seq);
    expect(tf.memory().numTensors).toBe(mid);
    expect(maxRelativeError(streamSequence(dec, seq), tfOut)).toBeLessThan(1e-4);
    const d = dec.describe();
    expect(d.params).toBe(16 * 32 + 32 + 32 + 32 * 2 + 2 + 2);
    expect(d.activationSparsity).toBeGreaterThan(0);
    expect(d.activationSparsity).toBeLessThan(1);
    const dir = mkdtempSync(join(tmpdir(), 'edge-bci-snn-'));
    dirs.push(dir);
    await dec.save(dir);
    const back = await loadDecoder(dir);
    expect(back.kind).toBe('snn');
    const a = predictSession(dec, session, 1800, 2400);
    const b = predictSession(back, session, 1800, 2400);
    expect(Array.from(b)).toEqual(Array.from(a));
  });
});
