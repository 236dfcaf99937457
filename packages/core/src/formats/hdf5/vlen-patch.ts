/**
 * MATLAB keeps a struct's field names in `MATLAB_fields`, an attribute whose type is a variable-length
 * sequence of 1-character strings (HDF5 `H5T_VLEN` of `H5T_C_S1`, size 1). h5wasm cannot create that type,
 * but it can write a variable-length *string* attribute, whose stored elements are laid out identically:
 * per element a length and a global-heap id, the heap object holding the characters without terminator.
 * Only the attribute's datatype description differs. This module rewrites that description in the closed
 * file's bytes (version 2 object headers, as written with creation-order tracking), shrinking the
 * attribute message by the datatype's size difference and recomputing the header chunk's checksum.
 */
import { lookup3 } from './h5.js';

const OHDR = [0x4f, 0x48, 0x44, 0x52];
const OCHK = [0x4f, 0x43, 0x48, 0x4b];
const MSG_CONTINUATION = 0x10;
const MSG_ATTRIBUTE = 0x0c;

/** VLEN (class 9, version 1) sequence, element size 16, of a 1-byte NUL-terminated ASCII string. */
const VLEN_OF_CHAR = Uint8Array.of(
  0x19,
  0x00,
  0x00,
  0x00,
  0x10,
  0x00,
  0x00,
  0x00,
  0x13,
  0x00,
  0x00,
  0x00,
  0x01,
  0x00,
  0x00,
  0x00,
);

function has(b: Uint8Array, at: number, sig: readonly number[]): boolean {
  return sig.every((x, i) => b[at + i] === x);
}

function uint(b: Uint8Array, at: number, size: number): number {
  let v = 0;
  for (let i = size - 1; i >= 0; i--) v = v * 256 + b[at + i]!;
  return v;
}

function setUint16(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 0xff;
  b[at + 1] = (v >> 8) & 0xff;
}

interface Chunk {
  /** First message byte and end of the message area (checksum position). */
  readonly start: number;
  readonly end: number;
  /** Bytes covered by the chunk's checksum: [sigAt, end). */
  readonly sigAt: number;
}

/**
 * Rewrites the datatype of attribute `name` on the object whose header is at `address` (an offset into
 * `bytes`, the file having no user block) from a variable-length ASCII string to a variable-length
 * sequence of 1-character strings. Returns false, leaving `bytes` untouched, when the header is not laid
 * out as expected (an old-style header, dense attribute storage, another datatype).
 */
export function retypeAsVlenOfChar(
  bytes: Uint8Array,
  address: number,
  name: string,
  offsetSize = 8,
  lengthSize = 8,
): boolean {
  if (!has(bytes, address, OHDR) || bytes[address + 4] !== 2) return false;
  const flags = bytes[address + 5]!;
  let p = address + 6;
  if (flags & 0x20) p += 16; // access, modification, change and birth times
  if (flags & 0x10) p += 4; // max compact / min dense attribute counts
  const sizeBytes = 1 << (flags & 0x03);
  const chunk0Size = uint(bytes, p, sizeBytes);
  p += sizeBytes;
  const crtOrder = (flags & 0x04) !== 0;
  const chunks: Chunk[] = [{ sigAt: address, start: p, end: p + chunk0Size }];
  const wanted = new TextEncoder().encode(`${name}\0`);
  const msgHeader = crtOrder ? 6 : 4;
  for (let c = 0; c < chunks.length; c++) {
    const chunk = chunks[c]!;
    if (chunk.end + 4 > bytes.length) return false;
    let at = chunk.start;
    while (at + msgHeader <= chunk.end) {
      const type = bytes[at]!;
      const size = uint(bytes, at + 1, 2);
      const data = at + msgHeader;
      if (data + size > chunk.end) return false;
      if (type === MSG_CONTINUATION) {
        const to = uint(bytes, data, offsetSize);
        const len = uint(bytes, data + offsetSize, lengthSize);
        if (!has(bytes, to, OCHK) || len < 8) return false;
        chunks.push({ sigAt: to, start: to + 4, end: to + len - 4 });
      } else if (type === MSG_ATTRIBUTE && retypeAttribute(bytes, data, size, wanted)) {
        const sum = lookup3(bytes.subarray(chunk.sigAt, chunk.end));
        bytes[chunk.end] = sum & 0xff;
        bytes[chunk.end + 1] = (sum >>> 8) & 0xff;
        bytes[chunk.end + 2] = (sum >>> 16) & 0xff;
        bytes[chunk.end + 3] = (sum >>> 24) & 0xff;
        return true;
      }
      at = data + size;
    }
  }
  return false;
}

/** Rewrites one attribute message in place when it is `wanted` with a variable-length string type. */
function retypeAttribute(b: Uint8Array, at: number, size: number, wanted: Uint8Array): boolean {
  const version = b[at]!;
  if (version !== 1 && version !== 2 && version !== 3) return false;
  const nameSize = uint(b, at + 2, 2);
  const dtSize = uint(b, at + 4, 2);
  const dsSize = uint(b, at + 6, 2);
  const pad = (n: number) => (version === 1 ? Math.ceil(n / 8) * 8 : n);
  const nameAt = at + (version === 3 ? 9 : 8);
  if (nameSize !== wanted.length) return false;
  for (let i = 0; i < wanted.length; i++) if (b[nameAt + i] !== wanted[i]) return false;
  const dtAt = nameAt + pad(nameSize);
  // The current type must be a variable-length string: class 9, version 1, bit-field type 1 (string).
  if (b[dtAt] !== 0x19 || (b[dtAt + 1]! & 0x0f) !== 1) return false;
  const oldDt = pad(dtSize);
  const newDt = pad(VLEN_OF_CHAR.length);
  const tailAt = dtAt + oldDt;
  const end = at + size;
  if (tailAt + pad(dsSize) > end || newDt > oldDt) return false;
  b.copyWithin(dtAt + newDt, tailAt, end);
  b.fill(0, end - (oldDt - newDt), end);
  b.set(VLEN_OF_CHAR, dtAt);
  if (version === 1) b.fill(0, dtAt + VLEN_OF_CHAR.length, dtAt + newDt);
  setUint16(b, at + 4, VLEN_OF_CHAR.length);
  return true;
}
