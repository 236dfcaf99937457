import {
  binSpikes,
  type CursorSample,
  decode,
  hostClockUs,
  integrateVelocity,
  LatencyHistogram,
  latencyBetween,
  MotorCortexSimulator,
  normalise,
  realtimeFrames,
  regressionReport,
  SessionBuilder,
} from '@edge-bci/core';
import { outputColumns, WienerDecoder } from '@edge-bci/decoders';
import { filter, lastValueFrom, take, takeWhile, tap } from 'rxjs';
import { numberOption, parse, UsageError } from '../args.js';
import { createOutput, rounded, roundedFields } from '../output.js';
import { Progress } from '../progress.js';

export const demoUsage = `edge-bci demo [--train-seconds 60] [--seconds 60] [--speed 1] [--seed 1] [--channels 96] [--json]

The live pipeline end to end: the simulator streams spikes in real time, a Wiener decoder is
fitted on the first minute, then decoding quality and latency per stage update live, with a
summary at the end. --speed runs the simulated clock faster than real time.`;

const STAGES = ['bin', 'normalise', 'decode', 'integrate'] as const;
const WINDOW_BINS = 600; // 30 s of 50 ms bins for the live R2

/** A sliding window of decoded and true velocities for a live R2. */
class LiveScore {
  private readonly pred = new Float64Array(WINDOW_BINS * 2);
  private readonly truth = new Float64Array(WINDOW_BINS * 2);
  private n = 0;
  add(p: Float32Array, t: Float64Array, cols: readonly number[]): void {
    const i = (this.n % WINDOW_BINS) * 2;
    this.pred[i] = p[0]!;
    this.pred[i + 1] = p[1]!;
    this.truth[i] = t[cols[0]!]!;
    this.truth[i + 1] = t[cols[1]!]!;
    this.n++;
  }
  r2(): { x: number; y: number; mean: number } | undefined {
    const rows = Math.min(this.n, WINDOW_BINS);
    if (rows < 20) return undefined;
    const rep = regressionReport(
      { data: this.pred.subarray(0, rows * 2), rows, cols: 2 },
      { data: this.truth.subarray(0, rows * 2), rows, cols: 2 },
      ['x', 'y'],
    );
    return { x: rep.r2.x!, y: rep.r2.y!, mean: rep.r2.mean };
  }
}

export async function demoCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    'train-seconds': { type: 'string' },
    seconds: { type: 'string' },
    speed: { type: 'string' },
    seed: { type: 'string' },
    channels: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const trainSeconds = numberOption(values['train-seconds'], 'train-seconds', 60, { min: 10, max: 3600 });
  const liveSeconds = numberOption(values.seconds, 'seconds', 60, { min: 1, max: 24 * 3600 });
  const speed = numberOption(values.speed, 'speed', 1, { min: 0.1, max: 1000 });
  const seed = numberOption(values.seed, 'seed', 1, { min: 0, integer: true });
  const channels = numberOption(values.channels, 'channels', 96, { min: 2, max: 1024, integer: true });
  const json = Boolean(values.json);
  const out = createOutput(json);
  const screen = process.stdout;
  const tty = Boolean(screen.isTTY) && !json;

  const binWidthUs = 50_000;
  const sim = new MotorCortexSimulator({ seed, channels });
  const metadata = sim.metadata(binWidthUs);
  const frames = () => realtimeFrames(() => sim.nextFrame(), { speed });

  // Phase 1: collect labelled bins from the live stream for training.
  const trainBins = Math.round((trainSeconds * 1e6) / binWidthUs);
  const builder = new SessionBuilder(metadata);
  const collect = new Progress('collecting training data');
  out.line(`edge-bci demo: ${channels} simulated channels, ${binWidthUs / 1000} ms bins, speed x${speed}`);
  await lastValueFrom(
    frames().pipe(
      binSpikes({ binWidthUs, channels }),
      take(trainBins),
      tap((ev) => {
        builder.add(ev);
        collect.update(builder.bins / trainBins, `${((builder.bins * binWidthUs) / 1e6).toFixed(0)} s`);
      }),
    ),
    { defaultValue: undefined },
  );
  collect.done(`${builder.bins} bins`);

  // Phase 2: fit a Wiener filter on what was collected.
  const decoder = new WienerDecoder({ history: 10 });
  const fitProgress = new Progress('fitting Wiener filter');
  const fit = await decoder.fit(builder.build(), {
    target: 'velocity',
    onProgress: (f) => fitProgress.update(f),
  });
  fitProgress.done(`lambda ${fit.chosen?.lambda ?? '?'}`);

  // Phase 3: decode live.
  const latency = Object.fromEntries([...STAGES, 'total'].map((s) => [s, new LatencyHistogram()])) as Record<
    (typeof STAGES)[number] | 'total',
    LatencyHistogram
  >;
  const score = new LiveScore();
  const liveBins = Math.round((liveSeconds * 1e6) / binWidthUs);
  const allPred: number[] = [];
  const allTruth: number[] = [];
  let last: CursorSample | undefined;
  let gaps = 0;
  let lastDraw = 0;
  let n = 0;
  const cols = outputColumns(decoder, metadata.kinematicNames);
  const t0 = hostClockUs();

  const draw = (final = false) => {
    const now = hostClockUs();
    if (!final && now - lastDraw < 250_000) return;
    lastDraw = now;
    const r = score.r2();
    const lines = [
      `live decoding  ${((n * binWidthUs) / 1e6).toFixed(1)} / ${liveSeconds} s   bins ${n}   gaps ${gaps}`,
      `R2 (last 30 s) ${r ? `x ${r.x.toFixed(3)}  y ${r.y.toFixed(3)}  mean ${r.mean.toFixed(3)}` : 'warming up'}`,
      `cursor         decoded (${fmt(last?.position[0])}, ${fmt(last?.position[1])})  true (${fmt(last?.kinematics?.[0])}, ${fmt(last?.kinematics?.[1])}) mm`,
      'latency (us)   stage        p50      p90      p99      max',
      ...[...STAGES, 'total' as const].map((s) => {
        const h = latency[s].summary();
        return `               ${s.padEnd(10)} ${[h.p50, h.p90, h.p99, h.max].map((v) => fmt(v, 1).padStart(8)).join(' ')}`;
      }),
    ];
    if (tty) screen.write(`\x1b[${lines.length}A\x1b[0J${lines.join('\n')}\n`);
    else if (!json && (final || n % 200 === 0)) screen.write(`${lines[0]}  ${lines[1]}\n`);
  };
  if (tty) screen.write('\n'.repeat(4 + STAGES.length + 1));

  await lastValueFrom(
    frames().pipe(
      binSpikes({ binWidthUs, channels }),
      normalise({ mean: decoder.normaliser.mean, std: decoder.normaliser.std, mode: 'frozen' }),
      decode(decoder),
      integrateVelocity({ min: [-150, -150], max: [150, 150] }),
      tap((ev) => {
        if (ev.kind === 'gap') gaps++;
      }),
      filter((ev): ev is CursorSample => ev.kind === 'cursor'),
      takeWhile(() => n < liveBins),
      tap((c) => {
        n++;
        last = c;
        const trace = c.latency;
        if (trace) {
          let prev: string | 'origin' = 'origin';
          for (const s of STAGES) {
            const us = latencyBetween(trace, prev, s);
            if (us !== undefined) latency[s].record(us);
            prev = s;
          }
          const total = latencyBetween(trace, 'origin', 'integrate');
          if (total !== undefined) latency.total.record(total);
        }
        if (c.kinematics) {
          score.add(c.velocity, c.kinematics, cols);
          allPred.push(c.velocity[0]!, c.velocity[1]!);
          allTruth.push(c.kinematics[cols[0]!]!, c.kinematics[cols[1]!]!);
        }
        draw();
      }),
    ),
    { defaultValue: undefined },
  );
  draw(true);
  const wallSeconds = (hostClockUs() - t0) / 1e6;
  const rows = allPred.length / 2;
  const rep = regressionReport({ data: allPred, rows, cols: 2 }, { data: allTruth, rows, cols: 2 }, [
    'x',
    'y',
  ]);
  const summary = {
    channels,
    seed,
    speed,
    trainBins: builder.bins,
    liveBins: n,
    gaps,
    fitSeconds: rounded(fit.seconds, 3),
    r2: { x: rounded(rep.r2.x!), y: rounded(rep.r2.y!), mean: rounded(rep.r2.mean) },
    realtimeFactor: rounded((n * binWidthUs) / 1e6 / wallSeconds, 2),
    latencyUs: Object.fromEntries(
      Object.entries(latency).map(([s, h]) => [
        s,
        roundedFields(h.summary(), ['p50', 'p90', 'p99', 'max'], 1),
      ]),
    ),
  };
  out.result(summary);
  out.line('');
  out.line(
    `summary: ${n} bins decoded live (${(n * binWidthUs) / 1e6} s), R2 x ${summary.r2.x} y ${summary.r2.y} mean ${summary.r2.mean}`,
  );
  out.line(
    `         end-to-end latency p50 ${summary.latencyUs.total?.p50} us, p99 ${summary.latencyUs.total?.p99} us (last frame of a bin to cursor)`,
  );
  return 0;
}

function fmt(v: number | undefined, digits = 1): string {
  return v === undefined || Number.isNaN(v) ? '-' : v.toFixed(digits);
}
