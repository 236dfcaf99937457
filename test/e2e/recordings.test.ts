import { readdirSync } from 'node:fs';
import { openRecording, type RecordedSession } from '@edge-bci/core';
import { describe, expect, it } from 'vitest';
import { DATA, dataFile, HAVE_DATA } from './shared-data.js';

const sum = (a: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s;
};
const row = (s: RecordedSession, i: number) =>
  Array.from(s.counts.subarray(i * s.metadata.channels, (i + 1) * s.metadata.channels));
const kinRow = (s: RecordedSession, i: number) => {
  const k = s.metadata.kinematicNames.length;
  return Array.from(s.kinematics.subarray(i * k, (i + 1) * k));
};
const kinColumn = (s: RecordedSession, name: string) => {
  const k = s.metadata.kinematicNames.length;
  const c = s.metadata.kinematicNames.indexOf(name);
  return Array.from({ length: s.bins }, (_, i) => s.kinematics[i * k + c]!);
};

describe.skipIf(!HAVE_DATA)('the real recordings in ../shared/data, read as sessions', () => {
  it('contdata95.mat: two plain matrices', async () => {
    const r = await openRecording(dataFile('contdata95/contdata95.mat'));
    expect(r.format).toBe('mat5');
    expect(r.layout).toBe('matrices');
    expect(r.variables).toEqual(['Y', 'X']);
    const s = r.session;
    expect(s.metadata.channels).toBe(95);
    expect(s.bins).toBe(31413);
    expect(sum(s.counts)).toBe(3_813_312);
    expect(row(s, 0).slice(0, 5)).toEqual([3, 0, 0, 2, 0]);
    expect(s.metadata.kinematicNames).toEqual(['pos_x', 'pos_y', 'vel_x', 'vel_y']);
    const r101 = kinRow(s, 100);
    [2.34005595, -7.98074947, -1.46258316, -2.29316057].forEach((v, i) => {
      expect(r101[i]).toBeCloseTo(v, 8);
    });
    const sums = [-282389.04067994, -59695.62922564, 19678.35384794, 73812.32884847];
    s.metadata.kinematicNames.forEach((n, i) => {
      expect(Math.abs(sum(kinColumn(s, n)) - sums[i]!) / Math.abs(sums[i]!)).toBeLessThan(1e-10);
    });
    expect(r.assumptions.join(' ')).toMatch(/assumed 50 ms/);
  });

  it('center_out_data.mat: a TrialData struct array joined into one session', async () => {
    const r = await openRecording(dataFile('miller-center-out/center_out_data.mat'));
    expect(r.layout).toBe('trial-data');
    expect(r.trials).toBe(286);
    const s = r.session;
    expect(s.bins).toBe(22_263);
    expect(s.metadata.channels).toBe(84);
    expect(s.metadata.binWidthUs).toBe(50_000);
    expect(sum(s.counts)).toBe(1_073_553);
    // Every trial is its own segment, so no history window crosses a join.
    expect(s.segmentStarts).toHaveLength(286);
    expect(s.segmentStarts.slice(0, 2)).toEqual([0, 91]);
    expect(s.markers.filter((m) => m.label === 'trial' && m.break)).toHaveLength(286);
    expect(s.markers.some((m) => m.label === 'go_cue' && !m.break)).toBe(true);
    expect(s.metadata.channelLabels.slice(0, 3)).toEqual(['elec1u1', 'elec1u2', 'elec3u1']);
    expect(s.metadata.kinematicNames).toEqual(['pos_x', 'pos_y', 'vel_x', 'vel_y', 'acc_x', 'acc_y']);
  });

  it('Nick_CO_001 and 002: binnedData structs, rates turned into counts', async () => {
    const a = await openRecording(dataFile('miller-nick-co/Nick_CO_001-01-binned.mat'));
    expect(a.layout).toBe('binned-data');
    expect(a.session.bins).toBe(11_880);
    expect(a.session.metadata.channels).toBe(97);
    expect(a.session.metadata.binWidthUs).toBe(50_000);
    // spikeratedata sums to 22,897,320 spikes/s; x 0.05 s gives whole counts.
    expect(sum(a.session.counts)).toBe(Math.round(22_897_320 * 0.05));
    expect(a.session.metadata.channelLabels[0]).toBe('ee01u1');
    expect(Array.from(a.session.startUs.subarray(0, 2))).toEqual([1_000_000, 1_050_000]);
    const p = kinRow(a.session, 0);
    expect(p[0]).toBeCloseTo(0.48026797, 6);
    expect(p[1]).toBeCloseTo(-33.89168, 5);
    expect(a.session.metadata.kinematicNames.slice(0, 4)).toEqual(['pos_x', 'pos_y', 'vel_x', 'vel_y']);

    const b = await openRecording(dataFile('miller-nick-co/Nick_CO_002-01-binned.mat'));
    expect(b.session.bins).toBe(12_880);
    expect(b.session.metadata.channels).toBe(95);
    expect(sum(b.session.counts)).toBe(Math.round(23_193_720 * 0.05));
    const q = kinRow(b.session, 0);
    expect(q[0]).toBeCloseTo(4.177471, 5);
    expect(q[1]).toBeCloseTo(-42.057777, 5);
  });

  it('Spike_*: every day of the wrist series', async () => {
    const first = await openRecording(dataFile('miller-spike-wf/Spike_07-18-12_WF_001.mat'));
    expect(first.layout).toBe('binned-data');
    expect(first.session.bins).toBe(24_000);
    expect(first.session.metadata.channels).toBe(96);
    expect(sum(first.session.counts)).toBe(Math.round(29_011_840 * 0.05));
    expect(first.session.metadata.channelLabels[0]).toBe('ee01u0');
    expect(Array.from(first.session.startUs.subarray(0, 2))).toEqual([0, 50_000]);
    const second = await openRecording(dataFile('miller-spike-wf/Spike_07-19-12_WF_001.mat'));
    expect(second.session.bins).toBe(24_000);
    expect(sum(second.session.counts)).toBe(Math.round(62_141_120 * 0.05));
    const days = readdirSync(`${DATA}miller-spike-wf`).filter((f) => f.endsWith('.mat'));
    expect(days).toHaveLength(10);
    for (const d of days) {
      const r = await openRecording(dataFile(`miller-spike-wf/${d}`));
      expect(r.session.metadata.channels).toBe(96);
      expect(r.session.metadata.channelLabels).toEqual(first.session.metadata.channelLabels);
      expect(r.session.bins).toBeGreaterThan(20_000);
    }
  }, 60_000);
});
