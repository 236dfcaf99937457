import { EdgeBciError } from '../errors.js';

/** A frame is malformed in a way that makes it impossible to bin (bad time, duration or event offset). */
export class InvalidFrameError extends EdgeBciError {
  readonly seq: number;
  readonly reason: string;
  constructor(seq: number, reason: string) {
    super('INVALID_FRAME', `frame ${seq}: ${reason}`);
    this.seq = seq;
    this.reason = reason;
  }
}

/** A bounded buffer with the 'error' policy received a value while all its slots were taken. */
export class BufferOverflowError extends EdgeBciError {
  readonly capacity: number;
  constructor(capacity: number) {
    super('BUFFER_OVERFLOW', `buffer full: ${capacity} values already waiting`);
    this.capacity = capacity;
  }
}
