/**
 * Named errors of the HDF5-based readers and writers (MATLAB v7.3 and NWB 2.x). The reading errors are
 * `FileFormatError`s, so a caller that only cares about "this file could not be read" catches one class.
 */
import { EdgeBciError, FileFormatError } from '../../errors.js';

/**
 * A file is not HDF5, is truncated, or is damaged so that the HDF5 library cannot read it.
 * `object` is the HDF5 path being read when the problem was found, when known.
 */
export class Hdf5FormatError extends FileFormatError {
  readonly object: string | undefined;
  constructor(path: string, reason: string, options?: { offset?: number; object?: string; cause?: unknown }) {
    super(
      path,
      options?.object === undefined ? reason : `${options.object}: ${reason}`,
      options?.offset,
      'HDF5_FORMAT',
    );
    this.object = options?.object;
    if (options?.cause !== undefined) (this as { cause?: unknown }).cause = options.cause;
  }
}

/**
 * An HDF5 file was read, but it is not an NWB 2.x file the reader understands, or its contents break
 * the NWB rules the reader relies on (ragged index inconsistent, NaN spike times, missing tables...).
 */
export class NwbFormatError extends FileFormatError {
  readonly object: string | undefined;
  constructor(path: string, reason: string, object?: string) {
    super(path, object === undefined ? reason : `${object}: ${reason}`, undefined, 'NWB_FORMAT');
    this.object = object;
  }
}

/** The HDF5 library failed while writing a file (disk full, bad path, unsupported value). */
export class Hdf5WriteError extends EdgeBciError {
  readonly path: string;
  constructor(path: string, reason: string, options?: { cause?: unknown }) {
    super('HDF5_WRITE', `${path}: ${reason}`, options);
    this.path = path;
  }
}
