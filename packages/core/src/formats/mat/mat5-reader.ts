/**
 * Reader of MATLAB level-5 MAT-files (the format of `save -v6` and `save -v7`, the default before v7.3),
 * written from MathWorks' published "MAT-File Format" description over `node:zlib`.
 *
 * Both byte orders ('IM' little-endian, 'MI' big-endian), compressed (`miCOMPRESSED`) and plain elements,
 * the 4-byte small-element form, and data stored in a smaller type than the array's class are read.
 * Every length is checked against the end of its container: a damaged file gives a `MatFormatError`,
 * never a `RangeError` or a hang.
 */
import { readFileSync } from 'node:fs';
import { inflateSync, constants as zlibConstants } from 'node:zlib';
import { Mat73FileError, MatFormatError, MatUnsupportedError } from './errors.js';
import type { MatChar, MatFile, MatNumeric, MatStruct, MatTypedArray, MatValue } from './mat-value.js';
import {
  align8,
  convertTyped,
  FLAG_COMPLEX,
  FLAG_LOGICAL,
  HEADER_BYTES,
  HEADER_TEXT_BYTES,
  HOST_LITTLE_ENDIAN,
  MAX_NESTING,
  MI,
  MI_ARRAY,
  MX,
  NUMERIC_BY_MX,
  swapBytes,
  type TypedArrayCtor,
} from './mat5-format.js';

export interface ReadMat5Options {
  /** Name used in error messages when reading from bytes (default '<bytes>'; `readMatFile` passes the path). */
  readonly name?: string;
  /**
   * Read only these variables. The others are skipped without being decoded (a compressed one is only
   * partly inflated, to learn its name). Names that are not in the file are simply absent from the result.
   */
  readonly variables?: readonly string[];
  /**
   * Leave out top-level variables of classes the reader does not support (sparse, function handles,
   * `string`, `table`, ... objects) instead of throwing `MatUnsupportedError` (default false).
   */
  readonly skipUnsupported?: boolean;
}

/** Which MAT-file format `bytes` holds, judged from the header alone. */
export type MatVersion = 'mat5' | 'mat73' | 'mat4-or-unknown';

const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
const V73_TEXT = 'MATLAB 7.3 MAT-file';
/** Largest number of elements of a struct array without fields (which takes no bytes in the file). */
const MAX_FIELDLESS_ELEMENTS = 1 << 20;

const utf8 = new TextDecoder('utf-8');

/**
 * The MAT-file format of `bytes` from its header: 'mat73' for a v7.3 file (header text
 * 'MATLAB 7.3 MAT-file', or the HDF5 signature at byte 512 under a non-level-5 version word), 'mat5' for a
 * level-5 file (128-byte header ending in the 'IM' or 'MI' byte-order mark), else 'mat4-or-unknown'.
 */
export function detectMatVersion(bytes: Uint8Array): MatVersion {
  let v73Text = bytes.length >= V73_TEXT.length;
  for (let i = 0; v73Text && i < V73_TEXT.length; i++) v73Text = bytes[i] === V73_TEXT.charCodeAt(i);
  if (v73Text) return 'mat73';
  const mark =
    bytes.length >= HEADER_BYTES
      ? bytes[126] === 0x49 && bytes[127] === 0x4d
        ? 'IM'
        : bytes[126] === 0x4d && bytes[127] === 0x49
          ? 'MI'
          : undefined
      : undefined;
  if (mark !== undefined && bytes.length >= 520 && HDF5_SIGNATURE.every((b, i) => bytes[512 + i] === b)) {
    const version = mark === 'IM' ? bytes[124]! | (bytes[125]! << 8) : (bytes[124]! << 8) | bytes[125]!;
    if (version !== 0x0100) return 'mat73';
  }
  if (mark !== undefined && bytes[0] !== 0 && bytes[1] !== 0 && bytes[2] !== 0 && bytes[3] !== 0)
    return 'mat5';
  return 'mat4-or-unknown';
}

/** Reads a level-5 MAT-file from a path (synchronously). */
export function readMatFile(path: string, options: Omit<ReadMat5Options, 'name'> = {}): MatFile {
  return readMat5(readFileSync(path), { ...options, name: path });
}

/**
 * Reads a level-5 MAT-file held in `bytes`.
 * @throws Mat73FileError for a v7.3 (HDF5) MAT-file.
 * @throws MatFormatError for anything else that is not a level-5 MAT-file, or is truncated or corrupt.
 * @throws MatUnsupportedError for a variable of a class the reader does not decode (unless `skipUnsupported`).
 */
export function readMat5(bytes: Uint8Array, options: ReadMat5Options = {}): MatFile {
  const file = options.name ?? '<bytes>';
  const version = detectMatVersion(bytes);
  if (version === 'mat73') throw new Mat73FileError(file);
  if (version !== 'mat5') {
    throw new MatFormatError(
      file,
      bytes.length < HEADER_BYTES
        ? `not a MAT-file: ${bytes.length} bytes, shorter than the ${HEADER_BYTES}-byte level-5 header`
        : 'not a level-5 MAT-file: no IM/MI byte-order mark at byte 126 (level-4 MAT-files are not supported)',
      0,
    );
  }
  const le = bytes[126] === 0x49;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const ver = dv.getUint16(124, le);
  if (ver !== 0x0100) {
    throw new MatFormatError(
      file,
      `unsupported MAT-file version 0x${ver.toString(16)} (level 5 is 0x0100)`,
      124,
    );
  }
  let header = '';
  for (let i = 0; i < HEADER_TEXT_BYTES; i++) header += String.fromCharCode(bytes[i]!);
  header = header.replace(/[\s\0]+$/, '');
  const subsystem = subsystemOffset(bytes, dv, le);

  const wanted = options.variables === undefined ? undefined : new Set(options.variables);
  const variables = new Map<string, MatValue>();
  const end = bytes.length;
  let pos = HEADER_BYTES;
  while (pos < end) {
    if (end - pos < 8) {
      if (allZero(bytes, pos, end)) break;
      throw new MatFormatError(
        file,
        `truncated: ${end - pos} bytes after the last variable, too few for a tag`,
        pos,
      );
    }
    const type = dv.getUint32(pos, le);
    if (type !== MI.MATRIX && type !== MI.COMPRESSED && pos % 8 !== 0) {
      // Padding after a compressed element (MATLAB does not pad those; other writers might).
      const aligned = align8(pos);
      if (allZero(bytes, pos, Math.min(aligned, end))) {
        pos = aligned;
        continue;
      }
    }
    if (type !== MI.MATRIX && type !== MI.COMPRESSED) {
      throw new MatFormatError(file, `expected a matrix or compressed element, found data type ${type}`, pos);
    }
    const n = dv.getUint32(pos + 4, le);
    const start = pos + 8;
    const next = type === MI.COMPRESSED ? start + n : start + align8(n);
    if (pos === subsystem) {
      // Subsystem data (the class definitions of MCOS objects): not a variable.
      pos = next;
      continue;
    }
    if (n > end - start) {
      const name =
        type === MI.COMPRESSED
          ? peekCompressedName(bytes.subarray(start, end), le)
          : peekName(bytes.subarray(start, end), le);
      throw new MatFormatError(
        file,
        `truncated: the ${type === MI.COMPRESSED ? 'compressed ' : ''}element at byte ${pos} needs ${n} bytes, only ${end - start} remain`,
        pos,
        name,
      );
    }
    let ctx: Ctx;
    let matStart: number;
    let matEnd: number;
    if (type === MI.COMPRESSED) {
      const body = bytes.subarray(start, start + n);
      if (wanted !== undefined) {
        const name = peekCompressedName(body, le);
        if (name !== undefined && !wanted.has(name)) {
          pos = next;
          continue;
        }
      }
      let inflated: Uint8Array;
      try {
        inflated = inflateSync(body);
      } catch (e) {
        throw new MatFormatError(
          file,
          `compressed element is damaged: zlib ${zlibProblem(e)}`,
          pos,
          peekCompressedName(body, le),
        );
      }
      ctx = newCtx(file, inflated, le, pos);
      const inner = readEl(ctx, 0, inflated.length);
      if (inner.type !== MI.MATRIX)
        throw fail(ctx, `compressed element holds data type ${inner.type}, not a matrix`, 0);
      matStart = inner.start;
      matEnd = inner.start + inner.n;
    } else {
      ctx = newCtx(file, bytes, le, undefined);
      matStart = start;
      matEnd = start + n;
    }
    try {
      const got = readTopMatrix(ctx, matStart, matEnd, wanted);
      if (got !== undefined) variables.set(got.name, got.value);
    } catch (e) {
      if (!(options.skipUnsupported && e instanceof MatUnsupportedError)) throw e;
    }
    pos = next;
  }
  return { format: 'mat5', header, variables };
}

// ---------------------------------------------------------------------------------------------------------

interface Ctx {
  readonly file: string;
  readonly buf: Uint8Array;
  readonly dv: DataView;
  readonly le: boolean;
  /** File offset of the compressed element `buf` was inflated from; undefined when `buf` is the file. */
  readonly base: number | undefined;
  variable: string | undefined;
  /** Where inside the variable the reader is: '(3)', '.field', '{2}' parts. */
  readonly loc: string[];
  depth: number;
}

function newCtx(file: string, buf: Uint8Array, le: boolean, base: number | undefined): Ctx {
  return {
    file,
    buf,
    dv: new DataView(buf.buffer, buf.byteOffset, buf.byteLength),
    le,
    base,
    variable: undefined,
    loc: [],
    depth: 0,
  };
}

const location = (c: Ctx): string => `${c.variable ?? '?'}${c.loc.join('')}`;

function fail(c: Ctx, reason: string, at: number): MatFormatError {
  const where = c.loc.length > 0 ? ` (in ${location(c)})` : '';
  if (c.base === undefined) return new MatFormatError(c.file, `${reason}${where}`, at, c.variable);
  return new MatFormatError(
    c.file,
    `${reason}${where} at byte ${at} of the decompressed data of the compressed element`,
    c.base,
    c.variable,
  );
}

/** A data element: its type, where its data starts, its byte count and where the next element starts. */
interface El {
  readonly type: number;
  readonly start: number;
  readonly n: number;
  readonly next: number;
  readonly at: number;
}

function readEl(c: Ctx, pos: number, end: number): El {
  if (end - pos < 8) {
    throw fail(c, `truncated: a data element needs at least 8 bytes, ${Math.max(0, end - pos)} remain`, pos);
  }
  const w = c.dv.getUint32(pos, c.le);
  const small = w >>> 16;
  if (small !== 0) {
    if (small > 4) throw fail(c, `small data element claims ${small} bytes (at most 4)`, pos);
    return { type: w & 0xffff, start: pos + 4, n: small, next: pos + 8, at: pos };
  }
  const n = c.dv.getUint32(pos + 4, c.le);
  const start = pos + 8;
  if (n > end - start) {
    throw fail(c, `truncated: a data element of type ${w} needs ${n} bytes, only ${end - start} remain`, pos);
  }
  return { type: w, start, n, next: Math.min(start + align8(n), end), at: pos };
}

/** The data of a numeric element as a fresh typed array of its own type, in host byte order. */
function typedData(c: Ctx, el: El, what: string): MatTypedArray {
  const ctor = MI_ARRAY[el.type];
  if (ctor === undefined) throw fail(c, `${what}: data type ${el.type} is not numeric`, el.at);
  const size = ctor.BYTES_PER_ELEMENT;
  if (el.n % size !== 0)
    throw fail(c, `${what}: ${el.n} bytes is not a whole number of ${size}-byte values`, el.at);
  const out = new ctor(el.n / size);
  const raw = new Uint8Array(out.buffer);
  raw.set(c.buf.subarray(el.start, el.start + el.n));
  if (size > 1 && c.le !== HOST_LITTLE_ENDIAN) swapBytes(raw, size);
  return out;
}

/** The text of an miINT8 element, up to its first NUL. */
function stringOf(c: Ctx, el: El): string {
  const end = el.start + el.n;
  let e = el.start;
  while (e < end && c.buf[e] !== 0) e++;
  return utf8.decode(c.buf.subarray(el.start, e));
}

interface Head {
  readonly cls: number;
  readonly flags: number;
  readonly dims: number[];
  readonly numel: number;
  readonly name: string;
  /** Offset of the element after the name (for opaque objects: unused). */
  readonly pos: number;
  /** For opaque objects: the class name (e.g. 'string', 'table'). */
  readonly opaqueClass?: string;
  readonly at: number;
}

function readHead(c: Ctx, start: number, end: number): Head {
  const fl = readEl(c, start, end);
  if ((fl.type !== MI.UINT32 && fl.type !== MI.INT32) || fl.n < 4) {
    throw fail(c, `array flags: expected a miUINT32 element, found type ${fl.type} of ${fl.n} bytes`, fl.at);
  }
  const word = c.dv.getUint32(fl.start, c.le);
  const cls = word & 0xff;
  const flags = word & 0xff00;
  if (cls === MX.OPAQUE) {
    // Opaque (MCOS) objects: name, type system ('MCOS'), class name, then the object's metadata.
    const strings: string[] = [];
    let p = fl.next;
    for (let i = 0; i < 3 && p < end; i++) {
      const el = readEl(c, p, end);
      strings.push(stringOf(c, el));
      p = el.next;
    }
    return {
      cls,
      flags,
      dims: [1, 1],
      numel: 1,
      name: strings[0] ?? '',
      pos: p,
      opaqueClass: strings[2],
      at: start,
    };
  }
  const de = readEl(c, fl.next, end);
  const rawDims = typedData(c, de, 'dimensions');
  if (rawDims.length === 0) throw fail(c, 'dimensions: none given', de.at);
  const dims: number[] = [];
  let numel = 1;
  for (let i = 0; i < rawDims.length; i++) {
    const d = Number(rawDims[i]!);
    if (!Number.isInteger(d) || d < 0 || d > 0x7fffffff)
      throw fail(c, `dimensions: invalid size ${d}`, de.at);
    dims.push(d);
    numel *= d;
  }
  if (dims.length === 1) dims.push(1);
  if (!Number.isSafeInteger(numel)) throw fail(c, `dimensions ${dims.join('x')} are too large`, de.at);
  const ne = readEl(c, de.next, end);
  if (ne.type !== MI.INT8 && ne.type !== MI.UINT8 && ne.type !== MI.UTF8) {
    throw fail(c, `array name: expected a miINT8 element, found type ${ne.type}`, ne.at);
  }
  return { cls, flags, dims, numel, name: stringOf(c, ne), pos: ne.next, at: start };
}

/** A top-level variable: its name and value, or undefined when `wanted` does not include it. */
function readTopMatrix(
  c: Ctx,
  start: number,
  end: number,
  wanted: ReadonlySet<string> | undefined,
): { name: string; value: MatValue } | undefined {
  if (start === end) {
    if (wanted !== undefined && !wanted.has('')) return undefined;
    return { name: '', value: emptyDouble() };
  }
  const h = readHead(c, start, end);
  c.variable = h.name;
  if (wanted !== undefined && !wanted.has(h.name)) return undefined;
  return { name: h.name, value: readBody(c, h, end) };
}

function readMatrix(c: Ctx, start: number, end: number): MatValue {
  // MATLAB writes an empty 0x0 double inside cells and structs as a matrix element of no bytes.
  if (start === end) return emptyDouble();
  return readBody(c, readHead(c, start, end), end);
}

const emptyDouble = (): MatNumeric => ({
  type: 'numeric',
  class: 'double',
  dims: [0, 0],
  real: new Float64Array(0),
});

function unsupported(c: Ctx, h: Head, className: string): MatUnsupportedError {
  const variable = c.variable ?? h.name;
  return new MatUnsupportedError(
    c.file,
    variable,
    className,
    `${variable}${c.loc.join('')}`,
    c.base === undefined ? h.at : c.base,
  );
}

function readBody(c: Ctx, h: Head, end: number): MatValue {
  if (++c.depth > MAX_NESTING)
    throw fail(c, `cells and structs nested deeper than ${MAX_NESTING} levels`, h.at);
  try {
    const numeric = NUMERIC_BY_MX.get(h.cls);
    if (numeric !== undefined) return readNumeric(c, h, end, numeric.name, numeric.ctor);
    switch (h.cls) {
      case MX.CHAR:
        return readChar(c, h, end);
      case MX.CELL:
        return readCell(c, h, end);
      case MX.STRUCT:
      case MX.OBJECT:
        return readStruct(c, h, end);
      case MX.SPARSE:
        throw unsupported(c, h, 'sparse');
      case MX.FUNCTION:
        throw unsupported(c, h, 'function_handle');
      case MX.OPAQUE:
        throw unsupported(c, h, h.opaqueClass || 'opaque');
      case MX.OBJECT_FROM_MATRIX:
        throw unsupported(c, h, 'object');
      default:
        throw fail(c, `unknown array class ${h.cls}`, h.at);
    }
  } finally {
    c.depth--;
  }
}

function readNumeric(c: Ctx, h: Head, end: number, cls: MatNumeric['class'], ctor: TypedArrayCtor): MatValue {
  const part = (pos: number, what: string): { values: MatTypedArray; next: number } => {
    if (h.numel === 0 && pos >= end) return { values: new ctor(0), next: pos };
    const el = readEl(c, pos, end);
    const raw = typedData(c, el, what);
    if (raw.length !== h.numel) {
      throw fail(c, `${what}: ${raw.length} values for dimensions ${h.dims.join('x')}`, el.at);
    }
    const values = convertTyped(raw, ctor);
    if (values === undefined) throw fail(c, `${what}: non-integer values for class ${cls}`, el.at);
    return { values, next: el.next };
  };
  const re = part(h.pos, 'real part');
  if (h.flags & FLAG_LOGICAL) {
    const data = new Uint8Array(h.numel);
    const r = re.values;
    for (let i = 0; i < data.length; i++) data[i] = r[i] ? 1 : 0;
    return { type: 'logical', dims: h.dims, data };
  }
  if (h.flags & FLAG_COMPLEX) {
    const im = part(re.next, 'imaginary part');
    return { type: 'numeric', class: cls, dims: h.dims, real: re.values, imag: im.values };
  }
  return { type: 'numeric', class: cls, dims: h.dims, real: re.values };
}

function readChar(c: Ctx, h: Head, end: number): MatChar {
  if (h.numel === 0 && h.pos >= end) return { type: 'char', dims: h.dims, data: new Uint16Array(0) };
  const el = readEl(c, h.pos, end);
  let data: Uint16Array;
  if (el.type === MI.UTF8) {
    const s = utf8.decode(c.buf.subarray(el.start, el.start + el.n));
    data = new Uint16Array(s.length);
    for (let i = 0; i < s.length; i++) data[i] = s.charCodeAt(i);
  } else {
    // miUTF16 / miUINT16 hold UTF-16 code units, miUINT8 Latin-1 bytes, miUTF32 code points.
    const raw = typedData(
      c,
      { ...el, type: el.type === MI.UTF16 ? MI.UINT16 : el.type === MI.UTF32 ? MI.UINT32 : el.type },
      'char data',
    );
    if (raw instanceof Uint16Array) data = raw;
    else if (raw instanceof Int16Array) data = new Uint16Array(raw.buffer);
    else if (raw instanceof Uint8Array || raw instanceof Int8Array)
      data = Uint16Array.from(new Uint8Array(raw.buffer));
    else if (raw instanceof Uint32Array || raw instanceof Int32Array) {
      const units: number[] = [];
      for (const cp of new Uint32Array(raw.buffer)) {
        if (cp > 0x10ffff) throw fail(c, `char data: invalid code point ${cp}`, el.at);
        if (cp > 0xffff) units.push(0xd800 + ((cp - 0x10000) >> 10), 0xdc00 + ((cp - 0x10000) & 0x3ff));
        else units.push(cp);
      }
      data = Uint16Array.from(units);
    } else throw fail(c, `char data: data type ${el.type} cannot hold characters`, el.at);
  }
  if (data.length !== h.numel) {
    throw fail(c, `char data: ${data.length} characters for dimensions ${h.dims.join('x')}`, el.at);
  }
  return { type: 'char', dims: h.dims, data };
}

function readCell(c: Ctx, h: Head, end: number): MatValue {
  // Every cell takes at least an 8-byte tag: a count beyond that is a damaged file, not an allocation to try.
  if (h.numel > (end - h.pos) / 8)
    throw fail(c, `cell array of ${h.numel} cells in ${end - h.pos} bytes`, h.at);
  const cells: MatValue[] = new Array(h.numel);
  let pos = h.pos;
  for (let i = 0; i < h.numel; i++) {
    c.loc.push(`{${i + 1}}`);
    const el = readEl(c, pos, end);
    if (el.type !== MI.MATRIX)
      throw fail(c, `cell ${i + 1}: expected a matrix element, found type ${el.type}`, el.at);
    cells[i] = readMatrix(c, el.start, el.start + el.n);
    c.loc.pop();
    pos = el.next;
  }
  return { type: 'cell', dims: h.dims, cells };
}

function readStruct(c: Ctx, h: Head, end: number): MatStruct {
  let pos = h.pos;
  let className: string | undefined;
  if (h.cls === MX.OBJECT) {
    const ce = readEl(c, pos, end);
    className = stringOf(c, ce);
    pos = ce.next;
  }
  const le = readEl(c, pos, end);
  const lenValues = typedData(c, le, 'field name length');
  if (lenValues.length !== 1) throw fail(c, 'field name length: expected one value', le.at);
  const len = Number(lenValues[0]!);
  const ne = readEl(c, le.next, end);
  if (ne.type !== MI.INT8 && ne.type !== MI.UINT8 && ne.type !== MI.UTF8) {
    throw fail(c, `field names: expected a miINT8 element, found type ${ne.type}`, ne.at);
  }
  if (ne.n > 0 && (len <= 0 || ne.n % len !== 0)) {
    throw fail(c, `field names: ${ne.n} bytes is not a whole number of ${len}-byte names`, ne.at);
  }
  const fields: string[] = [];
  for (let p = 0; p < ne.n; p += len) fields.push(stringOf(c, { ...ne, start: ne.start + p, n: len }));
  pos = ne.next;
  const limit = fields.length === 0 ? MAX_FIELDLESS_ELEMENTS : (end - pos) / 8 / fields.length;
  if (h.numel > limit) {
    throw fail(
      c,
      `struct array of ${h.numel} elements with ${fields.length} fields in ${end - pos} bytes`,
      h.at,
    );
  }
  const elements: Record<string, MatValue>[] = new Array(h.numel);
  for (let i = 0; i < h.numel; i++) {
    const rec: Record<string, MatValue> = {};
    for (const f of fields) {
      c.loc.push(h.numel === 1 ? `.${f}` : `(${i + 1}).${f}`);
      const el = readEl(c, pos, end);
      if (el.type !== MI.MATRIX) throw fail(c, `expected a matrix element, found type ${el.type}`, el.at);
      const v = readMatrix(c, el.start, el.start + el.n);
      if (f === '__proto__') Object.defineProperty(rec, f, { value: v, enumerable: true, writable: true });
      else rec[f] = v;
      c.loc.pop();
      pos = el.next;
    }
    elements[i] = rec;
  }
  const out: MatStruct = { type: 'struct', dims: h.dims, fields, elements };
  return className === undefined ? out : { ...out, className };
}

// ---------------------------------------------------------------------------------------------------------

function subsystemOffset(bytes: Uint8Array, dv: DataView, le: boolean): number | undefined {
  let zeros = true;
  let spaces = true;
  for (let i = 116; i < 124; i++) {
    zeros &&= bytes[i] === 0;
    spaces &&= bytes[i] === 0x20;
  }
  if (zeros || spaces) return undefined;
  const off = dv.getBigUint64(116, le);
  return off < BigInt(bytes.length) ? Number(off) : undefined;
}

function allZero(b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (b[i] !== 0) return false;
  return true;
}

function zlibProblem(e: unknown): string {
  const err = e as { code?: unknown; message?: unknown };
  const code = typeof err?.code === 'string' ? `${err.code}: ` : '';
  return `${code}${typeof err?.message === 'string' ? err.message : String(e)}`;
}

/** The name of the matrix whose contents start `bytes` (possibly cut short), or undefined. */
function peekName(bytes: Uint8Array, le: boolean): string | undefined {
  try {
    return readHead(newCtx('', bytes, le, undefined), 0, bytes.length).name;
  } catch {
    return undefined;
  }
}

/** The name of the variable in a compressed element, inflating only the start of its stream. */
function peekCompressedName(body: Uint8Array, le: boolean): string | undefined {
  for (const n of [512, 8192]) {
    const part = body.subarray(0, Math.min(n, body.length));
    let out: Uint8Array;
    try {
      out = inflateSync(part, { finishFlush: zlibConstants.Z_SYNC_FLUSH });
    } catch {
      return undefined;
    }
    if (out.length >= 8) {
      const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
      if (dv.getUint32(0, le) === MI.MATRIX) {
        const name = peekName(out.subarray(8), le);
        if (name !== undefined) return name;
      }
    }
    if (part.length === body.length) return undefined;
  }
  return undefined;
}
