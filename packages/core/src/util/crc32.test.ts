import { describe, expect, it } from 'vitest';
import { crc32 } from './crc32.js';

describe('crc32', () => {
  it('matches the standard check value', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });
  it('continues a running checksum', () => {
    const b = new TextEncoder().encode('hello, world');
    expect(crc32(b, 5, b.length, crc32(b, 0, 5))).toBe(crc32(b));
  });
  it('is zero for no bytes', () => {
    expect(crc32(new Uint8Array(0))).toBe(0);
  });
});
