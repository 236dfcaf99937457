import { DRIFT_KNOBS, simulateSession, writeSessionFile } from '@edge-bci/core';
import { choiceOption, numberOption, parse, UsageError } from '../args.js';
import { createOutput } from '../output.js';
import { Progress } from '../progress.js';

export const simulateUsage = `edge-bci simulate -o FILE [--seconds S] [--channels N] [--seed K] [--bin-ms MS]
                  [--task center-out|random-target] [--drift NAME=VALUE ...] [--json]

Simulates motor cortex during reaching and writes a session file (.ebci).
Same seed and options give the same file, byte for byte.

Drift knobs (--drift NAME=VALUE, repeatable):
${DRIFT_KNOBS.map((k) => `  ${k.name.padEnd(15)} ${k.description}`).join('\n')}`;

export async function simulateCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    output: { type: 'string', short: 'o' },
    seconds: { type: 'string' },
    channels: { type: 'string' },
    seed: { type: 'string' },
    'bin-ms': { type: 'string' },
    task: { type: 'string' },
    drift: { type: 'string', multiple: true },
    json: { type: 'boolean' },
  });
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  if (!values.output) throw new UsageError('simulate needs -o FILE');
  const seconds = numberOption(values.seconds, 'seconds', 600, { min: 1, max: 7 * 24 * 3600 });
  const channels = numberOption(values.channels, 'channels', 96, { min: 1, max: 4096, integer: true });
  const seed = numberOption(values.seed, 'seed', 1, { min: 0, max: 2 ** 32 - 1, integer: true });
  const binMs = numberOption(values['bin-ms'], 'bin-ms', 50, { min: 1, max: 1000, integer: true });
  const task = choiceOption(values.task, 'task', ['center-out', 'random-target'] as const, 'center-out');
  const drift: Record<string, number> = {};
  for (const d of values.drift ?? []) {
    const m = /^([A-Za-z]+)=(.+)$/.exec(d);
    if (!m) throw new UsageError(`--drift takes NAME=VALUE, got '${d}'`);
    const [, name, raw] = m;
    if (!DRIFT_KNOBS.some((k) => k.name === name)) {
      throw new UsageError(
        `unknown drift knob '${name}'; known: ${DRIFT_KNOBS.map((k) => k.name).join(', ')}`,
      );
    }
    drift[name!] = numberOption(raw, `drift ${name}`, 0);
  }
  const out = createOutput(Boolean(values.json));
  const progress = new Progress('simulate');
  const session = simulateSession({
    seconds,
    channels,
    seed,
    task,
    drift,
    binWidthUs: binMs * 1000,
    onProgress: (f) => progress.update(f),
  });
  progress.done();
  writeSessionFile(values.output, session);
  const summary = {
    file: values.output,
    channels: session.metadata.channels,
    bins: session.bins,
    binWidthMs: session.metadata.binWidthUs / 1000,
    seconds: (session.bins * session.metadata.binWidthUs) / 1e6,
    seed,
    task,
    drift,
  };
  out.line(
    `wrote ${summary.file}: ${summary.channels} channels, ${summary.bins} bins of ${summary.binWidthMs} ms (${summary.seconds} s), seed ${seed}`,
  );
  out.result(summary);
  return 0;
}
