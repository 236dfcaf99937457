import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evaluateStreaming } from '@edge-bci/cli';
import { readSessionFile } from '@edge-bci/core';
import { loadDecoder } from '@edge-bci/decoders';
import { afterEach, describe, expect, it } from 'vitest';
import { edgeBci } from './cli.js';
import { killAll, startEdgeBci } from './processes.js';

let dirs: string[] = [];
afterEach(async () => {
  await killAll();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

describe('edge-bci acquire --model: live decoding of a device', () => {
  it('decodes every bin through the pty as the same model does offline on the recording', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edge-bci-live-'));
    dirs.push(dir);
    // A Wiener filter trained on the simulator (seed 7, 20 ms bins).
    const session = join(dir, 'train.ebci');
    const model = join(dir, 'model');
    expect(
      (await edgeBci(['simulate', '-o', session, '--seconds', '60', '--seed', '7', '--bin-ms', '20'])).code,
    ).toBe(0);
    const trained = await edgeBci(['train', session, '--decoder', 'wiener', '-o', model]);
    expect(trained.code, trained.stderr).toBe(0);

    const fw = startEdgeBci([
      'firmware',
      '--pty',
      '--pty-dir',
      dir,
      '--seed',
      '7',
      '--seconds',
      '4',
      '--json',
    ]);
    await fw.waitFor(/"event":"ready"/);
    const record = join(dir, 'live.ebci');
    const acq = startEdgeBci([
      'acquire',
      '--port',
      join(dir, 'host'),
      '--model',
      model,
      '--record',
      record,
      '--json',
    ]);
    const [a] = await Promise.all([acq.exited, fw.exited]);
    expect(a.code, a.stderr).toBe(0);
    const result = JSON.parse(a.stdout) as {
      binsEmitted: number;
      decoder: {
        kind: string;
        bins: number;
        r2: Record<string, number>;
        stepLatencyUs: { p50: number; p99: number };
        frameToOutputLatencyUs: { p50: number; p99: number };
      };
    };
    // The model's 20 ms bins were taken as the acquisition's bin width.
    expect(result.binsEmitted).toBe(200);
    expect(result.decoder.kind).toBe('wiener');
    expect(result.decoder.bins).toBe(result.binsEmitted);
    expect(result.decoder.stepLatencyUs.p99).toBeGreaterThan(0);
    expect(result.decoder.frameToOutputLatencyUs.p50).toBeGreaterThan(result.decoder.stepLatencyUs.p50);

    // The same model over the recorded bins, offline, scores the same: the live path is the offline path.
    const contents = readSessionFile(record);
    const offline = await evaluateStreaming(
      await loadDecoder(model),
      contents.session,
      0,
      contents.session.bins,
    );
    expect(offline.bins).toBe(result.binsEmitted);
    for (const name of ['vel_x', 'vel_y', 'mean']) {
      expect(result.decoder.r2[name]).toBeCloseTo(offline.report.r2[name]!, 3);
    }
    // (The stream replays the simulator from its start, which the model saw in training: this R2 is in-sample.)
    expect(result.decoder.r2.mean).toBeGreaterThan(0.5);
  }, 60_000);

  it('refuses a model whose bin width differs from --bin-ms', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edge-bci-live-'));
    dirs.push(dir);
    const session = join(dir, 'train.ebci');
    const model = join(dir, 'model');
    await edgeBci(['simulate', '-o', session, '--seconds', '20', '--bin-ms', '50']);
    await edgeBci(['train', session, '--decoder', 'wiener', '-o', model]);
    const r = await edgeBci(['acquire', '--port', '/dev/null', '--model', model, '--bin-ms', '20']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--bin-ms 20 differs from the model's 50 ms bins/);
  }, 30_000);
});
