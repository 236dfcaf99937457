export {
  ChunkType,
  type ChunkTypeName,
  SESSION_FILE_EXTENSION,
  SESSION_FORMAT_VERSION,
  type SessionFileHeader,
  type SessionFileTotals,
} from './format.js';
export {
  type CorruptRegion,
  inspectSessionFile,
  type ReadSessionFileOptions,
  readSessionFile,
  type SessionFileContents,
  type SessionFileEvent,
  type SessionFileInfo,
  type SessionFileReport,
  type Truncation,
  type UnknownChunk,
} from './reader.js';
export { type ReplayInput, type ReplayOptions, ReplaySource } from './replay.js';
export {
  DEFAULT_BINS_PER_CHUNK,
  SessionFileClosedError,
  SessionFileWriter,
  type SessionFileWriterOptions,
  writeSessionFile,
} from './writer.js';
