import { extname } from 'node:path';
import {
  FileFormatError,
  type RecordedSession,
  readSessionFile,
  type SessionFileReport,
} from '@edge-bci/core';

/** How whole a recording is: what was cut off or skipped while reading it. */
export interface RecordingIntegrity {
  readonly ok: boolean;
  /** Whether the writer closed the file (undefined for formats without the notion). */
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
  /** e.g. 'edge-bci session v1'. */
  readonly format: string;
  readonly session: RecordedSession;
  readonly integrity: RecordingIntegrity;
}

function integrityOf(report: SessionFileReport): RecordingIntegrity {
  return {
    ok: report.cleanClose && !report.truncated && report.corrupt.length === 0,
    cleanClose: report.cleanClose,
    truncated: report.truncated,
    corrupt: report.corrupt,
  };
}

/** Opens any recording the SDK reads, chosen by its extension. */
export async function openRecording(path: string): Promise<Recording> {
  const ext = extname(path).toLowerCase();
  switch (ext) {
    case '.ebci': {
      const { session, report } = readSessionFile(path);
      return {
        path,
        format: `edge-bci session v${report.formatVersion}`,
        session,
        integrity: integrityOf(report),
      };
    }
    default:
      throw new FileFormatError(path, `unsupported file type '${ext || '(none)'}' (supported: .ebci)`);
  }
}
