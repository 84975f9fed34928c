#!/usr/bin/env node
// `npm test`: every check in one go, ending with the plain line `N passed, N failed`.
//   1. Debian Chromium for the browser tests (apt-installed when missing and we are root)
//   2. type checks (npm run check)             failure counts as 1 failed
//   3. unit + integration tests (vitest)        -> reports/unit.json
//   4. build the web app if stale (scripts/ensure-build.js)
//   5. browser tests (playwright)               -> reports/e2e.json
//   6. the soak (vitest, tests/soak/, alone)    -> reports/soak.json
// What counts as failed (scripts/test-summary.js): failed tests, files that fail outside their
// tests (load errors, hooks), tests that never finished, errors outside tests, a runner that ran no
// test, and a non-zero runner exit nothing else explains. A missing report counts as 1 failed.
// Skipped and todo tests are reported on their own line. Exit code 1 if anything failed.
// Reports go to reports/, not test-results/ (Playwright empties that folder when it starts).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureBuild } from './ensure-build.js';
import { summarizePlaywright, summarizeVitest } from './test-summary.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'node_modules', '.bin');
const REPORTS = join(ROOT, 'reports');
const UNIT_REPORT = join(REPORTS, 'unit.json');
const E2E_REPORT = join(REPORTS, 'e2e.json');
const SOAK_REPORT = join(REPORTS, 'soak.json');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const t0 = Date.now();
const step = (what) => console.log(`\n::: ${what} (${((Date.now() - t0) / 1000).toFixed(0)}s)`);

/** Runs a command with live output; returns its exit status ({ code, signal }). */
function runStatus(cmd, args, env = {}) {
  const res = spawnSync(cmd, args, { cwd: ROOT, stdio: 'inherit', env: { ...process.env, ...env } });
  if (res.error) console.error(`could not run ${cmd}: ${res.error.message}`);
  return { code: res.error ? null : res.status, signal: res.signal };
}

/** Runs a command with live output; returns true on exit code 0. */
const run = (cmd, args, env = {}) => runStatus(cmd, args, env).code === 0;

function readJson(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

let passed = 0;
let failed = 0;
let skipped = 0;
const problems = [];

/** Adds one runner's summary to the totals. */
function addSummary(summary) {
  passed += summary.passed;
  failed += summary.failed;
  skipped += summary.skipped;
  problems.push(...summary.problems);
}

mkdirSync(REPORTS, { recursive: true });
rmSync(UNIT_REPORT, { force: true });
rmSync(E2E_REPORT, { force: true });
rmSync(SOAK_REPORT, { force: true });

// 1. Chromium
step('chromium');
let browser = existsSync(CHROMIUM);
if (!browser) {
  if (process.env.CHROMIUM_PATH) {
    console.error(`CHROMIUM_PATH=${CHROMIUM} does not exist: browser tests are skipped and count as failed.`);
  } else if (process.getuid?.() === 0) {
    console.log(`${CHROMIUM} is missing: installing Debian's chromium with apt-get`);
    const env = { DEBIAN_FRONTEND: 'noninteractive' };
    browser = run('apt-get', ['update'], env) && run('apt-get', ['install', '-y', 'chromium'], env) && existsSync(CHROMIUM);
    if (!browser) console.error('apt-get install chromium failed: browser tests are skipped and count as failed.');
  } else {
    console.error(
      `${CHROMIUM} is missing and this is not root, so it cannot be installed here.\n` +
        `Install it with: sudo apt-get install -y chromium (or set CHROMIUM_PATH to a Chromium binary).\n` +
        `Browser tests are skipped and count as failed.`,
    );
  }
}
if (browser) console.log(`browser: ${CHROMIUM}`);

// 2. Type checks
step('type check (npm run check)');
if (!run('npm', ['run', 'check'])) {
  problems.push('type check failed');
  failed += 1;
}

// 3. Unit and integration tests
step('unit and integration tests (vitest)');
const vitestExit = runStatus(join(BIN, 'vitest'), ['run', '--reporter=default', '--reporter=json', `--outputFile=${UNIT_REPORT}`]);
addSummary(summarizeVitest(vitestExit, readJson(UNIT_REPORT)));

// 4. Build
step('build the web app');
let built = true;
try {
  await ensureBuild();
} catch (err) {
  console.error(err instanceof Error ? err.message : String(err));
  built = false;
}

// 5. Browser tests
step('browser tests (playwright + Debian chromium)');
// Not run (no browser, no build): no report, which counts as 1 failed.
let playwrightExit = { code: null, signal: null };
if (!browser) {
  console.error('skipped: no Chromium');
} else if (!built) {
  console.error('skipped: the web app did not build');
} else {
  playwrightExit = runStatus(join(BIN, 'playwright'), ['test']);
}
addSummary(summarizePlaywright(playwrightExit, readJson(E2E_REPORT)));

// 6. Soak: last and alone, since it measures how responsive instances stay under abuse.
step('soak (vitest, tests/soak/)');
const soakExit = runStatus(join(BIN, 'vitest'), ['run', '--config', 'vitest.soak.config.ts', '--reporter=default', '--reporter=json', `--outputFile=${SOAK_REPORT}`]);
addSummary(summarizeVitest(soakExit, readJson(SOAK_REPORT)));

step('summary');
for (const problem of problems) console.log(`failed: ${problem}`);
console.log(`${skipped} skipped`);
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;
