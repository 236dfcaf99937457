import { openRecording } from '@edge-bci/core';
import { numberOption, parse, UsageError } from '../args.js';
import { DECODER_OPTIONS, DECODER_USAGE, decoderChoice, newDecoder } from '../decoder-options.js';
import { createOutput, rounded } from '../output.js';
import { Progress } from '../progress.js';
import { RECORDING_OPTIONS, RECORDING_USAGE, recordingOptions } from '../recording.js';

export const trainUsage = `edge-bci train FILE --decoder KIND -o DIR [--train-fraction F] [--target velocity|position] [--json]

Fits a decoder and saves it as a model directory (model.json and weights.bin, the TensorFlow.js
layout, with the channel labels, bin width, normaliser and target), for \`decode --model DIR\`.

${DECODER_USAGE}

${RECORDING_USAGE}`;

export async function trainCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...DECODER_OPTIONS,
    ...RECORDING_OPTIONS,
    output: { type: 'string', short: 'o' },
    json: { type: 'boolean' },
  });
  if (positionals.length !== 1) throw new UsageError('train takes exactly one FILE');
  if (!values.output) throw new UsageError('train needs -o DIR');
  if (values.model) throw new UsageError('train fits a new decoder; --model is for decode');
  const choice = decoderChoice(values);
  const trainFraction = numberOption(values['train-fraction'], 'train-fraction', 1, { min: 0.05, max: 1 });
  const out = createOutput(Boolean(values.json));
  const rec = await openRecording(positionals[0]!, recordingOptions(values));
  const trainBins = Math.floor(rec.session.bins * trainFraction);
  const decoder = await newDecoder(choice);
  const progress = new Progress(`train ${choice.kind}`);
  const fit = await decoder.fit(rec.session, {
    target: choice.target,
    trainBins,
    seed: choice.seed,
    onProgress: (f, m) => progress.update(f, m),
    ...(choice.backend ? { backend: choice.backend } : {}),
  });
  progress.done();
  await decoder.save(values.output);
  const d = decoder.describe();
  const report = {
    decoder: choice.kind,
    model: values.output,
    file: positionals[0],
    target: choice.target,
    trainBins,
    trainSeconds: rounded(fit.seconds, 3),
    chosen: fit.chosen ?? {},
    params: d.params,
    footprintBytes: d.footprintBytes,
    macsPerStep: d.macsPerStep,
    config: d.config,
  };
  out.result(report);
  out.line(
    `${choice.kind} trained on ${trainBins} bins of ${positionals[0]} in ${report.trainSeconds} s -> ${values.output}`,
  );
  out.line(`  ${d.params} parameters (${d.footprintBytes} bytes), ${d.macsPerStep} MACs per step`);
  return 0;
}
