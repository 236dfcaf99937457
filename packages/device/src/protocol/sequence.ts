/**
 * Counts packets received and lost from their sequence numbers (u32, +1 per packet, wrapping at 2^32),
 * the protocol's only way to know what never arrived. A repeated or older seq (a duplicate, or a packet
 * from before a reset the tracker was not told about) is counted as received but moves nothing.
 */
export class SequenceTracker {
  /** Packets observed. */
  received = 0;
  /** Packets missing between observed ones. */
  lost = 0;
  /** Packets that came with a seq at or behind one already seen. */
  stale = 0;
  /** Next expected seq, unwrapped (undefined before the first packet). */
  private next: number | undefined;
  private last = 0;
  private wraps = 0;

  /** Records packet `seq`; returns how many packets were lost just before it (0 if none, -1 if stale). */
  observe(seq: number): number {
    if (!Number.isInteger(seq) || seq < 0 || seq > 0xffffffff) {
      throw new RangeError(`seq must be a u32, got ${seq}`);
    }
    this.received++;
    if (this.next === undefined) {
      this.last = seq;
      this.next = seq + 1;
      return 0;
    }
    // Forward distance modulo 2^32: a seq just past the wrap is ahead, not 4 billion behind.
    const forward = (seq - this.last) >>> 0;
    if (forward === 0 || forward >= 0x8000_0000) {
      this.stale++;
      return -1;
    }
    if (seq < this.last) this.wraps++;
    this.last = seq;
    const unwrapped = this.wraps * 0x1_0000_0000 + seq;
    const gap = unwrapped - this.next;
    this.lost += gap;
    this.next = unwrapped + 1;
    return gap;
  }

  /** Forgets the position (the device restarted its numbering); keeps the totals. */
  restart(): void {
    this.next = undefined;
    this.wraps = 0;
  }
}
