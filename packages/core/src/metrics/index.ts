export { LatencyHistogram, type LatencySummary } from './latency-histogram.js';
export {
  correlation,
  pearson,
  type RegressionReport,
  type RowMajor,
  r2,
  regressionReport,
  rmse,
} from './regression.js';
