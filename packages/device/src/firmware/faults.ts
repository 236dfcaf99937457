import { InvalidOptionError, Rng } from '@edge-bci/core';

/**
 * Faults a firmware simulator injects into what it sends, to exercise the host the way a real link fails.
 * Rates are per packet; intervals are means of exponentially distributed waits (seconds of device time).
 */
export interface FaultOptions {
  /** Fraction of packets with one bit flipped somewhere on the wire (delimiter included). */
  readonly flipRate?: number;
  /** Fraction of packets with one byte left out. */
  readonly dropRate?: number;
  /** Fraction of packets followed by 1-16 bytes of line noise. */
  readonly garbageRate?: number;
  /** Mean seconds between stalls: the device stops sending, then sends everything it held in a burst. */
  readonly stallEveryS?: number;
  readonly stallMs?: number;
  /** Mean seconds between disconnects: the link goes away (what the host sees depends on the link). */
  readonly disconnectEveryS?: number;
  readonly disconnectMs?: number;
  /** Seed of the fault generator (independent of the data). */
  readonly seed?: number;
}

/** What a fault injector did, for accounting against what the host reports. */
export interface FaultLedger {
  /** Packets with a flipped bit. */
  flipped: number;
  /** Packets with a byte left out. */
  truncated: number;
  /** Bursts of noise bytes. */
  garbage: number;
  stalls: number;
  disconnects: number;
  /** seq of every packet damaged on the wire (flip or drop), oldest first, at most `MAX_LEDGER_SEQS`. */
  damagedSeqs: number[];
}

export const MAX_LEDGER_SEQS = 1_000_000;

const RATE_KEYS = ['flipRate', 'dropRate', 'garbageRate'] as const;

export function validateFaults(faults: FaultOptions): void {
  for (const key of RATE_KEYS) {
    const v = faults[key];
    if (v !== undefined && !(Number.isFinite(v) && v >= 0 && v <= 1)) {
      throw new InvalidOptionError(key, `must be a fraction in [0, 1], got ${v}`);
    }
  }
  for (const key of ['stallEveryS', 'stallMs', 'disconnectEveryS', 'disconnectMs'] as const) {
    const v = faults[key];
    if (v !== undefined && !(Number.isFinite(v) && v > 0)) {
      throw new InvalidOptionError(key, `must be a positive number, got ${v}`);
    }
  }
}

/** True when any fault is switched on. */
export function hasFaults(faults: FaultOptions | undefined): boolean {
  if (faults === undefined) return false;
  return RATE_KEYS.some((k) => (faults[k] ?? 0) > 0) || !!faults.stallEveryS || !!faults.disconnectEveryS;
}

/** Damages packets on their way to the wire and schedules stalls and disconnects, reproducibly from a seed. */
export class FaultInjector {
  readonly ledger: FaultLedger = {
    flipped: 0,
    truncated: 0,
    garbage: 0,
    stalls: 0,
    disconnects: 0,
    damagedSeqs: [],
  };
  private readonly rng: Rng;
  private nextStallUs = Number.POSITIVE_INFINITY;
  private nextDisconnectUs = Number.POSITIVE_INFINITY;

  constructor(
    readonly options: FaultOptions,
    startUs = 0,
  ) {
    validateFaults(options);
    this.rng = new Rng(options.seed ?? 1);
    this.schedule(startUs);
  }

  /** (Re)starts the stall and disconnect clocks at device time `nowUs`. */
  schedule(nowUs: number): void {
    const { stallEveryS, disconnectEveryS } = this.options;
    this.nextStallUs = stallEveryS ? nowUs + this.wait(stallEveryS) : Number.POSITIVE_INFINITY;
    this.nextDisconnectUs = disconnectEveryS ? nowUs + this.wait(disconnectEveryS) : Number.POSITIVE_INFINITY;
  }

  /** The wire bytes of packet `seq` after damage (the input when untouched). */
  damage(frame: Uint8Array, seq: number): Uint8Array {
    const { flipRate = 0, dropRate = 0, garbageRate = 0 } = this.options;
    let out = frame;
    let damaged = false;
    if (flipRate > 0 && this.rng.uniform() < flipRate) {
      out = out.slice();
      const bit = this.rng.int(out.length * 8);
      out[bit >> 3]! ^= 1 << (bit & 7);
      this.ledger.flipped++;
      damaged = true;
    }
    if (dropRate > 0 && this.rng.uniform() < dropRate) {
      const at = this.rng.int(out.length);
      const shorter = new Uint8Array(out.length - 1);
      shorter.set(out.subarray(0, at));
      shorter.set(out.subarray(at + 1), at);
      out = shorter;
      this.ledger.truncated++;
      damaged = true;
    }
    if (damaged && this.ledger.damagedSeqs.length < MAX_LEDGER_SEQS) this.ledger.damagedSeqs.push(seq);
    if (garbageRate > 0 && this.rng.uniform() < garbageRate) {
      const noise = new Uint8Array(1 + this.rng.int(16));
      for (let i = 0; i < noise.length; i++) noise[i] = this.rng.int(256);
      const joined = new Uint8Array(out.length + noise.length);
      joined.set(out);
      joined.set(noise, out.length);
      out = joined;
      this.ledger.garbage++;
    }
    return out;
  }

  /** A stall due at device time `nowUs`: its length in us (and the next one is scheduled), else 0. */
  stallDue(nowUs: number): number {
    if (nowUs < this.nextStallUs) return 0;
    const lengthUs = (this.options.stallMs ?? 200) * 1000;
    this.nextStallUs = nowUs + lengthUs + this.wait(this.options.stallEveryS!);
    this.ledger.stalls++;
    return lengthUs;
  }

  /** A disconnect due at device time `nowUs`: its length in us (and the next one is scheduled), else 0. */
  disconnectDue(nowUs: number): number {
    if (nowUs < this.nextDisconnectUs) return 0;
    const lengthUs = (this.options.disconnectMs ?? 1000) * 1000;
    this.nextDisconnectUs = nowUs + lengthUs + this.wait(this.options.disconnectEveryS!);
    this.ledger.disconnects++;
    return lengthUs;
  }

  private wait(meanS: number): number {
    return -Math.log(1 - this.rng.uniform()) * meanS * 1e6;
  }
}
