/**
 * Model directories in the TensorFlow.js `tf.io` layout:
 *
 *     <dir>/model.json    format, formatVersion, modelTopology, weightsManifest, userDefinedMetadata
 *     <dir>/weights.bin   every weight, little-endian float32, concatenated in manifest order
 *
 * `userDefinedMetadata` (the field tf.io reserves for it) carries what edge-bci needs to run the
 * model: kind, config, sdkVersion, channelLabels, binWidthUs, normaliser {mean, std}, target and
 * outputNames. Loading validates everything and throws `ModelFormatError { path, reason }`; which
 * kinds exist is left to the caller (see `decoder-registry.ts`).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { isAbsolute, join, normalize } from 'node:path';
import { ModelFormatError } from './errors.js';

export const MODEL_FORMAT = 'edge-bci-model';
export const MODEL_FORMAT_VERSION = 1;
/** Version of the SDK written into saved models (keep in step with the package version). */
export const SDK_VERSION = '0.1.0';
export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';

/** One named float32 tensor. `data.length` equals the product of `shape`. */
export interface ModelWeight {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** What a decoder needs besides its weights to run on a stream. */
export interface ModelMetadata {
  readonly channelLabels: readonly string[];
  readonly binWidthUs: number;
  readonly normaliser: { readonly mean: Float32Array; readonly std: Float32Array };
  /** 'velocity', 'position', or a description of explicit columns. */
  readonly target: string;
  readonly outputNames: readonly string[];
}

export interface SavedModel {
  readonly kind: string;
  readonly config: Readonly<Record<string, unknown>>;
  readonly metadata: ModelMetadata;
  /** Weights in the order they are written. */
  readonly weights: Readonly<Record<string, ModelWeight>>;
  /** Optional small description of the architecture for `modelTopology` (null when absent). */
  readonly topology?: Readonly<Record<string, unknown>>;
}

export interface LoadedModel extends SavedModel {
  readonly sdkVersion: string;
  readonly formatVersion: number;
}

interface ManifestEntry {
  name: string;
  shape: number[];
  dtype: 'float32';
}

function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function isShape(shape: unknown): shape is number[] {
  return Array.isArray(shape) && shape.every((d) => Number.isInteger(d) && d >= 0);
}

/** Writes `model` to `dir` (created if needed) as model.json + weights.bin. */
export async function saveModelDir(dir: string, model: SavedModel): Promise<void> {
  const entries: ManifestEntry[] = [];
  let total = 0;
  for (const [name, w] of Object.entries(model.weights)) {
    if (!isShape(w.shape)) throw new ModelFormatError(dir, `weight ${name} has an invalid shape`);
    if (sizeOf(w.shape) !== w.data.length) {
      throw new ModelFormatError(
        dir,
        `weight ${name} has ${w.data.length} values but shape [${w.shape.join(', ')}]`,
      );
    }
    entries.push({ name, shape: [...w.shape], dtype: 'float32' });
    total += w.data.length;
  }
  const { mean, std } = model.metadata.normaliser;
  if (mean.length !== model.metadata.channelLabels.length || std.length !== mean.length) {
    throw new ModelFormatError(dir, 'normaliser length does not match channelLabels');
  }
  const bytes = new Uint8Array(total * 4);
  const view = new DataView(bytes.buffer);
  let off = 0;
  for (const w of Object.values(model.weights)) {
    for (let i = 0; i < w.data.length; i++, off += 4) view.setFloat32(off, w.data[i], true);
  }
  const json = {
    format: MODEL_FORMAT,
    formatVersion: MODEL_FORMAT_VERSION,
    generatedBy: `edge-bci ${SDK_VERSION}`,
    modelTopology: model.topology ?? null,
    weightsManifest: [{ paths: [WEIGHTS_BIN], weights: entries }],
    userDefinedMetadata: {
      kind: model.kind,
      config: model.config,
      sdkVersion: SDK_VERSION,
      channelLabels: [...model.metadata.channelLabels],
      binWidthUs: model.metadata.binWidthUs,
      // float32 -> number -> JSON -> number -> float32 is exact, so a round trip is bit-identical.
      normaliser: { mean: Array.from(mean), std: Array.from(std) },
      target: model.metadata.target,
      outputNames: [...model.metadata.outputNames],
    },
  };
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, WEIGHTS_BIN), bytes);
  await writeFile(join(dir, MODEL_JSON), `${JSON.stringify(json, null, 2)}\n`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((s) => typeof s === 'string');
}

function finiteArray(v: unknown, jsonPath: string, name: string): Float32Array {
  if (!Array.isArray(v)) throw new ModelFormatError(jsonPath, `${name} is not an array`);
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (typeof x !== 'number' || !Number.isFinite(x)) {
      throw new ModelFormatError(jsonPath, `${name}[${i}] is not a finite number`);
    }
    out[i] = x;
  }
  return out;
}

async function readOrFail(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? `missing ${what}` : `cannot read ${what} (${code ?? String(e)})`;
    throw new ModelFormatError(path, reason, { cause: e });
  }
}

/** Reads and validates a model directory written by {@link saveModelDir}. */
export async function loadModelDir(dir: string): Promise<LoadedModel> {
  const jsonPath = join(dir, MODEL_JSON);
  const text = (await readOrFail(jsonPath, MODEL_JSON)).toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ModelFormatError(jsonPath, `invalid JSON: ${(e as Error).message}`, { cause: e });
  }
  const fail = (reason: string): never => {
    throw new ModelFormatError(jsonPath, reason);
  };
  if (!isRecord(json)) return fail('model.json is not a JSON object');
  if (json.format !== MODEL_FORMAT)
    return fail(`format is ${JSON.stringify(json.format)}, expected "${MODEL_FORMAT}"`);
  if (json.formatVersion !== MODEL_FORMAT_VERSION) {
    return fail(
      `unsupported formatVersion ${JSON.stringify(json.formatVersion)} (this SDK reads ${MODEL_FORMAT_VERSION})`,
    );
  }
  const topology = json.modelTopology;
  if (topology !== null && topology !== undefined && !isRecord(topology))
    fail('modelTopology is not an object or null');

  // Metadata.
  const meta = json.userDefinedMetadata;
  if (!isRecord(meta)) return fail('userDefinedMetadata is missing or not an object');
  if (typeof meta.kind !== 'string' || meta.kind.length === 0) return fail('kind is missing or not a string');
  if (!isRecord(meta.config)) return fail('config is missing or not an object');
  if (typeof meta.sdkVersion !== 'string') return fail('sdkVersion is missing or not a string');
  if (!isStringArray(meta.channelLabels)) return fail('channelLabels is missing or not an array of strings');
  const channels = meta.channelLabels.length;
  if (typeof meta.binWidthUs !== 'number' || !(meta.binWidthUs > 0) || !Number.isFinite(meta.binWidthUs)) {
    return fail('binWidthUs is missing or not a positive number');
  }
  if (!isRecord(meta.normaliser)) return fail('normaliser is missing or not an object');
  const mean = finiteArray(meta.normaliser.mean, jsonPath, 'normaliser.mean');
  const std = finiteArray(meta.normaliser.std, jsonPath, 'normaliser.std');
  if (mean.length !== channels || std.length !== channels) {
    return fail(
      `normaliser length mismatch: mean has ${mean.length}, std has ${std.length}, channelLabels has ${channels}`,
    );
  }
  for (let c = 0; c < channels; c++) if (!(std[c] > 0)) return fail(`normaliser.std[${c}] is not positive`);
  if (typeof meta.target !== 'string') return fail('target is missing or not a string');
  if (!isStringArray(meta.outputNames)) return fail('outputNames is missing or not an array of strings');

  // Manifest.
  const manifest = json.weightsManifest;
  if (!Array.isArray(manifest)) return fail('weightsManifest is missing or not an array');
  const weights: Record<string, ModelWeight> = {};
  const names = new Set<string>();
  for (const [g, group] of manifest.entries()) {
    if (!isRecord(group)) return fail(`weightsManifest[${g}] is not an object`);
    const { paths, weights: entries } = group;
    if (!isStringArray(paths) || paths.length === 0)
      return fail(`weightsManifest[${g}].paths is not a list of files`);
    if (!Array.isArray(entries)) return fail(`weightsManifest[${g}].weights is not an array`);
    let expected = 0;
    for (const [i, e] of entries.entries()) {
      if (!isRecord(e) || typeof e.name !== 'string')
        return fail(`weightsManifest[${g}].weights[${i}] has no name`);
      if (e.dtype !== 'float32')
        return fail(`weight ${e.name} has dtype ${JSON.stringify(e.dtype)}, only float32 is supported`);
      if (!isShape(e.shape)) return fail(`weight ${e.name} has an invalid shape ${JSON.stringify(e.shape)}`);
      if (names.has(e.name)) return fail(`weight ${e.name} is listed twice`);
      names.add(e.name);
      expected += sizeOf(e.shape) * 4;
    }
    // Shards are concatenated in order, as tf.io does.
    const parts: Buffer[] = [];
    for (const p of paths) {
      if (isAbsolute(p) || normalize(p).startsWith('..'))
        return fail(`weights path ${p} leaves the model directory`);
      parts.push(await readOrFail(join(dir, p), `weights file ${p}`));
    }
    const buf = Buffer.concat(parts);
    if (buf.length !== expected) {
      throw new ModelFormatError(
        join(dir, paths[0]),
        `weights byte length mismatch: ${paths.join(' + ')} has ${buf.length} bytes, manifest expects ${expected}`,
      );
    }
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    let off = 0;
    for (const e of entries as ManifestEntry[]) {
      const data = new Float32Array(sizeOf(e.shape));
      for (let i = 0; i < data.length; i++, off += 4) {
        const v = view.getFloat32(off, true);
        if (!Number.isFinite(v)) {
          throw new ModelFormatError(
            join(dir, paths[0]),
            `weight ${e.name} has a non-finite value (${v}) at index ${i}`,
          );
        }
        data[i] = v;
      }
      weights[e.name] = { shape: e.shape, data };
    }
  }

  return {
    kind: meta.kind,
    config: meta.config,
    sdkVersion: meta.sdkVersion,
    formatVersion: MODEL_FORMAT_VERSION,
    ...(isRecord(topology) ? { topology } : {}),
    metadata: {
      channelLabels: meta.channelLabels,
      binWidthUs: meta.binWidthUs,
      normaliser: { mean, std },
      target: meta.target,
      outputNames: meta.outputNames,
    },
    weights,
  };
}

/**
 * Returns the weight `name` of a loaded model, checking its shape.
 * @throws ModelFormatError naming the weight and both shapes when it is missing or differs.
 */
export function requireWeight(
  dir: string,
  model: LoadedModel,
  name: string,
  shape: readonly number[],
): Float32Array {
  const w = model.weights[name];
  if (w === undefined) throw new ModelFormatError(join(dir, MODEL_JSON), `weight ${name} is missing`);
  if (w.shape.length !== shape.length || w.shape.some((d, i) => d !== shape[i])) {
    throw new ModelFormatError(
      join(dir, MODEL_JSON),
      `shape mismatch: weight ${name} has shape [${w.shape.join(', ')}], expected [${shape.join(', ')}]`,
    );
  }
  return w.data;
}
