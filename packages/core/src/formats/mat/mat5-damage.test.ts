/**
 * Damaged MAT-files: cut short anywhere, bytes flipped inside compressed data. Every case must end in a
 * `MatFormatError` naming the variable and the offset, never a RangeError/TypeError or a hang; a cut that
 * falls exactly between two variables leaves a valid, shorter file.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { MatFormatError } from './errors.js';
import { type MatNumeric, type MatValue, matCell, matChar, matDouble, matStruct } from './mat-value.js';
import { readMat5 } from './mat5-reader.js';
import { type WriteMat5Options, writeMat5 } from './mat5-writer.js';

const HEADER = 'MATLAB 5.0 MAT-file, damage test';

/** A deterministic pseudo-random sequence in [0, 1). */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function synthetic(): Record<string, MatValue> {
  const r = random(7);
  return {
    big: matDouble(
      300,
      40,
      Array.from({ length: 12000 }, () => r() * 100 - 50),
    ),
    counts: {
      type: 'numeric',
      class: 'uint8',
      dims: [2000, 20],
      real: Uint8Array.from({ length: 40000 }, () => Math.floor(r() * r() * 6)),
    },
    trials: matStruct(
      Array.from({ length: 5 }, (_, i) => ({
        id: matDouble(1, 1, [i + 1]),
        label: matChar(`trial ${i + 1}`),
        events: matCell([matDouble(1, 3, [i, i + 1, i + 2]), matChar(['go', 'stop'])]),
      })),
    ),
    note: matChar('the end'),
  };
}

/** The file, and the byte offset where each variable's element starts (plus the file's end). */
function layout(vars: Record<string, MatValue>, options: WriteMat5Options) {
  const bytes = writeMat5(vars, { ...options, header: HEADER });
  const starts = [128];
  for (const [name, value] of Object.entries(vars)) {
    starts.push(starts.at(-1)! + writeMat5({ [name]: value }, { ...options, header: HEADER }).length - 128);
  }
  expect(starts.at(-1)).toBe(bytes.length);
  return { bytes, starts, names: Object.keys(vars) };
}

function caught(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}

/** Cuts `bytes` at each offset and checks what the reader says. */
function checkCuts(
  bytes: Uint8Array,
  starts: readonly number[],
  names: readonly string[],
  cuts: readonly number[],
  nameKnownAfter: number,
) {
  let errors = 0;
  let named = 0;
  for (const cut of cuts) {
    const part = bytes.subarray(0, cut);
    const e = caught(() => readMat5(part, { name: 'cut.mat' }));
    const k = starts.indexOf(cut);
    if (k >= 0) {
      // Cut exactly between variables: a valid file with the first k of them.
      expect(e, `cut at ${cut}`).toBeUndefined();
      expect([...readMat5(part).variables.keys()]).toEqual(names.slice(0, k));
      continue;
    }
    errors++;
    expect(e, `cut at ${cut}: ${String(e)}`).toBeInstanceOf(MatFormatError);
    const err = e as MatFormatError;
    expect(err.path).toBe('cut.mat');
    if (cut < 128) continue;
    const v = starts.findLastIndex((s) => s < cut);
    expect(err.offset, `cut at ${cut}`).toBe(starts[v]);
    if (cut >= starts[v]! + nameKnownAfter) {
      expect(err.variable, `cut at ${cut}`).toBe(names[v]);
      expect(err.message).toContain(`variable '${names[v]}'`);
      expect(err.reason).toMatch(/truncated/);
      named++;
    }
  }
  return { errors, named };
}

describe('truncated files', () => {
  it.each([
    ['compressed', { compress: true }, 1024],
    ['plain', { compress: false }, 64],
  ] as const)('a %s synthetic file cut at every 997th byte', (_label, options, nameKnownAfter) => {
    const { bytes, starts, names } = layout(synthetic(), options);
    const cuts = Array.from({ length: Math.floor(bytes.length / 997) + 1 }, (_, i) => i * 997);
    expect(cuts.length).toBeGreaterThan(50);
    const { errors, named } = checkCuts(bytes, starts, names, cuts, nameKnownAfter);
    expect(errors).toBeGreaterThan(50);
    expect(named).toBeGreaterThan(40);
    // And right around each variable's start and end.
    const near = starts
      .flatMap((s) => [s - 1, s, s + 1, s + 7, s + 8, s + 9, s + 40])
      .filter((c) => c > 0 && c < bytes.length);
    checkCuts(bytes, starts, names, near, nameKnownAfter);
  });
});

describe('damaged compressed data', () => {
  const { bytes, starts } = layout(synthetic(), { compress: true });
  const bigStart = starts[0]!;
  const bigEnd = starts[1]!;

  it('a flipped byte inside a compressed element gives a MatFormatError naming the zlib problem', () => {
    const r = random(3);
    for (let k = 0; k < 25; k++) {
      const at = bigStart + 1024 + Math.floor(r() * (bigEnd - bigStart - 1024));
      const damaged = bytes.slice();
      damaged[at] ^= 1 << Math.floor(r() * 8);
      const e = caught(() => readMat5(damaged));
      expect(e, `flip at ${at}: ${String(e)}`).toBeInstanceOf(MatFormatError);
      const err = e as MatFormatError;
      expect(err.reason).toMatch(/compressed element is damaged: zlib/);
      expect(err.variable).toBe('big');
      expect(err.offset).toBe(bigStart);
    }
  });

  it('a stream cut short inside an element whose byte count agrees gives a zlib MatFormatError', () => {
    const plain = writeMat5(
      {
        v: matDouble(
          1,
          50,
          Array.from({ length: 50 }, (_, i) => i * i),
        ),
      },
      { compress: false },
    );
    const z = deflateSync(plain.subarray(128));
    const cut = z.subarray(0, z.length - 20);
    const b = new Uint8Array(128 + 8 + cut.length);
    b.set(plain.subarray(0, 128));
    new DataView(b.buffer).setUint32(128, 15, true);
    new DataView(b.buffer).setUint32(132, cut.length, true);
    b.set(cut, 136);
    const e = caught(() => readMat5(b));
    expect(e).toBeInstanceOf(MatFormatError);
    expect((e as MatFormatError).reason).toMatch(/zlib/);
    expect((e as MatFormatError).variable).toBe('v');
  });

  it('a matrix claiming more bytes than its stream inflates to gives a MatFormatError', () => {
    const plain = writeMat5({ v: matDouble(1, 3, [1, 2, 3]) }, { compress: false });
    const inner = plain.slice(128);
    const dv = new DataView(inner.buffer);
    dv.setUint32(4, dv.getUint32(4, true) + 64, true);
    const z = deflateSync(inner);
    const b = new Uint8Array(136 + z.length);
    b.set(plain.subarray(0, 128));
    new DataView(b.buffer).setUint32(128, 15, true);
    new DataView(b.buffer).setUint32(132, z.length, true);
    b.set(z, 136);
    const e = caught(() => readMat5(b));
    expect(e).toBeInstanceOf(MatFormatError);
    expect((e as MatFormatError).reason).toMatch(/decompressed data/);
  });

  it('variables: skips the others cheaply, without inflating their whole stream', () => {
    // Damage the Adler-32 checksum at the very end of 'big': only a full inflate notices.
    const damaged = bytes.slice();
    damaged[bigEnd - 1] ^= 0xff;
    const e = caught(() => readMat5(damaged));
    expect(e).toBeInstanceOf(MatFormatError);
    expect((e as MatFormatError).reason).toMatch(/zlib.*(check|checksum)/);
    const some = readMat5(damaged, { variables: ['note', 'counts'] });
    expect([...some.variables.keys()]).toEqual(['counts', 'note']);
    expect(some.variables.get('counts')).toEqual(synthetic().counts);
    expect((readMat5(bytes, { variables: ['big'] }).variables.get('big') as MatNumeric).real).toEqual(
      (synthetic().big as MatNumeric).real,
    );
  });
});

const CONTDATA = fileURLToPath(
  new URL('../../../../../../shared/data/contdata95/contdata95.mat', import.meta.url),
);
const HAVE_CONTDATA = existsSync(CONTDATA);
if (!HAVE_CONTDATA)
  console.warn(`skipping damaged real-file tests: ${CONTDATA} not found (see ../shared/data)`);

describe.skipIf(!HAVE_CONTDATA)('a damaged real file (contdata95.mat)', () => {
  const bytes = HAVE_CONTDATA ? new Uint8Array(readFileSync(CONTDATA)) : new Uint8Array(0);
  // Its two compressed variables, X then Y, found from the tags.
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const second = HAVE_CONTDATA ? 136 + dv.getUint32(132, true) : 0;
  const starts = [128, second, bytes.length];

  it('cut at 40 offsets', () => {
    expect(second).toBeGreaterThan(128);
    const cuts = [
      60,
      127,
      128,
      129,
      135,
      136,
      137,
      300,
      second - 1,
      second,
      second + 5,
      second + 200,
      bytes.length - 1,
    ];
    for (let k = 1; k < 28; k++) cuts.push(Math.floor((bytes.length * k) / 28) + (k % 3));
    const { errors, named } = checkCuts(bytes, starts, ['X', 'Y'], cuts, 1024);
    expect(errors).toBeGreaterThan(35);
    expect(named).toBeGreaterThan(25);
  });

  it('a flipped byte in the middle of a compressed variable', () => {
    for (const at of [128 + 5000, Math.floor((128 + second) / 2), second + 100_000, bytes.length - 3]) {
      const damaged = bytes.slice();
      damaged[at] ^= 0x20;
      const e = caught(() => readMat5(damaged, { name: 'contdata95.mat' }));
      expect(e, `flip at ${at}`).toBeInstanceOf(MatFormatError);
      expect((e as MatFormatError).reason).toMatch(/zlib/);
      expect((e as MatFormatError).variable).toBe(at < second ? 'X' : 'Y');
    }
  });
});
