import {
  decode,
  hostClockUs,
  LatencyHistogram,
  type LatencySummary,
  latencyBetween,
  normalise,
  type RecordedSession,
  type RegressionReport,
  regressionReport,
  sessionBinEvents,
  stampLatency,
} from '@edge-bci/core';
import { type Decoder, outputColumns } from '@edge-bci/decoders';
import { from, lastValueFrom, tap } from 'rxjs';

export interface StreamingEvaluation {
  readonly report: RegressionReport;
  readonly bins: number;
  readonly gaps: number;
  /** Time inside the decode stage per bin (decoder step plus the operator around it). */
  readonly stepLatencyUs: LatencySummary;
  /** Bins per wall-clock second through normalise and decode. */
  readonly binsPerSecond: number;
}

/**
 * Decodes bins [fromBin, toBin) of a session one at a time through the streaming pipeline
 * (session events, frozen normalisation with the decoder's statistics, the decoder) and scores the
 * outputs against the session's kinematics in the decoder's target columns.
 */
export async function evaluateStreaming(
  decoder: Decoder,
  session: RecordedSession,
  fromBin: number,
  toBin: number,
  onProgress?: (fraction: number) => void,
): Promise<StreamingEvaluation> {
  const cols = outputColumns(decoder, session.metadata.kinematicNames);
  const outputs = decoder.outputs;
  const total = toBin - fromBin;
  const pred = new Float64Array(total * outputs);
  const truth = new Float64Array(total * outputs);
  const latency = new LatencyHistogram();
  const kCols = session.metadata.kinematicNames.length;
  let rows = 0;
  let gaps = 0;
  const t0 = hostClockUs();
  await lastValueFrom(
    from(sessionBinEvents(session, fromBin, toBin)).pipe(
      stampLatency('source'),
      normalise({ mean: decoder.normaliser.mean, std: decoder.normaliser.std, mode: 'frozen' }),
      decode(decoder),
      tap((ev) => {
        if (ev.kind === 'gap') {
          gaps++;
          return;
        }
        const kin = ev.kinematics;
        for (let j = 0; j < outputs; j++) {
          pred[rows * outputs + j] = ev.output[j]!;
          truth[rows * outputs + j] = kin ? kin[cols[j]!]! : session.kinematics[ev.index * kCols + cols[j]!]!;
        }
        const us = ev.latency && latencyBetween(ev.latency, 'normalise', 'decode');
        if (us !== undefined) latency.record(us);
        rows++;
        if (onProgress && rows % 500 === 0) onProgress(rows / total);
      }),
    ),
    { defaultValue: undefined },
  );
  const seconds = (hostClockUs() - t0) / 1e6;
  const report = regressionReport(
    { data: pred.subarray(0, rows * outputs), rows, cols: outputs },
    { data: truth.subarray(0, rows * outputs), rows, cols: outputs },
    decoder.outputNames,
  );
  return { report, bins: rows, gaps, stepLatencyUs: latency.summary(), binsPerSecond: rows / seconds };
}
