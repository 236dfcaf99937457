/** Writes results: JSON on stdout when asked, text otherwise. */
export interface Output {
  readonly json: boolean;
  /** A human-readable line (suppressed in --json mode). */
  line(text: string): void;
  /** The command's result: printed as JSON in --json mode. */
  result(value: unknown): void;
}

export function createOutput(json: boolean, stdout: NodeJS.WritableStream = process.stdout): Output {
  return {
    json,
    line(text) {
      if (!json) stdout.write(`${text}\n`);
    },
    result(value) {
      if (json) stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    },
  };
}

/** Rounds numbers in a JSON-bound value to `digits` significant decimals, for readable output. */
export function rounded(value: number, digits = 4): number {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** The named fields of `values`, rounded (e.g. the percentiles of a latency summary to print). */
export function roundedFields<K extends string>(
  values: Readonly<Record<K, number>>,
  keys: readonly K[],
  digits = 4,
): Record<K, number> {
  return Object.fromEntries(keys.map((k) => [k, rounded(values[k], digits)])) as Record<K, number>;
}
