/**
 * Consistent Overhead Byte Stuffing (Cheshire and Baker, 1999). COBS removes every zero byte from a
 * packet at a cost of at most one byte in 254, so a zero byte can mark the end of every frame on the
 * wire: a receiver that lands in the middle of a frame, or sees bytes corrupted, resynchronises at the
 * next zero.
 */

/** Longest encoding of a packet of `length` bytes (without the trailing delimiter). */
export function cobsMaxEncodedLength(length: number): number {
  return length + Math.ceil(length / 254) + 1;
}

/**
 * Encodes `src[start, end)` into `dst` at `offset` (no delimiter is written).
 * Returns the index just past the encoded bytes. `dst` must hold `cobsMaxEncodedLength(end - start)` bytes.
 */
export function cobsEncodeInto(
  src: Uint8Array,
  start: number,
  end: number,
  dst: Uint8Array,
  offset: number,
): number {
  let codeAt = offset;
  let out = offset + 1;
  let code = 1;
  for (let i = start; i < end; i++) {
    const byte = src[i]!;
    if (byte === 0) {
      dst[codeAt] = code;
      codeAt = out++;
      code = 1;
    } else {
      dst[out++] = byte;
      code++;
      // A full block (254 data bytes) closes here; open a new one only if more input follows, so that
      // input ending exactly at a block boundary gets no extra trailing `01` (canonical COBS).
      if (code === 0xff && i + 1 < end) {
        dst[codeAt] = code;
        codeAt = out++;
        code = 1;
      }
    }
  }
  dst[codeAt] = code;
  return out;
}

/** Encodes a packet; the result contains no zero byte. */
export function cobsEncode(src: Uint8Array): Uint8Array {
  const dst = new Uint8Array(cobsMaxEncodedLength(src.length));
  return dst.subarray(0, cobsEncodeInto(src, 0, src.length, dst, 0));
}

/**
 * Decodes `src[start, end)` (one frame without its delimiter) into `dst` at `offset`, which may be
 * `src` itself with `offset <= start` (decoding never writes ahead of where it reads).
 * Returns the decoded length, or -1 when the bytes are not a valid COBS encoding
 * (a zero byte inside, or a code byte pointing past the end).
 */
export function cobsDecodeInto(
  src: Uint8Array,
  start: number,
  end: number,
  dst: Uint8Array,
  offset: number,
): number {
  let read = start;
  let write = offset;
  while (read < end) {
    const code = src[read]!;
    if (code === 0 || read + code > end) return -1;
    read++;
    for (let k = 1; k < code; k++) {
      const byte = src[read++]!;
      if (byte === 0) return -1;
      dst[write++] = byte;
    }
    // A code below 0xff stands for a zero, except at the very end of the frame.
    if (code !== 0xff && read < end) dst[write++] = 0;
  }
  return write - offset;
}

/** Decodes one frame (without its delimiter); returns undefined when it is not valid COBS. */
export function cobsDecode(src: Uint8Array): Uint8Array | undefined {
  const dst = new Uint8Array(src.length);
  const n = cobsDecodeInto(src, 0, src.length, dst, 0);
  return n < 0 ? undefined : dst.subarray(0, n);
}
