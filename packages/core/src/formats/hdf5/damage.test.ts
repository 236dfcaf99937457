import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EdgeBciError, FileFormatError } from '../../errors.js';
import type { RecordedSession } from '../../types.js';
import { Hdf5FormatError } from './errors.js';
import { hasHdf5Signature, loadH5wasm, lookup3 } from './h5.js';
import { readMat73, writeMat73 } from './mat73.js';
import { isNwbFile, readNwb } from './nwb-reader.js';
import { writeNwb } from './nwb-writer.js';
import { retypeAsVlenOfChar } from './vlen-patch.js';

let dir: string;
let nwbBytes: Buffer;
let matBytes: Buffer;

const session: RecordedSession = {
  metadata: {
    channels: 3,
    channelLabels: ['a', 'b', 'c'],
    binWidthUs: 10_000,
    kinematicNames: ['pos_x', 'pos_y'],
  },
  bins: 40,
  counts: Float32Array.from({ length: 120 }, (_, i) => i % 3),
  kinematics: Float64Array.from({ length: 80 }, (_, i) => i / 7),
  startUs: Float64Array.from({ length: 40 }, (_, b) => b * 10_000),
  segmentStarts: [0, 10],
  markers: [{ kind: 'marker', bin: 10, label: 'join', break: true }],
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'edge-bci-hdf5-damage-'));
  await loadH5wasm();
  await writeNwb(join(dir, 'good.nwb'), session);
  nwbBytes = readFileSync(join(dir, 'good.nwb'));
  await writeMat73(join(dir, 'good.mat'), {
    x: { type: 'numeric', class: 'double', dims: [2, 2], real: Float64Array.of(1, 2, 3, 4) },
    s: {
      type: 'struct',
      dims: [1, 2],
      fields: ['a'],
      elements: [
        {
          a: {
            type: 'cell',
            dims: [1, 1],
            cells: [{ type: 'logical', dims: [1, 1], data: Uint8Array.of(1) }],
          },
        },
        { a: { type: 'char', dims: [1, 2], data: Uint16Array.of(104, 105) } },
      ],
    },
  });
  matBytes = readFileSync(join(dir, 'good.mat'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, bytes: Uint8Array | string): string {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
}

/** A small deterministic generator (mulberry32) so damage tests are repeatable. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('damaged and foreign files give named errors', () => {
  it('a truncated NWB file', async () => {
    const p = file('truncated.nwb', nwbBytes.subarray(0, Math.floor(nwbBytes.length / 2)));
    const err = await readNwb(p).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Hdf5FormatError);
    expect(err).toBeInstanceOf(FileFormatError);
    expect((err as Hdf5FormatError).reason).toMatch(/truncated/);
    await expect(isNwbFile(p)).rejects.toBeInstanceOf(Hdf5FormatError);
  });

  it('a truncated v7.3 MAT-file (user block kept, HDF5 data cut)', async () => {
    const p = file('truncated.mat', matBytes.subarray(0, matBytes.length - 100));
    const err = await readMat73(p).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Hdf5FormatError);
    expect((err as Hdf5FormatError).reason).toMatch(/truncated/);
  });

  it('a file cut inside the superblock', async () => {
    await expect(readNwb(file('cut.nwb', nwbBytes.subarray(0, 20)))).rejects.toThrow(/truncated/);
  });

  it('a text file named .nwb', async () => {
    const p = file('notes.nwb', 'session notes\nthis is not HDF5\n'.repeat(40));
    const err = await readNwb(p).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Hdf5FormatError);
    expect((err as Hdf5FormatError).reason).toMatch(/not an HDF5 file/);
    expect(await isNwbFile(p)).toBe(false);
    expect(await hasHdf5Signature(p)).toBe(false);
  });

  it('random bytes', async () => {
    const r = rng(1);
    const bytes = Uint8Array.from({ length: 4096 }, () => Math.floor(r() * 256));
    const p = file('random.mat', bytes);
    await expect(readMat73(p)).rejects.toBeInstanceOf(Hdf5FormatError);
    await expect(readNwb(p)).rejects.toBeInstanceOf(Hdf5FormatError);
  });

  it('an empty file and a level-5 MAT-file', async () => {
    await expect(readMat73(file('empty.mat', new Uint8Array(0)))).rejects.toThrow(/empty/);
    const header = Buffer.alloc(256, 0x20);
    header.write('MATLAB 5.0 MAT-file, Platform: GLNXA64', 0, 'latin1');
    await expect(readMat73(file('level5.mat', header))).rejects.toThrow(/level-5/);
  });

  it('a corrupt superblock checksum', async () => {
    const bytes = Buffer.from(nwbBytes);
    bytes[20]! ^= 0xff; // inside the version-2 superblock, before its checksum
    await expect(readNwb(file('checksum.nwb', bytes))).rejects.toThrow(/checksum/);
  });

  it('bytes overwritten inside the file: a named error or a successful read, never a crash', async () => {
    const r = rng(7);
    let failures = 0;
    for (let trial = 0; trial < 24; trial++) {
      const source = trial % 2 === 0 ? nwbBytes : matBytes;
      const bytes = Buffer.from(source);
      const start = 600 + Math.floor(r() * (bytes.length - 700));
      for (let j = 0; j < 16; j++) bytes[start + j] = Math.floor(r() * 256);
      const p = file(`corrupt-${trial}.${trial % 2 === 0 ? 'nwb' : 'mat'}`, bytes);
      const read = trial % 2 === 0 ? readNwb(p, { binWidthUs: 10_000 }) : readMat73(p);
      const outcome = await read.then(
        () => 'ok',
        (e: unknown) => e,
      );
      if (outcome !== 'ok') {
        failures++;
        expect(outcome, String(outcome)).toBeInstanceOf(EdgeBciError);
      }
    }
    expect(failures).toBeGreaterThan(0); // some of the damage must have been noticed
    // the library still works afterwards
    expect((await readNwb(file('after.nwb', nwbBytes))).session.counts).toEqual(session.counts);
  });
});

describe('HDF5 helpers', () => {
  it('lookup3 matches the reference values of the algorithm', () => {
    // hashlittle("", 0) = 0xdeadbeef; hashlittle("Four score and seven years ago", 0) = 0x17770551
    expect(lookup3(new Uint8Array(0))).toBe(0xdeadbeef);
    expect(lookup3(new TextEncoder().encode('Four score and seven years ago'))).toBe(0x17770551);
  });

  it('leaves bytes untouched when there is no object header to retype', () => {
    const bytes = Uint8Array.from(matBytes);
    expect(retypeAsVlenOfChar(bytes, 0, 'MATLAB_fields')).toBe(false);
    expect(Buffer.compare(bytes, matBytes)).toBe(0);
  });
});
