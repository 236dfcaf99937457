/**
 * Named errors of the MAT-file reader and writer. All are `EdgeBciError`s; the reading errors are
 * `FileFormatError`s too, so a caller that only cares about "this file could not be read" catches one class.
 */
import { EdgeBciError, FileFormatError } from '../../errors.js';

/**
 * A MAT file is truncated, corrupt or not a MAT file at all. `offset` is the file offset of the element
 * where the problem was found (for problems inside a compressed element: that element's offset; the
 * position inside the decompressed data is in `reason`). `variable` names the variable being read, when known.
 */
export class MatFormatError extends FileFormatError {
  readonly variable: string | undefined;
  constructor(path: string, reason: string, offset?: number, variable?: string) {
    super(path, variable === undefined ? reason : `variable '${variable}': ${reason}`, offset);
    this.variable = variable;
  }
}

/**
 * The file is a MATLAB v7.3 MAT file (HDF5 inside), which the level-5 reader does not read:
 * open it with the v7.3 (HDF5) reader instead.
 */
export class Mat73FileError extends FileFormatError {
  readonly version = 'mat73' as const;
  constructor(path: string) {
    super(
      path,
      'this is a MATLAB v7.3 MAT-file (HDF5 inside), not a level-5 MAT-file: read it with the v7.3 reader',
    );
  }
}

/**
 * A variable holds a MATLAB class the reader does not decode (sparse arrays, function handles, opaque objects
 * such as `string`, `table`, `datetime` or `containers.Map`). `variable` is the top-level variable; `location`
 * is where inside it the value sits (e.g. `data(3).spikes{2}`; equal to `variable` at the top level).
 */
export class MatUnsupportedError extends EdgeBciError {
  readonly path: string;
  readonly variable: string;
  readonly className: string;
  readonly location: string;
  readonly offset: number | undefined;
  constructor(path: string, variable: string, className: string, location = variable, offset?: number) {
    super(
      'MAT_UNSUPPORTED',
      `${path}: variable '${variable}'${location === variable ? '' : ` (at ${location})`} holds a value of MATLAB class '${className}', which this reader does not support${offset === undefined ? '' : ` (at byte ${offset})`}`,
    );
    this.path = path;
    this.variable = variable;
    this.className = className;
    this.location = location;
    this.offset = offset;
  }
}
