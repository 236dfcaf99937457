import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../errors.js';
import {
  charRows,
  matCell,
  matChar,
  matDouble,
  matStruct,
  numberAt,
  structField,
  toRowMajor,
} from './mat-value.js';

describe('MatValue constructors', () => {
  it('matDouble stores row-major input column-major', () => {
    const m = matDouble(2, 3, [1, 2, 3, 4, 5, 6]);
    expect(m.dims).toEqual([2, 3]);
    expect(Array.from(m.real)).toEqual([1, 4, 2, 5, 3, 6]);
    expect(Array.from(toRowMajor(m).data)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(matDouble(0, 0, []).real).toHaveLength(0);
    expect(() => matDouble(2, 2, [1, 2, 3])).toThrow(InvalidOptionError);
    expect(() => matDouble(-1, 2, [])).toThrow(InvalidOptionError);
  });

  it('matChar pads rows with blanks, column-major', () => {
    const c = matChar(['ab', 'xyz']);
    expect(c.dims).toEqual([2, 3]);
    expect(String.fromCharCode(...c.data)).toBe('axby z');
    expect(charRows(c)).toEqual(['ab', 'xyz']);
    expect(matChar('é').data).toEqual(Uint16Array.of(0xe9));
    expect(matChar([]).dims).toEqual([0, 0]);
  });

  it('matStruct checks that every element has the same fields', () => {
    const s = matStruct([{ a: matDouble(1, 1, [1]) }, { a: matDouble(1, 1, [2]) }]);
    expect(s.dims).toEqual([1, 2]);
    expect(s.fields).toEqual(['a']);
    expect(numberAt(structField(s, 'a', 1) as never, 0)).toBe(2);
    expect(structField(s, 'b')).toBeUndefined();
    expect(structField(s, 'a', 5)).toBeUndefined();
    expect(matStruct({ a: matDouble(0, 0, []) }, { className: 'K' }).className).toBe('K');
    expect(() => matStruct([{ a: matDouble(1, 1, [1]) }, { b: matDouble(1, 1, [2]) }])).toThrow(
      InvalidOptionError,
    );
    expect(() => matStruct([{ a: matDouble(1, 1, [1]) }], { dims: [2, 2] })).toThrow(InvalidOptionError);
    expect(matStruct([], { fields: ['x'], dims: [0, 0] }).fields).toEqual(['x']);
  });

  it('matCell defaults to 1xN and checks dims', () => {
    expect(matCell([matChar('a'), matChar('b')]).dims).toEqual([1, 2]);
    expect(matCell([], [0, 0]).cells).toEqual([]);
    expect(() => matCell([matChar('a')], [2, 1])).toThrow(InvalidOptionError);
  });
});
