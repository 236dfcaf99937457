/**
 * Constants and low-level helpers of the MATLAB level-5 MAT-file format shared by the reader and the writer
 * (written from MathWorks' published "MAT-File Format" description).
 */
import type { MatNumericClass, MatTypedArray } from './mat-value.js';

/** Data types of data elements (`miXXX`). */
export const MI = {
  INT8: 1,
  UINT8: 2,
  INT16: 3,
  UINT16: 4,
  INT32: 5,
  UINT32: 6,
  SINGLE: 7,
  DOUBLE: 9,
  INT64: 12,
  UINT64: 13,
  MATRIX: 14,
  COMPRESSED: 15,
  UTF8: 16,
  UTF16: 17,
  UTF32: 18,
} as const;

/** Array classes (`mxXXX_CLASS`), the low byte of the array-flags word. */
export const MX = {
  CELL: 1,
  STRUCT: 2,
  OBJECT: 3,
  CHAR: 4,
  SPARSE: 5,
  DOUBLE: 6,
  SINGLE: 7,
  INT8: 8,
  UINT8: 9,
  INT16: 10,
  UINT16: 11,
  INT32: 12,
  UINT32: 13,
  INT64: 14,
  UINT64: 15,
  FUNCTION: 16,
  OPAQUE: 17,
  OBJECT_FROM_MATRIX: 18,
} as const;

/** Bits of the array-flags word. */
export const FLAG_COMPLEX = 0x0800;
export const FLAG_GLOBAL = 0x0400;
export const FLAG_LOGICAL = 0x0200;

/**
 * Deepest nesting of cells and structs read or written: deeper is taken for a damaged file (it would
 * exhaust the stack), and not written (MATLAB's own recursion limits are far lower in practice).
 */
export const MAX_NESTING = 400;

export const HEADER_BYTES = 128;
export const HEADER_TEXT_BYTES = 116;

export type TypedArrayCtor =
  | Float64ArrayConstructor
  | Float32ArrayConstructor
  | Int8ArrayConstructor
  | Uint8ArrayConstructor
  | Int16ArrayConstructor
  | Uint16ArrayConstructor
  | Int32ArrayConstructor
  | Uint32ArrayConstructor
  | BigInt64ArrayConstructor
  | BigUint64ArrayConstructor;

/** The typed array of each numeric data type, indexed by `miXXX` code. */
export const MI_ARRAY: ReadonlyArray<TypedArrayCtor | undefined> = (() => {
  const t: Array<TypedArrayCtor | undefined> = [];
  t[MI.INT8] = Int8Array;
  t[MI.UINT8] = Uint8Array;
  t[MI.INT16] = Int16Array;
  t[MI.UINT16] = Uint16Array;
  t[MI.INT32] = Int32Array;
  t[MI.UINT32] = Uint32Array;
  t[MI.SINGLE] = Float32Array;
  t[MI.DOUBLE] = Float64Array;
  t[MI.INT64] = BigInt64Array;
  t[MI.UINT64] = BigUint64Array;
  return t;
})();

export interface NumericClassInfo {
  readonly name: MatNumericClass;
  readonly mx: number;
  readonly mi: number;
  readonly ctor: TypedArrayCtor;
}

export const NUMERIC_CLASSES: readonly NumericClassInfo[] = [
  { name: 'double', mx: MX.DOUBLE, mi: MI.DOUBLE, ctor: Float64Array },
  { name: 'single', mx: MX.SINGLE, mi: MI.SINGLE, ctor: Float32Array },
  { name: 'int8', mx: MX.INT8, mi: MI.INT8, ctor: Int8Array },
  { name: 'uint8', mx: MX.UINT8, mi: MI.UINT8, ctor: Uint8Array },
  { name: 'int16', mx: MX.INT16, mi: MI.INT16, ctor: Int16Array },
  { name: 'uint16', mx: MX.UINT16, mi: MI.UINT16, ctor: Uint16Array },
  { name: 'int32', mx: MX.INT32, mi: MI.INT32, ctor: Int32Array },
  { name: 'uint32', mx: MX.UINT32, mi: MI.UINT32, ctor: Uint32Array },
  { name: 'int64', mx: MX.INT64, mi: MI.INT64, ctor: BigInt64Array },
  { name: 'uint64', mx: MX.UINT64, mi: MI.UINT64, ctor: BigUint64Array },
];

export const NUMERIC_BY_MX: ReadonlyMap<number, NumericClassInfo> = new Map(
  NUMERIC_CLASSES.map((c) => [c.mx, c]),
);
export const NUMERIC_BY_NAME: ReadonlyMap<string, NumericClassInfo> = new Map(
  NUMERIC_CLASSES.map((c) => [c.name, c]),
);

/** The `miXXX` code of a typed array's element type. */
export function miTypeOf(a: MatTypedArray): number {
  if (a instanceof Float64Array) return MI.DOUBLE;
  if (a instanceof Float32Array) return MI.SINGLE;
  if (a instanceof Int8Array) return MI.INT8;
  if (a instanceof Uint8Array) return MI.UINT8;
  if (a instanceof Int16Array) return MI.INT16;
  if (a instanceof Uint16Array) return MI.UINT16;
  if (a instanceof Int32Array) return MI.INT32;
  if (a instanceof Uint32Array) return MI.UINT32;
  if (a instanceof BigInt64Array) return MI.INT64;
  return MI.UINT64;
}

export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Reverses the byte order of every `size`-byte value of `b`, in place. */
export function swapBytes(b: Uint8Array, size: number): void {
  if (size === 2) {
    for (let i = 0; i + 1 < b.length; i += 2) {
      const t = b[i]!;
      b[i] = b[i + 1]!;
      b[i + 1] = t;
    }
  } else if (size === 4) {
    for (let i = 0; i + 3 < b.length; i += 4) {
      let t = b[i]!;
      b[i] = b[i + 3]!;
      b[i + 3] = t;
      t = b[i + 1]!;
      b[i + 1] = b[i + 2]!;
      b[i + 2] = t;
    }
  } else if (size === 8) {
    for (let i = 0; i + 7 < b.length; i += 8) {
      for (let j = 0; j < 4; j++) {
        const t = b[i + j]!;
        b[i + j] = b[i + 7 - j]!;
        b[i + 7 - j] = t;
      }
    }
  }
}

const isBig = (a: MatTypedArray | TypedArrayCtor): boolean =>
  a === BigInt64Array || a === BigUint64Array || a instanceof BigInt64Array || a instanceof BigUint64Array;

/**
 * `src` converted to the element type of `ctor` (returned as is when it already has it). Integer types wrap
 * as typed-array assignment does; a non-integer going into a 64-bit integer type returns `undefined`.
 */
export function convertTyped(src: MatTypedArray, ctor: TypedArrayCtor): MatTypedArray | undefined {
  if (src.constructor === ctor) return src;
  const out = new ctor(src.length);
  const srcBig = isBig(src);
  const dstBig = isBig(ctor);
  if (srcBig === dstBig) {
    (out as unknown as { set(a: ArrayLike<unknown>): void }).set(src as ArrayLike<unknown>);
  } else if (dstBig) {
    const o = out as BigInt64Array | BigUint64Array;
    const s = src as Exclude<MatTypedArray, BigInt64Array | BigUint64Array>;
    for (let i = 0; i < s.length; i++) {
      const x = s[i]!;
      if (!Number.isInteger(x)) return undefined;
      o[i] = BigInt(x);
    }
  } else {
    const o = out as Exclude<MatTypedArray, BigInt64Array | BigUint64Array>;
    const s = src as BigInt64Array | BigUint64Array;
    for (let i = 0; i < s.length; i++) o[i] = Number(s[i]!);
  }
  return out;
}

/** `n` rounded up to a multiple of 8 (exact for every length up to 2^53). */
export const align8 = (n: number): number => n + ((8 - (n % 8)) % 8);
