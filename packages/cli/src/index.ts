import { EdgeBciError } from '@edge-bci/core';
import { UsageError } from './args.js';
import { acquireCommand, acquireUsage } from './commands/acquire.js';
import { convertCommand, convertUsage } from './commands/convert.js';
import { decodeCommand, decodeUsage } from './commands/decode.js';
import { demoCommand, demoUsage } from './commands/demo.js';
import { firmwareCommand, firmwareUsage } from './commands/firmware.js';
import { infoCommand, infoUsage } from './commands/info.js';
import { simulateCommand, simulateUsage } from './commands/simulate.js';
import { trainCommand, trainUsage } from './commands/train.js';

export { evaluateStreaming, type StreamingEvaluation } from './evaluate.js';

interface Command {
  readonly run: (argv: string[]) => Promise<number>;
  readonly usage: string;
  readonly summary: string;
}

const COMMANDS: Record<string, Command> = {
  simulate: {
    run: simulateCommand,
    usage: simulateUsage,
    summary: 'simulate motor cortex into a session file',
  },
  info: { run: infoCommand, usage: infoUsage, summary: 'describe a recording and check its integrity' },
  convert: {
    run: convertCommand,
    usage: convertUsage,
    summary: 'convert a recording between .mat, .nwb and .ebci',
  },
  decode: {
    run: decodeCommand,
    usage: decodeUsage,
    summary: 'fit a decoder and decode a recording bin by bin',
  },
  train: { run: trainCommand, usage: trainUsage, summary: 'fit a decoder and save it as a model directory' },
  firmware: {
    run: firmwareCommand,
    usage: firmwareUsage,
    summary: 'a firmware simulator speaking the wire protocol on a serial port, with faults',
  },
  acquire: {
    run: acquireCommand,
    usage: acquireUsage,
    summary: 'stream a device into bins, recording, reconnecting after unplugs',
  },
  demo: {
    run: demoCommand,
    usage: demoUsage,
    summary: 'the live pipeline on the simulator, in the terminal',
  },
};

const USAGE = `edge-bci: decode intracortical spikes on the edge

usage: edge-bci COMMAND [options]     (edge-bci COMMAND --help for its options)

commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`)
  .join('\n')}

Exit codes: 0 success, 1 bad or damaged input, 2 wrong usage, 70 internal error.`;

/** Runs the command line; returns the exit code. Errors are reported on stderr, never thrown. */
export async function main(argv: string[], stderr: NodeJS.WritableStream = process.stderr): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return name ? 0 : 2;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    stderr.write(`edge-bci: unknown command '${name}'\n\n${USAGE}\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${cmd.usage}\n`);
    return 0;
  }
  try {
    return await cmd.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      stderr.write(`edge-bci ${name}: ${err.message}\n\n${cmd.usage}\n`);
      return 2;
    }
    if (err instanceof EdgeBciError) {
      stderr.write(`edge-bci ${name}: ${err.name}: ${err.message}\n`);
      return 1;
    }
    const e = err as NodeJS.ErrnoException;
    if (e && typeof e.code === 'string' && typeof e.syscall === 'string') {
      // File system errors (missing file, permission) are bad input, not a crash.
      stderr.write(`edge-bci ${name}: ${e.message}\n`);
      return 1;
    }
    stderr.write(`edge-bci ${name}: internal error: ${(err as Error)?.stack ?? err}\n`);
    return 70;
  }
}
