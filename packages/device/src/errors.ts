import { EdgeBciError } from '@edge-bci/core';

/** No device at the path (unplugged, or never there). */
export class DeviceNotFoundError extends EdgeBciError {
  constructor(
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super('DEVICE_NOT_FOUND', `no device at ${path}`, options);
  }
}

/** The port exists but could not be opened (in use by another program, no permission, not a serial device). */
export class PortOpenError extends EdgeBciError {
  constructor(
    readonly path: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super('PORT_OPEN', `cannot open ${path}: ${reason}`, options);
  }
}

/**
 * The link went away while open: a cable pulled, the device powered off, its pseudo-terminal closed.
 * `disconnected` is true, as on node-serialport's errors, so callers can tell it from other failures.
 */
export class DisconnectedError extends EdgeBciError {
  readonly disconnected = true;
  constructor(
    readonly path: string,
    reason = 'the device disconnected',
    options?: { cause?: unknown },
  ) {
    super('DISCONNECTED', `${path}: ${reason}`, options);
  }
}

/** An operation on a port that was closed by its owner. */
export class PortClosedError extends EdgeBciError {
  constructor(
    readonly path: string,
    operation: string,
  ) {
    super('PORT_CLOSED', `${operation} on ${path}: the port is closed`);
  }
}

/** The device did not acknowledge a command in time (after retries). */
export class CommandTimeoutError extends EdgeBciError {
  constructor(
    readonly command: string,
    readonly timeoutMs: number,
    readonly attempts: number,
  ) {
    super(
      'COMMAND_TIMEOUT',
      `no acknowledgement of '${command}' after ${attempts} attempts of ${timeoutMs} ms`,
    );
  }
}

/** The device answered a command with an error result. */
export class CommandRejectedError extends EdgeBciError {
  constructor(
    readonly command: string,
    readonly result: string | number,
    readonly detail: string,
  ) {
    super('COMMAND_REJECTED', `device refused '${command}': ${result}${detail ? ` (${detail})` : ''}`);
  }
}

/** The device did not complete the handshake: nothing, or something that is not this protocol, came back. */
export class HandshakeError extends EdgeBciError {
  constructor(
    readonly path: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super('HANDSHAKE', `${path}: handshake failed: ${reason}`, options);
  }
}

/** `Acquisition.start()` did not finish because `stop()` was called first. */
export class AcquisitionStoppedError extends EdgeBciError {
  constructor(readonly path: string) {
    super('ACQUISITION_STOPPED', `${path}: stopped before the device answered`);
  }
}
