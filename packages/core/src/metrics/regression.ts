import { ChannelCountError, InvalidOptionError } from '../errors.js';

/** A matrix stored row-major: `rows` x `cols` values in `data`. */
export interface RowMajor {
  readonly data: ArrayLike<number>;
  readonly rows: number;
  readonly cols: number;
}

function checkPair(pred: RowMajor, truth: RowMajor): void {
  if (pred.cols !== truth.cols) throw new ChannelCountError(truth.cols, pred.cols, 'prediction');
  if (pred.rows !== truth.rows) {
    throw new InvalidOptionError('prediction', `has ${pred.rows} rows, truth has ${truth.rows}`);
  }
  if (pred.rows < 2) throw new InvalidOptionError('prediction', 'needs at least 2 rows');
}

function columnStat(
  pred: RowMajor,
  truth: RowMajor,
  f: (p: ArrayLike<number>, t: ArrayLike<number>, col: number, rows: number, cols: number) => number,
): number[] {
  checkPair(pred, truth);
  const out: number[] = [];
  for (let c = 0; c < truth.cols; c++) out.push(f(pred.data, truth.data, c, truth.rows, truth.cols));
  return out;
}

/**
 * Coefficient of determination per column: 1 - SS_res / SS_tot, with SS_tot about the truth's mean.
 * It is negative when the prediction is worse than the mean, and -Infinity (or NaN for a perfect
 * prediction) when the truth is constant.
 */
export function r2(pred: RowMajor, truth: RowMajor): number[] {
  return columnStat(pred, truth, (p, t, c, rows, cols) => {
    let mean = 0;
    for (let i = 0; i < rows; i++) mean += t[i * cols + c]!;
    mean /= rows;
    let ssRes = 0;
    let ssTot = 0;
    for (let i = 0; i < rows; i++) {
      const y = t[i * cols + c]!;
      const e = y - p[i * cols + c]!;
      ssRes += e * e;
      ssTot += (y - mean) * (y - mean);
    }
    return ssTot === 0 ? (ssRes === 0 ? Number.NaN : Number.NEGATIVE_INFINITY) : 1 - ssRes / ssTot;
  });
}

/** Pearson correlation per column (NaN when either side is constant). */
export function correlation(pred: RowMajor, truth: RowMajor): number[] {
  return columnStat(pred, truth, (p, t, c, rows, cols) => {
    let mp = 0;
    let mt = 0;
    for (let i = 0; i < rows; i++) {
      mp += p[i * cols + c]!;
      mt += t[i * cols + c]!;
    }
    mp /= rows;
    mt /= rows;
    let spt = 0;
    let spp = 0;
    let stt = 0;
    for (let i = 0; i < rows; i++) {
      const a = p[i * cols + c]! - mp;
      const b = t[i * cols + c]! - mt;
      spt += a * b;
      spp += a * a;
      stt += b * b;
    }
    return spp === 0 || stt === 0 ? Number.NaN : spt / Math.sqrt(spp * stt);
  });
}

/** Pearson correlation of two equally long series (NaN when either is constant). */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return correlation({ data: a, rows: a.length, cols: 1 }, { data: b, rows: b.length, cols: 1 })[0]!;
}

/** Root mean squared error per column. */
export function rmse(pred: RowMajor, truth: RowMajor): number[] {
  return columnStat(pred, truth, (p, t, c, rows, cols) => {
    let s = 0;
    for (let i = 0; i < rows; i++) {
      const e = p[i * cols + c]! - t[i * cols + c]!;
      s += e * e;
    }
    return Math.sqrt(s / rows);
  });
}

export interface RegressionReport {
  /** Per-column values, keyed by the column names given. */
  readonly r2: Readonly<Record<string, number>> & { readonly mean: number };
  readonly correlation: Readonly<Record<string, number>> & { readonly mean: number };
  readonly rmse: Readonly<Record<string, number>>;
  readonly rows: number;
}

function keyed(names: readonly string[], values: number[]): Record<string, number> {
  const o: Record<string, number> = {};
  names.forEach((n, i) => {
    o[n] = values[i]!;
  });
  return o;
}

const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;

/** R2, correlation and RMSE per named column, with the mean of R2 and correlation across columns. */
export function regressionReport(
  pred: RowMajor,
  truth: RowMajor,
  names: readonly string[],
): RegressionReport {
  if (names.length !== truth.cols) throw new ChannelCountError(truth.cols, names.length, 'column names');
  const r = r2(pred, truth);
  const cc = correlation(pred, truth);
  return {
    r2: { ...keyed(names, r), mean: mean(r) },
    correlation: { ...keyed(names, cc), mean: mean(cc) },
    rmse: keyed(names, rmse(pred, truth)),
    rows: truth.rows,
  };
}
