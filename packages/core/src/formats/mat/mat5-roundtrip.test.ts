import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../errors.js';
import {
  charRows,
  type MatNumeric,
  type MatTypedArray,
  type MatValue,
  matCell,
  matChar,
  matDouble,
  matStruct,
} from './mat-value.js';
import { readMat5, readMatFile } from './mat5-reader.js';
import { writeMat5, writeMatFile } from './mat5-writer.js';

const num = (
  cls: MatNumeric['class'],
  dims: number[],
  real: MatTypedArray,
  imag?: MatTypedArray,
): MatNumeric =>
  imag === undefined
    ? { type: 'numeric', class: cls, dims, real }
    : { type: 'numeric', class: cls, dims, real, imag };

/** One variable of every class and shape the reader supports. */
function everyClass(): Record<string, MatValue> {
  return {
    dbl: matDouble(2, 3, [1.5, -0, Number.NaN, Number.POSITIVE_INFINITY, -1e-300, 6]),
    sgl: num('single', [1, 3], Float32Array.of(1.5, -2.25, 3e38)),
    i8: num('int8', [1, 3], Int8Array.of(-128, 0, 127)),
    u8: num('uint8', [3, 1], Uint8Array.of(0, 1, 255)),
    i16: num('int16', [1, 2], Int16Array.of(-32768, 32767)),
    u16: num('uint16', [1, 2], Uint16Array.of(0, 65535)),
    i32: num('int32', [1, 2], Int32Array.of(-2147483648, 2147483647)),
    u32: num('uint32', [1, 2], Uint32Array.of(0, 4294967295)),
    i64: num('int64', [1, 3], BigInt64Array.of(-(2n ** 63n), 2n ** 63n - 1n, 9007199254740993n)),
    u64: num('uint64', [1, 2], BigUint64Array.of(0n, 2n ** 64n - 1n)),
    cplx: num('double', [2, 2], Float64Array.of(1, 2, 3, 4), Float64Array.of(-1, 0.5, 0, 9)),
    cplxI16: num('int16', [1, 2], Int16Array.of(3, -4), Int16Array.of(-5, 6)),
    cplxSgl: num('single', [1, 1], Float32Array.of(0.25), Float32Array.of(-0.5)),
    lgc: { type: 'logical', dims: [2, 2], data: Uint8Array.of(1, 0, 0, 1) },
    chr: matChar('héllo Ω — 𝄞 ✓'),
    rows: matChar(['first row', 'second', 'Ünïcödé']),
    lone: { type: 'char', dims: [1, 3], data: Uint16Array.of(0x61, 0xd800, 0x62) },
    emptyChar: { type: 'char', dims: [0, 0], data: new Uint16Array(0) },
    st: matStruct({
      x: matDouble(1, 1, [42]),
      name: matChar('trial'),
      v: num('uint16', [1, 4], Uint16Array.of(1, 2, 3, 4)),
    }),
    sa: matStruct([
      { id: matDouble(1, 1, [1]), inner: matStruct({ a: matChar('x') }), c: matCell([matDouble(1, 1, [1])]) },
      { id: matDouble(1, 1, [2]), inner: matStruct({ a: matChar('yy') }), c: matCell([]) },
      {
        id: matDouble(1, 1, [3]),
        inner: matStruct([{ a: matDouble(0, 0, []) }, { a: matCell([matChar('deep')]) }]),
        c: matCell([matStruct({ q: matDouble(1, 2, [7, 8]) }), matChar('z')], [2, 1]),
      },
    ]),
    sq: matStruct(
      [
        { k: matDouble(1, 1, [11]) },
        { k: matDouble(1, 1, [21]) },
        { k: matDouble(1, 1, [12]) },
        { k: matDouble(1, 1, [22]) },
      ],
      { dims: [2, 2] },
    ),
    emptySt: matStruct([], { fields: ['a', 'b'], dims: [0, 0] }),
    noFields: matStruct([{}, {}], { fields: [] }),
    obj: matStruct({ gain: matDouble(1, 1, [2]), label: matChar('unit') }, { className: 'pkg.Decoder' }),
    cel: matCell(
      [
        matDouble(1, 1, [1]),
        matChar('two'),
        matCell([matCell([])]),
        { type: 'logical', dims: [1, 1], data: Uint8Array.of(1) },
      ],
      [2, 2],
    ),
    e00: matDouble(0, 0, []),
    e05: matDouble(0, 5, []),
    e30: num('int8', [3, 0], new Int8Array(0)),
    eCell: matCell([], [0, 0]),
    eCell13: matCell([matDouble(0, 0, []), matDouble(0, 0, []), matDouble(0, 0, [])]),
    nd: num(
      'double',
      [2, 3, 4],
      Float64Array.from({ length: 24 }, (_, i) => i * 0.5 - 3),
    ),
    nd4: num(
      'uint8',
      [2, 1, 2, 3],
      Uint8Array.from({ length: 12 }, (_, i) => i * 20),
    ),
    ndCell: matCell(
      Array.from({ length: 8 }, (_, i) => matDouble(1, 1, [i])),
      [2, 2, 2],
    ),
  };
}

const OPTION_SETS = [
  { compress: true, byteOrder: 'little' },
  { compress: false, byteOrder: 'little' },
  { compress: true, byteOrder: 'big' },
  { compress: false, byteOrder: 'big' },
] as const;

describe('writeMat5 -> readMat5 round trips', () => {
  it.each(OPTION_SETS)('every class survives (compress %s, %s-endian)', (opts) => {
    const vars = everyClass();
    const bytes = writeMat5(vars, { ...opts, header: 'MATLAB 5.0 MAT-file, edge-bci test' });
    expect(String.fromCharCode(...bytes.subarray(126, 128))).toBe(opts.byteOrder === 'little' ? 'IM' : 'MI');
    const file = readMat5(bytes);
    expect(file.format).toBe('mat5');
    expect(file.header).toBe('MATLAB 5.0 MAT-file, edge-bci test');
    expect([...file.variables.keys()]).toEqual(Object.keys(vars));
    for (const [name, value] of Object.entries(vars)) {
      expect(file.variables.get(name), name).toEqual(value);
    }
  });

  it('keeps the typed array of each class, and BigInt values exactly', () => {
    const file = readMat5(writeMat5(everyClass()));
    const get = (n: string) => file.variables.get(n) as MatNumeric;
    expect(get('dbl').real).toBeInstanceOf(Float64Array);
    expect(Object.is(get('dbl').real[2], -0)).toBe(true);
    expect(get('sgl').real).toBeInstanceOf(Float32Array);
    expect(get('i64').real).toBeInstanceOf(BigInt64Array);
    expect(get('i64').real[2]).toBe(9007199254740993n);
    expect(get('u64').real[1]).toBe(18446744073709551615n);
    expect(get('cplxI16').imag).toEqual(Int16Array.of(-5, 6));
    expect(charRows(file.variables.get('rows') as never)).toEqual(['first row', 'second', 'Ünïcödé']);
    expect(String.fromCharCode(...(file.variables.get('chr') as { data: Uint16Array }).data)).toBe(
      'héllo Ω — 𝄞 ✓',
    );
  });

  it('accepts a Map and keeps its order', () => {
    const vars = new Map<string, MatValue>([
      ['zeta', matDouble(1, 1, [1])],
      ['alpha', matChar('a')],
    ]);
    expect([...readMat5(writeMat5(vars)).variables.keys()]).toEqual(['zeta', 'alpha']);
  });

  it('writes data in its class type even when given another typed array', () => {
    const bytes = writeMat5({ d: num('double', [1, 3], Uint8Array.of(1, 2, 250)) });
    const d = readMat5(bytes).variables.get('d') as MatNumeric;
    expect(d.real).toEqual(Float64Array.of(1, 2, 250));
    const i = readMat5(writeMat5({ i: num('int64', [1, 2], Float64Array.of(-3, 5)) })).variables.get(
      'i',
    ) as MatNumeric;
    expect(i.real).toEqual(BigInt64Array.of(-3n, 5n));
    expect(() => writeMat5({ i: num('int64', [1, 1], Float64Array.of(0.5)) })).toThrow(InvalidOptionError);
  });

  it('round trips through files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'edge-bci-mat-'));
    try {
      const path = join(dir, 'every.mat');
      writeMatFile(path, everyClass(), { compress: true });
      const file = readMatFile(path);
      expect(file.variables.get('sa')).toEqual(everyClass().sa);
      expect(readMatFile(path, { variables: ['nd', 'missing'] }).variables).toEqual(
        new Map([['nd', everyClass().nd]]),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the bytes writeMat5 produces (the layout MATLAB and scipy expect)', () => {
  const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

  it('header: text padded with blanks to 116 bytes, zero subsystem offset, version 0x0100, IM', () => {
    const b = writeMat5({ a: matDouble(1, 1, [1]) }, { header: 'MATLAB 5.0 MAT-file, x' });
    expect(String.fromCharCode(...b.subarray(0, 22))).toBe('MATLAB 5.0 MAT-file, x');
    expect(b.subarray(22, 116).every((x) => x === 0x20)).toBe(true);
    expect(b.subarray(116, 124).every((x) => x === 0)).toBe(true);
    expect(dv(b).getUint16(124, true)).toBe(0x0100);
    expect(String.fromCharCode(b[126]!, b[127]!)).toBe('IM');
    const def = readMat5(writeMat5({ a: matDouble(1, 1, [1]) })).header;
    expect(def).toMatch(/^MATLAB 5\.0 MAT-file, Platform: .*, Created on: .* by edge-bci$/);
  });

  it('plain elements: 8-byte aligned, small-element form for short names', () => {
    const b = writeMat5({ ab: matDouble(1, 2, [1, 2]), c: matChar('hi') }, { compress: false });
    const v = dv(b);
    expect(b.length % 8).toBe(0);
    expect(v.getUint32(128, true)).toBe(14);
    const n1 = v.getUint32(132, true);
    expect(n1 % 8).toBe(0);
    // flags (16 bytes), dims (16 bytes), then the name 'ab' as a small element: count 2 in the upper half.
    expect(v.getUint32(136 + 32, true)).toBe((2 << 16) | 1);
    expect(String.fromCharCode(b[136 + 36]!, b[136 + 37]!)).toBe('ab');
    expect(v.getUint32(136 + n1, true)).toBe(14);
    expect(136 + n1 + 8 + v.getUint32(136 + n1 + 4, true)).toBe(b.length);
  });

  it('chars: miUTF8 as MATLAB writes them, miUINT16 code units when there are surrogates', () => {
    // The data element follows flags (16 bytes), dims (16) and the small-form name (8): at 136 + 40.
    const tagOf = (text: string) =>
      dv(writeMat5({ c: matChar(text) }, { compress: false })).getUint32(176, true);
    expect(tagOf('é')).toBe((2 << 16) | 16); // 2 bytes of miUTF8, small form
    expect(tagOf('𝄞')).toBe((4 << 16) | 4); // 2 code units of miUINT16, small form
  });

  it('compressed elements: one zlib stream per variable holding one matrix, not padded', () => {
    const b = writeMat5({ a: matDouble(1, 3, [1, 2, 3]), b: matChar('x') });
    const v = dv(b);
    expect(v.getUint32(128, true)).toBe(15);
    const n = v.getUint32(132, true);
    const inner = inflateSync(b.subarray(136, 136 + n));
    expect(new DataView(inner.buffer, inner.byteOffset).getUint32(0, true)).toBe(14);
    expect(new DataView(inner.buffer, inner.byteOffset).getUint32(4, true)).toBe(inner.length - 8);
    expect(v.getUint32(136 + n, true)).toBe(15);
    expect(136 + n + 8 + v.getUint32(140 + n, true)).toBe(b.length);
  });
});

describe('writeMat5 refuses what MATLAB could not load', () => {
  it.each([
    ['a variable name that is not an identifier', { '1x': matDouble(1, 1, [1]) }],
    ['an empty variable name', { '': matDouble(1, 1, [1]) }],
    ['a variable name over 63 characters', { [`v${'x'.repeat(63)}`]: matDouble(1, 1, [1]) }],
    [
      'a bad field name',
      { s: { type: 'struct', dims: [1, 1], fields: ['a b'], elements: [{ 'a b': matDouble(1, 1, [1]) }] } },
    ],
    ['a missing field', { s: { type: 'struct', dims: [1, 1], fields: ['a'], elements: [{}] } }],
    ['data that does not fill the dims', { d: num('double', [2, 2], Float64Array.of(1, 2, 3)) }],
    ['a negative dim', { d: num('double', [-1, 0], new Float64Array(0)) }],
    [
      'an imaginary part of another length',
      { d: num('double', [1, 2], Float64Array.of(1, 2), Float64Array.of(1)) },
    ],
    ['cells that do not fill the dims', { c: { type: 'cell', dims: [1, 2], cells: [matChar('a')] } }],
  ] as Array<[string, Record<string, MatValue>]>)('%s', (_label, vars) => {
    expect(() => writeMat5(vars)).toThrow(InvalidOptionError);
  });

  it('a header that is not printable ASCII or too long', () => {
    expect(() => writeMat5({}, { header: 'é' })).toThrow(InvalidOptionError);
    expect(() => writeMat5({}, { header: 'x'.repeat(117) })).toThrow(InvalidOptionError);
    expect(readMat5(writeMat5({}, { header: 'x'.repeat(116) })).variables.size).toBe(0);
  });
});
