// Turns one test runner's exit status and JSON report into counts `npm test` can trust.
// Pure: no I/O, so tests/unit/scripts/test-summary.test.ts can feed it real and made-up runs.
//
// A run counts as failed, not green, when:
//   - the report is missing or unreadable                                  (1 failed)
//   - a test failed                                                        (1 per test)
//   - a file failed outside its tests: threw while loading, failing hook   (1 per file)
//   - tests never finished (the worker died mid-file)                      (1 per test)
//   - the runner reported errors outside tests (Playwright `errors[]`)     (1 per error)
//   - no test ran at all                                                   (1)
//   - the runner exited non-zero, or by a signal, and nothing above
//     explains it (e.g. a Vitest unhandled rejection, which its JSON omits) (1)
// Skipped, pending and todo tests are counted separately so the summary can show them.
// Types: scripts/test-summary.d.ts (this file is plain ESM so `npm test` runs without tsx).

/** `report`: the parsed `--reporter=json` output of `vitest run`, or null. */
export function summarizeVitest(exit, report) {
  if (!isObject(report)) return finish('vitest', exit, missingReport());
  const passed = count(report.numPassedTests);
  const failedTests = count(report.numFailedTests);
  const skipped = count(report.numPendingTests) + count(report.numTodoTests);
  const problems = [];
  let failed = failedTests;
  if (failedTests > 0) problems.push(`${failedTests} failed ${plural(failedTests, 'test')}`);

  // A file whose own result is "failed" with no failed test in it broke outside its tests.
  const files = Array.isArray(report.testResults) ? report.testResults : [];
  const brokenFiles = files.filter(
    (file) => file?.status === 'failed' && !(file.assertionResults ?? []).some((test) => test?.status === 'failed'),
  );
  for (const file of brokenFiles) {
    problems.push(`${file.name} failed outside its tests (load error or failing hook)${file.message ? `: ${file.message}` : ''}`);
  }
  failed += brokenFiles.length;
  if (count(report.numFailedTestSuites) > 0 && failed === 0) {
    problems.push(`${report.numFailedTestSuites} failed ${plural(report.numFailedTestSuites, 'suite')}`);
    failed += 1;
  }

  // Tests neither passed, failed, skipped nor todo were still queued or running when the run ended.
  const unfinished = count(report.numTotalTests) - passed - failedTests - skipped;
  if (unfinished > 0) {
    problems.push(`${unfinished} ${plural(unfinished, 'test')} never finished (a worker died mid-file?)`);
    failed += unfinished;
  }
  return finish('vitest', exit, { passed, failed, skipped, problems });
}

/** `report`: the parsed output of Playwright's json reporter, or null. */
export function summarizePlaywright(exit, report) {
  if (!isObject(report) || !isObject(report.stats)) return finish('playwright', exit, missingReport());
  const { stats } = report;
  // Flaky tests passed on a retry; with retries: 0 there are none, but they did pass.
  const passed = count(stats.expected) + count(stats.flaky);
  const failedTests = count(stats.unexpected);
  const problems = [];
  if (failedTests > 0) problems.push(`${failedTests} failed ${plural(failedTests, 'test')}`);
  // errors[]: config errors, a forbidden `.only`, global setup, a worker that crashed between tests.
  const errors = Array.isArray(report.errors) ? report.errors : [];
  for (const error of errors) problems.push(`error outside tests: ${firstLine(error?.message ?? error?.value ?? error)}`);
  return finish('playwright', exit, { passed, failed: failedTests + errors.length, skipped: count(stats.skipped), problems });
}

/** Adds the checks both runners share: something must have run, and a failing exit must show. */
function finish(runner, exit, { passed, failed, skipped, problems }) {
  if (passed === 0 && failed === 0) {
    problems.push('no test ran');
    failed += 1;
  }
  const exitOk = exit.code === 0 && !exit.signal;
  if (!exitOk && failed === 0) {
    const how = exit.signal ? `was killed by ${exit.signal}` : exit.code === null ? 'did not run' : `exited with code ${exit.code}`;
    problems.push(`${how} though its report shows no failure (an error outside any test? see its output above)`);
    failed += 1;
  }
  return { passed, failed, skipped, problems: problems.map((problem) => `${runner}: ${problem}`) };
}

function missingReport() {
  return { passed: 0, failed: 1, skipped: 0, problems: ['no report (the runner did not run, or did not finish)'] };
}

function isObject(value) {
  return typeof value === 'object' && value !== null;
}

/** A non-negative integer from a report field, 0 when absent or malformed. */
function count(value) {
  return Number.isInteger(value) && value > 0 ? value : 0;
}

function plural(n, word) {
  return n === 1 ? word : `${word}s`;
}

function firstLine(value) {
  return String(value).split('\n')[0];
}
