import { describe, expect, it } from 'vitest';
import { SequenceTracker } from './sequence.js';

describe('SequenceTracker', () => {
  it('counts consecutive packets with no loss', () => {
    const t = new SequenceTracker();
    for (let s = 100; s < 200; s++) expect(t.observe(s)).toBe(0);
    expect(t).toMatchObject({ received: 100, lost: 0, stale: 0 });
  });

  it('counts the packets missing in each jump', () => {
    const t = new SequenceTracker();
    t.observe(0);
    expect(t.observe(1)).toBe(0);
    expect(t.observe(5)).toBe(3);
    expect(t.observe(6)).toBe(0);
    expect(t.observe(16)).toBe(9);
    expect(t).toMatchObject({ received: 5, lost: 12 });
    // received + lost spans every seq from the first to the last
    expect(t.received + t.lost).toBe(16 - 0 + 1);
  });

  it('follows the wrap at 2^32', () => {
    const t = new SequenceTracker();
    t.observe(0xfffffffe);
    expect(t.observe(0xffffffff)).toBe(0);
    expect(t.observe(0)).toBe(0);
    expect(t.observe(3)).toBe(2);
    expect(t.observe(0xfffffffd)).toBe(-1); // from before the wrap: stale, not a jump of 4 billion
    expect(t).toMatchObject({ received: 5, lost: 2, stale: 1 });
  });

  it('counts duplicates and old packets as stale without moving', () => {
    const t = new SequenceTracker();
    t.observe(10);
    t.observe(11);
    expect(t.observe(11)).toBe(-1);
    expect(t.observe(7)).toBe(-1);
    expect(t.observe(12)).toBe(0);
    expect(t).toMatchObject({ received: 5, lost: 0, stale: 2 });
  });

  it('restarts numbering after a device reboot, keeping totals', () => {
    const t = new SequenceTracker();
    t.observe(500);
    t.observe(502);
    t.restart();
    expect(t.observe(0)).toBe(0);
    expect(t.observe(2)).toBe(1);
    expect(t).toMatchObject({ received: 4, lost: 2 });
  });

  it('rejects a seq that is not a u32', () => {
    const t = new SequenceTracker();
    expect(() => t.observe(Number.NaN)).toThrow(/seq must be a u32/);
    expect(() => t.observe(2 ** 32)).toThrow(RangeError);
  });
});
