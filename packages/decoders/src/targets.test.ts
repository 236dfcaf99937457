import { InvalidOptionError } from '@edge-bci/core';
import { describe, expect, it } from 'vitest';
import { explicitTargetColumns, resolveTargetColumns } from './targets.js';

describe('resolveTargetColumns', () => {
  it.each([
    [
      ['pos_x', 'pos_y', 'vel_x', 'vel_y'],
      [2, 3],
    ],
    [
      ['vx', 'vy', 'px', 'py'],
      [0, 1],
    ],
    [
      ['velx', 'vely'],
      [0, 1],
    ],
    [
      ['VelX', 'VelY'],
      [0, 1],
    ],
    [
      ['velocity_x', 'velocity_y'],
      [0, 1],
    ],
    [
      ['hand_vel_x', 'hand_vel_y', 'hand_pos_x'],
      [0, 1],
    ],
    [
      ['cursor.vy', 'cursor.vx'],
      [1, 0],
    ],
    [
      ['hand_vx', 'vx', 'vy'],
      [1, 2],
    ],
  ])('finds velocity in %j', (names, cols) => {
    const r = resolveTargetColumns(names, 'velocity');
    expect(r.columns).toEqual(cols);
    expect(r.names).toEqual(cols.map((c) => names[c]));
  });

  it('finds position columns', () => {
    expect(resolveTargetColumns(['pos_x', 'pos_y', 'vel_x', 'vel_y'], 'position').columns).toEqual([0, 1]);
    expect(resolveTargetColumns(['vx', 'vy', 'px', 'py'], 'position').columns).toEqual([2, 3]);
  });

  it('lists the available names when a column is missing', () => {
    try {
      resolveTargetColumns(['pos_x', 'pos_y', 'prev_x'], 'velocity');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(InvalidOptionError);
      expect((e as Error).message).toContain('pos_x, pos_y, prev_x');
      expect((e as InvalidOptionError).option).toBe('target');
    }
    expect(() => resolveTargetColumns(['vel_x'], 'velocity')).toThrow(/velocity y/);
  });

  it('refuses ambiguous names', () => {
    expect(() => resolveTargetColumns(['hand_vx', 'cursor_vx', 'hand_vy'], 'velocity')).toThrow(/ambiguous/);
  });
});

describe('explicitTargetColumns', () => {
  it('names valid columns and rejects bad ones', () => {
    expect(explicitTargetColumns(['a', 'b', 'c'], [2, 0]).names).toEqual(['c', 'a']);
    expect(() => explicitTargetColumns(['a'], [1])).toThrow(InvalidOptionError);
    expect(() => explicitTargetColumns(['a', 'b'], [0, 0])).toThrow(/twice/);
    expect(() => explicitTargetColumns(['a'], [])).toThrow(InvalidOptionError);
  });
});
