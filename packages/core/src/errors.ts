/**
 * Named errors with fields a caller can check, not only a message.
 * Every error the SDK throws on bad input is an `EdgeBciError` with a stable `code`.
 */
export class EdgeBciError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The channel count of some input does not match what the stage was configured for. */
export class ChannelCountError extends EdgeBciError {
  readonly expected: number;
  readonly actual: number;
  constructor(expected: number, actual: number, where = 'input') {
    super('CHANNEL_COUNT', `${where} has ${actual} channels, expected ${expected}`);
    this.expected = expected;
    this.actual = actual;
  }
}

/** A value is not finite (NaN or infinity) where a number was required. */
export class NonFiniteValueError extends EdgeBciError {
  readonly index: number;
  readonly value: number;
  constructor(where: string, index: number, value: number) {
    super('NON_FINITE', `${where}: value at index ${index} is ${value}`);
    this.index = index;
    this.value = value;
  }
}

/** An option or argument is out of its allowed range. */
export class InvalidOptionError extends EdgeBciError {
  readonly option: string;
  constructor(option: string, message: string) {
    super('INVALID_OPTION', `${option}: ${message}`);
    this.option = option;
  }
}

/** A file is not in a format the SDK can read, or is damaged beyond reading. */
export class FileFormatError extends EdgeBciError {
  readonly path: string;
  readonly reason: string;
  readonly offset: number | undefined;
  constructor(path: string, reason: string, offset?: number, code = 'FILE_FORMAT') {
    super(code, `${path}: ${reason}${offset === undefined ? '' : ` (at byte ${offset})`}`);
    this.path = path;
    this.reason = reason;
    this.offset = offset;
  }
}
