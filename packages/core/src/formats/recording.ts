/**
 * One entry point for every recording the SDK reads or writes, chosen by the file's leading bytes
 * (not its name): edge-bci session files, MATLAB level 5, MATLAB v7.3 (HDF5) and NWB 2.x (HDF5).
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { extname } from 'node:path';
import { FileFormatError } from '../errors.js';
import { readSessionFile } from '../session/reader.js';
import { writeSessionFile } from '../session/writer.js';
import type { RecordedSession } from '../types.js';
import { type LayoutOptions, type MatLayout, sessionFromMat, sessionToMatVariables } from './layouts.js';

export type RecordingFormat = 'ebci' | 'mat5' | 'mat73' | 'nwb';

/** How whole a recording is: what was cut off or skipped while reading it. */
export interface RecordingIntegrity {
  readonly ok: boolean;
  /** Whether the writer closed the file (session files only). */
  readonly cleanClose: boolean | undefined;
  readonly truncated: { readonly atByte: number; readonly bytesLost: number } | undefined;
  readonly corrupt: ReadonlyArray<{
    readonly offset: number;
    readonly length: number;
    readonly reason: string;
  }>;
}

export interface Recording {
  readonly path: string;
  readonly format: RecordingFormat;
  /** Human-readable format, e.g. 'MATLAB level 5' or 'edge-bci session v1'. */
  readonly formatLabel: string;
  readonly session: RecordedSession;
  /** How the file's contents were turned into a session, e.g. 'trial-data' or 'nwb-units'. */
  readonly layout: MatLayout | 'edge-bci-session' | 'nwb-edge-bci-binned' | 'nwb-units';
  /** Variables or objects the session came from. */
  readonly variables: readonly string[];
  readonly trials: number | undefined;
  /** What was assumed where the file did not say (bin width, column names). */
  readonly assumptions: readonly string[];
  readonly integrity: RecordingIntegrity;
}

export type OpenRecordingOptions = LayoutOptions;

const INTACT: RecordingIntegrity = { ok: true, cleanClose: undefined, truncated: undefined, corrupt: [] };

function head(path: string, bytes: number): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    const buf = new Uint8Array(bytes);
    const n = readSync(fd, buf, 0, bytes, 0);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

function hasHdf5SignatureAt(b: Uint8Array, at: number): boolean {
  return b.length >= at + 8 && HDF5_SIGNATURE.every((x, i) => b[at + i] === x);
}

/** Identifies a recording by its leading bytes. */
export function sniffFormat(path: string): 'ebci' | 'mat5' | 'hdf5' | undefined {
  const b = head(path, 2048 + 8);
  const text = new TextDecoder('latin1').decode(b.subarray(0, 20));
  if (text.startsWith('EBCI')) return 'ebci';
  if (text.startsWith('MATLAB 5.0 MAT-file')) return 'mat5';
  // HDF5 puts its superblock at 0, 512, 1024 or 2048 (MATLAB v7.3 keeps a 512-byte user block).
  for (const at of [0, 512, 1024, 2048]) if (hasHdf5SignatureAt(b, at)) return 'hdf5';
  return undefined;
}

/** Opens any recording the SDK reads and turns it into a session. */
export async function openRecording(path: string, options: OpenRecordingOptions = {}): Promise<Recording> {
  const kind = sniffFormat(path);
  switch (kind) {
    case 'ebci': {
      const { session, report } = readSessionFile(path);
      return {
        path,
        format: 'ebci',
        formatLabel: `edge-bci session v${report.formatVersion}`,
        session,
        layout: 'edge-bci-session',
        variables: [],
        trials: undefined,
        assumptions: [],
        integrity: {
          ok: report.cleanClose && !report.truncated && report.corrupt.length === 0,
          cleanClose: report.cleanClose,
          truncated: report.truncated,
          corrupt: report.corrupt,
        },
      };
    }
    case 'mat5': {
      const { readMatFile } = await import('./mat/mat5-reader.js');
      const file = readMatFile(path);
      const r = sessionFromMat(file, options, path);
      return {
        path,
        format: 'mat5',
        formatLabel: 'MATLAB level 5',
        ...r,
        trials: r.trials,
        integrity: INTACT,
      };
    }
    case 'hdf5': {
      const { isNwbFile, readNwb, readMat73 } = await import('./hdf5/index.js');
      if (await isNwbFile(path)) {
        const r = await readNwb(path, { binWidthUs: options.binWidthUs });
        return {
          path,
          format: 'nwb',
          formatLabel: `NWB ${r.nwbVersion}`,
          session: r.session,
          layout: r.layout === 'edge-bci-binned' ? 'nwb-edge-bci-binned' : 'nwb-units',
          variables: [],
          trials: undefined,
          assumptions: r.assumptions ?? [],
          integrity: INTACT,
        };
      }
      const file = await readMat73(path);
      const r = sessionFromMat(file, options, path);
      return {
        path,
        format: 'mat73',
        formatLabel: 'MATLAB v7.3 (HDF5)',
        ...r,
        trials: r.trials,
        integrity: INTACT,
      };
    }
    default:
      throw new FileFormatError(
        path,
        `not a recording the SDK reads (expected an edge-bci session, a MATLAB level 5 or v7.3 file, or NWB 2.x; extension '${extname(path) || 'none'}')`,
      );
  }
}

/** Writes a session in the format its extension names: `.ebci`, `.nwb` or `.mat` (level 5). */
export async function saveRecording(path: string, session: RecordedSession): Promise<RecordingFormat> {
  const ext = extname(path).toLowerCase();
  switch (ext) {
    case '.ebci':
      writeSessionFile(path, session);
      return 'ebci';
    case '.nwb': {
      const { writeNwb } = await import('./hdf5/index.js');
      await writeNwb(path, session);
      return 'nwb';
    }
    case '.mat': {
      const { writeMatFile } = await import('./mat/mat5-writer.js');
      writeMatFile(path, sessionToMatVariables(session));
      return 'mat5';
    }
    default:
      throw new FileFormatError(
        path,
        `cannot write '${ext || 'no extension'}' files (use .ebci, .nwb or .mat)`,
      );
  }
}
