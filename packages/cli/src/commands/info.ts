import { parse, UsageError } from '../args.js';
import { createOutput, rounded } from '../output.js';
import { openRecording } from '../recording.js';

export const infoUsage = `edge-bci info FILE [--json]

Describes a recording: format, channels, bins, bin width, duration, kinematic names, and whether
the file was cut off or had corrupt chunks.`;

export async function infoCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { json: { type: 'boolean' } });
  if (positionals.length !== 1) throw new UsageError('info takes exactly one FILE');
  const file = positionals[0]!;
  const out = createOutput(Boolean(values.json));
  const rec = await openRecording(file);
  const s = rec.session;
  const info = {
    file,
    format: rec.format,
    channels: s.metadata.channels,
    bins: s.bins,
    binWidthMs: s.metadata.binWidthUs / 1000,
    durationSeconds: rounded((s.bins * s.metadata.binWidthUs) / 1e6, 3),
    kinematicNames: [...s.metadata.kinematicNames],
    segments: s.segmentStarts.length,
    markers: s.markers.length,
    integrity: rec.integrity,
  };
  out.result(info);
  out.line(`${file}`);
  out.line(`  format       ${info.format}`);
  out.line(`  channels     ${info.channels}`);
  out.line(`  bins         ${info.bins} x ${info.binWidthMs} ms = ${info.durationSeconds} s`);
  out.line(`  kinematics   ${info.kinematicNames.join(', ') || '(none)'}`);
  out.line(`  segments     ${info.segments} continuous, ${info.markers} markers`);
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
