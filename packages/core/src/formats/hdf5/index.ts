/**
 * HDF5-based formats: MATLAB v7.3 MAT-files and NWB 2.x. Every function loads h5wasm on first use
 * (dynamic import), so importing this module does not load the wasm library.
 */
export { Hdf5FormatError, Hdf5WriteError, NwbFormatError } from './errors.js';
export { type Hdf5Probe, hasHdf5Signature, probeHdf5 } from './h5.js';
export {
  mat73UserBlock,
  type ReadMat73Options,
  readMat73,
  type WriteMat73Options,
  type WriteMat73Result,
  writeMat73,
} from './mat73.js';
export {
  BEHAVIOR_MODULE,
  COUNTS_SERIES,
  EDGE_MODULE,
  groupKinematics,
  type KinematicGroup,
  NWB_VERSION,
  POSITION_CONTAINER,
} from './nwb-common.js';
export {
  isNwbFile,
  type NwbReadReport,
  type ReadNwbOptions,
  type ReadNwbResult,
  readNwb,
} from './nwb-reader.js';
export {
  contentIdentifier,
  objectUuid,
  type WriteNwbOptions,
  type WriteNwbResult,
  writeNwb,
} from './nwb-writer.js';
