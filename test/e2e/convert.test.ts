import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openRecording, type RecordedSession } from '@edge-bci/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { edgeBci } from './cli.js';
import { dataFile, HAVE_DATA } from './shared-data.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'edge-bci-convert-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every count, kinematic value (to the bit), start time, segment, marker and label is equal. */
function expectSameSession(a: RecordedSession, b: RecordedSession): void {
  expect(b.bins).toBe(a.bins);
  expect(b.metadata.channels).toBe(a.metadata.channels);
  expect(b.metadata.channelLabels).toEqual(a.metadata.channelLabels);
  expect(b.metadata.kinematicNames).toEqual(a.metadata.kinematicNames);
  expect(b.metadata.binWidthUs).toBe(a.metadata.binWidthUs);
  expect(
    Buffer.from(b.counts.buffer, b.counts.byteOffset, b.counts.byteLength).equals(
      Buffer.from(a.counts.buffer, a.counts.byteOffset, a.counts.byteLength),
    ),
  ).toBe(true);
  expect(
    Buffer.from(b.kinematics.buffer, b.kinematics.byteOffset, b.kinematics.byteLength).equals(
      Buffer.from(a.kinematics.buffer, a.kinematics.byteOffset, a.kinematics.byteLength),
    ),
  ).toBe(true);
  expect(Array.from(b.startUs)).toEqual(Array.from(a.startUs));
  expect(b.segmentStarts).toEqual(a.segmentStarts);
  expect(b.markers).toEqual(a.markers);
}

describe.skipIf(!HAVE_DATA)('edge-bci convert and decode on real recordings', () => {
  it.each([
    ['contdata95/contdata95.mat'],
    ['miller-center-out/center_out_data.mat'],
    ['miller-nick-co/Nick_CO_001-01-binned.mat'],
  ])(
    '%s -> .nwb -> .ebci -> .mat keeps every value',
    async (rel) => {
      const src = dataFile(rel);
      const nwb = join(dir, 'a.nwb');
      const ebci = join(dir, 'a.ebci');
      const mat = join(dir, 'a.mat');
      expect((await edgeBci(['convert', src, nwb])).code).toBe(0);
      expect((await edgeBci(['convert', nwb, ebci])).code).toBe(0);
      expect((await edgeBci(['convert', ebci, mat])).code).toBe(0);
      const original = (await openRecording(src)).session;
      const viaNwb = await openRecording(nwb);
      expect(viaNwb.format).toBe('nwb');
      expectSameSession(original, viaNwb.session);
      const viaEbci = await openRecording(ebci);
      expect(viaEbci.integrity.ok).toBe(true);
      expectSameSession(original, viaEbci.session);
      const viaMat = await openRecording(mat);
      expect(viaMat.layout).toBe('edge-bci');
      expectSameSession(original, viaMat.session);
    },
    120_000,
  );

  it('decodes contdata95 with a Wiener filter to a mean velocity R2 of at least 0.72', async () => {
    const r = await edgeBci([
      'decode',
      dataFile('contdata95/contdata95.mat'),
      '--decoder',
      'wiener',
      '--train-fraction',
      '0.7',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.r2.mean).toBeGreaterThanOrEqual(0.72);
  });

  it('info describes every format', async () => {
    const nwb = join(dir, 'info.nwb');
    expect((await edgeBci(['convert', dataFile('miller-center-out/center_out_data.mat'), nwb])).code).toBe(0);
    for (const [file, format, layout] of [
      [dataFile('contdata95/contdata95.mat'), 'MATLAB level 5', 'matrices'],
      [dataFile('miller-center-out/center_out_data.mat'), 'MATLAB level 5', 'trial-data'],
      [dataFile('miller-spike-wf/Spike_07-18-12_WF_001.mat'), 'MATLAB level 5', 'binned-data'],
      [nwb, 'NWB', 'nwb-edge-bci-binned'],
    ] as const) {
      const r = await edgeBci(['info', file, '--json']);
      expect(r.code, r.stderr).toBe(0);
      const info = JSON.parse(r.stdout);
      expect(info.format).toContain(format);
      expect(info.layout).toBe(layout);
    }
    const trials = JSON.parse((await edgeBci(['info', nwb, '--json'])).stdout);
    expect(trials.segments).toBe(286);
  }, 60_000);

  it('names what is wrong with truncated, corrupt and wrong-layout files', async () => {
    const bytes = readFileSync(dataFile('miller-nick-co/Nick_CO_001-01-binned.mat'));
    const cut = join(dir, 'cut.mat');
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const c = await edgeBci(['info', cut]);
    expect(c.code).toBe(1);
    expect(c.stderr).toMatch(/Mat\w*Error/);
    const flipped = Buffer.from(bytes);
    for (let i = 1000; i < 1100; i++) flipped[i]! ^= 0xff;
    const bad = join(dir, 'bad.mat');
    writeFileSync(bad, flipped);
    const f = await edgeBci(['info', bad]);
    expect(f.code).toBe(1);
    expect(f.stderr).toMatch(/Error/);
    const ebci = join(dir, 'x.ebci');
    expect((await edgeBci(['simulate', '--seconds', '5', '-o', ebci])).code).toBe(0);
    const fake = join(dir, 'fake.nwb');
    writeFileSync(fake, 'not hdf5 at all');
    const n = await edgeBci(['info', fake]);
    expect(n.code).toBe(1);
    expect(n.stderr).toMatch(/FileFormatError: .*not a recording/);
    const wrong = await edgeBci([
      'decode',
      dataFile('contdata95/contdata95.mat'),
      '--decoder',
      'wiener',
      '--layout',
      'trial-data',
    ]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/LayoutError: .*trial-data/);
  }, 60_000);
});
