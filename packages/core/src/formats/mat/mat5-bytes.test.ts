/**
 * The reader on MAT-file bytes built by hand, element by element, in both byte orders: the storage forms
 * MATLAB uses that the writer does not produce (data in a smaller type than the class, the small-element
 * form for data, other char encodings, empty matrix elements), unsupported classes, and non-level-5 input.
 */
import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { EdgeBciError, InvalidOptionError } from '../../errors.js';
import { Mat73FileError, MatFormatError, MatUnsupportedError } from './errors.js';
import {
  charString,
  type MatCell,
  type MatChar,
  type MatNumeric,
  type MatValue,
  matDouble,
} from './mat-value.js';
import { detectMatVersion, readMat5 } from './mat5-reader.js';
import { writeMat5 } from './mat5-writer.js';

// miXXX data types and mxXXX classes, from the format description.
const miINT8 = 1;
const miUINT8 = 2;
const miINT16 = 3;
const miUINT16 = 4;
const miINT32 = 5;
const miUINT32 = 6;
const miDOUBLE = 9;
const miMATRIX = 14;
const miCOMPRESSED = 15;
const miUTF8 = 16;
const miUTF16 = 17;
const miUTF32 = 18;
const mxCELL = 1;
const mxSTRUCT = 2;
const mxCHAR = 4;
const mxSPARSE = 5;
const mxDOUBLE = 6;
const mxINT16 = 10;
const mxINT64 = 14;
const mxSINGLE = 7;
const mxFUNCTION = 16;
const mxOPAQUE = 17;

type Type = 'i8' | 'u8' | 'i16' | 'u16' | 'i32' | 'u32' | 'f64';
const SIZE: Record<Type, number> = { i8: 1, u8: 1, i16: 2, u16: 2, i32: 4, u32: 4, f64: 8 };

/** A builder of level-5 bytes in one byte order. */
function builder(le: boolean) {
  const cat = (...parts: Uint8Array[]): Uint8Array => {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  };
  const values = (t: Type, xs: readonly number[]): Uint8Array => {
    const b = new Uint8Array(xs.length * SIZE[t]);
    const v = new DataView(b.buffer);
    xs.forEach((x, i) => {
      const o = i * SIZE[t];
      if (t === 'i8') v.setInt8(o, x);
      else if (t === 'u8') v.setUint8(o, x);
      else if (t === 'i16') v.setInt16(o, x, le);
      else if (t === 'u16') v.setUint16(o, x, le);
      else if (t === 'i32') v.setInt32(o, x, le);
      else if (t === 'u32') v.setUint32(o, x, le);
      else v.setFloat64(o, x, le);
    });
    return b;
  };
  const ascii = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
  /** A data element with an 8-byte tag (or the 4-byte small form), padded to 8 bytes. */
  const el = (type: number, data: Uint8Array, small = false): Uint8Array => {
    if (small) {
      if (data.length === 0 || data.length > 4) throw new Error('small elements hold 1 to 4 bytes');
      return cat(values('u32', [(data.length << 16) | type]), data, new Uint8Array(4 - data.length));
    }
    return cat(values('u32', [type, data.length]), data, new Uint8Array((8 - (data.length % 8)) % 8));
  };
  const flags = (cls: number, bits = 0, nzmax = 0) => el(miUINT32, values('u32', [cls | bits, nzmax]));
  const dims = (...d: number[]) => el(miINT32, values('i32', d));
  const name = (s: string, small = s.length > 0 && s.length <= 4) => el(miINT8, ascii(s), small);
  const matrix = (...parts: Uint8Array[]) => {
    const body = cat(...parts);
    return cat(values('u32', [miMATRIX, body.length]), body);
  };
  const header = (text = 'MATLAB 5.0 MAT-file, hand-built') => {
    const h = new Uint8Array(128).fill(0x20, 0, 116);
    h.set(ascii(text));
    h.fill(0, 116, 124);
    h.set(values('u16', [0x0100]), 124);
    h.set(ascii(le ? 'IM' : 'MI'), 126);
    return h;
  };
  const file = (...elements: Uint8Array[]) => cat(header(), ...elements);
  const compressed = (element: Uint8Array) => {
    const z = deflateSync(element);
    return cat(values('u32', [miCOMPRESSED, z.length]), z);
  };
  return { cat, values, ascii, el, flags, dims, name, matrix, header, file, compressed };
}

const LE = builder(true);
const BE = builder(false);
const BOTH = [
  ['little-endian (IM)', LE],
  ['big-endian (MI)', BE],
] as const;

describe.each(BOTH)('hand-built %s files', (_label, b) => {
  it('a double matrix stored as miUINT8 becomes a Float64Array', () => {
    const bytes = b.file(
      b.matrix(b.flags(mxDOUBLE), b.dims(2, 2), b.name('m'), b.el(miUINT8, b.values('u8', [1, 2, 3, 250]))),
    );
    const m = readMat5(bytes).variables.get('m') as MatNumeric;
    expect(m).toEqual({
      type: 'numeric',
      class: 'double',
      dims: [2, 2],
      real: Float64Array.of(1, 2, 3, 250),
    });
  });

  it('other narrower storage: int16 as miINT8, single as miINT16, int64 as miUINT8, double as miINT32', () => {
    const bytes = b.file(
      b.matrix(b.flags(mxINT16), b.dims(1, 3), b.name('a'), b.el(miINT8, b.values('i8', [-128, 0, 127]))),
      b.matrix(b.flags(mxSINGLE), b.dims(1, 2), b.name('b'), b.el(miINT16, b.values('i16', [-300, 300]))),
      b.matrix(b.flags(mxINT64), b.dims(1, 2), b.name('c'), b.el(miUINT8, b.values('u8', [0, 255]))),
      b.matrix(b.flags(mxDOUBLE), b.dims(1, 2), b.name('d'), b.el(miINT32, b.values('i32', [-70000, 70000]))),
    );
    const v = readMat5(bytes).variables;
    expect((v.get('a') as MatNumeric).real).toEqual(Int16Array.of(-128, 0, 127));
    expect((v.get('b') as MatNumeric).real).toEqual(Float32Array.of(-300, 300));
    expect((v.get('c') as MatNumeric).real).toEqual(BigInt64Array.of(0n, 255n));
    expect((v.get('d') as MatNumeric).real).toEqual(Float64Array.of(-70000, 70000));
  });

  it('small-element tags for the name, the data and the field name length', () => {
    const bytes = b.file(
      b.matrix(
        b.flags(mxDOUBLE),
        b.dims(1, 2),
        b.name('ab', true),
        b.el(miUINT8, b.values('u8', [7, 9]), true),
      ),
      b.matrix(
        b.flags(mxSTRUCT),
        b.dims(1, 1),
        b.name('s', true),
        b.el(miINT32, b.values('i32', [8]), true),
        b.el(miINT8, b.ascii('f\0\0\0\0\0\0\0')),
        b.matrix(b.flags(mxDOUBLE), b.dims(1, 1), b.name(''), b.el(miINT16, b.values('i16', [-2]), true)),
      ),
    );
    const v = readMat5(bytes).variables;
    expect((v.get('ab') as MatNumeric).real).toEqual(Float64Array.of(7, 9));
    expect(v.get('s')).toEqual({
      type: 'struct',
      dims: [1, 1],
      fields: ['f'],
      elements: [{ f: { type: 'numeric', class: 'double', dims: [1, 1], real: Float64Array.of(-2) } }],
    });
  });

  it('a double stored as miDOUBLE, complex, logical and an N-d array', () => {
    const bytes = b.file(
      b.matrix(
        b.flags(mxDOUBLE),
        b.dims(1, 2),
        b.name('x'),
        b.el(miDOUBLE, b.values('f64', [Math.PI, -1e300])),
      ),
      b.matrix(
        b.flags(mxDOUBLE, 0x0800),
        b.dims(1, 1),
        b.name('z'),
        b.el(miDOUBLE, b.values('f64', [1.5])),
        b.el(miINT8, b.values('i8', [-2]), true),
      ),
      b.matrix(
        b.flags(mxDOUBLE, 0x0200),
        b.dims(1, 3),
        b.name('l'),
        b.el(miUINT8, b.values('u8', [0, 1, 2])),
      ),
      b.matrix(b.flags(mxINT16), b.dims(1, 2, 2), b.name('n'), b.el(miINT16, b.values('i16', [1, 2, 3, 4]))),
    );
    const v = readMat5(bytes).variables;
    expect((v.get('x') as MatNumeric).real).toEqual(Float64Array.of(Math.PI, -1e300));
    expect(v.get('z')).toEqual({
      type: 'numeric',
      class: 'double',
      dims: [1, 1],
      real: Float64Array.of(1.5),
      imag: Float64Array.of(-2),
    });
    expect(v.get('l')).toEqual({ type: 'logical', dims: [1, 3], data: Uint8Array.of(0, 1, 1) });
    expect(v.get('n')).toEqual({
      type: 'numeric',
      class: 'int16',
      dims: [1, 2, 2],
      real: Int16Array.of(1, 2, 3, 4),
    });
  });

  it('chars stored as miUTF8, miUINT16, miUTF16, miUINT8 (Latin-1) and miUTF32', () => {
    const text = 'é Ω 𝄞'; // 𝄞 is outside the BMP: two UTF-16 code units, dims count both
    const codeUnits = Array.from({ length: text.length }, (_, i) => text.charCodeAt(i));
    const bytes = b.file(
      b.matrix(
        b.flags(mxCHAR),
        b.dims(1, text.length),
        b.name('u8'),
        b.el(miUTF8, new TextEncoder().encode(text)),
      ),
      b.matrix(
        b.flags(mxCHAR),
        b.dims(1, text.length),
        b.name('u16'),
        b.el(miUINT16, b.values('u16', codeUnits)),
      ),
      b.matrix(
        b.flags(mxCHAR),
        b.dims(1, text.length),
        b.name('utf16'),
        b.el(miUTF16, b.values('u16', codeUnits)),
      ),
      b.matrix(
        b.flags(mxCHAR),
        b.dims(1, 3),
        b.name('lat1'),
        b.el(miUINT8, b.values('u8', [0x63, 0xe9, 0x21])),
      ),
      b.matrix(
        b.flags(mxCHAR),
        b.dims(1, text.length),
        b.name('utf32'),
        b.el(
          miUTF32,
          b.values(
            'u32',
            Array.from(text, (c) => c.codePointAt(0)!),
          ),
        ),
      ),
      b.matrix(b.flags(mxCHAR), b.dims(0, 0), b.name('empty'), b.el(miUTF8, new Uint8Array(0))),
      b.matrix(b.flags(mxCHAR), b.dims(2, 2), b.name('two'), b.el(miUTF8, b.ascii('acbd'))),
    );
    const v = readMat5(bytes).variables;
    for (const n of ['u8', 'u16', 'utf16', 'utf32']) expect(charString(v.get(n) as MatChar), n).toBe(text);
    expect(charString(v.get('lat1') as MatChar)).toBe('cé!');
    expect((v.get('empty') as MatChar).data).toHaveLength(0);
    expect(charString(v.get('two') as MatChar)).toBe('ab\ncd');
  });

  it('cells, with the empty (0-byte) matrix element MATLAB writes for []', () => {
    const bytes = b.file(
      b.matrix(
        b.flags(mxCELL),
        b.dims(1, 2),
        b.name('c'),
        b.matrix(),
        b.matrix(b.flags(mxCHAR), b.dims(1, 1), b.name(''), b.el(miUINT16, b.values('u16', [0x41]), true)),
      ),
    );
    expect(readMat5(bytes).variables.get('c')).toEqual({
      type: 'cell',
      dims: [1, 2],
      cells: [
        { type: 'numeric', class: 'double', dims: [0, 0], real: new Float64Array(0) },
        { type: 'char', dims: [1, 1], data: Uint16Array.of(0x41) },
      ],
    });
  });

  it('compressed elements, unpadded (as MATLAB writes them) or padded with zeros', () => {
    const one = b.matrix(b.flags(mxDOUBLE), b.dims(1, 1), b.name('a'), b.el(miDOUBLE, b.values('f64', [1])));
    const two = b.matrix(b.flags(mxDOUBLE), b.dims(1, 1), b.name('b'), b.el(miDOUBLE, b.values('f64', [2])));
    const c1 = b.compressed(one);
    expect(c1.length % 8).not.toBe(0); // so the next element really starts unaligned
    const unpadded = b.file(c1, b.compressed(two), two);
    const padded = b.file(c1, new Uint8Array((8 - (c1.length % 8)) % 8), b.compressed(two));
    expect([...readMat5(unpadded).variables.keys()]).toEqual(['a', 'b']);
    expect((readMat5(padded).variables.get('b') as MatNumeric).real).toEqual(Float64Array.of(2));
  });

  it('unsupported classes name the variable and the class', () => {
    const sparse = b.matrix(
      b.flags(mxSPARSE, 0, 1),
      b.dims(3, 3),
      b.name('sp'),
      b.el(miINT32, b.values('i32', [0]), true),
      b.el(miINT32, b.values('i32', [0, 1, 1, 1])),
      b.el(miDOUBLE, b.values('f64', [5])),
    );
    const fh = b.matrix(
      b.flags(mxFUNCTION),
      b.dims(1, 1),
      b.name('handle'),
      b.matrix(
        b.flags(mxSTRUCT),
        b.dims(1, 1),
        b.name(''),
        b.el(miINT32, b.values('i32', [1]), true),
        b.el(miINT8, new Uint8Array(0)),
      ),
    );
    const opaque = b.matrix(
      b.flags(mxOPAQUE),
      b.name('str'),
      b.name('MCOS'),
      b.name('string'),
      b.matrix(b.flags(9), b.dims(1, 1), b.name(''), b.el(miUINT8, b.values('u8', [1]), true)),
    );
    const nested = b.matrix(
      b.flags(mxSTRUCT),
      b.dims(1, 2),
      b.name('outer'),
      b.el(miINT32, b.values('i32', [8]), true),
      b.el(miINT8, b.ascii('f\0\0\0\0\0\0\0')),
      b.matrix(),
      b.matrix(
        b.flags(mxCELL),
        b.dims(1, 1),
        b.name(''),
        b.matrix(b.flags(mxSPARSE), b.dims(2, 2), b.name('')),
      ),
    );
    const ok = b.matrix(b.flags(mxDOUBLE), b.dims(1, 1), b.name('ok'), b.el(miDOUBLE, b.values('f64', [1])));
    const cases: Array<[Uint8Array, string, string, string]> = [
      [sparse, 'sp', 'sparse', 'sp'],
      [fh, 'handle', 'function_handle', 'handle'],
      [opaque, 'str', 'string', 'str'],
      [nested, 'outer', 'sparse', 'outer(2).f{1}'],
    ];
    for (const [element, variable, className, location] of cases) {
      for (const bytes of [b.file(ok, element), b.file(ok, b.compressed(element))]) {
        let err: unknown;
        try {
          readMat5(bytes, { name: 'hand.mat' });
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(MatUnsupportedError);
        const u = err as MatUnsupportedError;
        expect([u.variable, u.className, u.location, u.path]).toEqual([
          variable,
          className,
          location,
          'hand.mat',
        ]);
        expect(u.message).toContain(`'${variable}'`);
        expect(u.message).toContain(`'${className}'`);
        expect(u.code).toBe('MAT_UNSUPPORTED');
        // Skipping them, or asking for other variables only, reads the rest.
        expect([...readMat5(bytes, { skipUnsupported: true }).variables.keys()]).toEqual(['ok']);
        expect([...readMat5(bytes, { variables: ['ok'] }).variables.keys()]).toEqual(['ok']);
      }
    }
  });

  it('skips the subsystem data element the header points at', () => {
    const a = b.matrix(b.flags(mxDOUBLE), b.dims(1, 1), b.name('a'), b.el(miDOUBLE, b.values('f64', [1])));
    const sub = b.matrix(b.flags(9), b.dims(1, 8), b.name(''), b.el(miUINT8, new Uint8Array(8)));
    const bytes = b.file(a, sub);
    const off = 128 + a.length;
    new DataView(bytes.buffer).setBigUint64(116, BigInt(off), b === LE);
    expect([...readMat5(bytes).variables.keys()]).toEqual(['a']);
  });
});

describe('input that is not a level-5 MAT-file', () => {
  const rethrown = (f: () => unknown): unknown => {
    try {
      f();
    } catch (e) {
      return e;
    }
    return undefined;
  };

  it('a v7.3 (HDF5) file gives Mat73FileError', () => {
    const h = new Uint8Array(1024);
    h.fill(0x20, 0, 116);
    h.set(
      LE.ascii(
        'MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 HDF5 schema 1.00 .',
      ),
    );
    h.set([0x00, 0x02], 124);
    h.set(LE.ascii('IM'), 126);
    h.set([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a], 512);
    expect(detectMatVersion(h)).toBe('mat73');
    const e = rethrown(() => readMat5(h, { name: 'v73.mat' }));
    expect(e).toBeInstanceOf(Mat73FileError);
    expect((e as Mat73FileError).message).toMatch(/v7\.3/);
    expect((e as Mat73FileError).path).toBe('v73.mat');
    // The signature alone (other header text, version 0x0200) is enough; the text alone too (file cut short).
    const sigOnly = h.slice();
    sigOnly.set(LE.ascii('Some other text    '), 0);
    expect(detectMatVersion(sigOnly)).toBe('mat73');
    expect(detectMatVersion(h.slice(0, 128))).toBe('mat73');
  });

  it('detectMatVersion tells level 5 from the rest', () => {
    expect(detectMatVersion(writeMat5({ a: matDouble(1, 1, [1]) }))).toBe('mat5');
    expect(detectMatVersion(writeMat5({}, { byteOrder: 'big' }))).toBe('mat5');
    expect(detectMatVersion(new Uint8Array(0))).toBe('mat4-or-unknown');
    // A level-4 file starts with a type word that has zero bytes.
    const v4 = new Uint8Array(200);
    v4.set(LE.ascii('IM'), 126);
    expect(detectMatVersion(v4)).toBe('mat4-or-unknown');
  });

  it.each([
    ['empty input', new Uint8Array(0)],
    ['a text file', new TextEncoder().encode('time,x,y\n0,1,2\n'.repeat(20))],
    ['a short prefix of a MAT-file', writeMat5({ a: matDouble(1, 1, [1]) }).subarray(0, 100)],
    ['random bytes', Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 251)],
    [
      'a level-5 header with version 0x0200 and no HDF5 data',
      (() => {
        const b = writeMat5({});
        b[124] = 0;
        b[125] = 2;
        return b;
      })(),
    ],
  ])('%s gives MatFormatError', (_label, bytes) => {
    const e = rethrown(() => readMat5(bytes, { name: 'x.bin' }));
    expect(e).toBeInstanceOf(MatFormatError);
    expect((e as MatFormatError).path).toBe('x.bin');
    expect((e as MatFormatError).code).toBe('FILE_FORMAT');
  });

  it('zero tags, empty elements and absurd counts end in MatFormatError, not a hang or a RangeError', () => {
    const b = LE;
    const bad: Uint8Array[] = [
      b.cat(b.header(), new Uint8Array(64)),
      b.file(b.matrix(b.flags(mxCELL), b.dims(2 ** 26, 2 ** 26), b.name('c'))),
      b.file(b.matrix(b.flags(mxCELL), b.dims(1, 3), b.name('c'), new Uint8Array(24))),
      b.file(
        b.matrix(
          b.flags(mxSTRUCT),
          b.dims(1, 1),
          b.name('s'),
          b.el(miINT32, b.values('i32', [0]), true),
          b.el(miINT8, b.ascii('abc')),
        ),
      ),
      b.file(
        b.matrix(
          b.flags(mxSTRUCT),
          b.dims(2 ** 30, 2 ** 30),
          b.name('s'),
          b.el(miINT32, b.values('i32', [8]), true),
          b.el(miINT8, new Uint8Array(0)),
        ),
      ),
      // 2^52 elements of one field, in no bytes; 2^21 elements of no fields (they would take no bytes).
      b.file(
        b.matrix(
          b.flags(mxSTRUCT),
          b.dims(2 ** 26, 2 ** 26),
          b.name('s'),
          b.el(miINT32, b.values('i32', [8]), true),
          b.el(miINT8, b.ascii('f\0\0\0\0\0\0\0')),
        ),
      ),
      b.file(
        b.matrix(
          b.flags(mxSTRUCT),
          b.dims(2048, 1024),
          b.name('s'),
          b.el(miINT32, b.values('i32', [8]), true),
          b.el(miINT8, new Uint8Array(0)),
        ),
      ),
      b.file(
        b.matrix(
          b.flags(mxDOUBLE),
          b.dims(2 ** 31 - 1, 2 ** 31 - 1),
          b.name('d'),
          b.el(miDOUBLE, new Uint8Array(8)),
        ),
      ),
      b.file(b.matrix(b.flags(mxDOUBLE), b.dims(-1, 2), b.name('d'))),
      b.file(b.matrix(b.flags(mxDOUBLE), b.dims(1, 1), b.name('d'), b.el(miDOUBLE, new Uint8Array(7)))),
      b.file(b.matrix(b.flags(mxDOUBLE), b.dims(1, 1), b.name('d'), b.el(99, new Uint8Array(8)))),
      b.file(b.matrix(b.flags(200), b.dims(1, 1), b.name('d'))),
      b.file(b.matrix(b.flags(mxCHAR), b.dims(1, 3), b.name('c'), b.el(miUTF8, b.ascii('ab')))),
      b.file(
        b.matrix(
          b.flags(mxCHAR),
          b.dims(1, 2),
          b.name('c'),
          b.el(miUTF32, b.values('u32', [0x110000, 0x41])),
        ),
      ),
      b.file(b.matrix(b.flags(mxINT64), b.dims(1, 1), b.name('i'), b.el(miDOUBLE, b.values('f64', [0.5])))),
      b.file(b.el(miDOUBLE, b.values('f64', [1]))),
      b.file(b.compressed(b.el(miDOUBLE, b.values('f64', [1])))),
      b.cat(b.file(b.matrix(b.flags(mxDOUBLE), b.dims(0, 0), b.name('a'))), Uint8Array.of(1, 2, 3)),
    ];
    for (const [i, bytes] of bad.entries()) {
      const e = rethrown(() => readMat5(bytes));
      expect(e, `case ${i}: ${String(e)}`).toBeInstanceOf(MatFormatError);
    }
  });

  it('cells nested deeper than 400 levels: not written, and a MatFormatError when read', () => {
    const nest = (depth: number) => {
      let v: MatValue = matDouble(1, 1, [1]);
      for (let i = 0; i < depth; i++) v = { type: 'cell', dims: [1, 1], cells: [v] };
      return v;
    };
    // 399 cells around a double: 400 levels, the most the writer and the reader take.
    let v = readMat5(writeMat5({ c: nest(399) })).variables.get('c')!;
    for (let i = 0; i < 399; i++) v = (v as MatCell).cells[0]!;
    expect(v).toEqual(matDouble(1, 1, [1]));
    expect(() => writeMat5({ c: nest(400) })).toThrow(InvalidOptionError);
    // A damaged or hostile file nests far deeper: built by hand, 1000 levels.
    const b = LE;
    let m = b.matrix(b.flags(mxDOUBLE), b.dims(1, 1), b.name(''), b.el(miDOUBLE, b.values('f64', [1])));
    for (let i = 0; i < 1000; i++)
      m = b.matrix(b.flags(mxCELL), b.dims(1, 1), b.name(i === 999 ? 'c' : ''), m);
    const e = rethrown(() => readMat5(b.file(m)));
    expect(e).toBeInstanceOf(MatFormatError);
    expect((e as MatFormatError).reason).toMatch(/nested deeper than 400/);
    expect((e as MatFormatError).variable).toBe('c');
  });

  it('every single-byte corruption of a plain file gives a value or a named error, never anything else', () => {
    const bytes = writeMat5(
      {
        s: {
          type: 'struct',
          dims: [1, 2],
          fields: ['a', 'b'],
          elements: [
            {
              a: matDouble(1, 2, [1, 2]),
              b: { type: 'char', dims: [1, 2], data: Uint16Array.of(0x68, 0x69) },
            },
            {
              a: { type: 'cell', dims: [1, 1], cells: [matDouble(0, 0, [])] },
              b: { type: 'logical', dims: [1, 1], data: Uint8Array.of(1) },
            },
          ],
        },
        z: { type: 'numeric', class: 'int16', dims: [1, 1], real: Int16Array.of(1), imag: Int16Array.of(2) },
      },
      { compress: false, header: 'MATLAB 5.0 MAT-file' },
    );
    let errors = 0;
    for (let i = 0; i < bytes.length; i++) {
      for (const x of [0x00, 0xff, 0x7f, bytes[i]! ^ 0x10]) {
        const damaged = bytes.slice();
        damaged[i] = x;
        const e = rethrown(() => readMat5(damaged));
        if (e !== undefined) {
          errors++;
          expect(e, `byte ${i} = ${x}: ${String(e)}`).toBeInstanceOf(EdgeBciError);
        }
      }
    }
    expect(errors).toBeGreaterThan(100);
  });
});
