import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { edgeBci } from './cli.js';

let dir: string;
let file: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'edge-bci-e2e-'));
  file = join(dir, 's.ebci');
  const r = await edgeBci(['simulate', '--seconds', '600', '--seed', '1', '-o', file]);
  expect(r.stderr).not.toMatch(/error/i);
  expect(r.code).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('edge-bci simulate', () => {
  it('gives identical files for one seed and different files for another', async () => {
    const again = join(dir, 'again.ebci');
    const other = join(dir, 'other.ebci');
    expect((await edgeBci(['simulate', '--seconds', '600', '--seed', '1', '-o', again])).code).toBe(0);
    expect((await edgeBci(['simulate', '--seconds', '600', '--seed', '2', '-o', other])).code).toBe(0);
    const a = readFileSync(file);
    expect(readFileSync(again).equals(a)).toBe(true);
    expect(readFileSync(other).equals(a)).toBe(false);
  });

  it('applies drift knobs and rejects unknown ones', async () => {
    const drifted = join(dir, 'drift.ebci');
    const ok = await edgeBci([
      'simulate',
      '--seconds',
      '20',
      '-o',
      drifted,
      '--drift',
      'deadChannels=0.5',
      '--json',
    ]);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout).drift).toEqual({ deadChannels: 0.5 });
    const bad = await edgeBci(['simulate', '--seconds', '20', '-o', drifted, '--drift', 'wobble=1']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown drift knob 'wobble'/);
  });
});

describe('edge-bci decode', () => {
  it('decodes a simulated session with a Wiener filter to a mean velocity R2 of at least 0.6', async () => {
    const r = await edgeBci(['decode', file, '--decoder', 'wiener', '--train-fraction', '0.5', '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(Object.keys(out)).toEqual(
      expect.arrayContaining(['decoder', 'r2', 'bins', 'trainSeconds', 'stepLatencyUs', 'binsPerSecond']),
    );
    expect(out.decoder).toBe('wiener');
    expect(out.bins).toBe(6000);
    expect(out.r2.mean).toBeGreaterThanOrEqual(0.6);
    expect(out.r2.mean).toBeCloseTo((out.r2.x + out.r2.y) / 2, 3);
    expect(out.stepLatencyUs.p99).toBeGreaterThanOrEqual(out.stepLatencyUs.p50);
    expect(out.binsPerSecond).toBeGreaterThan(0);
  });

  it('decodes position too', async () => {
    const r = await edgeBci(['decode', file, '--decoder', 'wiener', '--target', 'position', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).target).toBe('position');
  });
});

describe('edge-bci info', () => {
  it('describes a session file', async () => {
    const r = await edgeBci(['info', file, '--json']);
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(info).toMatchObject({
      format: 'edge-bci session v1',
      channels: 96,
      bins: 12000,
      binWidthMs: 50,
      durationSeconds: 600,
      kinematicNames: ['pos_x', 'pos_y', 'vel_x', 'vel_y'],
    });
    expect(info.integrity.ok).toBe(true);
    const text = await edgeBci(['info', file]);
    expect(text.stdout).toMatch(/channels\s+96/);
    expect(text.stdout).toMatch(/intact/);
  });

  it('reports a file cut off mid-write, and still decodes what it holds', async () => {
    const bytes = readFileSync(file);
    const cut = join(dir, 'cut.ebci');
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * 0.8) + 7));
    const r = await edgeBci(['info', cut, '--json']);
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(info.integrity.ok).toBe(false);
    expect(info.integrity.cleanClose).toBe(false);
    expect(info.integrity.truncated.atByte).toBeLessThan(bytes.length);
    expect(info.bins).toBeGreaterThan(9000);
    expect(info.bins).toBeLessThan(12000);
    const d = await edgeBci(['decode', cut, '--decoder', 'wiener', '--json']);
    expect(d.code).toBe(0);
    expect(JSON.parse(d.stdout).integrity.truncated).toBeDefined();
  });

  it('reports a corrupted chunk and skips it', async () => {
    const bytes = Buffer.from(readFileSync(file));
    bytes[Math.floor(bytes.length / 2)]! ^= 0x40;
    const bad = join(dir, 'flipped.ebci');
    writeFileSync(bad, bytes);
    const r = await edgeBci(['info', bad, '--json']);
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(info.integrity.corrupt).toHaveLength(1);
    expect(info.bins).toBeLessThan(12000);
    expect(info.segments).toBe(2);
  });
});

describe('bad input', () => {
  it('names a missing file', async () => {
    const r = await edgeBci(['info', join(dir, 'nope.ebci')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no such file/i);
  });
  it('names a file that is not a session', async () => {
    const junk = join(dir, 'junk.ebci');
    writeFileSync(junk, 'this is not a recording');
    const r = await edgeBci(['info', junk]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/FileFormatError/);
    const txt = join(dir, 'notes.txt');
    writeFileSync(txt, 'hello');
    const t = await edgeBci(['decode', txt, '--decoder', 'wiener']);
    expect(t.code).toBe(1);
    expect(t.stderr).toMatch(/not a recording the SDK reads/);
  });
  it('explains wrong usage with exit code 2', async () => {
    expect((await edgeBci(['frobnicate'])).code).toBe(2);
    const noDecoder = await edgeBci(['decode', file]);
    expect(noDecoder.code).toBe(2);
    expect(noDecoder.stderr).toMatch(/needs --decoder/);
    const badKind = await edgeBci(['decode', file, '--decoder', 'magic']);
    expect(badKind.code).toBe(2);
    expect(badKind.stderr).toMatch(/--decoder must be one of/);
    const badNumber = await edgeBci(['simulate', '-o', join(dir, 'x.ebci'), '--seconds', 'ten']);
    expect(badNumber.code).toBe(2);
    expect(badNumber.stderr).toMatch(/--seconds must be a number/);
    const unknownFlag = await edgeBci(['info', file, '--colour']);
    expect(unknownFlag.code).toBe(2);
  });
  it('names what is wrong with an acquisition or firmware command line, and a port that is not a device', async () => {
    const noPort = await edgeBci(['acquire']);
    expect(noPort.code).toBe(2);
    expect(noPort.stderr).toMatch(/needs --port/);
    const badRecord = await edgeBci([
      'acquire',
      '--port',
      '/dev/null',
      '--record',
      join(dir, 'no-dir', 'x.ebci'),
    ]);
    expect(badRecord.code).toBe(2);
    expect(badRecord.stderr).toMatch(/--record: cannot write in/);
    const missing = await edgeBci([
      'acquire',
      '--port',
      join(dir, 'no-such-port'),
      '--connect-timeout-ms',
      '200',
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/DeviceNotFoundError: no device at/);
    const notSerial = await edgeBci(['acquire', '--port', file, '--connect-timeout-ms', '200']);
    expect(notSerial.code).toBe(1);
    expect(notSerial.stderr).toMatch(/PortOpenError: cannot open/);
    const both = await edgeBci(['firmware', '--pty', '--port', '/dev/null']);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/one of --port PATH or --pty/);
    const badRate = await edgeBci(['firmware', '--pty', '--flip-rate', '2']);
    expect(badRate.code).toBe(2);
    expect(badRate.stderr).toMatch(/--flip-rate must be between 0 and 1/);
  });
  it('prints help', async () => {
    const r = await edgeBci(['decode', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--train-fraction/);
  });
});

describe('edge-bci demo', () => {
  it('runs the live pipeline end to end and summarises it', async () => {
    const r = await edgeBci(['demo', '--speed', '100', '--train-seconds', '60', '--seconds', '15', '--json']);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.trainBins).toBe(1200);
    expect(s.liveBins).toBe(300);
    expect(s.gaps).toBe(0);
    expect(s.r2.mean).toBeGreaterThan(0.5);
    for (const stage of ['bin', 'normalise', 'decode', 'integrate', 'total']) {
      expect(s.latencyUs[stage].p99).toBeGreaterThanOrEqual(s.latencyUs[stage].p50);
    }
  });
});
