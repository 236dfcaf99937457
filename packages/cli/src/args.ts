import { type ParseArgsConfig, parseArgs } from 'node:util';
import { EdgeBciError } from '@edge-bci/core';

/** Wrong use of the command line: exit code 2 and the command's usage. */
export class UsageError extends EdgeBciError {
  constructor(message: string) {
    super('USAGE', message);
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** `util.parseArgs` with its errors turned into `UsageError`s. */
export function parse<O extends Options>(
  argv: string[],
  options: O,
): {
  values: {
    [K in keyof O]?: O[K]['multiple'] extends true
      ? string[]
      : O[K]['type'] extends 'boolean'
        ? boolean
        : string;
  };
  positionals: string[];
} {
  try {
    const r = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return r as unknown as ReturnType<typeof parse<O>>;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** A number option: finite, within [min, max], or a UsageError naming the option. */
export function numberOption(
  value: string | undefined,
  name: string,
  fallback: number,
  { min = Number.NEGATIVE_INFINITY, max = Number.POSITIVE_INFINITY, integer = false } = {},
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n))
    throw new UsageError(`--${name} must be a number, got '${value}'`);
  if (integer && !Number.isInteger(n))
    throw new UsageError(`--${name} must be a whole number, got '${value}'`);
  if (n < min || n > max) throw new UsageError(`--${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

/** A choice option: one of `choices`, or a UsageError listing them. */
export function choiceOption<T extends string>(
  value: string | undefined,
  name: string,
  choices: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (!(choices as readonly string[]).includes(value)) {
    throw new UsageError(`--${name} must be one of ${choices.join(', ')}; got '${value}'`);
  }
  return value as T;
}
