import { accessSync, constants } from 'node:fs';
import { basename, dirname } from 'node:path';
import {
  type BinEvent,
  binSpikes,
  ChannelCountError,
  createBinningStats,
  decode,
  hostClockUs,
  LatencyHistogram,
  latencyBetween,
  normalise,
  numberedLabels,
  regressionReport,
  SessionFileWriter,
} from '@edge-bci/core';
import { type Decoder, loadDecoder, outputColumns } from '@edge-bci/decoders';
import {
  Acquisition,
  type AcquisitionBinding,
  type Presence,
  SerialBinding,
  SimulatorBinding,
} from '@edge-bci/device';
import { share } from 'rxjs';
import { choiceOption, numberOption, parse, UsageError } from '../args.js';
import { rounded, roundedFields } from '../output.js';

export const acquireUsage = `edge-bci acquire --port PATH [--seconds S] [--record FILE] [--bin-ms MS] [--json]
                 [--binding serial|simulator] [--channels N] [--sub-bin-us US] [--baud RATE]
                 [--silence-ms MS] [--connect-timeout-ms MS] [--give-up-ms MS] [--model DIR] [--list]

Opens an acquisition device (docs/protocol.md), handshakes, starts it, and streams its spike counts
into bins (--bin-ms, default 20), recording them to a session file while streaming (--record FILE.ebci).
After an unplug it reconnects with backoff, reporting the gap; presence (connecting, streaming,
reconnecting, stopped, error) goes to stderr. Stops after --seconds (default: until the device ends its
stream), or on Ctrl-C / SIGTERM; what was received is in the recording either way.
--model DIR decodes live with a trained decoder (edge-bci train): bins are normalised with its training
statistics and stepped through it; --json then reports its decode latency and, when the device sends the
decoder's kinematics (the firmware simulator does), R2 against them.
--baud sets a UART's line rate (default 921600; USB CDC devices and pseudo-terminals ignore it).
--binding simulator opens the built-in simulated device (port sim://0) without any hardware.
--channels/--sub-bin-us configure the device before it starts. --list lists ports and exits.
A device that does not answer at the start is an error after --connect-timeout-ms (default 10000);
after an unplug, acquire keeps trying (--give-up-ms to stop trying after so long).
--json prints the counters: framesReceived, framesLost (by sequence), crcErrors, resyncs, reconnects,
binsEmitted, frameToBinLatencyUs {p50, p99} (last byte of a frame to its bin leaving the pipeline), ...`;

export async function acquireCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    port: { type: 'string' },
    seconds: { type: 'string' },
    record: { type: 'string' },
    'bin-ms': { type: 'string' },
    json: { type: 'boolean' },
    binding: { type: 'string' },
    channels: { type: 'string' },
    'sub-bin-us': { type: 'string' },
    'silence-ms': { type: 'string' },
    'give-up-ms': { type: 'string' },
    'connect-timeout-ms': { type: 'string' },
    baud: { type: 'string' },
    model: { type: 'string' },
    list: { type: 'boolean' },
  });
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const kind = choiceOption(values.binding, 'binding', ['serial', 'simulator'] as const, 'serial');
  const binding: AcquisitionBinding & { dispose?: () => void } =
    kind === 'serial' ? new SerialBinding() : new SimulatorBinding();
  if (values.list) {
    for (const p of await binding.list()) {
      process.stdout.write(
        `${p.path}${p.description ? `  ${p.description}` : ''}${p.serialNumber ? `  (${p.serialNumber})` : ''}\n`,
      );
    }
    return 0;
  }
  const path = values.port ?? (kind === 'simulator' ? 'sim://0' : undefined);
  if (!path) throw new UsageError('acquire needs --port PATH (see --list)');
  const seconds =
    values.seconds === undefined ? undefined : numberOption(values.seconds, 'seconds', 0, { min: 0.01 });
  const decoder: Decoder | undefined = values.model ? await loadDecoder(values.model) : undefined;
  const modelBinUs = (decoder as { binWidthUs?: number } | undefined)?.binWidthUs;
  const binMs = numberOption(values['bin-ms'], 'bin-ms', modelBinUs ? modelBinUs / 1000 : 20, {
    min: 1,
    max: 1000,
    integer: true,
  });
  if (modelBinUs !== undefined && modelBinUs !== binMs * 1000) {
    throw new UsageError(`--bin-ms ${binMs} differs from the model's ${modelBinUs / 1000} ms bins`);
  }
  const silenceMs = numberOption(values['silence-ms'], 'silence-ms', 3000, { min: 10 });
  const giveUpMs =
    values['give-up-ms'] === undefined
      ? undefined
      : numberOption(values['give-up-ms'], 'give-up-ms', 0, { min: 0 });
  const configure = {
    ...(values.channels !== undefined && {
      channels: numberOption(values.channels, 'channels', 0, { min: 1, max: 65535, integer: true }),
    }),
    ...(values['sub-bin-us'] !== undefined && {
      subBinUs: numberOption(values['sub-bin-us'], 'sub-bin-us', 0, { min: 1, integer: true }),
    }),
  };
  if (values.record) {
    try {
      accessSync(dirname(values.record), constants.W_OK);
    } catch {
      throw new UsageError(`--record: cannot write in ${dirname(values.record)}`);
    }
  }
  const json = Boolean(values.json);
  const say = (text: string) => process.stderr.write(`edge-bci acquire: ${text}\n`);

  const acquisition = new Acquisition({
    binding,
    path,
    silenceTimeoutMs: silenceMs,
    ...(values.baud !== undefined && {
      open: { baudRate: numberOption(values.baud, 'baud', 0, { min: 50, max: 12_000_000, integer: true }) },
    }),
    connectTimeoutMs: numberOption(values['connect-timeout-ms'], 'connect-timeout-ms', 10_000, { min: 0 }),
    ...(Object.keys(configure).length > 0 && { configure }),
    reconnect: {
      initialDelayMs: 50,
      maxDelayMs: 1000,
      ...(giveUpMs !== undefined && { giveUpAfterMs: giveUpMs }),
    },
  });
  const presenceLog: Array<{ state: string; detail: string; atMs: number }> = [];
  const t0 = hostClockUs();
  acquisition.presence$.subscribe((p: Presence) => {
    presenceLog.push({ state: p.state, detail: p.detail, atMs: rounded((p.atUs - t0) / 1000, 1) });
    // A long outage retries every second or so: keep the first entries and the most recent ones.
    if (presenceLog.length > 1000) presenceLog.splice(100, 1);
    say(`${p.state}: ${p.detail}`);
  });

  const binning = createBinningStats();
  const latency = new LatencyHistogram();
  let writer: SessionFileWriter | undefined;
  let pipelineError: Error | undefined;
  let binsWritten = 0;
  // Live decoding (--model): latency of the decode stage and end to end, and outputs against true kinematics.
  const decodeLatency = new LatencyHistogram();
  const endToEndLatency = new LatencyHistogram();
  let decodedBins = 0;
  const predicted: number[] = [];
  const truth: number[] = [];
  let truthColumns: number[] | undefined;
  const pipelineDone = new Promise<void>((resolve) => {
    let subscribed = false;
    const subscribe = (channels: number) => {
      if (subscribed) return;
      subscribed = true;
      const bins$ = acquisition.frames$.pipe(
        binSpikes({ binWidthUs: binMs * 1000, channels, stats: binning }),
        share(),
      );
      if (decoder) {
        bins$
          .pipe(
            normalise({ mean: decoder.normaliser.mean, std: decoder.normaliser.std, mode: 'frozen' }),
            decode(decoder),
          )
          .subscribe({
            next: (event) => {
              if (event.kind !== 'decoded') return;
              decodedBins++;
              const step = latencyBetween(event.latency, 'normalise', 'decode');
              const total = latencyBetween(event.latency, 'origin', 'decode');
              if (step !== undefined) decodeLatency.record(step);
              if (total !== undefined) endToEndLatency.record(total);
              if (truthColumns && event.kinematics) {
                for (let j = 0; j < truthColumns.length; j++) {
                  predicted.push(event.output[j]!);
                  truth.push(event.kinematics[truthColumns[j]!]!);
                }
              }
            },
            error: (err: Error) => {
              pipelineError = err;
              stop('decoder failed');
            },
          });
      }
      bins$.subscribe({
        next: (event: BinEvent) => {
          // The pipeline's last stage: frame-to-bin latency runs from the frame's last byte to here.
          const now = hostClockUs();
          if (event.kind === 'bin') {
            if (event.latency) latency.record(now - event.latency.originUs);
            writer?.appendBin(event);
            binsWritten++;
          } else {
            writer?.appendGap(event);
          }
        },
        error: (err: Error) => {
          pipelineError = err;
          resolve();
        },
        complete: () => resolve(),
      });
    };
    // Channels are known once the device has answered; subscribe (and open the recording) before streaming starts.
    acquisition.messages$.subscribe((m) => {
      if (m.type !== 'info' || subscribed) return;
      if (values.record) {
        try {
          writer = SessionFileWriter.create(
            values.record,
            {
              channels: m.channels,
              channelLabels: numberedLabels('ch', m.channels),
              binWidthUs: binMs * 1000,
              kinematicNames: [...m.kinematicNames],
              source: {
                kind: 'acquisition',
                port: path,
                serialNumber: m.serialNumber,
                firmwareVersion: m.firmwareVersion.join('.'),
                subBinUs: m.subBinUs,
              },
              createdAt: new Date().toISOString(),
            },
            // One bin per chunk: a kill loses at most the bin being filled.
            { binsPerChunk: 1 },
          );
        } catch (err) {
          pipelineError = err as Error;
          stop('recording failed');
          return;
        }
      }
      if (decoder) {
        if (decoder.inputs !== m.channels) {
          pipelineError = new ChannelCountError(
            decoder.inputs,
            m.channels,
            `${path} (for a model of ${decoder.inputs} channels)`,
          );
          stop('model does not fit the device');
          return;
        }
        try {
          truthColumns = outputColumns(decoder, m.kinematicNames);
        } catch {
          truthColumns = undefined; // the device does not send what the decoder outputs: no R2, decoding still runs
        }
      }
      subscribe(m.channels);
    });
  });

  let stopping: string | undefined;
  const stop = (why: string) => {
    if (stopping) return;
    stopping = why;
    void acquisition.stop();
  };
  const onSignal = (signal: string) => () => stop(signal);
  process.once('SIGINT', onSignal('SIGINT'));
  process.once('SIGTERM', onSignal('SIGTERM'));
  // A crash still closes the recording: everything received so far stays readable.
  const onCrash = (err: unknown) => {
    writer?.close();
    process.stderr.write(`edge-bci acquire: crashed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(70);
  };
  process.once('uncaughtException', onCrash);

  const info = await acquisition.start().catch((err: Error) => err);
  if (info instanceof Error) {
    if (binding.dispose) binding.dispose();
    throw info;
  }
  say(
    `device ${info.serialNumber} firmware ${info.firmwareVersion.join('.')}: ${info.channels} channels, ${info.subBinUs} us sub-bins${values.record ? `, recording to ${basename(values.record)}` : ''}`,
  );
  const timer = seconds === undefined ? undefined : setTimeout(() => stop('time'), seconds * 1000);
  const progress = setInterval(() => {
    const s = acquisition.stats();
    say(
      `${binning.bins} bins, ${s.framesReceived} frames, ${s.framesLost} lost, ${s.crcErrors} CRC errors, ${s.reconnects} reconnects`,
    );
  }, 5000);
  progress.unref();
  const how = await acquisition.done.catch((err: Error) => err);
  clearTimeout(timer);
  clearInterval(progress);
  await pipelineDone;
  writer?.close();
  binding.dispose?.();
  process.removeListener('uncaughtException', onCrash);

  const s = acquisition.stats();
  const lat = latency.summary();
  const result = {
    port: path,
    device: {
      serialNumber: info.serialNumber,
      firmwareVersion: info.firmwareVersion.join('.'),
      channels: info.channels,
      subBinUs: info.subBinUs,
      bootId: info.bootId,
    },
    ended: how instanceof Error ? `error: ${how.message}` : (stopping ?? how),
    seconds: rounded((hostClockUs() - t0) / 1e6, 3),
    framesReceived: s.framesReceived,
    dataFramesReceived: s.dataFramesReceived,
    framesLost: s.framesLost,
    crcErrors: s.crcErrors,
    malformed: s.malformed,
    resyncs: s.resyncs,
    reconnects: s.reconnects,
    reboots: s.reboots,
    deviceDroppedFrames: s.deviceDroppedFrames,
    binsEmitted: binning.bins,
    streamOriginDeviceUs: s.streamOriginDeviceUs,
    gaps: binning.gaps,
    lostBins: binning.lostBins,
    ...(decoder && {
      decoder: decoderSummary(decoder, decodedBins, decodeLatency, endToEndLatency, predicted, truth),
    }),
    frameToBinLatencyUs: { ...roundedFields(lat, ['p50', 'p99', 'max'], 1), count: lat.count },
    clock: {
      driftPpm: rounded(s.clock.driftPpm, 2),
      jitterUs: roundedFields(s.clock.jitterUs, ['p50', 'p99'], 1),
    },
    ...(values.record && { record: { path: values.record, bins: binsWritten } }),
    presence: presenceLog,
  };
  if (json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else {
    process.stdout.write(
      `${result.ended}: ${result.binsEmitted} bins in ${result.seconds} s; frames ${s.framesReceived} received, ${s.framesLost} lost; ` +
        `${s.crcErrors} CRC errors, ${s.resyncs} resyncs, ${s.reconnects} reconnects; frame-to-bin p50 ${result.frameToBinLatencyUs.p50} us, p99 ${result.frameToBinLatencyUs.p99} us\n`,
    );
  }
  if (!json && result.decoder) {
    const d = result.decoder;
    process.stdout.write(
      `${d.kind} decoded ${d.bins} bins live${
        d.r2
          ? `, R2 ${Object.entries(d.r2)
              .map(([n, v]) => `${n} ${v}`)
              .join(' ')}`
          : ''
      }; step p99 ${d.stepLatencyUs.p99} us, frame to output p99 ${d.frameToOutputLatencyUs.p99} us\n`,
    );
  }
  if (pipelineError) throw pipelineError;
  return how instanceof Error ? 1 : 0;
}

function decoderSummary(
  decoder: Decoder,
  bins: number,
  step: LatencyHistogram,
  total: LatencyHistogram,
  predicted: number[],
  truth: number[],
) {
  const k = decoder.outputs;
  const rows = predicted.length / k;
  let r2: Record<string, number> | null = null;
  if (rows >= 10) {
    const report = regressionReport({ data: predicted, rows, cols: k }, { data: truth, rows, cols: k }, [
      ...decoder.outputNames,
    ]);
    r2 = Object.fromEntries(Object.entries(report.r2).map(([name, v]) => [name, rounded(v!)]));
  }
  return {
    kind: decoder.kind,
    outputs: decoder.outputNames,
    bins,
    r2,
    stepLatencyUs: roundedFields(step.summary(), ['p50', 'p99'], 1),
    frameToOutputLatencyUs: roundedFields(total.summary(), ['p50', 'p99'], 1),
  };
}
