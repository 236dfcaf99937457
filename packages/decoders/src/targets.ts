import { InvalidOptionError } from '@edge-bci/core';
import type { DecodeTarget } from './decoder.js';

/** Kinematic columns a decoder learns, and the names of its outputs (the column names). */
export interface TargetColumns {
  readonly columns: readonly number[];
  readonly names: readonly string[];
}

const STEMS: Record<DecodeTarget, readonly string[]> = {
  velocity: ['v', 'vel', 'velocity'],
  position: ['p', 'pos', 'position'],
};

/**
 * Whether `name` denotes the `axis` component of `target`, and whether it carries a prefix.
 * Accepted (case-insensitive, separators `_`, `-`, `.`, space or none): `vel_x`, `vx`, `velx`,
 * `velocity_x`, `VelX`, and the same after prefix tokens such as `hand_vel_x` or `cursor.vx`.
 */
function matchAxis(name: string, target: DecodeTarget, axis: 'x' | 'y'): 'exact' | 'prefixed' | undefined {
  const tokens = name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((t) => t.length > 0);
  if (tokens.length === 0) return undefined;
  const stems = STEMS[target];
  const last = tokens[tokens.length - 1];
  // One token: stem and axis fused ("vx", "velx"), possibly after prefixes.
  if (last.endsWith(axis) && stems.includes(last.slice(0, -1))) {
    return tokens.length === 1 ? 'exact' : 'prefixed';
  }
  // Two tokens: stem then axis ("vel_x", "Vel X").
  if (last === axis && tokens.length >= 2 && stems.includes(tokens[tokens.length - 2])) {
    return tokens.length === 2 ? 'exact' : 'prefixed';
  }
  return undefined;
}

function findAxis(kinematicNames: readonly string[], target: DecodeTarget, axis: 'x' | 'y'): number {
  const exact: number[] = [];
  const prefixed: number[] = [];
  kinematicNames.forEach((name, i) => {
    const m = matchAxis(name, target, axis);
    if (m === 'exact') exact.push(i);
    else if (m === 'prefixed') prefixed.push(i);
  });
  const pick = exact.length > 0 ? exact : prefixed;
  const available = `available: [${kinematicNames.join(', ')}]`;
  if (pick.length === 0) {
    throw new InvalidOptionError(
      'target',
      `no ${target} ${axis} column (looked for names like ${STEMS[target][1]}_${axis}, ${STEMS[target][0]}${axis}); ${available}; pass targetColumns to choose columns explicitly`,
    );
  }
  if (pick.length > 1) {
    throw new InvalidOptionError(
      'target',
      `${target} ${axis} is ambiguous: [${pick.map((i) => kinematicNames[i]).join(', ')}]; pass targetColumns to choose`,
    );
  }
  return pick[0];
}

/** Finds the x and y columns of `target` in `kinematicNames` (see `matchAxis` for the names accepted). */
export function resolveTargetColumns(kinematicNames: readonly string[], target: DecodeTarget): TargetColumns {
  if (target !== 'velocity' && target !== 'position') {
    throw new InvalidOptionError('target', `must be 'velocity' or 'position', got ${String(target)}`);
  }
  const columns = [findAxis(kinematicNames, target, 'x'), findAxis(kinematicNames, target, 'y')];
  return { columns, names: columns.map((c) => kinematicNames[c]) };
}

/** Validates explicit kinematic column indices and names them. */
export function explicitTargetColumns(
  kinematicNames: readonly string[],
  columns: readonly number[],
): TargetColumns {
  if (columns.length === 0) throw new InvalidOptionError('targetColumns', 'must not be empty');
  const seen = new Set<number>();
  for (const c of columns) {
    if (!Number.isInteger(c) || c < 0 || c >= kinematicNames.length) {
      throw new InvalidOptionError(
        'targetColumns',
        `${c} is not a column index in [0, ${kinematicNames.length}); available: [${kinematicNames.join(', ')}]`,
      );
    }
    if (seen.has(c)) throw new InvalidOptionError('targetColumns', `column ${c} is listed twice`);
    seen.add(c);
  }
  return { columns: [...columns], names: columns.map((c) => kinematicNames[c]) };
}
