// Prints the closing line CI reads, `N passed, N failed[, N skipped]`, from Vitest's JSON results.
// When the test step never produced results (type check or lint failed first), that counts as one failure.
import { existsSync, readFileSync } from 'node:fs';

const [file = '.vitest-results.json', status = '0'] = process.argv.slice(2);
if (!existsSync(file)) {
  console.log(`no test results in ${file}: the type check or lint step failed (exit ${status})`);
  console.log('0 passed, 1 failed');
  process.exit(0);
}
const r = JSON.parse(readFileSync(file, 'utf8'));
const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
// A suite that failed to load counts as a failure even though none of its tests ran.
const failedSuites = (r.testResults ?? []).filter(
  (s) => s.status === 'failed' && (s.assertionResults ?? []).every((a) => a.status !== 'failed'),
).length;
const failed = r.numFailedTests + failedSuites;
console.log(`${r.numPassedTests} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
