import { map, type OperatorFunction } from 'rxjs';
import type { LatencyTrace } from '../types.js';
import { type ClockUs, hostClockUs } from '../util/clock.js';

/**
 * A new trace with `[stage, atUs]` appended; the input is not modified.
 * Without an input trace, a new one starts with `originUs = atUs`.
 */
export function appendLatency(trace: LatencyTrace | undefined, stage: string, atUs: number): LatencyTrace {
  return { originUs: trace?.originUs ?? atUs, stages: [...(trace?.stages ?? []), [stage, atUs]] };
}

/**
 * Stamps each item with the time it passed this point: a shallow copy of the item whose
 * `latency` has `[stage, clock()]` appended (a trace with origin = now when it had none).
 */
export function stampLatency<T extends { latency?: LatencyTrace }>(
  stage: string,
  clock: ClockUs = hostClockUs,
): OperatorFunction<T, T> {
  return map((item) => ({ ...item, latency: appendLatency(item.latency, stage, clock()) }));
}

/**
 * Time in microseconds from `from` (a stage name, or 'origin' for `trace.originUs`) to `to`,
 * using the first stamp of each name. Undefined when the trace or either stamp is missing.
 */
export function latencyBetween(
  trace: LatencyTrace | undefined,
  from: string,
  to: string,
): number | undefined {
  if (trace === undefined) return undefined;
  const stampOf = (stage: string) => trace.stages.find(([name]) => name === stage)?.[1];
  const start = from === 'origin' ? trace.originUs : stampOf(from);
  const end = stampOf(to);
  return start === undefined || end === undefined ? undefined : end - start;
}
