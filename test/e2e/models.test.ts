import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { edgeBci } from './cli.js';

let dir: string;
let file: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'edge-bci-models-'));
  file = join(dir, 's.ebci');
  expect(
    (await edgeBci(['simulate', '--seconds', '240', '--channels', '32', '--seed', '3', '-o', file])).code,
  ).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('edge-bci train and decode --model', () => {
  it.each([
    ['wiener', []],
    [
      'mlp',
      [
        '--set',
        'hidden=[16]',
        '--set',
        'epochs=3',
        '--set',
        'history=4',
        '--set',
        'windowBins=4',
        '--set',
        'burnInBins=3',
      ],
    ],
  ])(
    '%s: a saved model decodes exactly as the decoder that was fitted',
    async (kind, extra) => {
      const model = join(dir, `${kind}-model`);
      const t = await edgeBci([
        'train',
        file,
        '--decoder',
        kind,
        '--train-fraction',
        '0.5',
        '-o',
        model,
        '--json',
        ...extra,
      ]);
      expect(t.code, t.stderr).toBe(0);
      const trained = JSON.parse(t.stdout);
      expect(trained.params).toBeGreaterThan(0);
      const fitted = JSON.parse(
        (await edgeBci(['decode', file, '--decoder', kind, '--train-fraction', '0.5', '--json', ...extra]))
          .stdout,
      );
      const loaded = await edgeBci(['decode', file, '--model', model, '--train-fraction', '0.5', '--json']);
      expect(loaded.code, loaded.stderr).toBe(0);
      const l = JSON.parse(loaded.stdout);
      expect(l.model).toBe(model);
      expect(l.trainSeconds).toBeNull();
      expect(l.r2).toEqual(fitted.r2);
      expect(l.params).toBe(trained.params);
    },
    120_000,
  );

  it('names a malformed model directory', async () => {
    const bad = join(dir, 'bad-model');
    rmSync(bad, { recursive: true, force: true });
    const t = await edgeBci(['train', file, '--decoder', 'wiener', '-o', bad]);
    expect(t.code).toBe(0);
    writeFileSync(join(bad, 'weights.bin'), Buffer.alloc(10));
    const r = await edgeBci(['decode', file, '--model', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ModelFormatError/);
    const none = await edgeBci(['decode', file, '--model', join(dir, 'nope')]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/ModelFormatError|no such file/i);
  }, 60_000);

  it('a host that only decodes never imports TensorFlow.js', async () => {
    const model = join(dir, 'mlp-model');
    const script = `
      import { loadDecoder } from '@edge-bci/decoders';
      const d = await loadDecoder(${JSON.stringify(model)});
      const s = d.initialState();
      const out = new Float32Array(d.outputs);
      for (let i = 0; i < 100; i++) d.step(new Float32Array(d.inputs).fill(0.1 * (i % 7)), s, out);
      console.log(JSON.stringify({ tfLoaded: globalThis._tfengine !== undefined, out: Array.from(out) }));
    `;
    const cwd = fileURLToPath(new URL('../../packages/cli/', import.meta.url));
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const o = JSON.parse(r.stdout);
    expect(o.out.every(Number.isFinite)).toBe(true);
    expect(o.tfLoaded).toBe(false);
  }, 60_000);
});
