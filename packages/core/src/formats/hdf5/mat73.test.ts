import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../errors.js';
import { MatUnsupportedError } from '../mat/errors.js';
import {
  charRows,
  charString,
  type MatCell,
  type MatChar,
  type MatLogical,
  type MatNumeric,
  type MatStruct,
  type MatValue,
  numberAt,
  toRowMajor,
} from '../mat/mat-value.js';
import { Hdf5FormatError } from './errors.js';
import { type Dataset, type Group, loadH5wasm, probeHdf5 } from './h5.js';
import { readMat73, writeMat73 } from './mat73.js';

let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'edge-bci-mat73-'));
  await loadH5wasm();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const f64 = (dims: number[], values: number[]): MatNumeric => ({
  type: 'numeric',
  class: 'double',
  dims,
  real: Float64Array.from(values),
});
const str = (s: string): MatChar => ({
  type: 'char',
  dims: [1, s.length],
  data: Uint16Array.from(s, (c) => c.charCodeAt(0)),
});

/** A 31x5 matrix with A(r, c) = 100 r + c + 0.25 (1-based), stored column-major. */
function matrixA(): MatNumeric {
  const real = new Float64Array(31 * 5);
  for (let c = 1; c <= 5; c++) for (let r = 1; r <= 31; r++) real[r - 1 + (c - 1) * 31] = 100 * r + c + 0.25;
  return { type: 'numeric', class: 'double', dims: [31, 5], real };
}

/** A char matrix of `rows` strings padded with blanks to one width, column-major like MATLAB. */
function charMatrix(rows: string[]): MatChar {
  const n = Math.max(...rows.map((r) => r.length));
  const data = new Uint16Array(rows.length * n);
  rows.forEach((row, r) => {
    for (let c = 0; c < n; c++) data[r + c * rows.length] = c < row.length ? row.charCodeAt(c) : 32;
  });
  return { type: 'char', dims: [rows.length, n], data };
}

function sample(): Map<string, MatValue> {
  const v = new Map<string, MatValue>();
  v.set('A', matrixA());
  v.set('u8', { type: 'numeric', class: 'uint8', dims: [2, 3], real: Uint8Array.of(1, 2, 3, 4, 5, 255) });
  v.set('flag', { type: 'logical', dims: [1, 1], data: Uint8Array.of(1) });
  v.set('mask', { type: 'logical', dims: [2, 2], data: Uint8Array.of(1, 0, 0, 1) });
  v.set('name', str('hello, wörld'));
  v.set('rows', charMatrix(['alpha', 'be', 'gamma']));
  v.set('s', {
    type: 'struct',
    dims: [1, 1],
    fields: ['zeta', 'alpha', 'nested'],
    elements: [
      {
        zeta: f64([1, 1], [7]),
        alpha: str('x'),
        nested: {
          type: 'struct',
          dims: [1, 1],
          fields: ['v'],
          elements: [
            { v: { type: 'numeric', class: 'int32', dims: [1, 3], real: Int32Array.of(-1, 0, 2147483647) } },
          ],
        },
      },
    ],
  });
  v.set('sa', {
    type: 'struct',
    dims: [1, 3],
    fields: ['id', 'tag'],
    elements: [
      { id: f64([1, 1], [1]), tag: str('one') },
      { id: f64([1, 1], [2]), tag: str('two') },
      { id: f64([1, 2], [3, 3.5]), tag: str('three') },
    ],
  });
  v.set('c', {
    type: 'cell',
    dims: [2, 2],
    cells: [
      f64([1, 1], [1.5]),
      str('cell text'),
      f64([0, 0], []),
      {
        type: 'cell',
        dims: [1, 1],
        cells: [{ type: 'numeric', class: 'uint64', dims: [1, 1], real: BigUint64Array.of(2n ** 64n - 1n) }],
      },
    ],
  });
  v.set('e', f64([0, 3], []));
  v.set('z', {
    type: 'numeric',
    class: 'double',
    dims: [2, 1],
    real: Float64Array.of(1, -0),
    imag: Float64Array.of(2, Number.NEGATIVE_INFINITY),
  });
  v.set('big', {
    type: 'numeric',
    class: 'int64',
    dims: [1, 2],
    real: BigInt64Array.of(2n ** 53n + 1n, -(2n ** 63n)),
  });
  v.set('emptycell', { type: 'cell', dims: [0, 1], cells: [] });
  return v;
}

describe('MATLAB v7.3 writer and reader', () => {
  let path: string;
  beforeAll(async () => {
    path = join(dir, 'sample.mat');
    await writeMat73(path, sample(), {
      header: 'MATLAB 7.3 MAT-file, Platform: test, Created on: Mon Jan 01 00:00:00 2024 HDF5 schema 1.00 .',
    });
  });

  it('writes the 512-byte MATLAB user block before the HDF5 superblock', async () => {
    const bytes = readFileSync(path);
    expect(bytes.subarray(0, 19).toString('latin1')).toBe('MATLAB 7.3 MAT-file');
    expect(bytes.subarray(126, 128).toString('latin1')).toBe('IM');
    const probe = await probeHdf5(path);
    expect(probe.superblockOffset).toBe(512);
    const file = await readMat73(path);
    expect(file.format).toBe('mat73');
    expect(file.header).toBe(
      'MATLAB 7.3 MAT-file, Platform: test, Created on: Mon Jan 01 00:00:00 2024 HDF5 schema 1.00 .',
    );
  });

  it('keeps the variables in write order', async () => {
    const file = await readMat73(path);
    expect([...file.variables.keys()]).toEqual([...sample().keys()]);
  });

  it('reads a 31x5 double matrix with MATLAB dimensions and column-major values', async () => {
    const A = (await readMat73(path)).variables.get('A') as MatNumeric;
    expect(A.class).toBe('double');
    expect(A.dims).toEqual([31, 5]);
    // A(2,1) and A(1,2) differ: the element order is column-major
    expect(numberAt(A, 1)).toBe(201.25); // A(2,1)
    expect(numberAt(A, 31)).toBe(102.25); // A(1,2)
    expect(numberAt(A, 30 + 4 * 31)).toBe(3105.25); // A(31,5)
    const rm = toRowMajor(A);
    expect(rm.rows).toBe(31);
    expect(rm.cols).toBe(5);
    expect(rm.data[1 * 5 + 0]).toBe(201.25); // row 2, column 1
    expect(rm.data[0 * 5 + 1]).toBe(102.25); // row 1, column 2
  });

  it('stores dimensions reversed on disk, as MATLAB does', async () => {
    const h5 = await loadH5wasm();
    const f = new h5.File(path, 'r');
    try {
      const A = f.get('A') as Dataset;
      expect(A.shape).toEqual([5, 31]);
      expect(A.attrs.MATLAB_class!.value).toBe('double');
      const raw = A.value as Float64Array;
      expect(raw[0 * 31 + 1]).toBe(201.25); // HDF5 [0][1] = A(2,1)
      expect(raw[1 * 31 + 0]).toBe(102.25); // HDF5 [1][0] = A(1,2)
      const e = f.get('e') as Dataset;
      expect(e.attrs.MATLAB_empty!.value).toBe(1);
      expect(Array.from(e.value as BigUint64Array)).toEqual([0n, 3n]);
      const c = f.get('c') as Dataset;
      expect(c.dtype).toBe('Reference');
      expect(c.shape).toEqual([2, 2]);
      expect((c.dereference((c.value as never[])[1]) as unknown as Dataset).path.startsWith('/#refs#/')).toBe(
        true,
      );
      const name = f.get('name') as Dataset;
      expect(name.dtype).toBe('<H');
      expect(name.attrs.MATLAB_int_decode!.value).toBe(2);
      const sa = f.get('sa') as Group;
      expect(sa.attrs.MATLAB_class!.value).toBe('struct');
      expect((sa.get('tag') as Dataset).shape).toEqual([3, 1]);
      expect(Object.keys((sa.get('tag') as Dataset).attrs)).toEqual([]);
    } finally {
      f.close();
    }
  });

  it("writes MATLAB_fields with MATLAB's type: a variable-length sequence of 1-character strings", async () => {
    const h5 = await loadH5wasm();
    const f = new h5.File(path, 'r');
    try {
      for (const [name, fields] of [
        ['s', ['zeta', 'alpha', 'nested']],
        ['sa', ['id', 'tag']],
      ] as const) {
        const a = (f.get(name) as Group).attrs.MATLAB_fields!;
        expect(a.metadata.type).toBe(9); // H5T_VLEN
        expect(a.metadata.vlen_type?.type).toBe(3); // of H5T_STRING
        expect(a.metadata.vlen_type?.size).toBe(1); // one character each
        expect((a.value as string[][]).map((chars) => chars.join(''))).toEqual(fields);
      }
    } finally {
      f.close();
    }
  });

  it('reports how many structs got MATLAB_fields and keeps the field names of an empty struct', async () => {
    const p = join(dir, 'structs.mat');
    const r = await writeMat73(p, {
      a: {
        type: 'struct',
        dims: [1, 1],
        fields: ['q', 'p'],
        elements: [{ q: f64([1, 1], [1]), p: f64([1, 1], [2]) }],
      },
      none: { type: 'struct', dims: [0, 0], fields: ['x', 'y'], elements: [] },
    });
    expect(r).toEqual({ matlabFields: 2, matlabFieldsDropped: 0 });
    const v = (await readMat73(p)).variables;
    expect((v.get('a') as MatStruct).fields).toEqual(['q', 'p']);
    expect(v.get('none')).toEqual({ type: 'struct', dims: [0, 0], fields: ['x', 'y'], elements: [] });
  });

  it('reads integer, logical and complex arrays exactly', async () => {
    const v = (await readMat73(path)).variables;
    const u8 = v.get('u8') as MatNumeric;
    expect(u8.class).toBe('uint8');
    expect(u8.dims).toEqual([2, 3]);
    expect(u8.real).toBeInstanceOf(Uint8Array);
    expect(Array.from(u8.real as Uint8Array)).toEqual([1, 2, 3, 4, 5, 255]);
    expect(numberAt(u8, 0 + 2 * 2)).toBe(5); // u8(1,3)
    const flag = v.get('flag') as MatLogical;
    expect(flag).toEqual({ type: 'logical', dims: [1, 1], data: Uint8Array.of(1) });
    expect((v.get('mask') as MatLogical).data).toEqual(Uint8Array.of(1, 0, 0, 1));
    const z = v.get('z') as MatNumeric;
    expect(z.dims).toEqual([2, 1]);
    expect(Array.from(z.real as Float64Array)).toEqual([1, -0]);
    expect(Object.is((z.real as Float64Array)[1], -0)).toBe(true);
    expect(Array.from(z.imag as Float64Array)).toEqual([2, Number.NEGATIVE_INFINITY]);
    const big = v.get('big') as MatNumeric;
    expect(Array.from(big.real as BigInt64Array)).toEqual([2n ** 53n + 1n, -(2n ** 63n)]);
  });

  it('reads char rows and char matrices', async () => {
    const v = (await readMat73(path)).variables;
    const name = v.get('name') as MatChar;
    expect(name.dims).toEqual([1, 12]);
    expect(charString(name)).toBe('hello, wörld');
    const rows = v.get('rows') as MatChar;
    expect(rows.dims).toEqual([3, 5]);
    expect(charRows(rows)).toEqual(['alpha', 'be', 'gamma']);
  });

  it('reads a scalar struct with its field order and a nested struct', async () => {
    const s = (await readMat73(path)).variables.get('s') as MatStruct;
    expect(s.dims).toEqual([1, 1]);
    expect(s.fields).toEqual(['zeta', 'alpha', 'nested']);
    const e = s.elements[0]!;
    expect(numberAt(e.zeta as MatNumeric, 0)).toBe(7);
    expect(charString(e.alpha as MatChar)).toBe('x');
    const nested = e.nested as MatStruct;
    expect(nested.fields).toEqual(['v']);
    const vv = nested.elements[0]!.v as MatNumeric;
    expect(vv.class).toBe('int32');
    expect(vv.dims).toEqual([1, 3]);
    expect(Array.from(vv.real as Int32Array)).toEqual([-1, 0, 2147483647]);
  });

  it('reads a 1x3 struct array stored through references', async () => {
    const sa = (await readMat73(path)).variables.get('sa') as MatStruct;
    expect(sa.dims).toEqual([1, 3]);
    expect(sa.fields).toEqual(['id', 'tag']);
    expect(sa.elements.map((e) => charString(e.tag as MatChar))).toEqual(['one', 'two', 'three']);
    expect(sa.elements.map((e) => numberAt(e.id as MatNumeric, 0))).toEqual([1, 2, 3]);
    expect((sa.elements[2]!.id as MatNumeric).dims).toEqual([1, 2]);
  });

  it('reads a cell array, nested cells and empty values', async () => {
    const v = (await readMat73(path)).variables;
    const c = v.get('c') as MatCell;
    expect(c.dims).toEqual([2, 2]);
    expect(numberAt(c.cells[0] as MatNumeric, 0)).toBe(1.5); // c{1,1}
    expect(charString(c.cells[1] as MatChar)).toBe('cell text'); // c{2,1}
    expect(c.cells[2]).toEqual({ type: 'numeric', class: 'double', dims: [0, 0], real: new Float64Array(0) });
    const inner = c.cells[3] as MatCell;
    expect(inner.dims).toEqual([1, 1]);
    expect(Array.from((inner.cells[0] as MatNumeric).real as BigUint64Array)).toEqual([2n ** 64n - 1n]);
    expect(v.get('e')).toEqual({ type: 'numeric', class: 'double', dims: [0, 3], real: new Float64Array(0) });
    expect(v.get('emptycell')).toEqual({ type: 'cell', dims: [0, 1], cells: [] });
  });

  it('reads only the variables asked for', async () => {
    const file = await readMat73(path, { variables: ['sa', 'name', 'absent'] });
    expect([...file.variables.keys()]).toEqual(['name', 'sa']);
  });

  it('writes a plain HDF5 file without the user block when asked', async () => {
    const p = join(dir, 'plain.mat');
    await writeMat73(p, { x: f64([1, 2], [1, 2]) }, { userBlock: false });
    expect((await probeHdf5(p)).superblockOffset).toBe(0);
    const file = await readMat73(p);
    expect(file.header).toBe('');
    expect(file.variables.get('x')).toEqual(f64([1, 2], [1, 2]));
  });

  it('refuses values whose dimensions do not match their data, and invalid names', async () => {
    await expect(writeMat73(join(dir, 'bad.mat'), { x: f64([2, 2], [1, 2, 3]) })).rejects.toBeInstanceOf(
      InvalidOptionError,
    );
    await expect(writeMat73(join(dir, 'bad.mat'), { '1x': f64([1, 1], [1]) })).rejects.toBeInstanceOf(
      InvalidOptionError,
    );
    await expect(
      writeMat73(join(dir, 'bad.mat'), {
        s: { type: 'struct', dims: [1, 1], fields: ['a/b'], elements: [{ 'a/b': f64([1, 1], [1]) }] },
      }),
    ).rejects.toBeInstanceOf(InvalidOptionError);
  });
});

describe('MATLAB v7.3 reader on files it did not write', () => {
  it('maps a hand-made MATLAB-layout dataset to MATLAB dimensions (reversed shape)', async () => {
    const h5 = await loadH5wasm();
    const p = join(dir, 'hand.mat');
    const f = new h5.File(p, 'w');
    try {
      // MATLAB's B = [0 3; 1 4; 2 5] (3x2) is stored as a [2, 3] dataset holding 0..5.
      f.create_dataset({
        name: 'B',
        data: Float64Array.of(0, 1, 2, 3, 4, 5),
        shape: [2, 3],
      }).create_attribute('MATLAB_class', 'double', null, 'A6');
      f.create_dataset({ name: 'h5py_style', data: Int16Array.of(4, 5, 6) }); // no MATLAB_class, 1-D
    } finally {
      f.close();
    }
    const v = (await readMat73(p)).variables;
    const B = v.get('B') as MatNumeric;
    expect(B.dims).toEqual([3, 2]);
    expect(numberAt(B, 1)).toBe(1); // B(2,1)
    expect(numberAt(B, 3)).toBe(3); // B(1,2)
    expect(v.get('h5py_style')).toEqual({
      type: 'numeric',
      class: 'int16',
      dims: [3, 1],
      real: Int16Array.of(4, 5, 6),
    });
  });

  it('takes field order from MATLAB_fields (variable-length char arrays, written here by h5py)', async () => {
    // h5py 3.7 file: struct 's' with MATLAB_fields = {'zeta', 'alpha'}, members alpha (double 2.5) and zeta (char 'hi').
    const fixture =
      'H4sICCkzE2sCA2ZpZWxkc19taW4ubWF0AO2VzUrDQBDHZ/NRQkxtbCtUTz2I1FNFe7e1RYNWA+JJQY1tJcWA0rQgXj2I+AZ68SY+gEeh0CcQLwpevfoKdbfZ1FirFz8QnB8kw25mJjv/CZMTozAXVkdVUVHAp83REt56ku8XbtceTaOwIiQnpmO7wetAiAYDfVQBCEBIA2qI2/LzG/BtyOnURf8j3eg6wKXguU1xd+9Aw1GQ3h9WSwGIEAaFPVzKrRZzs5slx3JdiLEiaDRL5tZrjVJdW2e+g6BDvOu7U604ZRdGqBN9cyeIsCBCCD8F+FZiN64385EDa8/n/tpY6NRFhSNjdJelgdeIflaMAxlKzvBEWcgMQKYt0uy0aFFVaIckArylfrO/IkV5r7HtVGADfpir5buGmTcW+39jrM1PoueZ5hFnz9F2r3pCj1q9a1EDonf39TeqKYlA3z5Wbfwz1SSeu2RbNbDh12gdN7eYeiGd1Spbzr5tnfOiQxG2Jx1W6tYD1+P0yJQAQZB/wXzeLBLg/6zAOPSHAJsNwXEpc9uZI4E8zQhqiSAIgiAIgiAIgiB/GylrQxVeABAZ00oMGAAA';
    const p = join(dir, 'fields.mat');
    writeFileSync(p, gunzipSync(Buffer.from(fixture, 'base64')));
    const s = (await readMat73(p)).variables.get('s') as MatStruct;
    expect(s.fields).toEqual(['zeta', 'alpha']);
    expect(charString(s.elements[0]!.zeta as MatChar)).toBe('hi');
    expect(numberAt(s.elements[0]!.alpha as MatNumeric, 0)).toBe(2.5);
  });

  it('refuses sparse matrices with a named error', async () => {
    const h5 = await loadH5wasm();
    const p = join(dir, 'sparse.mat');
    const f = new h5.File(p, 'w');
    try {
      const g = f.create_group('S');
      g.create_attribute('MATLAB_class', 'double', null, 'A6');
      g.create_attribute('MATLAB_sparse', BigUint64Array.of(3n), [], '<Q');
      g.create_dataset({ name: 'data', data: Float64Array.of(1) });
      g.create_dataset({ name: 'ir', data: BigUint64Array.of(0n) });
      g.create_dataset({ name: 'jc', data: BigUint64Array.of(0n, 1n, 1n) });
      f.create_dataset({ name: 'ok', data: Float64Array.of(1), shape: [1, 1] }).create_attribute(
        'MATLAB_class',
        'double',
        null,
        'A6',
      );
    } finally {
      f.close();
    }
    const err = await readMat73(p).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MatUnsupportedError);
    expect((err as MatUnsupportedError).className).toBe('sparse');
    expect((err as MatUnsupportedError).variable).toBe('S');
    // the other variables stay readable
    expect((await readMat73(p, { variables: ['ok'] })).variables.get('ok')).toEqual(f64([1, 1], [1]));
  });

  it('gives a named error for a cell whose data are not references', async () => {
    const h5 = await loadH5wasm();
    const p = join(dir, 'dangling.mat');
    const f = new h5.File(p, 'w');
    try {
      const c = f.create_dataset({ name: 'c', data: Float64Array.of(1, 2), shape: [1, 2] });
      c.create_attribute('MATLAB_class', 'cell', null, 'A4'); // a cell whose data are numbers, not references
    } finally {
      f.close();
    }
    await expect(readMat73(p)).rejects.toBeInstanceOf(Hdf5FormatError);
  });
});
