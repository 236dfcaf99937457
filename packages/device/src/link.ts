/**
 * A duplex byte link as the host sees an open port: the seam between transports (a serial port, an
 * in-process firmware) and the protocol. Every method is asynchronous, as on a real port.
 */
export interface ByteLink {
  readonly path: string;
  readonly isOpen: boolean;
  /** Resolves when the bytes were handed to the transport. Rejects with `PortClosedError` or `DisconnectedError`. */
  write(bytes: Uint8Array): Promise<void>;
  /** Receives bytes in whatever pieces the transport delivers, with the host time (us) they arrived. */
  onData: ((chunk: Uint8Array, receivedUs: number) => void) | undefined;
  /** Called once when the link ends without `close()` being called: with a `DisconnectedError`. */
  onLost: ((error: Error) => void) | undefined;
  /** Closes the link; idempotent. */
  close(): Promise<void>;
}
