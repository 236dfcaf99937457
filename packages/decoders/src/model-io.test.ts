import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RecordedSession } from '@edge-bci/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDecoder, registerDecoderKind, registeredDecoderKinds } from './decoder-registry.js';
import { ModelFormatError } from './errors.js';
import { predictSession } from './evaluate.js';
import { loadModelDir, saveModelDir } from './model-io.js';
import { WienerDecoder } from './wiener/wiener.js';

function makeSession(bins: number, C: number, seed: number): RecordedSession {
  let s = seed;
  const rand = () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
  const counts = Float32Array.from({ length: bins * C }, () => Math.floor(rand() * 6));
  const kin = new Float64Array(bins * 2);
  for (let t = 1; t < bins; t++) {
    kin[t * 2] = 0.3 * counts[t * C] - 0.2 * counts[(t - 1) * C + 1] + 0.1 * rand();
    kin[t * 2 + 1] = 0.5 * counts[t * C + 2] + 0.1 * rand();
  }
  return {
    metadata: {
      channels: C,
      channelLabels: Array.from({ length: C }, (_, i) => `u${i}`),
      binWidthUs: 50_000,
      kinematicNames: ['vx', 'vy'],
    },
    bins,
    counts,
    kinematics: kin,
    startUs: Float64Array.from({ length: bins }, (_, i) => i * 50_000),
    segmentStarts: [0, 200],
    markers: [],
  };
}

let root: string;
let good: string;
let decoder: WienerDecoder;
const session = makeSession(400, 6, 42);

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'edge-bci-model-io-'));
  decoder = new WienerDecoder({ history: 3 });
  await decoder.fit(session, { trainBins: 300 });
  good = join(root, 'good');
  await decoder.save(good);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

let count = 0;
/** A copy of the good model with model.json and/or weights.bin altered. */
async function variant(edit: {
  // biome-ignore lint/suspicious/noExplicitAny: tests poke at arbitrary JSON
  json?: (j: any) => void;
  rawJson?: string;
  bin?: (b: Buffer) => Buffer | null;
}): Promise<string> {
  const dir = join(root, `v${count++}`);
  const json = JSON.parse(await readFile(join(good, 'model.json'), 'utf8'));
  const bin = await readFile(join(good, 'weights.bin'));
  await mkdir(dir);
  edit.json?.(json);
  const text = edit.rawJson ?? JSON.stringify(json);
  await writeFile(join(dir, 'model.json'), text);
  const newBin = edit.bin ? edit.bin(Buffer.from(bin)) : bin;
  if (newBin !== null) await writeFile(join(dir, 'weights.bin'), newBin);
  return dir;
}

async function reasonOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ModelFormatError);
    expect((e as ModelFormatError).code).toBe('MODEL_FORMAT');
    return (e as ModelFormatError).reason;
  }
  throw new Error('expected a ModelFormatError');
}

describe('model directory round trip', () => {
  it('writes the tf.io layout', async () => {
    const json = JSON.parse(await readFile(join(good, 'model.json'), 'utf8'));
    expect(json.format).toBe('edge-bci-model');
    expect(json.formatVersion).toBe(1);
    expect(json.weightsManifest).toEqual([
      {
        paths: ['weights.bin'],
        weights: [
          { name: 'wiener/kernel', shape: [2, 3, 6], dtype: 'float32' },
          { name: 'wiener/bias', shape: [2], dtype: 'float32' },
        ],
      },
    ]);
    expect(json.userDefinedMetadata).toMatchObject({
      kind: 'wiener',
      channelLabels: ['u0', 'u1', 'u2', 'u3', 'u4', 'u5'],
      binWidthUs: 50_000,
      target: 'velocity',
      outputNames: ['vx', 'vy'],
    });
    expect((await readFile(join(good, 'weights.bin'))).length).toBe(4 * (36 + 2));
  });

  it('save -> load gives bit-identical outputs (WienerDecoder.load and loadDecoder)', async () => {
    const ref = predictSession(decoder, session, 300, 400);
    for (const loaded of [await WienerDecoder.load(good), await loadDecoder(good)]) {
      expect(loaded).toBeInstanceOf(WienerDecoder);
      expect(loaded.describe()).toEqual(decoder.describe());
      const out = predictSession(loaded, session, 300, 400);
      expect(Buffer.from(out.buffer).equals(Buffer.from(ref.buffer))).toBe(true);
      expect(Array.from(loaded.normaliser.std)).toEqual(Array.from(decoder.normaliser.std));
    }
  });

  it('loadModelDir returns metadata and weights', async () => {
    const m = await loadModelDir(good);
    expect(m.kind).toBe('wiener');
    expect(m.sdkVersion).toMatch(/^\d+\.\d+\.\d+/);
    expect(m.weights['wiener/bias'].data).toEqual(decoder.weights.bias);
  });

  it('refuses to save an unfitted decoder', async () => {
    await expect(new WienerDecoder().save(join(root, 'unfitted'))).rejects.toThrow(/before fit/);
  });

  it('saveModelDir rejects data that does not match its shape', async () => {
    const bad = saveModelDir(join(root, 'bad-save'), {
      kind: 'x',
      config: {},
      metadata: {
        channelLabels: ['a'],
        binWidthUs: 1,
        normaliser: { mean: Float32Array.of(0), std: Float32Array.of(1) },
        target: 'velocity',
        outputNames: ['y'],
      },
      weights: { w: { shape: [2, 2], data: new Float32Array(3) } },
    });
    expect(await reasonOf(bad)).toMatch(/shape/);
  });
});

describe('malformed model directories throw ModelFormatError naming the problem', () => {
  it('missing model.json', async () => {
    expect(await reasonOf(loadModelDir(join(root, 'nothing-here')))).toMatch(/missing model\.json/);
  });

  it('bad JSON', async () => {
    expect(await reasonOf(loadModelDir(await variant({ rawJson: '{"format": ' })))).toMatch(/invalid JSON/);
  });

  it('wrong format and version', async () => {
    const d1 = await variant({
      json: (j) => {
        j.format = 'layers-model';
      },
    });
    expect(await reasonOf(loadModelDir(d1))).toMatch(/format is "layers-model"/);
    const d2 = await variant({
      json: (j) => {
        j.formatVersion = 2;
      },
    });
    expect(await reasonOf(loadModelDir(d2))).toMatch(/formatVersion/);
  });

  it('missing weights file', async () => {
    expect(await reasonOf(loadModelDir(await variant({ bin: () => null })))).toMatch(
      /missing weights file weights\.bin/,
    );
  });

  it('weight byte length mismatch (truncated or too long)', async () => {
    const d1 = await variant({ bin: (b) => b.subarray(0, b.length - 4) });
    expect(await reasonOf(loadModelDir(d1))).toMatch(/byte length mismatch/);
    const d2 = await variant({ bin: (b) => Buffer.concat([b, Buffer.alloc(1)]) });
    expect(await reasonOf(loadModelDir(d2))).toMatch(/byte length mismatch/);
  });

  it('NaN weights', async () => {
    const d = await variant({
      bin: (b) => {
        b.writeFloatLE(Number.NaN, 8);
        return b;
      },
    });
    expect(await reasonOf(loadModelDir(d))).toMatch(
      /wiener\/kernel has a non-finite value \(NaN\) at index 2/,
    );
  });

  it('shape / size mismatch', async () => {
    // Manifest shape whose size disagrees with the bytes.
    const d1 = await variant({
      json: (j) => {
        j.weightsManifest[0].weights[0].shape = [2, 3, 7];
      },
    });
    expect(await reasonOf(loadModelDir(d1))).toMatch(/byte length mismatch/);
    // Same size, wrong shape for the decoder's config.
    const d2 = await variant({
      json: (j) => {
        j.weightsManifest[0].weights[0].shape = [2, 6, 3];
      },
    });
    expect(await reasonOf(WienerDecoder.load(d2))).toMatch(/shape mismatch: weight wiener\/kernel/);
    const d3 = await variant({
      json: (j) => {
        j.weightsManifest[0].weights[1].name = 'other';
      },
    });
    expect(await reasonOf(loadDecoder(d3))).toMatch(/weight wiener\/bias is missing/);
    const d4 = await variant({
      json: (j) => {
        j.weightsManifest[0].weights[0].dtype = 'int32';
      },
    });
    expect(await reasonOf(loadModelDir(d4))).toMatch(/dtype/);
  });

  it('normaliser length does not match the channels', async () => {
    const d = await variant({
      json: (j) => {
        j.userDefinedMetadata.normaliser.mean.pop();
      },
    });
    expect(await reasonOf(loadModelDir(d))).toMatch(/normaliser length mismatch/);
    const d2 = await variant({
      json: (j) => {
        j.userDefinedMetadata.normaliser.std[0] = 0;
      },
    });
    expect(await reasonOf(loadModelDir(d2))).toMatch(/normaliser\.std\[0\]/);
  });

  it('missing or invalid metadata and config', async () => {
    const d1 = await variant({
      json: (j) => {
        delete j.userDefinedMetadata.channelLabels;
      },
    });
    expect(await reasonOf(loadModelDir(d1))).toMatch(/channelLabels/);
    const d2 = await variant({
      json: (j) => {
        j.userDefinedMetadata.config.history = -1;
      },
    });
    expect(await reasonOf(loadDecoder(d2))).toMatch(/invalid config: history/);
    const d3 = await variant({
      json: (j) => {
        j.weightsManifest[0].paths = ['../good/weights.bin'];
      },
    });
    expect(await reasonOf(loadModelDir(d3))).toMatch(/leaves the model directory/);
  });

  it('unknown kind in loadDecoder; a registered kind loads', async () => {
    const d = await variant({
      json: (j) => {
        j.userDefinedMetadata.kind = 'mystery';
      },
    });
    expect(await reasonOf(loadDecoder(d))).toMatch(/unknown decoder kind "mystery"/);
    // loadModelDir leaves kinds to the caller.
    expect((await loadModelDir(d)).kind).toBe('mystery');
    expect(registeredDecoderKinds()).toContain('wiener');
    registerDecoderKind('mystery', (model) => {
      const w = WienerDecoder.fromModel({ ...model, kind: 'wiener' }, d);
      return w;
    });
    expect((await loadDecoder(d)).kind).toBe('wiener');
    expect(await reasonOf(WienerDecoder.load(d))).toMatch(/kind is "mystery"/);
  });
});
