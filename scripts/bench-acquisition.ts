/**
 * Acquisition benchmark: the firmware simulator in its own process streams N channels at 1 kHz sub-bins
 * through a real pseudo-terminal (socat); this process acquires it through the serial binding into
 * 20 ms bins, as `edge-bci acquire` does, and measures frame-to-bin latency (last byte of a frame to its
 * bin leaving the pipeline) for every bin, and the receive-to-frame stage (COBS, CRC, parsing, sequence
 * and clock bookkeeping) for every frame.
 *
 *   pnpm build && pnpm bench:acquisition [--seconds 60] [--channels 256] [--out bench-results/acquisition.json]
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { binSpikes, createBinningStats, hostClockUs, LatencyHistogram } from '@edge-bci/core';
import { Acquisition, SerialBinding } from '@edge-bci/device';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    channels: { type: 'string', default: '256' },
    'bin-ms': { type: 'string', default: '20' },
    out: { type: 'string', default: 'bench-results/acquisition.json' },
  },
});
const seconds = Number(values.seconds);
const channels = Number(values.channels);
const binMs = Number(values['bin-ms']);

const dir = await mkdtemp(join(tmpdir(), 'edge-bci-bench-'));
const bin = new URL('../packages/cli/bin/edge-bci.js', import.meta.url).pathname;
const firmware = spawn(
  process.execPath,
  [
    bin,
    'firmware',
    '--pty',
    '--pty-dir',
    dir,
    '--channels',
    String(channels),
    '--seconds',
    String(seconds),
    '--json',
  ],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
const lines = createInterface({ input: firmware.stdout! });
const ready = await new Promise<{ port: string }>((resolve, reject) => {
  lines.once('line', (line) => resolve(JSON.parse(line)));
  firmware.once('exit', (code) => reject(new Error(`firmware exited (${code}) before it was ready`)));
});
const exitReport = new Promise<Record<string, unknown>>((resolve) => {
  lines.on('line', (line) => {
    const event = JSON.parse(line);
    if (event.event === 'exit') resolve(event);
  });
});

const acquisition = new Acquisition({ binding: new SerialBinding(), path: ready.port });
const frameLatency = new LatencyHistogram();
const binLatency = new LatencyHistogram();
const binning = createBinningStats();
acquisition.frames$.subscribe((f) => {
  if (f.kind !== 'gap' && f.receivedUs !== undefined) frameLatency.record(hostClockUs() - f.receivedUs);
});
acquisition.frames$
  .pipe(binSpikes({ binWidthUs: binMs * 1000, channels, stats: binning }))
  .subscribe((event) => {
    if (event.kind === 'bin' && event.latency) binLatency.record(hostClockUs() - event.latency.originUs);
  });
const cpu0 = process.cpuUsage();
const t0 = hostClockUs();
const info = await acquisition.start();
process.stderr.write(
  `acquiring ${info.channels} channels at ${1e6 / info.subBinUs} Hz for ${seconds} s from ${ready.port}\n`,
);
const progress = setInterval(() => {
  const s = acquisition.stats();
  const elapsed = (hostClockUs() - t0) / 1e6;
  process.stderr.write(
    `  ${elapsed.toFixed(0)} s: ${s.dataFramesReceived} frames, ${s.framesLost} lost, bin p99 ${binLatency.quantile(0.99).toFixed(0)} us\n`,
  );
}, 5000);
const ended = await acquisition.done;
clearInterval(progress);
const wallS = (hostClockUs() - t0) / 1e6;
const cpu = process.cpuUsage(cpu0);
const ledger = await exitReport;
const s = acquisition.stats();
const summary = (h: LatencyHistogram) => {
  const x = h.summary();
  return { count: x.count, p50: x.p50, p90: x.p90, p99: x.p99, max: x.max };
};
const result = {
  date: new Date().toISOString(),
  node: process.version,
  channels,
  subBinUs: info.subBinUs,
  seconds,
  binMs,
  ended,
  wallSeconds: wallS,
  framesExpected: seconds * (1e6 / info.subBinUs),
  dataFramesReceived: s.dataFramesReceived,
  framesReceived: s.framesReceived,
  framesLost: s.framesLost,
  firmwarePacketsMade: ledger.packetsMade,
  crcErrors: s.crcErrors,
  resyncs: s.resyncs,
  bytesPerSecond: s.bytes / wallS,
  binsEmitted: binning.bins,
  frameToBinLatencyUs: summary(binLatency),
  frameDecodeLatencyUs: summary(frameLatency),
  hostCpuPercent: (100 * (cpu.user + cpu.system)) / 1e6 / wallS,
  clock: s.clock,
};
mkdirSync(dirname(values.out!), { recursive: true });
writeFileSync(values.out!, `${JSON.stringify(result, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
const ok = result.framesLost === 0 && result.dataFramesReceived === result.framesExpected;
process.stderr.write(
  `${ok ? 'no frame lost' : 'FRAMES LOST'}; frame-to-bin p50 ${result.frameToBinLatencyUs.p50.toFixed(0)} us, p99 ${result.frameToBinLatencyUs.p99.toFixed(0)} us (target p99 < 1000 us: ${result.frameToBinLatencyUs.p99 < 1000 ? 'met' : 'NOT met'})\n`,
);
process.exit(ok ? 0 : 1);
