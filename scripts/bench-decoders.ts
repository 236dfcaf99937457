/**
 * Decoder benchmark on a real recording: fit on the first part, decode the rest bin by bin through
 * the streaming pipeline, and time the streaming step against one-bin prediction by TensorFlow.js
 * with the same weights, in the same process.
 *
 *   pnpm bench:decoders [--file F] [--train-fraction 0.7] [--decoders wiener,kalman,gru,...]
 *                       [--set kind.key=value ...] [--out bench-results/decoders.json]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { evaluateStreaming } from '@edge-bci/cli';
import { hostClockUs, LatencyHistogram, openRecording } from '@edge-bci/core';
import { createDecoder, DECODER_KINDS, NeuralDecoder } from '@edge-bci/decoders';

const { values } = parseArgs({
  options: {
    file: { type: 'string', default: '../shared/data/contdata95/contdata95.mat' },
    'train-fraction': { type: 'string', default: '0.7' },
    decoders: { type: 'string', default: DECODER_KINDS.join(',') },
    set: { type: 'string', multiple: true, default: [] },
    out: { type: 'string', default: 'bench-results/decoders.json' },
    'timing-bins': { type: 'string', default: '2000' },
  },
});

const overrides: Record<string, Record<string, unknown>> = {};
for (const s of values.set ?? []) {
  const m = /^(\w+)\.(\w+)=(.*)$/.exec(s);
  if (!m) throw new Error(`--set takes kind.key=value, got ${s}`);
  overrides[m[1]!] ??= {};
  overrides[m[1]!]![m[2]!] = JSON.parse(m[3]!);
}

const rec = await openRecording(values.file!);
const session = rec.session;
const trainBins = Math.floor(session.bins * Number(values['train-fraction']));
const C = session.metadata.channels;
const timingBins = Number(values['timing-bins']);
const results: Record<string, unknown>[] = [];

for (const kind of values.decoders!.split(',')) {
  process.stderr.write(`\n== ${kind}\n`);
  const decoder = await createDecoder(kind, overrides[kind] ?? {});
  let lastPct = -1;
  const fit = await decoder.fit(session, {
    trainBins,
    target: 'velocity',
    onProgress: (f, msg) => {
      const pct = Math.floor(f * 20) * 5;
      if (pct !== lastPct) {
        lastPct = pct;
        process.stderr.write(`  fit ${pct}% ${msg ?? ''}\n`);
      }
    },
  });
  const ev = await evaluateStreaming(decoder, session, trainBins, session.bins);
  // Step timing on the decoder alone, then TensorFlow.js one-bin prediction, interleaved in blocks.
  const state = decoder.initialState();
  const out = new Float32Array(decoder.outputs);
  const step = new LatencyHistogram();
  const tfStep = new LatencyHistogram();
  const x = new Float32Array(C);
  const predictor = decoder instanceof NeuralDecoder ? await decoder.createTfPredictor() : undefined;
  for (let block = 0; block < 10; block++) {
    for (let i = 0; i < timingBins / 10; i++) {
      const b = trainBins + (((block * timingBins) / 10 + i) % (session.bins - trainBins));
      for (let c = 0; c < C; c++)
        x[c] = (session.counts[b * C + c]! - decoder.normaliser.mean[c]!) / decoder.normaliser.std[c]!;
      const t0 = hostClockUs();
      decoder.step(x, state, out);
      step.record(hostClockUs() - t0);
    }
    if (predictor) {
      for (let i = 0; i < timingBins / 100; i++) {
        const t0 = hostClockUs();
        predictor.predict(x);
        tfStep.record(hostClockUs() - t0);
      }
    }
  }
  predictor?.dispose();
  const d = decoder.describe();
  const s = step.summary();
  const t = tfStep.count ? tfStep.summary() : undefined;
  const row = {
    decoder: kind,
    r2: {
      x: ev.report.r2[decoder.outputNames[0]!],
      y: ev.report.r2[decoder.outputNames[1]!],
      mean: ev.report.r2.mean,
    },
    trainSeconds: fit.seconds,
    chosen: fit.chosen,
    stepUs: { p50: s.p50, p99: s.p99, max: s.max },
    tfOneBinUs: t ? { p50: t.p50, p99: t.p99 } : null,
    speedupP50: t ? t.p50 / s.p50 : null,
    params: d.params,
    footprintBytes: d.footprintBytes,
    macsPerStep: d.macsPerStep,
    stateSize: d.stateSize,
    acsPerStep: d.acsPerStep,
    activationSparsity: d.activationSparsity,
  };
  results.push(row);
  process.stderr.write(`${JSON.stringify(row)}\n`);
}

mkdirSync(dirname(values.out!), { recursive: true });
const report = {
  file: values.file,
  trainFraction: Number(values['train-fraction']),
  bins: session.bins,
  date: new Date().toISOString(),
  results,
};
writeFileSync(values.out!, `${JSON.stringify(report, null, 2)}\n`);
console.log(JSON.stringify(report, null, 2));
