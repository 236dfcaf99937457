import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simulateSession } from '@edge-bci/core';
import type { Tensor, Tensor2D } from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDecoder } from '../decoder-registry.js';
import { predictSession } from '../evaluate.js';
import { loadModelDir } from '../model-io.js';
import { NeuralDecoder } from '../neural/neural-decoder.js';
import { maxRelativeError, randomSequence, streamSequence } from '../neural/testing.js';
import { loadTf } from '../tf/backend.js';
import { type MambaConfig, mambaFamily } from './mamba.js';
import { selectiveScan, selectiveScanNoGrad, selectiveScanOps } from './scan.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('mamba decoder', () => {
  it('rejects invalid options, naming them', () => {
    for (const [option, value] of [
      ['dModel', 0],
      ['dState', 1.5],
      ['dtRank', -1],
      ['norm', 'batch'],
      ['dtMax', 1e-4],
      ['dropout', 1],
    ] as const) {
      expect(() => new NeuralDecoder(mambaFamily, { [option]: value })).toThrow(
        option === 'dtMax' ? /dtMin/ : new RegExp(option),
      );
    }
    expect(() => new NeuralDecoder(mambaFamily, { hidden: [4] } as never)).toThrow(/hidden/);
  });

  it('computes the selective scan and its gradient exactly as the tensor-op recurrence', async () => {
    const { tf } = await loadTf();
    const d = { T: 6, batch: 3, inner: 5, state: 4 };
    const rows = d.T * d.batch;
    const before = tf.memory().numTensors;
    const inputs = tf.tidy(() => [
      tf.softplus(tf.randomNormal([rows, d.inner], 0, 1, 'float32', 1)),
      tf.randomNormal([rows, d.inner], 0, 1, 'float32', 2),
      tf.randomNormal([rows, d.state], 0, 1, 'float32', 3),
      tf.randomNormal([rows, d.state], 0, 1, 'float32', 4),
      tf.neg(tf.exp(tf.randomNormal([d.inner, d.state], 0, 1, 'float32', 5))),
    ]) as Tensor2D[];
    // A loss that weights every output differently, so every gradient path is exercised.
    const w = tf.randomNormal([rows, d.inner], 0, 1, 'float32', 6);
    const lossOf =
      (scan: typeof selectiveScan) =>
      (...xs: Tensor[]) =>
        tf.sum(tf.mul(scan(tf, d, ...(xs as [Tensor2D, Tensor2D, Tensor2D, Tensor2D, Tensor2D])), w));
    const [ours, reference] = tf.tidy(() => [
      tf
        .grads(lossOf(selectiveScan))(inputs)
        .map((g) => g.arraySync()),
      tf
        .grads(lossOf(selectiveScanOps))(inputs)
        .map((g) => g.arraySync()),
    ]) as unknown as [number[][][], number[][][]];
    for (let k = 0; k < 5; k++) {
      const a = Float32Array.from(ours[k]!.flat());
      const b = Float32Array.from(reference[k]!.flat());
      expect(maxRelativeError(a, b)).toBeLessThan(1e-4);
    }
    const [y0, y1, y2] = tf.tidy(() => [
      selectiveScan(tf, d, ...(inputs as [Tensor2D, Tensor2D, Tensor2D, Tensor2D, Tensor2D])).dataSync(),
      selectiveScanNoGrad(
        tf,
        d,
        ...(inputs as [Tensor2D, Tensor2D, Tensor2D, Tensor2D, Tensor2D]),
      ).dataSync(),
      selectiveScanOps(tf, d, ...(inputs as [Tensor2D, Tensor2D, Tensor2D, Tensor2D, Tensor2D])).dataSync(),
    ]) as Float32Array[];
    expect(maxRelativeError(y0!, y2!)).toBeLessThan(1e-5);
    expect(Array.from(y1!)).toEqual(Array.from(y0!));
    tf.dispose([...inputs, w]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it.each<[string, Partial<MambaConfig>]>([
    ['one RMSNorm layer', { dModel: 8, layers: 1, dState: 4, dConv: 4, windowBins: 6, burnInBins: 2 }],
    [
      'two LayerNorm layers, dtRank 3, wide Delta',
      {
        dModel: 12,
        layers: 2,
        expand: 3,
        dState: 5,
        dConv: 3,
        dtRank: 3,
        norm: 'layer',
        dtMin: 0.05,
        dtMax: 1,
      },
    ],
  ])('streams bin by bin exactly as the TensorFlow.js forward pass (%s)', async (_, config) => {
    const dec = new NeuralDecoder(mambaFamily, config);
    await dec.initialise(7, ['vel_x', 'vel_y'], 3);
    // 45 bins: longer than the convolution kernel and than any training window.
    const seq = randomSequence(45, 7);
    const tfOut = await dec.forwardSequence(seq);
    const streamed = streamSequence(dec, seq);
    expect(maxRelativeError(streamed, tfOut)).toBeLessThan(1e-4);
    // The state matters: a reset in the middle changes the later outputs.
    const state = dec.initialState();
    const o = new Float32Array(2);
    for (let t = 0; t < 30; t++) dec.step(seq.subarray(t * 7, (t + 1) * 7), state, o);
    dec.reset(state);
    dec.step(seq.subarray(30 * 7, 31 * 7), state, o);
    expect(Math.abs(o[0]! - tfOut[30 * 2]!)).toBeGreaterThan(1e-4);
    // and the comparison can fail: a perturbed weight of the scan output (the skip D) breaks it.
    const skip = dec.weightMap.get('mamba/layer0/D')!.data;
    for (let i = 0; i < skip.length; i++) skip[i]! += 1;
    expect(maxRelativeError(streamSequence(dec, seq), tfOut)).toBeGreaterThan(1e-3);
  });

  it('fits a simulated session, leaks no tensors, and loads back to identical outputs', async () => {
    const { tf } = await loadTf();
    const session = simulateSession({ seconds: 120, channels: 16, seed: 4 });
    const config: Partial<MambaConfig> = {
      dModel: 16,
      layers: 1,
      dState: 8,
      windowBins: 12,
      burnInBins: 4,
      stride: 2,
      epochs: 6,
      batchSize: 32,
      learningRate: 3e-3,
    };
    const dec = new NeuralDecoder(mambaFamily, config);
    const before = tf.memory().numTensors;
    const report = await dec.fit(session, { trainBins: 1800, seed: 2 });
    expect(tf.memory().numTensors).toBe(before);
    expect(report.chosen?.epochs).toBeGreaterThanOrEqual(1);
    // Better than predicting the mean on the held-out part.
    expect(Number(report.chosen?.validationLoss)).toBeLessThan(0.8);
    const seq = randomSequence(30, 16, 5);
    await dec.forwardSequence(seq);
    expect(tf.memory().numTensors).toBe(before);
    // params and MACs from the sizes: C=16, dModel=16, d_inner=32, N=8, K=4, dtRank=1, M=2.
    // norm, in_proj x/z, conv kernel+bias, x_proj dt/B/C, dt_proj kernel+bias, A_log, D, out_proj
    const block = 16 + 2 * 16 * 32 + (4 * 32 + 32) + (32 + 2 * 32 * 8) + (32 + 32) + 32 * 8 + 32 + 32 * 16;
    const d = dec.describe();
    expect(d.params).toBe(16 * 16 + 16 + block + 16 + 16 * 2 + 2);
    const blockMacs = 2 * 16 + 2 * 16 * 32 + 4 * 32 + 32 * (1 + 16) + 32 + 3 * 32 * 8 + 3 * 32 + 32 * 16;
    expect(d.macsPerStep).toBe(16 * 16 + blockMacs + 2 * 16 + 16 * 2);
    expect(d.stateSize).toBe(32 * (4 + 8));
    const dir = mkdtempSync(join(tmpdir(), 'edge-bci-mamba-'));
    dirs.push(dir);
    await dec.save(dir);
    const back = await loadDecoder(dir);
    expect(back.kind).toBe('mamba');
    const viaFamily = NeuralDecoder.fromModel(mambaFamily, await loadModelDir(dir), dir);
    const a = predictSession(dec, session, 1800, 2400);
    expect(Array.from(predictSession(back, session, 1800, 2400))).toEqual(Array.from(a));
    expect(Array.from(predictSession(viaFamily, session, 1800, 2400))).toEqual(Array.from(a));
  });
});
