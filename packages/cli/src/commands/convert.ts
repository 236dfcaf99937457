import { openRecording, saveRecording } from '@edge-bci/core';
import { parse, UsageError } from '../args.js';
import { createOutput } from '../output.js';
import { RECORDING_OPTIONS, RECORDING_USAGE, recordingOptions } from '../recording.js';

export const convertUsage = `edge-bci convert IN OUT [--json]

Converts a recording between formats, chosen by OUT's extension: .ebci (edge-bci session), .nwb
(NWB 2.x) or .mat (MATLAB level 5, the SDK's own struct layout). Every count and kinematic value
is kept exactly, with segment breaks, markers, channel labels and kinematic names.

${RECORDING_USAGE}`;

export async function convertCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { json: { type: 'boolean' }, ...RECORDING_OPTIONS });
  if (positionals.length !== 2) throw new UsageError('convert takes IN and OUT');
  const [input, output] = positionals as [string, string];
  const out = createOutput(Boolean(values.json));
  const rec = await openRecording(input, recordingOptions(values));
  const format = await saveRecording(output, rec.session);
  const s = rec.session;
  const summary = {
    input,
    inputFormat: rec.formatLabel,
    layout: rec.layout,
    output,
    outputFormat: format,
    channels: s.metadata.channels,
    bins: s.bins,
    kinematicNames: [...s.metadata.kinematicNames],
    segments: s.segmentStarts.length,
    markers: s.markers.length,
    inputIntact: rec.integrity.ok,
  };
  out.result(summary);
  out.line(
    `${input} (${rec.formatLabel}, ${rec.layout}) -> ${output} (${format}): ${s.bins} bins x ${s.metadata.channels} channels`,
  );
  if (!rec.integrity.ok)
    out.line('  note: the input was damaged; only its intact parts were converted (see edge-bci info)');
  return 0;
}
