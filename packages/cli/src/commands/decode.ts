import { openRecording } from '@edge-bci/core';
import { createDecoder, DECODER_KINDS, type DecodeTarget } from '@edge-bci/decoders';
import { choiceOption, numberOption, parse, UsageError } from '../args.js';
import { evaluateStreaming } from '../evaluate.js';
import { createOutput, rounded } from '../output.js';
import { Progress } from '../progress.js';
import { RECORDING_OPTIONS, RECORDING_USAGE, recordingOptions } from '../recording.js';

export const decodeUsage = `edge-bci decode FILE --decoder KIND [--train-fraction F] [--target velocity|position] [--json]

Fits a decoder on the first fraction of the bins, then decodes the rest one bin at a time through
the streaming pipeline (normalise, decode) and reports R2, step latency and throughput.
Decoders: ${DECODER_KINDS.join(', ')}

${RECORDING_USAGE}`;

export async function decodeCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    decoder: { type: 'string' },
    'train-fraction': { type: 'string' },
    target: { type: 'string' },
    history: { type: 'string' },
    json: { type: 'boolean' },
    ...RECORDING_OPTIONS,
  });
  if (positionals.length !== 1) throw new UsageError('decode takes exactly one FILE');
  if (!values.decoder) throw new UsageError(`decode needs --decoder (one of ${DECODER_KINDS.join(', ')})`);
  const kind = choiceOption(values.decoder, 'decoder', DECODER_KINDS, DECODER_KINDS[0]!);
  const trainFraction = numberOption(values['train-fraction'], 'train-fraction', 0.5, {
    min: 0.05,
    max: 0.95,
  });
  const target = choiceOption<DecodeTarget>(values.target, 'target', ['velocity', 'position'], 'velocity');
  const config: Record<string, number> = {};
  if (values.history !== undefined) {
    config.history = numberOption(values.history, 'history', 10, { min: 1, max: 100, integer: true });
  }
  const out = createOutput(Boolean(values.json));
  const rec = await openRecording(positionals[0]!, recordingOptions(values));
  const session = rec.session;
  const trainBins = Math.floor(session.bins * trainFraction);
  if (trainBins < 10 || session.bins - trainBins < 10) {
    throw new UsageError(`${session.bins} bins are too few to split at ${trainFraction}`);
  }
  const decoder = createDecoder(kind, config);
  const progress = new Progress(`fit ${kind}`);
  const fit = await decoder.fit(session, { target, trainBins, onProgress: (f) => progress.update(f) });
  progress.done();
  const evalProgress = new Progress('decode');
  const result = await evaluateStreaming(decoder, session, trainBins, session.bins, (f) =>
    evalProgress.update(f),
  );
  evalProgress.done();
  const d = decoder.describe();
  const [nx, ny] = decoder.outputNames;
  const report = {
    decoder: kind,
    file: positionals[0],
    target,
    r2: {
      x: rounded(result.report.r2[nx!]!),
      y: rounded(result.report.r2[ny!]!),
      mean: rounded(result.report.r2.mean),
    },
    correlation: { mean: rounded(result.report.correlation.mean) },
    bins: result.bins,
    trainBins,
    trainSeconds: rounded(fit.seconds, 3),
    chosen: fit.chosen ?? {},
    stepLatencyUs: { p50: rounded(result.stepLatencyUs.p50, 2), p99: rounded(result.stepLatencyUs.p99, 2) },
    binsPerSecond: Math.round(result.binsPerSecond),
    params: d.params,
    macsPerStep: d.macsPerStep,
    gaps: result.gaps,
    integrity: rec.integrity.ok ? 'intact' : rec.integrity,
  };
  out.result(report);
  out.line(`${kind} on ${positionals[0]} (${target}, ${trainBins} bins to train, ${result.bins} to test)`);
  out.line(`  R2           x ${report.r2.x}  y ${report.r2.y}  mean ${report.r2.mean}`);
  out.line(`  fit          ${report.trainSeconds} s ${JSON.stringify(report.chosen)}`);
  out.line(`  step         p50 ${report.stepLatencyUs.p50} us, p99 ${report.stepLatencyUs.p99} us`);
  out.line(`  throughput   ${report.binsPerSecond} bins/s through the pipeline`);
  out.line(`  size         ${d.params} parameters, ${d.macsPerStep} MACs per step`);
  return 0;
}
