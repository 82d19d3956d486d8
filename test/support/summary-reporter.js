// Writes jest's totals to .jest-summary.json so .ci/run can print "N passed, N failed".
const { writeFileSync } = require('node:fs');
const { join } = require('node:path');

class SummaryReporter {
  constructor(globalConfig) {
    this.root = globalConfig.rootDir;
  }
  onRunComplete(_contexts, results) {
    const summary = {
      passed: results.numPassedTests,
      failed: results.numFailedTests,
      skipped: results.numPendingTests + results.numTodoTests,
      suitesFailed: results.numFailedTestSuites,
      runtimeErrorSuites: results.numRuntimeErrorTestSuites,
    };
    writeFileSync(join(this.root, '.jest-summary.json'), JSON.stringify(summary) + '\n');
  }
}
module.exports = SummaryReporter;
