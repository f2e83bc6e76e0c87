// Prints vitest's JSON report (written by `npm test`) as one plain closing line:
// "N passed, N failed, N skipped" — what CI reads to know how many tests ran.
import { readFileSync } from 'node:fs';

const report = JSON.parse(readFileSync(new URL('../.lakeray/test-results.json', import.meta.url), 'utf8'));
console.log(`${report.numPassedTests} passed, ${report.numFailedTests} failed, ${report.numPendingTests + report.numTodoTests} skipped`);
process.exit(report.numFailedTests > 0 || report.numTotalTests === 0 ? 1 : 0);
