/**
 * MATLAB v7.3 MAT-files: HDF5 files (normally behind a 512-byte user block holding the
 * 'MATLAB 7.3 MAT-file ...' text) in which every top-level object is a variable.
 *
 * The layout, as MATLAB and matio write it:
 * - every variable carries a `MATLAB_class` text attribute ('double', 'single', 'int8'...'uint64', 'logical',
 *   'char', 'struct', 'cell'; other classes are objects, function handles, strings...);
 * - the HDF5 shape is MATLAB's dimensions reversed, so the stored (C-order) data already is MATLAB's
 *   column-major order: a 31x5 matrix is a [5, 31] dataset whose element [c][r] is A(r+1, c+1);
 * - char data is UTF-16 code units (uint16, `MATLAB_int_decode` = 2), logical is uint8 (`MATLAB_int_decode` = 1);
 * - an empty array is a uint64 dataset holding the MATLAB dimensions, in MATLAB order, with `MATLAB_empty` = 1;
 * - complex numbers are a compound type {real, imag};
 * - a scalar struct is a group whose members are its fields (order in `MATLAB_fields`, a variable-length
 *   char array attribute, when present); a struct array is a group in which each field is a dataset of
 *   object references (shape = dims reversed, no `MATLAB_class`) to one value per element in '/#refs#';
 * - a cell array is a dataset of object references (`MATLAB_class` = 'cell') into '/#refs#';
 * - sparse matrices are groups with a `MATLAB_sparse` attribute (not supported here).
 *
 * The reader returns the same `MatValue` tree as the level-5 reader.
 */

import { readFile } from 'node:fs/promises';
import { InvalidOptionError } from '../../errors.js';
import { MatUnsupportedError } from '../mat/errors.js';
import type {
  MatCell,
  MatChar,
  MatFile,
  MatLogical,
  MatNumeric,
  MatNumericClass,
  MatStruct,
  MatTypedArray,
  MatValue,
} from '../mat/mat-value.js';
import { numel } from '../mat/mat-value.js';
import { Hdf5FormatError } from './errors.js';
import {
  attr,
  attrNumber,
  attrString,
  type Dataset,
  type Group,
  H5T,
  type H5Wasm,
  isDataset,
  isGroup,
  prependUserBlock,
  readNumeric,
  toFloat64,
  withHdf5Reader,
  withHdf5Writer,
} from './h5.js';
import { retypeAsVlenOfChar } from './vlen-patch.js';

export interface ReadMat73Options {
  /** Read only these variables (others are skipped without being decoded; names not in the file are ignored). */
  readonly variables?: readonly string[];
}

export interface WriteMat73Options {
  /**
   * The descriptive text put at the start of the 512-byte user block (at most 116 bytes, like MATLAB's
   * 'MATLAB 7.3 MAT-file, Platform: ..., Created on: ... HDF5 schema 1.00 .'). Default: such a text
   * naming edge-bci and the current time.
   */
  readonly header?: string;
  /** Write the 512-byte user block MATLAB writes (default true); false gives a plain HDF5 file. */
  readonly userBlock?: boolean;
}

export interface WriteMat73Result {
  /** Structs written with a `MATLAB_fields` attribute (their field order, in MATLAB's own type). */
  readonly matlabFields: number;
  /** Structs whose `MATLAB_fields` could not be given MATLAB's type and was left out (normally 0). */
  readonly matlabFieldsDropped: number;
}

const NUMERIC_CLASSES: readonly MatNumericClass[] = [
  'double',
  'single',
  'int8',
  'uint8',
  'int16',
  'uint16',
  'int32',
  'uint32',
  'int64',
  'uint64',
];

const DTYPE: Record<MatNumericClass, string> = {
  double: '<d',
  single: '<f',
  int8: '<b',
  uint8: '<B',
  int16: '<h',
  uint16: '<H',
  int32: '<i',
  uint32: '<I',
  int64: '<q',
  uint64: '<Q',
};

function isNumericClass(c: string): c is MatNumericClass {
  return (NUMERIC_CLASSES as readonly string[]).includes(c);
}

function allocate(cls: MatNumericClass, n: number): MatTypedArray {
  switch (cls) {
    case 'double':
      return new Float64Array(n);
    case 'single':
      return new Float32Array(n);
    case 'int8':
      return new Int8Array(n);
    case 'uint8':
      return new Uint8Array(n);
    case 'int16':
      return new Int16Array(n);
    case 'uint16':
      return new Uint16Array(n);
    case 'int32':
      return new Int32Array(n);
    case 'uint32':
      return new Uint32Array(n);
    case 'int64':
      return new BigInt64Array(n);
    case 'uint64':
      return new BigUint64Array(n);
  }
}

function classOfArray(a: MatTypedArray): MatNumericClass {
  if (a instanceof Float64Array) return 'double';
  if (a instanceof Float32Array) return 'single';
  if (a instanceof Int8Array) return 'int8';
  if (a instanceof Uint8Array) return 'uint8';
  if (a instanceof Int16Array) return 'int16';
  if (a instanceof Uint16Array) return 'uint16';
  if (a instanceof Int32Array) return 'int32';
  if (a instanceof Uint32Array) return 'uint32';
  if (a instanceof BigInt64Array) return 'int64';
  return 'uint64';
}

/** Copies `src` into a new array of class `cls` (values converted as MATLAB's cast would not: exactly, or by JS conversion). */
function convert(src: ArrayLike<number | bigint>, cls: MatNumericClass): MatTypedArray {
  const out = allocate(cls, src.length);
  if (out instanceof BigInt64Array || out instanceof BigUint64Array) {
    for (let i = 0; i < src.length; i++) {
      const x = src[i]!;
      out[i] = typeof x === 'bigint' ? x : BigInt(Math.trunc(x));
    }
  } else {
    for (let i = 0; i < src.length; i++) out[i] = Number(src[i]!);
  }
  return out;
}

/** MATLAB dimensions of a dataset: its HDF5 shape reversed, at least two of them. */
function matlabDims(shape: readonly number[]): number[] {
  if (shape.length === 0) return [1, 1];
  const dims = [...shape].reverse();
  if (dims.length === 1) dims.push(1);
  return dims;
}

/** The HDF5 shape that stores MATLAB dimensions `dims`. */
function hdf5Shape(dims: readonly number[]): number[] {
  return [...dims].reverse();
}

// ---------------------------------------------------------------------------------------------------------
// Reading

const MAX_DEPTH = 64;

class Mat73Reader {
  constructor(
    private readonly h5: H5Wasm,
    private readonly path: string,
  ) {}

  private fail(object: string, reason: string): never {
    throw new Hdf5FormatError(this.path, reason, { object });
  }

  private unsupported(variable: string, className: string, location: string): never {
    throw new MatUnsupportedError(this.path, variable, className, location);
  }

  read(obj: Dataset | Group, variable: string, location: string, depth: number): MatValue {
    if (depth > MAX_DEPTH)
      this.fail(obj.path, `values nested more than ${MAX_DEPTH} deep (a reference cycle?)`);
    const cls = attrString(obj, 'MATLAB_class');
    if (attr(obj, 'MATLAB_sparse') !== undefined || cls === 'sparse')
      this.unsupported(variable, 'sparse', location);
    if (attr(obj, 'MATLAB_object_decode') !== undefined) {
      this.unsupported(variable, cls ?? 'object', location);
    }
    if (isGroup(this.h5, obj)) {
      if (cls !== undefined && cls !== 'struct') this.unsupported(variable, cls, location);
      return this.readStructGroup(obj, variable, location, depth);
    }
    const empty = attrNumber(obj, 'MATLAB_empty');
    if (empty !== undefined && empty !== 0) return this.readEmpty(obj, cls, variable, location);
    const meta = obj.metadata;
    const klass = cls ?? inferClass(meta);
    if (klass === undefined)
      this.fail(
        obj.path,
        `has no MATLAB_class and an HDF5 type (class ${meta.type}) that maps to no MATLAB class`,
      );
    const dims = matlabDims(obj.shape ?? []);
    switch (klass) {
      case 'cell':
        return this.readCell(obj, dims, variable, location, depth);
      case 'char':
        return { type: 'char', dims, data: this.readIntegers(obj, 'char') as Uint16Array } satisfies MatChar;
      case 'logical':
        return {
          type: 'logical',
          dims,
          data: this.readIntegers(obj, 'logical') as Uint8Array,
        } satisfies MatLogical;
      case 'struct':
        this.fail(obj.path, 'a struct stored as a dataset must be empty (MATLAB_empty), but it is not');
        break;
      default:
        if (!isNumericClass(klass)) this.unsupported(variable, klass, location);
        return this.readNumericValue(obj, klass, dims);
    }
  }

  private readIntegers(ds: Dataset, kind: 'char' | 'logical'): Uint16Array | Uint8Array {
    const meta = ds.metadata;
    if (meta.type !== H5T.INTEGER && meta.type !== H5T.FLOAT && meta.type !== H5T.ENUM) {
      this.fail(ds.path, `${kind} data must be integers, found HDF5 type class ${meta.type}`);
    }
    const raw = readNumeric(ds);
    if (kind === 'char') {
      if (raw instanceof Uint16Array) return raw;
      const out = new Uint16Array(raw.length);
      for (let i = 0; i < raw.length; i++) out[i] = Number(raw[i]!);
      return out;
    }
    const out = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) out[i] = Number(raw[i]!) !== 0 ? 1 : 0;
    return out;
  }

  private readNumericValue(ds: Dataset, cls: MatNumericClass, dims: number[]): MatNumeric {
    const meta = ds.metadata;
    if (meta.type === H5T.COMPOUND) {
      const members = meta.compound_type?.members ?? [];
      const re = members.findIndex((m) => m.name === 'real');
      const im = members.findIndex((m) => m.name === 'imag');
      if (re < 0 || im < 0) this.fail(ds.path, 'a compound numeric dataset must have members real and imag');
      const rows = ds.value;
      const n = numel(dims);
      if (!Array.isArray(rows) || rows.length !== n)
        this.fail(ds.path, 'complex data does not match its shape');
      const real = allocate(cls, n);
      const imag = allocate(cls, n);
      const big = real instanceof BigInt64Array || real instanceof BigUint64Array;
      for (let i = 0; i < n; i++) {
        const row = rows[i] as unknown[];
        const r = row[re] as number | bigint;
        const m = row[im] as number | bigint;
        if (big) {
          (real as BigInt64Array)[i] = typeof r === 'bigint' ? r : BigInt(r);
          (imag as BigInt64Array)[i] = typeof m === 'bigint' ? m : BigInt(m);
        } else {
          (real as Float64Array)[i] = Number(r);
          (imag as Float64Array)[i] = Number(m);
        }
      }
      return { type: 'numeric', class: cls, dims, real, imag };
    }
    if (meta.type !== H5T.INTEGER && meta.type !== H5T.FLOAT && meta.type !== H5T.ENUM) {
      this.fail(ds.path, `MATLAB class '${cls}' stored with HDF5 type class ${meta.type}, not numbers`);
    }
    const raw = readNumeric(ds);
    const real = classOfArray(raw as MatTypedArray) === cls ? (raw as MatTypedArray) : convert(raw, cls);
    if (real.length !== numel(dims)) this.fail(ds.path, 'data does not match its shape');
    return { type: 'numeric', class: cls, dims, real };
  }

  private readEmpty(ds: Dataset, cls: string | undefined, variable: string, location: string): MatValue {
    // The dataset holds the MATLAB dimensions (in MATLAB order); old writers stored [0 0] or a bare 0.
    let dims: number[];
    try {
      dims = Array.from(toFloat64(readNumeric(ds)));
    } catch {
      dims = [0, 0];
    }
    if (dims.length < 2) dims = [0, 0];
    if (numel(dims) !== 0) {
      // Not a dimension vector of an empty array (some writers store a placeholder value): 0x0.
      dims = [0, 0];
    }
    const klass = cls ?? 'double';
    switch (klass) {
      case 'char':
        return { type: 'char', dims, data: new Uint16Array(0) };
      case 'logical':
        return { type: 'logical', dims, data: new Uint8Array(0) };
      case 'cell':
        return { type: 'cell', dims, cells: [] };
      case 'struct':
        return { type: 'struct', dims, fields: this.fieldNames(ds) ?? [], elements: [] };
      default:
        if (!isNumericClass(klass)) this.unsupported(variable, klass, location);
        return { type: 'numeric', class: klass, dims, real: allocate(klass, 0) };
    }
  }

  /** Object header address → path of every object directly in '/#refs#', built on first use. */
  private refIndex: Map<number, string> | undefined;

  private refTargets(root: Group): Map<number, string> {
    if (this.refIndex === undefined) {
      this.refIndex = new Map();
      const refs = root.get('/#refs#');
      if (isGroup(this.h5, refs)) {
        for (const k of refs.keys()) {
          const path = `/#refs#/${k}`;
          this.refIndex.set(addressOf(root.get(path) as Dataset | Group), path);
        }
      }
    }
    return this.refIndex;
  }

  /**
   * The object a reference points to. HDF5 finds an object reference's name by searching the whole file,
   * which makes files with thousands of cells quadratic; references into '/#refs#' (all of MATLAB's)
   * are looked up by address instead, others go through the library.
   */
  private deref(from: Dataset, ref: unknown, where: string): Dataset | Group {
    if (!(ref instanceof Object) || !('ref_data' in ref) || !(ref.ref_data instanceof Uint8Array)) {
      this.fail(from.path, `${where} is not an object reference`);
    }
    const root = from.root;
    const known = this.refTargets(root).get(littleEndian(ref.ref_data));
    const target =
      known !== undefined ? root.get(known) : from.dereference(ref as Parameters<Dataset['dereference']>[0]);
    if (isDataset(this.h5, target) || isGroup(this.h5, target)) return target;
    this.fail(from.path, `${where} refers to no dataset or group`);
  }

  private references(ds: Dataset, n: number): unknown[] {
    if (ds.metadata.type !== H5T.REFERENCE) this.fail(ds.path, 'expected a dataset of object references');
    const refs = ds.value;
    if (!Array.isArray(refs) || refs.length !== n)
      this.fail(ds.path, 'reference count does not match the shape');
    return refs;
  }

  private readCell(ds: Dataset, dims: number[], variable: string, location: string, depth: number): MatCell {
    const n = numel(dims);
    const refs = n === 0 ? [] : this.references(ds, n);
    const cells = refs.map((ref, i) =>
      this.read(this.deref(ds, ref, `cell ${i + 1}`), variable, `${location}{${i + 1}}`, depth + 1),
    );
    return { type: 'cell', dims, cells };
  }

  /** Field names from `MATLAB_fields` (a variable-length array of char arrays), when the object has it. */
  private fieldNames(obj: Dataset | Group): string[] | undefined {
    const v = attr(obj, 'MATLAB_fields');
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) return undefined;
    const names: string[] = [];
    for (const item of v) {
      if (typeof item === 'string') names.push(item);
      else if (Array.isArray(item))
        names.push(item.map((c) => (typeof c === 'string' ? c : String.fromCharCode(Number(c)))).join(''));
      else if (ArrayBuffer.isView(item)) names.push(String.fromCharCode(...(item as Uint8Array)));
      else return undefined;
    }
    return names.map((s) => s.replace(/\0+$/, ''));
  }

  private readStructGroup(g: Group, variable: string, location: string, depth: number): MatStruct {
    const members = g.keys().filter((k) => !k.startsWith('#'));
    const declared = this.fieldNames(g);
    const fields = declared ?? members;
    for (const f of fields)
      if (!members.includes(f)) this.fail(g.path, `field '${f}' named in MATLAB_fields is missing`);
    const children = new Map<string, Dataset | Group>();
    for (const f of fields) {
      const child = g.get(f);
      if (!isDataset(this.h5, child) && !isGroup(this.h5, child))
        this.fail(`${g.path}/${f}`, 'field is neither a dataset nor a group');
      children.set(f, child);
    }
    // A struct array stores every field as a dataset of references without MATLAB_class.
    const arrayField = fields.find((f) => {
      const c = children.get(f)!;
      return (
        isDataset(this.h5, c) &&
        c.metadata.type === H5T.REFERENCE &&
        attrString(c, 'MATLAB_class') === undefined
      );
    });
    if (arrayField === undefined) {
      const element: Record<string, MatValue> = {};
      for (const f of fields)
        element[f] = this.read(children.get(f)!, variable, `${location}.${f}`, depth + 1);
      return { type: 'struct', dims: [1, 1], fields, elements: [element] };
    }
    const shape = (children.get(arrayField) as Dataset).shape ?? [];
    const dims = matlabDims(shape);
    const n = numel(dims);
    const elements: Record<string, MatValue>[] = Array.from({ length: n }, () => ({}));
    for (const f of fields) {
      const c = children.get(f)!;
      if (
        !isDataset(this.h5, c) ||
        c.metadata.type !== H5T.REFERENCE ||
        attrString(c, 'MATLAB_class') !== undefined
      ) {
        this.fail(c.path, 'in a struct array every field must be a dataset of references');
      }
      const s = c.shape ?? [];
      if (s.length !== shape.length || s.some((d, i) => d !== shape[i])) {
        this.fail(c.path, `field shape [${s.join(',')}] differs from [${shape.join(',')}]`);
      }
      const refs = this.references(c, n);
      refs.forEach((ref, i) => {
        const where = n === 1 ? location : `${location}(${i + 1})`;
        elements[i]![f] = this.read(
          this.deref(c, ref, `element ${i + 1}`),
          variable,
          `${where}.${f}`,
          depth + 1,
        );
      });
    }
    return { type: 'struct', dims, fields, elements };
  }
}

function littleEndian(bytes: Uint8Array): number {
  let v = 0;
  for (let i = bytes.length - 1; i >= 0; i--) v = v * 256 + bytes[i]!;
  return v;
}

/** An object's header address (what an object reference to it holds). */
function addressOf(obj: Dataset | Group): number {
  return littleEndian(obj.create_reference().ref_data);
}

function inferClass(meta: { type: number; size: number; signed: boolean }): string | undefined {
  if (meta.type === H5T.FLOAT) return meta.size === 8 ? 'double' : meta.size === 4 ? 'single' : undefined;
  if (meta.type === H5T.INTEGER) {
    const bits = meta.size * 8;
    if (![8, 16, 32, 64].includes(bits)) return undefined;
    return `${meta.signed ? 'int' : 'uint'}${bits}`;
  }
  if (meta.type === H5T.REFERENCE) return 'cell';
  return undefined;
}

/** The text of a MATLAB user block (the first 116 bytes), trimmed; '' when there is none. */
function headerText(userBlock: Uint8Array): string {
  if (userBlock.length < 128) return '';
  return new TextDecoder('latin1').decode(userBlock.subarray(0, 116)).replace(/[\s\0]+$/, '');
}

/**
 * Reads a MATLAB v7.3 MAT-file. Variables come back in the file's link order (creation order when the
 * file tracks it, otherwise by name, which is what MATLAB's own files give).
 * @throws Hdf5FormatError when the file is not HDF5, is truncated or corrupt, or breaks the v7.3 layout.
 * @throws MatUnsupportedError for sparse matrices, objects, function handles and other undecoded classes.
 */
export async function readMat73(path: string, options: ReadMat73Options = {}): Promise<MatFile> {
  return withHdf5Reader(path, (file, h5, probe) => {
    const reader = new Mat73Reader(h5, path);
    const wanted = options.variables === undefined ? undefined : new Set(options.variables);
    const variables = new Map<string, MatValue>();
    for (const name of file.keys()) {
      if (name.startsWith('#')) continue; // '#refs#', '#subsystem#'
      if (wanted !== undefined && !wanted.has(name)) continue;
      const obj = file.get(name);
      if (!isDataset(h5, obj) && !isGroup(h5, obj)) continue; // links to nothing, named datatypes
      variables.set(name, reader.read(obj, name, name, 0));
    }
    return { format: 'mat73', header: headerText(probe.userBlock), variables } satisfies MatFile;
  });
}

// ---------------------------------------------------------------------------------------------------------
// Writing

const NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

function refName(i: number): string {
  // 'a'..'z', then 'ba', 'bb', ... (a base-26 numbering like MATLAB's own '#refs#' names).
  let s = '';
  let n = i;
  do {
    s = String.fromCharCode(97 + (n % 26)) + s;
    n = Math.floor(n / 26);
  } while (n > 0);
  return s;
}

/** An object given a placeholder `MATLAB_fields` (variable-length strings) to retype after closing. */
interface FieldsAttribute {
  readonly path: string;
  readonly address: number;
}

class Mat73Writer {
  private refs: Group | undefined;
  private nextRef = 0;
  readonly fieldsAttributes: FieldsAttribute[] = [];

  constructor(private readonly root: Group) {}

  private bad(where: string, message: string): never {
    throw new InvalidOptionError('variables', `${where}: ${message}`);
  }

  private refsGroup(): Group {
    if (this.refs === undefined) this.refs = this.root.create_group('#refs#', true);
    return this.refs;
  }

  /** Writes `value` under a fresh name in '/#refs#' and returns a reference to it. */
  private reference(value: MatValue, where: string): ReturnType<Group['create_reference']> {
    const refs = this.refsGroup();
    const name = refName(this.nextRef++);
    const obj = this.write(refs, name, value, where);
    return obj.create_reference();
  }

  private classAttr(obj: Dataset | Group, cls: string): void {
    obj.create_attribute('MATLAB_class', cls, null, `A${cls.length}`);
  }

  private checkDims(dims: readonly number[], length: number, where: string): void {
    if (dims.length < 2 || dims.some((d) => !Number.isInteger(d) || d < 0)) {
      this.bad(where, `dimensions [${dims.join(',')}] must be at least two non-negative integers`);
    }
    if (numel(dims) !== length)
      this.bad(where, `dimensions ${dims.join('x')} do not match ${length} elements`);
  }

  private writeEmpty(
    parent: Group,
    name: string,
    dims: readonly number[],
    cls: string,
    fields?: readonly string[],
  ): Dataset {
    const ds = parent.create_dataset({
      name,
      data: BigUint64Array.from(dims, (d) => BigInt(d)),
      dtype: '<Q',
      track_order: true,
    });
    this.classAttr(ds, cls);
    ds.create_attribute('MATLAB_empty', 1, [], '<B');
    if (fields !== undefined) this.fieldsAttr(ds, fields);
    return ds;
  }

  /**
   * Writes `MATLAB_fields` as variable-length ASCII strings and remembers the object's header address:
   * `writeMat73` retypes it, once the file is closed, into MATLAB's variable-length sequence of
   * characters (which h5wasm cannot create directly; see vlen-patch.ts).
   */
  private fieldsAttr(obj: Dataset | Group, fields: readonly string[]): void {
    if (fields.length === 0) return;
    obj.create_attribute('MATLAB_fields', [...fields], [fields.length], 'A');
    this.fieldsAttributes.push({ path: obj.path, address: addressOf(obj) });
  }

  write(parent: Group, name: string, value: MatValue, where: string): Dataset | Group {
    switch (value.type) {
      case 'numeric': {
        this.checkDims(value.dims, value.real.length, where);
        if (classOfArray(value.real) !== value.class) {
          this.bad(where, `class '${value.class}' does not match its data (${value.real.constructor.name})`);
        }
        if (value.real.length === 0) return this.writeEmpty(parent, name, value.dims, value.class);
        const shape = hdf5Shape(value.dims);
        let ds: Dataset;
        if (value.imag !== undefined) {
          if (value.imag.length !== value.real.length || classOfArray(value.imag) !== value.class) {
            this.bad(where, 'imaginary part does not match the real part');
          }
          const dt = DTYPE[value.class];
          ds = parent.create_dataset({
            name,
            data: new Map<string, MatTypedArray>([
              ['real', value.real],
              ['imag', value.imag],
            ]),
            shape,
            dtype: [
              ['real', dt],
              ['imag', dt],
            ],
          });
        } else {
          ds = parent.create_dataset({ name, data: value.real, shape, dtype: DTYPE[value.class] });
        }
        this.classAttr(ds, value.class);
        return ds;
      }
      case 'logical': {
        this.checkDims(value.dims, value.data.length, where);
        if (value.data.length === 0) return this.writeEmpty(parent, name, value.dims, 'logical');
        const ds = parent.create_dataset({
          name,
          data: value.data,
          shape: hdf5Shape(value.dims),
          dtype: '<B',
        });
        this.classAttr(ds, 'logical');
        ds.create_attribute('MATLAB_int_decode', 1, [], '<i');
        return ds;
      }
      case 'char': {
        this.checkDims(value.dims, value.data.length, where);
        if (value.data.length === 0) return this.writeEmpty(parent, name, value.dims, 'char');
        const ds = parent.create_dataset({
          name,
          data: value.data,
          shape: hdf5Shape(value.dims),
          dtype: '<H',
        });
        this.classAttr(ds, 'char');
        ds.create_attribute('MATLAB_int_decode', 2, [], '<i');
        return ds;
      }
      case 'cell': {
        this.checkDims(value.dims, value.cells.length, where);
        if (value.cells.length === 0) return this.writeEmpty(parent, name, value.dims, 'cell');
        const refs = value.cells.map((c, i) => this.reference(c, `${where}{${i + 1}}`));
        const ds = parent.create_dataset({
          name,
          data: refs,
          shape: hdf5Shape(value.dims),
          dtype: 'Reference',
        });
        this.classAttr(ds, 'cell');
        return ds;
      }
      case 'struct':
        return this.writeStruct(parent, name, value, where);
    }
  }

  private writeStruct(parent: Group, name: string, value: MatStruct, where: string): Dataset | Group {
    if (value.className !== undefined) {
      this.bad(where, `MATLAB objects (class '${value.className}') cannot be written to a v7.3 file`);
    }
    this.checkDims(value.dims, value.elements.length, where);
    for (const f of value.fields) if (!NAME.test(f)) this.bad(where, `'${f}' is not a valid field name`);
    if (new Set(value.fields).size !== value.fields.length) this.bad(where, 'field names repeat');
    for (const [i, e] of value.elements.entries()) {
      for (const f of value.fields)
        if (!Object.hasOwn(e, f)) this.bad(where, `element ${i + 1} lacks field '${f}'`);
    }
    if (value.elements.length === 0) return this.writeEmpty(parent, name, value.dims, 'struct', value.fields);
    const g = parent.create_group(name, true);
    this.classAttr(g, 'struct');
    this.fieldsAttr(g, value.fields);
    const scalar = value.elements.length === 1 && value.dims.every((d) => d === 1);
    if (scalar) {
      const e = value.elements[0]!;
      for (const f of value.fields) this.write(g, f, e[f]!, `${where}.${f}`);
      return g;
    }
    const shape = hdf5Shape(value.dims);
    for (const f of value.fields) {
      const refs = value.elements.map((e, i) => this.reference(e[f]!, `${where}(${i + 1}).${f}`));
      g.create_dataset({ name: f, data: refs, shape, dtype: 'Reference' });
    }
    return g;
  }
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function defaultHeader(now = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const when = `${WEEKDAYS[now.getUTCDay()]} ${MONTHS[now.getUTCMonth()]} ${p(now.getUTCDate())} ${p(now.getUTCHours())}:${p(now.getUTCMinutes())}:${p(now.getUTCSeconds())} ${now.getUTCFullYear()}`;
  return `MATLAB 7.3 MAT-file, Platform: edge-bci, Created on: ${when} HDF5 schema 1.00 .`;
}

/**
 * The 512-byte user block of a v7.3 file: 116 bytes of text padded with spaces, 8 bytes of subsystem
 * offset (unused), version 0x0200 and the endian indicator 'IM' (as in a level-5 header), then zeros.
 */
export function mat73UserBlock(header: string): Uint8Array {
  const block = new Uint8Array(512);
  const text = new Uint8Array(116).fill(0x20);
  for (let i = 0; i < Math.min(116, header.length); i++) {
    const c = header.charCodeAt(i);
    text[i] = c < 0x80 ? c : 0x3f; // '?' for anything beyond ASCII
  }
  block.set(text, 0);
  block.fill(0x20, 116, 124);
  block[124] = 0x00;
  block[125] = 0x02; // version 0x0200, little-endian order as stored by MATLAB
  block[126] = 0x49; // 'I'
  block[127] = 0x4d; // 'M'
  return block;
}

/**
 * Writes MATLAB values as a v7.3 MAT-file (HDF5 with MATLAB's 512-byte user block): numeric (real and
 * complex), logical, char, scalar structs, struct arrays and cell arrays (the last two through object
 * references in '/#refs#'), and empty arrays of any of these classes.
 *
 * Structs get MATLAB's `MATLAB_fields` attribute (field order), whose type (a variable-length sequence of
 * characters) h5wasm cannot create: it is written as variable-length strings and its datatype is rewritten
 * in the closed file (see vlen-patch.ts). Group members are also created in field order.
 * @throws InvalidOptionError for values whose dimensions do not match their data, invalid names, or objects.
 */
export async function writeMat73(
  path: string,
  variables: ReadonlyMap<string, MatValue> | Readonly<Record<string, MatValue>>,
  options: WriteMat73Options = {},
): Promise<WriteMat73Result> {
  const entries = variables instanceof Map ? [...variables.entries()] : Object.entries(variables);
  for (const [name] of entries) {
    if (!NAME.test(name))
      throw new InvalidOptionError('variables', `'${name}' is not a valid MATLAB variable name`);
  }
  const header = options.header ?? defaultHeader();
  let dropped = 0;
  const fields = await withHdf5Writer(
    path,
    (file) => {
      const writer = new Mat73Writer(file);
      for (const [name, value] of entries) writer.write(file, name, value, name);
      return writer.fieldsAttributes;
    },
    async (bytes, tmp, h5, attrs) => {
      let out = bytes;
      const failed = attrs.filter((a) => !retypeAsVlenOfChar(out, a.address, 'MATLAB_fields'));
      if (failed.length > 0) {
        // The header was not laid out as expected: drop those placeholders rather than leave a
        // MATLAB_fields of the wrong type (readers would misread it), and retype the others again.
        const file = new h5.File(tmp, 'a');
        try {
          for (const a of failed) (file.get(a.path) as Dataset | Group).delete_attribute('MATLAB_fields');
        } finally {
          file.close();
        }
        dropped = failed.length;
        out = await readFile(tmp);
        for (const a of attrs) if (!failed.includes(a)) retypeAsVlenOfChar(out, a.address, 'MATLAB_fields');
      }
      return options.userBlock === false ? out : prependUserBlock(out, mat73UserBlock(header));
    },
  );
  return { matlabFields: fields.length - dropped, matlabFieldsDropped: dropped };
}
