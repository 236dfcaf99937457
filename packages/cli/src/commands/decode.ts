import { ChannelCountError, openRecording } from '@edge-bci/core';
import type { Decoder } from '@edge-bci/decoders';
import { numberOption, parse, UsageError } from '../args.js';
import {
  DECODER_OPTIONS,
  DECODER_USAGE,
  decoderChoice,
  loadDecoder,
  newDecoder,
} from '../decoder-options.js';
import { evaluateStreaming } from '../evaluate.js';
import { createOutput, rounded, roundedFields } from '../output.js';
import { Progress } from '../progress.js';
import { RECORDING_OPTIONS, RECORDING_USAGE, recordingOptions } from '../recording.js';

export const decodeUsage = `edge-bci decode FILE (--decoder KIND | --model DIR) [--train-fraction F] [--target velocity|position] [--json]

Fits a decoder on the first fraction of the bins (or loads a trained one with --model), then
decodes the rest one bin at a time through the streaming pipeline (normalise, decode) and reports
R2, step latency, throughput and the decoder's size and operations per step.

${DECODER_USAGE}

${RECORDING_USAGE}`;

export async function decodeCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...DECODER_OPTIONS,
    ...RECORDING_OPTIONS,
    json: { type: 'boolean' },
  });
  if (positionals.length !== 1) throw new UsageError('decode takes exactly one FILE');
  if (values.model && values.decoder) throw new UsageError('give --decoder KIND or --model DIR, not both');
  const trainFraction = numberOption(values['train-fraction'], 'train-fraction', 0.5, {
    min: 0.05,
    max: 0.95,
  });
  const out = createOutput(Boolean(values.json));
  const rec = await openRecording(positionals[0]!, recordingOptions(values));
  const session = rec.session;
  const trainBins = Math.floor(session.bins * trainFraction);
  if (trainBins < 10 || session.bins - trainBins < 10) {
    throw new UsageError(`${session.bins} bins are too few to split at ${trainFraction}`);
  }
  let decoder: Decoder;
  let fitSeconds: number | undefined;
  let chosen: Readonly<Record<string, unknown>> = {};
  let target: string;
  if (values.model) {
    decoder = await loadDecoder(values.model);
    if (decoder.inputs !== session.metadata.channels) {
      throw new ChannelCountError(
        decoder.inputs,
        session.metadata.channels,
        `${positionals[0]} (for a model of ${decoder.inputs} channels)`,
      );
    }
    target = 'model';
  } else {
    const choice = decoderChoice(values);
    target = choice.target;
    decoder = await newDecoder(choice);
    const progress = new Progress(`fit ${choice.kind}`);
    const fit = await decoder.fit(session, {
      target: choice.target,
      trainBins,
      seed: choice.seed,
      onProgress: (f, m) => progress.update(f, m),
      ...(choice.backend ? { backend: choice.backend } : {}),
    });
    progress.done();
    fitSeconds = fit.seconds;
    chosen = fit.chosen ?? {};
  }
  const kind = decoder.kind;
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
    model: values.model ?? null,
    r2: {
      x: rounded(result.report.r2[nx!]!),
      y: rounded(result.report.r2[ny!]!),
      mean: rounded(result.report.r2.mean),
    },
    correlation: { mean: rounded(result.report.correlation.mean) },
    bins: result.bins,
    trainBins,
    trainSeconds: fitSeconds === undefined ? null : rounded(fitSeconds, 3),
    chosen,
    stepLatencyUs: roundedFields(result.stepLatencyUs, ['p50', 'p99'], 2),
    binsPerSecond: Math.round(result.binsPerSecond),
    params: d.params,
    macsPerStep: d.macsPerStep,
    footprintBytes: d.footprintBytes,
    ...(d.acsPerStep === undefined ? {} : { acsPerStep: rounded(d.acsPerStep, 1) }),
    ...(d.activationSparsity === undefined ? {} : { activationSparsity: rounded(d.activationSparsity, 4) }),
    gaps: result.gaps,
    integrity: rec.integrity.ok ? 'intact' : rec.integrity,
  };
  out.result(report);
  out.line(`${kind} on ${positionals[0]} (${target}, ${trainBins} bins to train, ${result.bins} to test)`);
  out.line(`  R2           x ${report.r2.x}  y ${report.r2.y}  mean ${report.r2.mean}`);
  if (report.trainSeconds !== null)
    out.line(`  fit          ${report.trainSeconds} s ${JSON.stringify(report.chosen)}`);
  out.line(`  step         p50 ${report.stepLatencyUs.p50} us, p99 ${report.stepLatencyUs.p99} us`);
  out.line(`  throughput   ${report.binsPerSecond} bins/s through the pipeline`);
  out.line(`  size         ${d.params} parameters, ${d.macsPerStep} MACs per step`);
  return 0;
}
