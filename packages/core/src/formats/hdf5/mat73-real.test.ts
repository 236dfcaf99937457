/**
 * The v7.3 writer and reader on the real recordings in ../shared/data (MATLAB-written level-5 files with
 * nested struct arrays, cells and char matrices): every variable read by the level-5 reader, written as
 * v7.3 and read back, is the same MatValue tree. Skipped when the shared folder is not there.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MatValue } from '../mat/mat-value.js';
import { readMatFile } from '../mat/mat5-reader.js';
import { loadH5wasm } from './h5.js';
import { readMat73, writeMat73 } from './mat73.js';

const DATA = fileURLToPath(new URL('../../../../../../shared/data/', import.meta.url));
const HAVE_DATA = existsSync(`${DATA}README.md`);

let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'edge-bci-mat73-real-'));
  await loadH5wasm();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Same MatValue tree; typed arrays compared by type and bytes (fast, and exact to the bit). */
function expectSame(a: MatValue | undefined, b: MatValue, where: string): void {
  if (a === undefined) throw new Error(`${where}: missing`);
  expect(a.type, where).toBe(b.type);
  expect(a.dims, `${where} dims`).toEqual(b.dims);
  const bytes = (x: ArrayBufferView) => Buffer.from(x.buffer, x.byteOffset, x.byteLength);
  const same = (x: ArrayBufferView | undefined, y: ArrayBufferView | undefined, what: string) => {
    expect(x?.constructor, `${where} ${what} type`).toBe(y?.constructor);
    if (x !== undefined && y !== undefined) expect(bytes(x).equals(bytes(y)), `${where} ${what}`).toBe(true);
  };
  if (a.type === 'numeric' && b.type === 'numeric') {
    expect(a.class, where).toBe(b.class);
    same(a.real, b.real, 'real');
    same(a.imag, b.imag, 'imag');
  } else if ((a.type === 'char' && b.type === 'char') || (a.type === 'logical' && b.type === 'logical')) {
    same(a.data, b.data, 'data');
  } else if (a.type === 'cell' && b.type === 'cell') {
    expect(a.cells.length, where).toBe(b.cells.length);
    b.cells.forEach((c, i) => {
      expectSame(a.cells[i], c, `${where}{${i + 1}}`);
    });
  } else if (a.type === 'struct' && b.type === 'struct') {
    expect(a.fields, where).toEqual(b.fields);
    expect(a.elements.length, where).toBe(b.elements.length);
    b.elements.forEach((e, i) => {
      for (const f of b.fields) expectSame(a.elements[i]![f], e[f]!, `${where}(${i + 1}).${f}`);
    });
  }
}

describe.skipIf(!HAVE_DATA)('v7.3 round trip of real recordings', () => {
  it.each([
    ['contdata95/contdata95.mat'],
    ['miller-center-out/center_out_data.mat'],
    ['miller-nick-co/Nick_CO_001-01-binned.mat'],
    ['miller-spike-wf/Spike_07-18-12_WF_001.mat'],
  ])('%s', async (rel) => {
    const original = readMatFile(`${DATA}${rel}`);
    const out = join(dir, 'copy.mat');
    await writeMat73(out, original.variables);
    const copy = await readMat73(out);
    expect([...copy.variables.keys()]).toEqual([...original.variables.keys()]);
    for (const [name, value] of original.variables) expectSame(copy.variables.get(name), value, name);
  });
});
