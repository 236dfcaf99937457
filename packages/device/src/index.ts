export {
  Acquisition,
  type AcquisitionOptions,
  type AcquisitionStats,
  type Presence,
  type PresenceState,
  type ReconnectOptions,
} from './acquisition.js';
export type { AcquisitionBinding, OpenOptions, PortInfo } from './binding.js';
export { ReplayBinding, SimulatorBinding, type SimulatorBindingOptions } from './bindings/in-process.js';
export { SerialBinding } from './bindings/serial.js';
export { ClockMapper, type ClockMapperOptions } from './clock/clock-mapper.js';
export { type Configuration, type ConnectionOptions, DeviceConnection, type Received } from './connection.js';
export {
  AcquisitionStoppedError,
  CommandRejectedError,
  CommandTimeoutError,
  DeviceNotFoundError,
  DisconnectedError,
  HandshakeError,
  PortClosedError,
  PortOpenError,
} from './errors.js';
export { FirmwareDriver } from './firmware/driver.js';
export { FaultInjector, type FaultLedger, type FaultOptions } from './firmware/faults.js';
export { Firmware, type FirmwareLedger, type FirmwareOptions } from './firmware/firmware.js';
export { type SerialFirmwareOptions, SerialFirmwareRunner } from './firmware/serial-runner.js';
export {
  type FirmwareSource,
  type FirmwareSourceFactory,
  recordingSource,
  type SourceConfig,
  simulatorSource,
} from './firmware/source.js';
export type { ByteLink } from './link.js';
export { cobsDecode, cobsEncode } from './protocol/cobs.js';
export {
  createDecoderStats,
  type DecoderStats,
  encodeFrame,
  encodePacket,
  FrameDecoder,
  type FrameDecoderOptions,
  type RejectReason,
} from './protocol/frame-codec.js';
export * from './protocol/messages.js';
export { type Chunk, type DecodePacketsOptions, decodePackets, encodePackets } from './protocol/operators.js';
export { SequenceTracker } from './protocol/sequence.js';
export { PtyPair } from './pty/socat.js';
export { SerialLink, type SerialLinkOptions } from './serial-link.js';
