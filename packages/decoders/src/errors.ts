import { EdgeBciError } from '@edge-bci/core';

/** A saved model directory is missing a file, is damaged, or does not match what it declares. */
export class ModelFormatError extends EdgeBciError {
  /** The directory or file that is at fault. */
  readonly path: string;
  /** What is wrong, in a few words that name the problem. */
  readonly reason: string;
  constructor(path: string, reason: string, options?: { cause?: unknown }) {
    super('MODEL_FORMAT', `${path}: ${reason}`, options);
    this.path = path;
    this.reason = reason;
  }
}

/** A matrix that has to be symmetric positive definite (e.g. for a Cholesky factorisation) is not. */
export class NotPositiveDefiniteError extends EdgeBciError {
  /** Row at which the factorisation broke down. */
  readonly pivot: number;
  /** The pivot value found there (not positive, or too small to be trusted). */
  readonly value: number;
  constructor(pivot: number, value: number, where = 'matrix') {
    super(
      'NOT_POSITIVE_DEFINITE',
      `${where} is not symmetric positive definite: pivot ${pivot} is ${value} (add regularisation?)`,
    );
    this.pivot = pivot;
    this.value = value;
  }
}

/** A decoder was asked to predict, describe its weights or save before it was fitted or loaded. */
export class NotFittedError extends EdgeBciError {
  constructor(kind: string, action: string) {
    super('NOT_FITTED', `${kind} decoder: cannot ${action} before fit() or load()`);
  }
}
