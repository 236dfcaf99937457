/**
 * Internal helpers shared by the MATLAB v7.3 and NWB readers and writers: loading h5wasm on demand,
 * checking a file's HDF5 superblock before the wasm library sees it (so that text files, random bytes
 * and truncated files give a clear named error instead of library noise), user blocks, and small
 * typed accessors over h5wasm's loosely typed values.
 *
 * h5wasm is always loaded with a dynamic `import()`, never at module load, so that importing
 * `@edge-bci/core` does not instantiate the wasm module.
 */
import { open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Dataset, Entity, Group, File as H5File } from 'h5wasm/node';
import { EdgeBciError } from '../../errors.js';
import { Hdf5FormatError, Hdf5WriteError } from './errors.js';

export type H5Wasm = typeof import('h5wasm/node')['default'];
export type { Dataset, Entity, Group, H5File };

let loading: Promise<H5Wasm> | undefined;

/** Loads and initialises h5wasm's Node build once; later calls reuse it. */
export function loadH5wasm(): Promise<H5Wasm> {
  if (loading === undefined) {
    loading = (async () => {
      const mod = await import('h5wasm/node');
      const h5 = mod.default;
      await h5.ready;
      return h5;
    })();
    loading.catch(() => {
      loading = undefined;
    });
  }
  return loading;
}

// ---------------------------------------------------------------------------------------------------------
// Superblock checks

const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
/** HDF5 looks for its superblock at byte 0 and at every power of two from 512 on. */
const SIGNATURE_OFFSETS = [0, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536];
const HEAD_BYTES = 65536 + 64;

export interface Hdf5Probe {
  /** Byte offset of the HDF5 superblock (the user block's size; 0 without a user block). */
  readonly superblockOffset: number;
  readonly superblockVersion: number;
  readonly fileSize: number;
  /** The bytes before the superblock (MATLAB keeps its 'MATLAB 7.3 MAT-file' text there). */
  readonly userBlock: Uint8Array;
}

function signatureAt(b: Uint8Array, at: number): boolean {
  if (b.length < at + 8) return false;
  for (let i = 0; i < 8; i++) if (b[at + i] !== SIGNATURE[i]) return false;
  return true;
}

/** Little-endian unsigned integer of `size` bytes; `undefined` for HDF5's "undefined address" (all ones). */
function readAddress(b: Uint8Array, at: number, size: number): number | undefined {
  let v = 0n;
  let allOnes = true;
  for (let i = size - 1; i >= 0; i--) {
    const byte = b[at + i]!;
    if (byte !== 0xff) allOnes = false;
    v = (v << 8n) | BigInt(byte);
  }
  return allOnes ? undefined : Number(v);
}

function writeAddress(b: Uint8Array, at: number, size: number, value: number): void {
  let v = BigInt(value);
  for (let i = 0; i < size; i++) {
    b[at + i] = Number(v & 0xffn);
    v >>= 8n;
  }
}

interface SuperblockFields {
  readonly version: number;
  readonly offsetSize: number;
  /** Positions (relative to the superblock) of the base address and end-of-file address fields. */
  readonly baseAt: number;
  readonly eofAt: number;
  /** Position of the checksum (versions 2 and 3), covering the bytes before it. */
  readonly checksumAt: number | undefined;
}

function superblockFields(b: Uint8Array, off: number): SuperblockFields | string {
  const version = b[off + 8];
  if (version === undefined) return 'the superblock is cut off';
  if (version === 0 || version === 1) {
    const offsetSize = b[off + 13]!;
    if (![2, 4, 8].includes(offsetSize)) return `superblock gives an invalid address size ${offsetSize}`;
    const baseAt = version === 0 ? 24 : 28;
    return { version, offsetSize, baseAt, eofAt: baseAt + 2 * offsetSize, checksumAt: undefined };
  }
  if (version === 2 || version === 3) {
    const offsetSize = b[off + 9]!;
    if (![2, 4, 8].includes(offsetSize)) return `superblock gives an invalid address size ${offsetSize}`;
    return { version, offsetSize, baseAt: 12, eofAt: 12 + 2 * offsetSize, checksumAt: 12 + 4 * offsetSize };
  }
  return `unknown HDF5 superblock version ${version}`;
}

/**
 * Checks that `path` is an HDF5 file that is not visibly truncated, without the wasm library.
 * @throws Hdf5FormatError when it is not HDF5, is truncated or has a corrupt superblock.
 */
export async function probeHdf5(path: string): Promise<Hdf5Probe> {
  const fh = await open(path, 'r');
  let head: Uint8Array;
  let fileSize: number;
  try {
    fileSize = (await fh.stat()).size;
    const buf = new Uint8Array(Math.min(HEAD_BYTES, fileSize));
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    head = buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
  if (fileSize === 0) throw new Hdf5FormatError(path, 'not an HDF5 file: the file is empty');
  const off = SIGNATURE_OFFSETS.find((at) => signatureAt(head, at));
  if (off === undefined) {
    const text = new TextDecoder('latin1').decode(head.subarray(0, 20));
    const what = text.startsWith('MATLAB 5.0 MAT-file')
      ? 'a MATLAB level-5 MAT-file, not HDF5 (MATLAB v7.3 or NWB)'
      : `no HDF5 signature at byte ${SIGNATURE_OFFSETS.filter((at) => at < fileSize).join(', ')}`;
    throw new Hdf5FormatError(path, `not an HDF5 file: ${what}`);
  }
  const fields = superblockFields(head, off);
  if (typeof fields === 'string') throw new Hdf5FormatError(path, fields, { offset: off });
  const end = off + (fields.checksumAt ?? fields.eofAt + fields.offsetSize) + 4;
  if (head.length < end) {
    throw new Hdf5FormatError(path, `truncated: the file ends inside the HDF5 superblock`, { offset: off });
  }
  if (fields.checksumAt !== undefined) {
    const stored = new DataView(head.buffer, head.byteOffset).getUint32(off + fields.checksumAt, true);
    const computed = lookup3(head.subarray(off, off + fields.checksumAt));
    if (stored !== computed) {
      throw new Hdf5FormatError(path, 'corrupt: the HDF5 superblock checksum does not match', {
        offset: off,
      });
    }
  }
  const base = readAddress(head, off + fields.baseAt, fields.offsetSize) ?? 0;
  const eof = readAddress(head, off + fields.eofAt, fields.offsetSize);
  if (eof !== undefined) {
    // The stored end-of-file address is absolute, counted from the base address the superblock records
    // (HDF5 moves it along with the superblock when a user block was prepended afterwards).
    const expectedEnd = eof - base + off;
    if (fileSize < expectedEnd) {
      throw new Hdf5FormatError(
        path,
        `truncated: the HDF5 data ends at byte ${expectedEnd} but the file has only ${fileSize} bytes`,
        { offset: fileSize },
      );
    }
  }
  return {
    superblockOffset: off,
    superblockVersion: fields.version,
    fileSize,
    userBlock: head.slice(0, off),
  };
}

/** Whether the file starts with an HDF5 signature (at 0 or after a user block), without other checks. */
export async function hasHdf5Signature(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const buf = new Uint8Array(HEAD_BYTES);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    const head = buf.subarray(0, bytesRead);
    return SIGNATURE_OFFSETS.some((at) => signatureAt(head, at));
  } finally {
    await fh.close();
  }
}

/**
 * Bob Jenkins' lookup3 `hashlittle` with initial value 0: the checksum HDF5 puts in version 2 and 3
 * superblocks and in its newer metadata structures.
 */
export function lookup3(key: Uint8Array, initval = 0): number {
  const rot = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;
  let length = key.length;
  let a = (0xdeadbeef + length + initval) >>> 0;
  let b = a;
  let c = a;
  let i = 0;
  const word = (j: number) =>
    (key[j]! | (key[j + 1]! << 8) | (key[j + 2]! << 16) | (key[j + 3]! << 24)) >>> 0;
  while (length > 12) {
    a = (a + word(i)) >>> 0;
    b = (b + word(i + 4)) >>> 0;
    c = (c + word(i + 8)) >>> 0;
    a = ((a - c) >>> 0) ^ rot(c, 4);
    c = (c + b) >>> 0;
    b = ((b - a) >>> 0) ^ rot(a, 6);
    a = (a + c) >>> 0;
    c = ((c - b) >>> 0) ^ rot(b, 8);
    b = (b + a) >>> 0;
    a = ((a - c) >>> 0) ^ rot(c, 16);
    c = (c + b) >>> 0;
    b = ((b - a) >>> 0) ^ rot(a, 19);
    a = (a + c) >>> 0;
    c = ((c - b) >>> 0) ^ rot(b, 4);
    b = (b + a) >>> 0;
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    length -= 12;
    i += 12;
  }
  if (length === 0) return c;
  // The last 1..12 bytes, little-endian into a, b, c (lookup3's fall-through switch, as a loop).
  for (let j = 0; j < length; j++) {
    const v = (key[i + j]! << ((j & 3) * 8)) >>> 0;
    if (j < 4) a = (a + v) >>> 0;
    else if (j < 8) b = (b + v) >>> 0;
    else c = (c + v) >>> 0;
  }
  c = ((c ^ b) - rot(b, 14)) >>> 0;
  a = ((a ^ c) - rot(c, 11)) >>> 0;
  b = ((b ^ a) - rot(a, 25)) >>> 0;
  c = ((c ^ b) - rot(b, 16)) >>> 0;
  a = ((a ^ c) - rot(c, 4)) >>> 0;
  b = ((b ^ a) - rot(a, 14)) >>> 0;
  c = ((c ^ b) - rot(b, 24)) >>> 0;
  return c;
}

/**
 * Puts `userBlock` (a multiple of 512 bytes) in front of the HDF5 data in `bytes`, which must start with
 * the superblock, and moves the superblock's base and end-of-file addresses (and its checksum) along,
 * as `h5jam` does: the result is what HDF5 writes when a user block is requested at creation.
 */
export function prependUserBlock(bytes: Uint8Array, userBlock: Uint8Array): Uint8Array {
  const size = userBlock.length;
  if (size < 512 || (size & (size - 1)) !== 0)
    throw new RangeError('a user block is 512 bytes or a larger power of two');
  if (!signatureAt(bytes, 0)) throw new RangeError('the HDF5 data does not start with a superblock');
  const fields = superblockFields(bytes, 0);
  if (typeof fields === 'string') throw new RangeError(fields);
  const out = new Uint8Array(size + bytes.length);
  out.set(userBlock, 0);
  out.set(bytes, size);
  const base = readAddress(out, size + fields.baseAt, fields.offsetSize) ?? 0;
  writeAddress(out, size + fields.baseAt, fields.offsetSize, base + size);
  const eof = readAddress(out, size + fields.eofAt, fields.offsetSize);
  if (eof !== undefined) writeAddress(out, size + fields.eofAt, fields.offsetSize, eof + size);
  if (fields.checksumAt !== undefined) {
    const sum = lookup3(out.subarray(size, size + fields.checksumAt));
    new DataView(out.buffer).setUint32(size + fields.checksumAt, sum, true);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Opening, closing and error translation

function message(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  // h5wasm's errors can carry the whole HDF5 error stack: keep the first lines.
  return m.split('\n').slice(0, 3).join(' ').trim() || 'unknown HDF5 error';
}

/** Turns whatever h5wasm threw (an Error, a wasm RuntimeError, a string) into a named error. */
export function asFormatError(path: string, e: unknown, object?: string): EdgeBciError {
  if (e instanceof EdgeBciError) return e;
  const reason =
    e instanceof Error && e.name === 'RuntimeError'
      ? `the HDF5 library aborted while reading (the file is corrupt): ${message(e)}`
      : `the HDF5 library could not read it (the file is corrupt or uses an unsupported feature): ${message(e)}`;
  return new Hdf5FormatError(path, reason, { object, cause: e });
}

/**
 * Checks the superblock, opens the file read-only, runs `fn` and closes the file. Anything h5wasm
 * throws, including wasm aborts, comes out as an `Hdf5FormatError`.
 */
export async function withHdf5Reader<T>(
  path: string,
  fn: (file: H5File, h5: H5Wasm, probe: Hdf5Probe) => T | Promise<T>,
): Promise<T> {
  const abs = resolve(path);
  const probe = await probeHdf5(abs);
  const h5 = await loadH5wasm();
  let file: H5File;
  try {
    file = new h5.File(abs, 'r');
  } catch (e) {
    throw asFormatError(path, e);
  }
  try {
    return await fn(file, h5, probe);
  } catch (e) {
    throw asFormatError(path, e);
  } finally {
    try {
      file.close();
    } catch {
      // closing a file the library already gave up on: nothing more to do
    }
  }
}

/**
 * Writes an HDF5 file through a temporary file beside `path` and renames it into place when `fn` is
 * done, so a failed write never leaves a half-written file under the final name. `finish` may
 * rewrite the bytes (e.g. to prepend a user block).
 */
export async function withHdf5Writer<T>(
  path: string,
  fn: (file: H5File, h5: H5Wasm) => T | Promise<T>,
  finish?: (bytes: Uint8Array, tmpPath: string, h5: H5Wasm, result: T) => Uint8Array | Promise<Uint8Array>,
): Promise<T> {
  const abs = resolve(path);
  const tmp = join(dirname(abs), `.${basename(abs)}.${process.pid}.${Date.now().toString(36)}.tmp`);
  const h5 = await loadH5wasm();
  let file: H5File;
  try {
    file = new h5.File(tmp, 'w', { track_order: true, libver: 'v108' });
  } catch (e) {
    await rm(tmp, { force: true });
    throw new Hdf5WriteError(path, `cannot create the file: ${message(e)}`, { cause: e });
  }
  let result: T;
  let closed = false;
  try {
    result = await fn(file, h5);
    file.close();
    closed = true;
    if (finish !== undefined) await writeFile(tmp, await finish(await readFile(tmp), tmp, h5, result));
    await rename(tmp, abs);
  } catch (e) {
    if (!closed) {
      try {
        file.close();
      } catch {
        // already failing
      }
    }
    await rm(tmp, { force: true });
    if (e instanceof EdgeBciError) throw e;
    throw new Hdf5WriteError(path, `writing failed: ${message(e)}`, { cause: e });
  }
  return result;
}

// ---------------------------------------------------------------------------------------------------------
// Typed accessors

export function isGroup(h5: H5Wasm, e: unknown): e is Group {
  return e instanceof h5.Group;
}

export function isDataset(h5: H5Wasm, e: unknown): e is Dataset {
  return e instanceof h5.Dataset;
}

export function attrNames(obj: Group | Dataset): string[] {
  return Object.keys(obj.attrs);
}

/** An attribute's value, or `undefined` when the object has no such attribute. */
export function attr(obj: Group | Dataset, name: string): unknown {
  const attrs = obj.attrs;
  if (!Object.hasOwn(attrs, name)) return undefined;
  return attrs[name]!.value;
}

function stripNul(s: string): string {
  const i = s.indexOf('\0');
  return i < 0 ? s : s.slice(0, i);
}

/** A text attribute (fixed or variable length, scalar or one-element array) as a string. */
export function attrString(obj: Group | Dataset, name: string): string | undefined {
  const v = attr(obj, name);
  if (typeof v === 'string') return stripNul(v);
  if (Array.isArray(v) && v.length === 1 && typeof v[0] === 'string') return stripNul(v[0]);
  return undefined;
}

/** A numeric attribute (scalar or first element) as a number. */
export function attrNumber(obj: Group | Dataset, name: string): number | undefined {
  const v = attr(obj, name);
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (ArrayBuffer.isView(v) && 'length' in v) {
    const a = v as unknown as ArrayLike<number | bigint>;
    if (a.length > 0) return Number(a[0]);
  }
  if (Array.isArray(v) && v.length > 0 && (typeof v[0] === 'number' || typeof v[0] === 'bigint')) {
    return Number(v[0]);
  }
  return undefined;
}

/** A text attribute holding several strings (e.g. DynamicTable `colnames`). */
export function attrStrings(obj: Group | Dataset, name: string): string[] | undefined {
  const v = attr(obj, name);
  if (typeof v === 'string') return [stripNul(v)];
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v.map(stripNul);
  return undefined;
}

export type NumericArray =
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

/** The HDF5 type class numbers h5wasm reports in `metadata.type`. */
export const H5T = {
  INTEGER: 0,
  FLOAT: 1,
  STRING: 3,
  COMPOUND: 6,
  REFERENCE: 7,
  ENUM: 8,
  VLEN: 9,
  ARRAY: 10,
} as const;

/** A typed array matching an integer or float dataset's storage type, for `n` elements. */
export function typedArrayFor(
  meta: { type: number; size: number; signed: boolean },
  n: number,
): NumericArray {
  if (meta.type === H5T.FLOAT) {
    if (meta.size === 8) return new Float64Array(n);
    if (meta.size === 4) return new Float32Array(n);
  } else if (meta.type === H5T.INTEGER || meta.type === H5T.ENUM) {
    switch (meta.size) {
      case 1:
        return meta.signed ? new Int8Array(n) : new Uint8Array(n);
      case 2:
        return meta.signed ? new Int16Array(n) : new Uint16Array(n);
      case 4:
        return meta.signed ? new Int32Array(n) : new Uint32Array(n);
      case 8:
        return meta.signed ? new BigInt64Array(n) : new BigUint64Array(n);
    }
  }
  throw new TypeError(`not an integer or float type (class ${meta.type}, ${meta.size} bytes)`);
}

/**
 * An integer or float dataset's values as a typed array of its storage type (scalars too, which
 * h5wasm hands back as bare numbers).
 */
export function readNumeric(ds: Dataset): NumericArray {
  const meta = ds.metadata;
  if (meta.type !== H5T.INTEGER && meta.type !== H5T.FLOAT && meta.type !== H5T.ENUM) {
    throw new TypeError(`expected numbers, found HDF5 type class ${meta.type}`);
  }
  const v = ds.value;
  if (ArrayBuffer.isView(v)) return v as NumericArray;
  const out = typedArrayFor(meta, 1);
  if (typeof v === 'bigint') (out as BigInt64Array)[0] = v;
  else if (typeof v === 'number') {
    if (out instanceof BigInt64Array || out instanceof BigUint64Array) out[0] = BigInt(v);
    else out[0] = v;
  } else if (v === null) return typedArrayFor(meta, 0);
  else throw new TypeError('unexpected value for a numeric dataset');
  return out;
}

/** A numeric dataset's values as plain numbers (64-bit integers converted). */
export function readNumbers(ds: Dataset): Float64Array {
  const a = readNumeric(ds);
  return a instanceof Float64Array ? a : toFloat64(a);
}

/** Any numeric typed array as Float64 (64-bit integers converted to the nearest double). */
export function toFloat64(a: NumericArray): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = Number(a[i]!);
  return out;
}

/** A text dataset's values (scalar → one string). */
export function readStrings(ds: Dataset): string[] {
  const v = ds.value;
  if (typeof v === 'string') return [stripNul(v)];
  if (v === null) return [];
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v.map(stripNul);
  throw new TypeError('expected text');
}

/** Dataset shape, with h5wasm's `null` (null dataspace) as []. */
export function shapeOf(ds: Dataset): number[] {
  return ds.shape ?? [];
}
