/**
 * Seeded pseudo-random numbers for the simulator.
 *
 * The generator is sfc32 (Chris Doty-Humphrey's Small Fast Chaotic PRNG, 128-bit state, passes
 * PractRand to many terabytes), with its state filled from splitmix32. Everything is 32-bit integer
 * arithmetic, so a seed gives the same sequence bit for bit on every JavaScript engine.
 *
 * Streams are organised as a tree: `fork(label)` derives a child stream from the parent's *key*
 * (its seed, not its current position) and the label. A fork is therefore independent of how many
 * numbers the parent has drawn and of which other forks exist: the simulator draws the hand
 * trajectory from `fork('task')` and each channel from `fork('channel/7')`, so adding channels
 * never changes the trajectory or the other channels.
 */
import { InvalidOptionError } from '../errors.js';

const TWO_POW_32 = 4294967296;
const INV_TWO_POW_32 = 1 / TWO_POW_32;

/** The splitmix32 output function (a strong 32-bit integer mix). */
function mix32(z: number): number {
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
  return (z ^ (z >>> 15)) >>> 0;
}

/** FNV-1a over the UTF-16 code units of `s`, started from `basis`, then mixed. */
function hashLabel(s: string, basis: number): number {
  let h = (0x811c9dc5 ^ basis) >>> 0;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return mix32(h ^ s.length);
}

/** Fill a 4-word sfc32 state from a 64-bit key (two 32-bit words) through splitmix32. */
function seedState(k0: number, k1: number, state: Int32Array, offset: number): void {
  let s = k0 | 0;
  s = (s + 0x9e3779b9) | 0;
  state[offset] = mix32(s);
  s = (s + 0x9e3779b9) | 0;
  state[offset + 1] = mix32(s);
  s = (k1 + 0x9e3779b9) | 0;
  state[offset + 2] = mix32(s);
  s = (s + 0x9e3779b9) | 0;
  state[offset + 3] = mix32(s);
}

/** Check that `seed` is an integer in [0, 2^32). */
export function validateSeed(seed: unknown, option = 'seed'): number {
  if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new InvalidOptionError(option, `must be an integer in [0, 4294967295], got ${String(seed)}`);
  }
  return seed;
}

/** A seeded sfc32 stream. Not cryptographic. */
export class Rng {
  /** The 64-bit key this stream was created from (root: [seed, constant]); forks derive from it. */
  private k0 = 0;
  private k1 = 0;
  private a = 0;
  private b = 0;
  private c = 0;
  private d = 0;
  private spare = 0;
  private hasSpare = false;

  /** A stream for a 32-bit integer seed (an integer in [0, 2^32)). */
  constructor(seed = 1) {
    validateSeed(seed);
    this.reset(seed >>> 0, 0x6a09e667);
  }

  /** Start over as the stream of the 64-bit key [k0, k1]. */
  private reset(k0: number, k1: number): void {
    const s = new Int32Array(4);
    seedState(k0, k1, s, 0);
    this.k0 = k0;
    this.k1 = k1;
    this.a = s[0]!;
    this.b = s[1]!;
    this.c = s[2]!;
    this.d = s[3]!;
    this.hasSpare = false;
    // sfc32 mixes its state within a few rounds; discard them.
    for (let i = 0; i < 12; i++) this.uint32();
  }

  /**
   * An independent stream named by `label`. It depends only on this stream's key and the label,
   * never on how many numbers were drawn: `rng.fork('x')` is the same stream every time.
   */
  fork(label: string): Rng {
    const k0 = hashLabel(label, this.k0 ^ mix32(this.k1));
    const k1 = hashLabel(label, this.k1 ^ mix32((this.k0 + 0x9e3779b9) | 0));
    const child = new Rng(0);
    child.reset(k0, k1);
    return child;
  }

  /** Next 32-bit unsigned integer, uniform on [0, 2^32). */
  uint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform on [0, 1) with 32 bits of resolution. */
  uniform(): number {
    return this.uint32() * INV_TWO_POW_32;
  }

  /** Uniform on [lo, hi). */
  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.uniform();
  }

  /** Standard normal (Box–Muller; the second value of each pair is kept for the next call). */
  normal(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spare;
    }
    // 1 - u is in (0, 1], so the logarithm is finite.
    const r = Math.sqrt(-2 * Math.log(1 - this.uniform()));
    const theta = 2 * Math.PI * this.uniform();
    this.spare = r * Math.sin(theta);
    this.hasSpare = true;
    return r * Math.cos(theta);
  }

  /** Uniform integer in [0, n), without modulo bias. `n` is an integer in [1, 2^32]. */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > TWO_POW_32) {
      throw new InvalidOptionError('n', `must be an integer in [1, 2^32], got ${n}`);
    }
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    for (;;) {
      const u = this.uint32();
      if (u < limit) return u % n;
    }
  }

  /** Copy this stream's current sfc32 state into `state[offset, offset + 4)` (see `RngBank`). */
  exportState(state: Int32Array, offset: number): void {
    state[offset] = this.a;
    state[offset + 1] = this.b;
    state[offset + 2] = this.c;
    state[offset + 3] = this.d;
  }
}

/**
 * Many sfc32 streams in one typed array, for hot loops: `uint32(i)` draws from stream `i` without
 * allocating. Stream `i` continues exactly the `Rng` it was created from.
 */
export class RngBank {
  readonly size: number;
  private readonly s: Int32Array;

  constructor(streams: readonly Rng[]) {
    this.size = streams.length;
    this.s = new Int32Array(4 * streams.length);
    for (let i = 0; i < streams.length; i++) streams[i]!.exportState(this.s, 4 * i);
  }

  /** Next 32-bit unsigned integer of stream `i`. */
  uint32(i: number): number {
    const s = this.s;
    const o = i << 2;
    const a = s[o]!;
    const b = s[o + 1]!;
    const c = s[o + 2]!;
    const d = s[o + 3]!;
    const t = (((a + b) | 0) + d) | 0;
    s[o] = b ^ (b >>> 9);
    s[o + 1] = (c + (c << 3)) | 0;
    s[o + 2] = (((c << 21) | (c >>> 11)) + t) | 0;
    s[o + 3] = (d + 1) | 0;
    return t >>> 0;
  }
}
