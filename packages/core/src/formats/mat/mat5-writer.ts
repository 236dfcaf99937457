/**
 * Writer of MATLAB level-5 MAT-files, readable by MATLAB (`load`) and scipy.io.loadmat: a 128-byte header
 * (text padded with spaces to 116 bytes, zero subsystem offset, version 0x0100, byte-order mark), then one
 * `miMATRIX` element per variable, each zlib-compressed in an `miCOMPRESSED` element by default (as
 * `save -v7` does; compressed elements are not padded, as MATLAB writes them).
 *
 * Numeric data is written in its class's own type, chars as UTF-8 (`miUTF8`, as MATLAB writes them; UTF-16
 * code units, `miUINT16`, for text with surrogates), logicals as `miUINT8` with the logical flag. Data of
 * 4 bytes or fewer uses the small-element form.
 */
import { writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import { InvalidOptionError } from '../../errors.js';
import { type MatTypedArray, type MatValue, numel } from './mat-value.js';
import {
  convertTyped,
  FLAG_COMPLEX,
  FLAG_LOGICAL,
  HEADER_BYTES,
  HEADER_TEXT_BYTES,
  HOST_LITTLE_ENDIAN,
  MAX_NESTING,
  MI,
  MX,
  miTypeOf,
  NUMERIC_BY_NAME,
  swapBytes,
} from './mat5-format.js';

export interface WriteMat5Options {
  /** Compress each variable with zlib (`miCOMPRESSED`, as MATLAB's default `-v7`); default true. */
  readonly compress?: boolean;
  /**
   * The header's descriptive text (printable ASCII, at most 116 characters); default
   * 'MATLAB 5.0 MAT-file, Platform: <platform>, Created on: <date> by edge-bci'.
   */
  readonly header?: string;
  /** Byte order of the file (default 'little'; 'big' writes an 'MI' file, mostly for tests). */
  readonly byteOrder?: 'little' | 'big';
}

/** MATLAB names (`isvarname`): a letter, then letters, digits or underscores, at most 63 in all. */
const NAME = /^[A-Za-z][A-Za-z0-9_]{0,62}$/;
/** Class names of objects may be qualified by packages (`pkg.Class`). */
const CLASS_NAME = /^[A-Za-z][A-Za-z0-9_.]*$/;

/**
 * The bytes of a level-5 MAT-file holding `variables` (in their iteration order).
 * @throws InvalidOptionError for a name MATLAB would not accept, a bad header, or a value whose data
 * does not match its dimensions.
 */
export function writeMat5(
  variables: ReadonlyMap<string, MatValue> | Readonly<Record<string, MatValue>>,
  options: WriteMat5Options = {},
): Uint8Array {
  const le = (options.byteOrder ?? 'little') === 'little';
  const entries: Array<[string, MatValue]> =
    variables instanceof Map ? [...(variables as ReadonlyMap<string, MatValue>)] : Object.entries(variables);
  const out = new Sink(le, 1024);
  writeHeader(out, options.header ?? defaultHeader(), le);
  for (const [name, value] of entries) {
    if (!NAME.test(name)) {
      throw new InvalidOptionError('variables', `'${name}' is not a valid MATLAB variable name`);
    }
    if (options.compress ?? true) {
      const inner = new Sink(le, 1024);
      writeMatrix(inner, value, name, name, 0);
      const z = deflateSync(inner.bytes());
      if (z.length > 0xffffffff) throw new InvalidOptionError('variables', `'${name}' is larger than 4 GB`);
      out.u32(MI.COMPRESSED);
      out.u32(z.length);
      out.raw(z);
    } else {
      writeMatrix(out, value, name, name, 0);
    }
  }
  return out.bytes();
}

/** Writes a level-5 MAT-file (synchronously); see `writeMat5`. */
export function writeMatFile(
  path: string,
  variables: ReadonlyMap<string, MatValue> | Readonly<Record<string, MatValue>>,
  options: WriteMat5Options = {},
): void {
  writeFileSync(path, writeMat5(variables, options));
}

function defaultHeader(): string {
  const date = new Date().toUTCString().replace(/^\w+, /, '');
  return `MATLAB 5.0 MAT-file, Platform: ${process.platform}, Created on: ${date} by edge-bci`;
}

function writeHeader(out: Sink, text: string, le: boolean): void {
  if (!/^[\x20-\x7e]*$/.test(text) || text.length > HEADER_TEXT_BYTES) {
    throw new InvalidOptionError(
      'header',
      `must be printable ASCII of at most ${HEADER_TEXT_BYTES} characters`,
    );
  }
  const h = new Uint8Array(HEADER_BYTES);
  h.fill(0x20, 0, HEADER_TEXT_BYTES);
  for (let i = 0; i < text.length; i++) h[i] = text.charCodeAt(i);
  // bytes 116..123: subsystem data offset, none (zeros)
  const dv = new DataView(h.buffer);
  dv.setUint16(124, 0x0100, le);
  h[126] = le ? 0x49 : 0x4d; // 'IM' little-endian, 'MI' big-endian
  h[127] = le ? 0x4d : 0x49;
  out.raw(h);
}

/** A growable byte buffer writing numbers in the file's byte order. */
class Sink {
  private buf: Uint8Array;
  private dv: DataView;
  pos = 0;
  constructor(
    readonly le: boolean,
    capacity: number,
  ) {
    this.buf = new Uint8Array(capacity);
    this.dv = new DataView(this.buf.buffer);
  }
  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.pos + n) cap *= 2;
    const b = new Uint8Array(cap);
    b.set(this.buf.subarray(0, this.pos));
    this.buf = b;
    this.dv = new DataView(b.buffer);
  }
  u32(v: number): void {
    this.ensure(4);
    this.dv.setUint32(this.pos, v, this.le);
    this.pos += 4;
  }
  setU32(at: number, v: number): void {
    this.dv.setUint32(at, v, this.le);
  }
  raw(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  /** Values of a typed array, in the file's byte order. */
  values(a: MatTypedArray): void {
    const b = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const at = this.pos;
    this.raw(b);
    if (a.BYTES_PER_ELEMENT > 1 && this.le !== HOST_LITTLE_ENDIAN) {
      swapBytes(this.buf.subarray(at, this.pos), a.BYTES_PER_ELEMENT);
    }
  }
  zeros(n: number): void {
    this.ensure(n);
    this.buf.fill(0, this.pos, this.pos + n);
    this.pos += n;
  }
  pad8(): void {
    this.zeros((8 - (this.pos % 8)) % 8);
  }
  bytes(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

/** A data element: the small form for 1 to 4 bytes, else an 8-byte tag; padded to 8 bytes. */
function element(s: Sink, type: number, data: MatTypedArray): void {
  const n = data.byteLength;
  if (n > 0xffffffff) throw new InvalidOptionError('variables', 'a data element is larger than 4 GB');
  if (n > 0 && n <= 4) {
    s.u32(((n << 16) | type) >>> 0);
    s.values(data);
    s.zeros(4 - n);
  } else {
    s.u32(type);
    s.u32(n);
    s.values(data);
    s.pad8();
  }
}

const utf8 = new TextEncoder();

/** Whether `u` holds a surrogate code unit (a character outside the BMP, or a lone half). */
function hasSurrogate(u: Uint16Array): boolean {
  for (let i = 0; i < u.length; i++) if (u[i]! >= 0xd800 && u[i]! <= 0xdfff) return true;
  return false;
}

function unitsToString(u: Uint16Array): string {
  let s = '';
  for (let i = 0; i < u.length; i += 8192) s += String.fromCharCode(...u.subarray(i, i + 8192));
  return s;
}

function bad(where: string, message: string): InvalidOptionError {
  return new InvalidOptionError('variables', `${where}: ${message}`);
}

function checkDims(dims: readonly number[], count: number, where: string): number[] {
  const d = [...dims];
  while (d.length < 2) d.push(1);
  for (const x of d) {
    if (!Number.isInteger(x) || x < 0 || x > 0x7fffffff) throw bad(where, `invalid dimension ${x}`);
  }
  if (numel(d) !== count) throw bad(where, `${count} values for dimensions ${d.join('x')}`);
  return d;
}

function arrayHead(s: Sink, cls: number, flags: number, dims: number[], name: string): void {
  element(s, MI.UINT32, new Uint32Array([cls | flags, 0]));
  element(s, MI.INT32, Int32Array.from(dims));
  element(s, MI.INT8, utf8.encode(name));
}

function writeMatrix(s: Sink, v: MatValue, name: string, where: string, depth: number): void {
  if (depth >= MAX_NESTING) throw bad(where, `cells and structs nested deeper than ${MAX_NESTING} levels`);
  s.u32(MI.MATRIX);
  const lenAt = s.pos;
  s.u32(0);
  const start = s.pos;
  switch (v.type) {
    case 'numeric': {
      const info = NUMERIC_BY_NAME.get(v.class);
      if (info === undefined) throw bad(where, `unknown numeric class '${String(v.class)}'`);
      const dims = checkDims(v.dims, v.real.length, where);
      const real = convertTyped(v.real, info.ctor);
      const imag = v.imag === undefined ? undefined : convertTyped(v.imag, info.ctor);
      if (real === undefined || (v.imag !== undefined && imag === undefined)) {
        throw bad(where, `non-integer values for class ${v.class}`);
      }
      if (imag !== undefined && imag.length !== real.length) {
        throw bad(where, `imaginary part has ${imag.length} values, real part ${real.length}`);
      }
      arrayHead(s, info.mx, imag === undefined ? 0 : FLAG_COMPLEX, dims, name);
      element(s, miTypeOf(real), real);
      if (imag !== undefined) element(s, miTypeOf(imag), imag);
      break;
    }
    case 'logical': {
      const dims = checkDims(v.dims, v.data.length, where);
      arrayHead(s, MX.UINT8, FLAG_LOGICAL, dims, name);
      element(
        s,
        MI.UINT8,
        v.data.map((x) => (x ? 1 : 0)),
      );
      break;
    }
    case 'char': {
      const dims = checkDims(v.dims, v.data.length, where);
      arrayHead(s, MX.CHAR, 0, dims, name);
      // UTF-8, as MATLAB writes chars (scipy decodes miUINT16 chars with a byte codec, garbling non-ASCII);
      // UTF-16 code units, exact, when there are surrogates: readers disagree on how UTF-8 maps to
      // MATLAB's UTF-16 dims outside the BMP (scipy counts code points), and a lone one has no UTF-8 form.
      if (hasSurrogate(v.data)) element(s, MI.UINT16, v.data);
      else element(s, MI.UTF8, utf8.encode(unitsToString(v.data)));
      break;
    }
    case 'cell': {
      const dims = checkDims(v.dims, v.cells.length, where);
      arrayHead(s, MX.CELL, 0, dims, name);
      v.cells.forEach((c, i) => {
        writeMatrix(s, c, '', `${where}{${i + 1}}`, depth + 1);
      });
      break;
    }
    case 'struct': {
      const dims = checkDims(v.dims, v.elements.length, where);
      const isObject = v.className !== undefined;
      arrayHead(s, isObject ? MX.OBJECT : MX.STRUCT, 0, dims, name);
      if (isObject) {
        if (!CLASS_NAME.test(v.className!)) throw bad(where, `'${v.className}' is not a valid class name`);
        element(s, MI.INT8, utf8.encode(v.className!));
      }
      const seen = new Set<string>();
      for (const f of v.fields) {
        if (!NAME.test(f)) throw bad(where, `'${f}' is not a valid MATLAB field name`);
        if (seen.has(f)) throw bad(where, `field '${f}' is listed twice`);
        seen.add(f);
      }
      const len = v.fields.reduce((m, f) => Math.max(m, f.length + 1), 1);
      element(s, MI.INT32, new Int32Array([len]));
      const names = new Uint8Array(len * v.fields.length);
      v.fields.forEach((f, i) => {
        for (let j = 0; j < f.length; j++) names[i * len + j] = f.charCodeAt(j);
      });
      element(s, MI.INT8, names);
      v.elements.forEach((e, i) => {
        for (const f of v.fields) {
          const at = v.elements.length === 1 ? `${where}.${f}` : `${where}(${i + 1}).${f}`;
          if (!Object.hasOwn(e, f))
            throw bad(at, 'missing: every element of a struct array needs every field');
          writeMatrix(s, e[f]!, '', at, depth + 1);
        }
      });
      break;
    }
    default:
      throw bad(where, `unknown value type '${String((v as { type?: unknown }).type)}'`);
  }
  const n = s.pos - start;
  if (n > 0xffffffff) throw bad(where, 'larger than 4 GB');
  s.setU32(lenAt, n);
}
