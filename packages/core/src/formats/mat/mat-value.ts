/**
 * MATLAB values as read from MAT files (level 5 or v7.3), in MATLAB's own terms. Arrays keep
 * MATLAB's column-major order and dimensions; helpers below turn them into what the SDK uses.
 */
import { InvalidOptionError } from '../../errors.js';

export type MatNumericClass =
  | 'double'
  | 'single'
  | 'int8'
  | 'uint8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'uint64';

export type MatTypedArray =
  | Float64Array
  | Float32Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/** A numeric matrix or N-d array. `real` (and `imag` when complex) hold prod(dims) values, column-major. */
export interface MatNumeric {
  readonly type: 'numeric';
  readonly class: MatNumericClass;
  readonly dims: readonly number[];
  readonly real: MatTypedArray;
  readonly imag?: MatTypedArray;
}

/** A logical array: 0 or 1 per element, column-major. */
export interface MatLogical {
  readonly type: 'logical';
  readonly dims: readonly number[];
  readonly data: Uint8Array;
}

/** A char array: UTF-16 code units, column-major (a k x n char matrix holds k strings of n chars). */
export interface MatChar {
  readonly type: 'char';
  readonly dims: readonly number[];
  readonly data: Uint16Array;
}

/** A struct or struct array: `elements` in column-major order, each with every field in `fields`. */
export interface MatStruct {
  readonly type: 'struct';
  readonly dims: readonly number[];
  readonly fields: readonly string[];
  readonly elements: ReadonlyArray<Readonly<Record<string, MatValue>>>;
  /** Class name for MATLAB objects stored as structs (level-5 `mxOBJECT_CLASS`), when present. */
  readonly className?: string;
}

/** A cell array: `cells` in column-major order. */
export interface MatCell {
  readonly type: 'cell';
  readonly dims: readonly number[];
  readonly cells: readonly MatValue[];
}

export type MatValue = MatNumeric | MatLogical | MatChar | MatStruct | MatCell;

/** The variables of a MAT file, in file order. */
export interface MatFile {
  readonly format: 'mat5' | 'mat73';
  /** The descriptive text of the header (level 5: the first 116 bytes; v7.3: the user block's text). */
  readonly header: string;
  readonly variables: ReadonlyMap<string, MatValue>;
}

/** Number of elements of an array of dimensions `dims`. */
export function numel(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/** The strings of a char array: one per row (trailing blanks of MATLAB's padding trimmed). */
export function charRows(v: MatChar): string[] {
  const rows = v.dims[0] ?? 0;
  const cols = rows === 0 ? 0 : numel(v.dims) / rows;
  const out: string[] = [];
  for (let r = 0; r < rows; r++) {
    let s = '';
    for (let c = 0; c < cols; c++) s += String.fromCharCode(v.data[r + c * rows]!);
    out.push(s.replace(/[\s\0]+$/, ''));
  }
  return out;
}

/** A char array as one string (rows joined by newlines). */
export function charString(v: MatChar): string {
  return charRows(v).join('\n');
}

/** Element `i` (column-major) of a numeric or logical array as a JS number. */
export function numberAt(v: MatNumeric | MatLogical, i: number): number {
  const x = v.type === 'logical' ? v.data[i]! : v.real[i]!;
  return typeof x === 'bigint' ? Number(x) : x;
}

/**
 * A 2-D numeric or logical matrix as row-major Float64 (rows x cols): the layout the SDK uses.
 * @throws RangeError for arrays with more than two non-singleton dimensions.
 */
export function toRowMajor(v: MatNumeric | MatLogical): { rows: number; cols: number; data: Float64Array } {
  const dims = v.dims;
  if (dims.length > 2 && dims.slice(2).some((d) => d !== 1)) {
    throw new RangeError(`expected a 2-D matrix, got dimensions ${dims.join('x')}`);
  }
  const rows = dims[0] ?? 0;
  const cols = dims[1] ?? 1;
  const data = new Float64Array(rows * cols);
  for (let c = 0; c < cols; c++) {
    for (let r = 0; r < rows; r++) data[r * cols + c] = numberAt(v, r + c * rows);
  }
  return { rows, cols, data };
}

// ------------------------------------------------------------------------------------------------
// Constructors, mostly for writing MAT files and for tests.

function badValue(message: string): InvalidOptionError {
  return new InvalidOptionError('value', message);
}

/** A rows x cols double matrix from row-major values (stored column-major, as MATLAB does). */
export function matDouble(
  rows: number,
  cols: number,
  rowMajor: ArrayLike<number>,
): MatNumeric & { readonly class: 'double'; readonly real: Float64Array } {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0) {
    throw badValue(`invalid matrix size ${rows}x${cols}`);
  }
  if (rowMajor.length !== rows * cols)
    throw badValue(`${rowMajor.length} values for a ${rows}x${cols} matrix`);
  const real = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) real[r + c * rows] = rowMajor[r * cols + c]!;
  return { type: 'numeric', class: 'double', dims: [rows, cols], real };
}

/** A char array: one row per string, shorter rows padded with blanks (MATLAB's `char(...)`). */
export function matChar(text: string | readonly string[]): MatChar {
  const rows = typeof text === 'string' ? [text] : text;
  const cols = rows.reduce((m, s) => Math.max(m, s.length), 0);
  const data = new Uint16Array(rows.length * cols).fill(0x20);
  rows.forEach((s, r) => {
    for (let c = 0; c < s.length; c++) data[r + c * rows.length] = s.charCodeAt(c);
  });
  return { type: 'char', dims: [rows.length, cols], data };
}

/**
 * A struct (one record) or a 1xN struct array (an array of records, all with the same fields), optionally
 * of another shape (`dims`, column-major) or a MATLAB object (`className`).
 */
export function matStruct(
  elements: Readonly<Record<string, MatValue>> | ReadonlyArray<Readonly<Record<string, MatValue>>>,
  options: {
    readonly dims?: readonly number[];
    readonly className?: string;
    readonly fields?: readonly string[];
  } = {},
): MatStruct {
  const list: ReadonlyArray<Readonly<Record<string, MatValue>>> = Array.isArray(elements)
    ? elements
    : [elements as Readonly<Record<string, MatValue>>];
  const fields = options.fields ?? Object.keys(list[0] ?? {});
  for (const [i, e] of list.entries()) {
    const keys = Object.keys(e);
    if (keys.length !== fields.length || !fields.every((f) => Object.hasOwn(e, f))) {
      throw badValue(
        `struct element ${i + 1} has fields [${keys.join(', ')}], expected [${fields.join(', ')}]`,
      );
    }
  }
  const dims = options.dims ?? [1, list.length];
  if (numel(dims) !== list.length)
    throw badValue(`${list.length} struct elements for dimensions ${dims.join('x')}`);
  const s: MatStruct = { type: 'struct', dims, fields, elements: list };
  return options.className === undefined ? s : { ...s, className: options.className };
}

/** A cell array (1xN unless `dims` is given; cells column-major). */
export function matCell(cells: readonly MatValue[], dims: readonly number[] = [1, cells.length]): MatCell {
  if (numel(dims) !== cells.length) throw badValue(`${cells.length} cells for dimensions ${dims.join('x')}`);
  return { type: 'cell', dims, cells };
}

/** Field `field` of element `index` (column-major, 0-based) of a struct, or undefined. */
export function structField(s: MatStruct, field: string, index = 0): MatValue | undefined {
  const e = s.elements[index];
  return e !== undefined && Object.hasOwn(e, field) ? e[field] : undefined;
}
