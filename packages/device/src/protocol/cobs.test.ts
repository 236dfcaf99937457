import { describe, expect, it } from 'vitest';
import { cobsDecode, cobsDecodeInto, cobsEncode, cobsEncodeInto, cobsMaxEncodedLength } from './cobs.js';

const hex = (s: string) => Uint8Array.from(s.split(/\s+/).filter(Boolean), (b) => Number.parseInt(b, 16));
const range = (from: number, to: number) => Uint8Array.from({ length: to - from + 1 }, (_, i) => from + i);
const concat = (...parts: ArrayLike<number>[]) => Uint8Array.from(parts.flatMap((p) => Array.from(p)));

/** toEqual on typed arrays is slow; compare fast and let toEqual describe a mismatch. */
function expectBytes(actual: Uint8Array | undefined, expected: Uint8Array): void {
  if (actual === undefined || !Buffer.from(actual).equals(Buffer.from(expected)))
    expect(actual).toEqual(expected);
}

/** Deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Textbook COBS encoder, written independently of `cobs.ts` after the C code in Wikipedia's article: a
 * block that fills up (254 data bytes) is closed, and a new one is opened only if input remains.
 */
function referenceEncode(src: Uint8Array): Uint8Array {
  const out: number[] = [0];
  let codeAt = 0;
  let code = 1;
  for (let i = 0; i < src.length; i++) {
    if (src[i] !== 0) {
      out.push(src[i]!);
      code++;
    }
    if (src[i] === 0 || code === 0xff) {
      out[codeAt] = code;
      code = 1;
      codeAt = out.length;
      if (src[i] === 0 || i + 1 < src.length) out.push(0);
    }
  }
  if (codeAt < out.length) out[codeAt] = code; // else the input ended with a full block, already closed
  return Uint8Array.from(out);
}

/** Length of the canonical COBS encoding of `n` zero-free bytes, and the bound for any `n` bytes. */
const canonicalLength = (n: number) => n + Math.max(1, Math.ceil(n / 254));

describe('COBS', () => {
  /*
   * Wikipedia's table of examples (article "Consistent Overhead Byte Stuffing"), the canonical encoding.
   * Block ends: 254 non-zero bytes fill a block (code 0xff, no zero implied). Up to and including the fix
   * noted below, cobsEncode differed from this table in exactly one situation: when the input ENDS with a
   * full block (examples 7 and 8), it appended an empty block, i.e. an extra trailing `01`
   * (`FF 01..FE 01` instead of `FF 01..FE`). Decoders accept both forms (tested below), but byte-exact test
   * vectors would not have matched a firmware's standard COBS, so the encoder was fixed to emit the table's
   * form. Example 9 and 10 (a block ending at 254 with input left over) always matched.
   */
  const table: [name: string, decoded: Uint8Array, encoded: Uint8Array][] = [
    ['1: 00', hex('00'), hex('01 01')],
    ['2: 00 00', hex('00 00'), hex('01 01 01')],
    ['3: 00 11 00', hex('00 11 00'), hex('01 02 11 01')],
    ['4: 11 22 00 33', hex('11 22 00 33'), hex('03 11 22 02 33')],
    ['5: 11 22 33 44', hex('11 22 33 44'), hex('05 11 22 33 44')],
    ['6: 11 00 00 00', hex('11 00 00 00'), hex('02 11 01 01 01')],
    ['7: 01..FE (254 bytes)', range(0x01, 0xfe), concat([0xff], range(0x01, 0xfe))],
    ['8: 00..FE (255 bytes)', range(0x00, 0xfe), concat([0x01, 0xff], range(0x01, 0xfe))],
    ['9: 01..FF (255 bytes)', range(0x01, 0xff), concat([0xff], range(0x01, 0xfe), [0x02, 0xff])],
    [
      '10: 02..FF 00 (255 bytes)',
      concat(range(0x02, 0xff), [0]),
      concat([0xff], range(0x02, 0xff), [0x01, 0x01]),
    ],
    [
      '11: 03..FF 00 01 (255 bytes)',
      concat(range(0x03, 0xff), [0, 1]),
      concat([0xfe], range(0x03, 0xff), [0x02, 0x01]),
    ],
    ['empty packet', new Uint8Array(0), hex('01')],
    ['single non-zero byte', hex('11'), hex('02 11')],
  ];

  it.each(table)('encodes and decodes example %s as in the canonical table', (_, decoded, encoded) => {
    expect(cobsEncode(decoded)).toEqual(encoded);
    expect(cobsDecode(encoded)).toEqual(decoded);
    expect(referenceEncode(decoded)).toEqual(encoded);
  });

  it('decodes the non-canonical form with an empty final block after a full one', () => {
    // What some encoders (and this one, before the fix) emit for input ending with 254 non-zero bytes.
    expect(cobsDecode(concat([0xff], range(0x01, 0xfe), [0x01]))).toEqual(range(0x01, 0xfe));
    expect(cobsDecode(concat([0x01, 0xff], range(0x01, 0xfe), [0x01]))).toEqual(range(0x00, 0xfe));
  });

  it('handles block boundaries around 254 and 508 zero-free bytes, with and without a zero around', () => {
    for (const n of [1, 253, 254, 255, 507, 508, 509, 762]) {
      const run = Uint8Array.from({ length: n }, (_, i) => (i % 255) + 1);
      for (const src of [run, concat(run, [0]), concat([0], run), concat(run, [0], run)]) {
        const enc = cobsEncode(src);
        expect(enc).toEqual(referenceEncode(src));
        expect(enc.length).toBeLessThanOrEqual(canonicalLength(src.length));
        if (src === run) expect(enc.length).toBe(canonicalLength(n));
        expect(cobsDecode(enc)).toEqual(src);
      }
    }
  });

  it('round-trips random buffers of every length 0..2000 (zeros dense, sparse, absent, all zero)', () => {
    const random = rng(1);
    for (let n = 0; n <= 2000; n++) {
      const kind = n % 4;
      const src = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        if (kind === 0)
          src[i] = 1 + Math.floor(random() * 255); // no zeros: long zero-free runs
        else if (kind === 1) src[i] = random() < 0.5 ? 0 : Math.floor(random() * 256);
        else if (kind === 2) src[i] = random() < 1 / 300 ? 0 : 1 + Math.floor(random() * 255);
        else src[i] = 0;
      }
      const enc = cobsEncode(src);
      expect(enc.includes(0)).toBe(false);
      expect(enc.length).toBeLessThanOrEqual(cobsMaxEncodedLength(n));
      expect(enc.length).toBeLessThanOrEqual(canonicalLength(n));
      if (kind === 0 || kind === 3) expect(enc.length).toBe(kind === 3 ? n + 1 : canonicalLength(n));
      expectBytes(enc, referenceEncode(src));
      expectBytes(cobsDecode(enc), src);
    }
  });

  it('encodes and decodes at offsets inside larger buffers', () => {
    const src = concat([9, 9, 9], hex('11 22 00 33'), [9]);
    const dst = new Uint8Array(20).fill(0xee);
    const end = cobsEncodeInto(src, 3, 7, dst, 5);
    expect(end).toBe(10);
    expect(dst.subarray(5, 10)).toEqual(hex('03 11 22 02 33'));
    expect(dst[4]).toBe(0xee);
    expect(dst[10]).toBe(0xee);
    const out = new Uint8Array(10).fill(0xee);
    expect(cobsDecodeInto(dst, 5, 10, out, 2)).toBe(4);
    expect(out).toEqual(hex('ee ee 11 22 00 33 ee ee ee ee'));
  });

  it('decodes in place, into the same buffer at or before where the frame starts', () => {
    const random = rng(2);
    for (const n of [0, 1, 5, 253, 254, 255, 600, 1500]) {
      const src = Uint8Array.from({ length: n }, () => (random() < 0.1 ? 0 : Math.floor(random() * 256)));
      const enc = cobsEncode(src);
      for (const [start, offset] of [
        [0, 0],
        [7, 7],
        [7, 0],
        [7, 3],
      ] as const) {
        const buffer = new Uint8Array(start + enc.length + 4);
        buffer.set(enc, start);
        const length = cobsDecodeInto(buffer, start, start + enc.length, buffer, offset);
        expect(length).toBe(n);
        expectBytes(buffer.subarray(offset, offset + length), src);
      }
    }
  });

  it('rejects invalid encodings: a zero inside, or a code byte pointing past the end', () => {
    const invalid = [
      '00', // zero as code byte
      '05 11 22', // code 5 needs four more bytes
      '02', // code 2 needs one more byte
      '03 11 00', // zero inside a block
      '02 11 00 11', // zero as the second code byte
      '01 00',
      '04 11 22 33 05 44',
    ];
    for (const s of invalid) {
      expect(cobsDecode(hex(s)), s).toBeUndefined();
      const bytes = hex(s);
      expect(cobsDecodeInto(bytes, 0, bytes.length, new Uint8Array(bytes.length), 0), s).toBe(-1);
    }
    // A full block cut short.
    expect(cobsDecode(concat([0xff], range(1, 253)))).toBeUndefined();
    // Decoding stops at `end`: the same bytes are valid when `end` excludes the broken part.
    expect(cobsDecodeInto(hex('02 11 05 22'), 0, 2, new Uint8Array(4), 0)).toBe(1);
  });

  it('decodes the empty frame to an empty packet', () => {
    expect(cobsDecode(new Uint8Array(0))).toEqual(new Uint8Array(0));
  });

  it('bounds the encoded length', () => {
    expect(cobsMaxEncodedLength(0)).toBeGreaterThanOrEqual(1);
    for (const n of [1, 253, 254, 255, 65557])
      expect(cobsMaxEncodedLength(n)).toBeGreaterThanOrEqual(canonicalLength(n));
  });
});
