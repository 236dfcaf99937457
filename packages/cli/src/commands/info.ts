import { openRecording } from '@edge-bci/core';
import { parse, UsageError } from '../args.js';
import { createOutput, rounded } from '../output.js';
import { RECORDING_OPTIONS, RECORDING_USAGE, recordingOptions } from '../recording.js';

export const infoUsage = `edge-bci info FILE [--json]

Describes a recording: format, layout, channels, bins, bin width, duration, kinematic names, trials,
and whether the file was cut off or had corrupt chunks.

${RECORDING_USAGE}`;

export async function infoCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { json: { type: 'boolean' }, ...RECORDING_OPTIONS });
  if (positionals.length !== 1) throw new UsageError('info takes exactly one FILE');
  const file = positionals[0]!;
  const out = createOutput(Boolean(values.json));
  const rec = await openRecording(file, recordingOptions(values));
  const s = rec.session;
  const info = {
    file,
    format: rec.formatLabel,
    layout: rec.layout,
    variables: rec.variables,
    channels: s.metadata.channels,
    bins: s.bins,
    binWidthMs: s.metadata.binWidthUs / 1000,
    durationSeconds: rounded((s.bins * s.metadata.binWidthUs) / 1e6, 3),
    kinematicNames: [...s.metadata.kinematicNames],
    segments: s.segmentStarts.length,
    markers: s.markers.length,
    trials: rec.trials ?? null,
    assumptions: rec.assumptions,
    integrity: rec.integrity,
  };
  out.result(info);
  out.line(`${file}`);
  out.line(`  format       ${info.format}`);
  out.line(`  layout       ${info.layout}${info.variables.length ? ` (${info.variables.join(', ')})` : ''}`);
  out.line(`  channels     ${info.channels}`);
  out.line(`  bins         ${info.bins} x ${info.binWidthMs} ms = ${info.durationSeconds} s`);
  out.line(`  kinematics   ${info.kinematicNames.join(', ') || '(none)'}`);
  out.line(
    `  segments     ${info.segments} continuous, ${info.markers} markers${info.trials === null ? '' : `, ${info.trials} trials`}`,
  );
  for (const a of info.assumptions) out.line(`  assumed      ${a}`);
  const integ = rec.integrity;
  out.line(
    `  integrity    ${integ.ok ? 'intact' : 'DAMAGED'}${integ.cleanClose === false ? ', not closed cleanly' : ''}`,
  );
  if (integ.truncated)
    out.line(
      `  truncated    at byte ${integ.truncated.atByte} (${integ.truncated.bytesLost} bytes of a partial chunk lost)`,
    );
  for (const c of integ.corrupt) out.line(`  corrupt      ${c.length} bytes at ${c.offset}: ${c.reason}`);
  return 0;
}
