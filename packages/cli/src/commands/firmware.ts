import { mkdirSync, writeFileSync } from 'node:fs';
import { openRecording } from '@edge-bci/core';
import {
  type FaultOptions,
  Firmware,
  type FirmwareSourceFactory,
  PtyPair,
  recordingSource,
  SerialFirmwareRunner,
  simulatorSource,
} from '@edge-bci/device';
import { choiceOption, numberOption, parse, UsageError } from '../args.js';

export const firmwareUsage = `edge-bci firmware (--port PATH | --pty [--pty-dir DIR]) [--seconds S] [--channels N]
                  [--sub-bin-us US] [--seed K] [--source FILE] [--mode counts|events] [--count-width 1|2]
                  [--flip-rate R] [--drop-rate R] [--garbage-rate R] [--stall-every S] [--stall-ms MS]
                  [--disconnect-every S] [--disconnect-ms MS] [--drift-ppm P] [--fault-seed K]
                  [--start-s S] [--report FILE] [--json]

A firmware simulator: speaks the edge-bci wire protocol (docs/protocol.md) over a real serial device,
streaming the built-in motor-cortex simulator (or a recording, --source) in real time once a host
sends 'start'. Faults are injected while streaming:
  --flip-rate R         fraction of packets with one bit flipped
  --drop-rate R         fraction of packets with one byte left out
  --garbage-rate R      fraction of packets followed by line noise
  --stall-every S       mean seconds between stalls of --stall-ms (default 200) (held, then sent in a burst)
  --disconnect-every S  mean seconds between unplugs of --disconnect-ms (default 1000). With --pty the
                        pseudo-terminal really vanishes and comes back; with --port the device goes silent
  --drift-ppm P         device clock error (positive runs fast)
--start-s S skips the first S seconds of the simulation or recording (e.g. to stream only the part of a
recording a model was not trained on).
--pty makes a pseudo-terminal pair with socat and prints the host's port (a fixed place with --pty-dir).
--seconds S ends the stream after S seconds of data (default: never); the device then sends a final
status and exits. SIGINT/SIGTERM stop it. --report FILE (and --json, on stdout) give the ledger of
what was sent, damaged and dropped, to account against the host's counts.`;

/** How long after the end of its stream the firmware waits for the host to acknowledge it. */
const END_WAIT_MS = 5000;

export async function firmwareCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    port: { type: 'string' },
    pty: { type: 'boolean' },
    'pty-dir': { type: 'string' },
    seconds: { type: 'string' },
    channels: { type: 'string' },
    'sub-bin-us': { type: 'string' },
    seed: { type: 'string' },
    source: { type: 'string' },
    mode: { type: 'string' },
    'count-width': { type: 'string' },
    'flip-rate': { type: 'string' },
    'drop-rate': { type: 'string' },
    'garbage-rate': { type: 'string' },
    'stall-every': { type: 'string' },
    'stall-ms': { type: 'string' },
    'disconnect-every': { type: 'string' },
    'disconnect-ms': { type: 'string' },
    'drift-ppm': { type: 'string' },
    'fault-seed': { type: 'string' },
    'boot-id': { type: 'string' },
    'start-s': { type: 'string' },
    report: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  if (Boolean(values.port) === Boolean(values.pty))
    throw new UsageError('firmware needs one of --port PATH or --pty');
  if (values['pty-dir'] && !values.pty) throw new UsageError('--pty-dir goes with --pty');
  const seconds =
    values.seconds === undefined ? undefined : numberOption(values.seconds, 'seconds', 0, { min: 0.001 });
  const rate = (name: 'flip-rate' | 'drop-rate' | 'garbage-rate') =>
    numberOption(values[name], name, 0, { min: 0, max: 1 });
  const positive = (name: 'stall-every' | 'stall-ms' | 'disconnect-every' | 'disconnect-ms') =>
    values[name] === undefined ? undefined : numberOption(values[name], name, 0, { min: 1e-3 });
  const faults: FaultOptions = {
    flipRate: rate('flip-rate'),
    dropRate: rate('drop-rate'),
    garbageRate: rate('garbage-rate'),
    ...(positive('stall-every') !== undefined && { stallEveryS: positive('stall-every') }),
    ...(positive('stall-ms') !== undefined && { stallMs: positive('stall-ms') }),
    ...(positive('disconnect-every') !== undefined && { disconnectEveryS: positive('disconnect-every') }),
    ...(positive('disconnect-ms') !== undefined && { disconnectMs: positive('disconnect-ms') }),
    seed: numberOption(values['fault-seed'], 'fault-seed', 1, { min: 0, max: 2 ** 32 - 1, integer: true }),
  };
  const mode = choiceOption(values.mode, 'mode', ['counts', 'events'] as const, 'counts');
  const countWidth =
    choiceOption(values['count-width'], 'count-width', ['1', '2'] as const, '1') === '2' ? 2 : 1;
  const startUs = numberOption(values['start-s'], 'start-s', 0, { min: 0 }) * 1e6;
  let source: FirmwareSourceFactory;
  if (values.source) {
    if (values.channels || values['sub-bin-us'] || values.seed) {
      throw new UsageError(
        '--channels, --sub-bin-us and --seed describe the simulator; a --source recording has its own',
      );
    }
    const recording = await openRecording(values.source);
    source = recordingSource(recording.session, values.source, { startUs });
  } else {
    const channels = numberOption(values.channels, 'channels', 96, { min: 1, max: 4096, integer: true });
    const subBinUs = numberOption(values['sub-bin-us'], 'sub-bin-us', 1000, {
      min: 1000,
      max: 1_000_000,
      integer: true,
    });
    if (subBinUs % 1000 !== 0) throw new UsageError('--sub-bin-us must be a whole number of milliseconds');
    const seed = numberOption(values.seed, 'seed', 1, { min: 0, max: 2 ** 32 - 1, integer: true });
    source = simulatorSource({ seed, channels, subBinUs, startUs });
  }
  const bootId =
    values['boot-id'] === undefined
      ? undefined
      : numberOption(values['boot-id'], 'boot-id', 0, { min: 0, max: 2 ** 32 - 1, integer: true });
  const firmware = new Firmware({
    source,
    mode,
    countWidth,
    faults,
    ...(seconds !== undefined && { seconds }),
    ...(bootId !== undefined && { bootId }),
    driftPpm: numberOption(values['drift-ppm'], 'drift-ppm', 0, { min: -10_000, max: 10_000 }),
  });

  const json = Boolean(values.json);
  const log = (text: string) => process.stderr.write(`edge-bci firmware: ${text}\n`);
  if (values['pty-dir']) mkdirSync(values['pty-dir'], { recursive: true });
  const pty = values.pty
    ? await PtyPair.open(values['pty-dir'] ? { dir: values['pty-dir'] } : {})
    : undefined;
  const devicePath = pty?.device ?? values.port!;
  const runner = await SerialFirmwareRunner.start({
    firmware,
    path: devicePath,
    ...(pty && { pty }),
    onEvent: (event) => log(event),
  });
  const ready = {
    event: 'ready',
    port: pty?.host ?? values.port,
    channels: firmware.channels,
    subBinUs: firmware.subBinUs,
    bootId: firmware.ledger.bootId,
    pid: process.pid,
  };
  // One line the host (or a test) can wait for, with the port to open.
  if (json) process.stdout.write(`${JSON.stringify(ready)}\n`);
  else
    process.stdout.write(
      `firmware ready: host port ${ready.port} (${ready.channels} channels, ${ready.subBinUs} us sub-bins)\n`,
    );

  let watch: NodeJS.Timeout | undefined;
  const reason = await new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
    let endedAt: number | undefined;
    watch = setInterval(() => {
      if (!firmware.ended) return;
      endedAt ??= performance.now();
      // Wait for the host's 'stop' (a host away on an unplug comes back and is told again), not for ever.
      if (firmware.endAcknowledged || performance.now() - endedAt > END_WAIT_MS) {
        clearInterval(watch);
        // Linger to answer a resent 'stop' (its ack may have been lost) before the port goes.
        setTimeout(() => resolve('end of stream'), 500);
      }
    }, 50);
  });
  // Stopped by a signal, the watch is still running and would keep the process alive.
  clearInterval(watch);
  await runner.stop();
  await pty?.close();
  const ledger = firmware.ledger;
  const report = { event: 'exit', reason, ...ledger };
  if (values.report) writeFileSync(values.report, `${JSON.stringify(report)}\n`);
  if (json)
    process.stdout.write(
      `${JSON.stringify({ ...report, faults: report.faults && { ...report.faults, damagedSeqs: report.faults.damagedSeqs.length } })}\n`,
    );
  else
    log(
      `${reason}: ${ledger.packetsMade} packets made, ${ledger.packetsWritten} written, ${ledger.droppedWhileDisconnected} dropped while unplugged`,
    );
  return 0;
}
