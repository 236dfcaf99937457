export { Mat73FileError, MatFormatError, MatUnsupportedError } from './errors.js';
export {
  charRows,
  charString,
  type MatCell,
  type MatChar,
  type MatFile,
  type MatLogical,
  type MatNumeric,
  type MatNumericClass,
  type MatStruct,
  type MatTypedArray,
  type MatValue,
  matCell,
  matChar,
  matDouble,
  matStruct,
  numberAt,
  numel,
  structField,
  toRowMajor,
} from './mat-value.js';
export {
  detectMatVersion,
  type MatVersion,
  type ReadMat5Options,
  readMat5,
  readMatFile,
} from './mat5-reader.js';
export { type WriteMat5Options, writeMat5, writeMatFile } from './mat5-writer.js';
