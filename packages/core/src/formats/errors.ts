import { FileFormatError } from '../errors.js';

/** A recording was read, but its variables do not form a session in any known layout. */
export class LayoutError extends FileFormatError {
  constructor(path: string, reason: string) {
    super(path, reason, undefined, 'LAYOUT');
  }
}
