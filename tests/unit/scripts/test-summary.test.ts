// `npm test` must never say green when it is not. Each case below is a REAL `vitest run` of a fixture
// in tests/fixtures/runner/ (outside the suite's include globs), using the project's own Vitest
// settings; its exit status and JSON report go through scripts/test-summary.js as scripts/test.js
// feeds them. Playwright's side: two real runs (a passing file, a forbidden `.only`), and report
// objects of the shape its json reporter writes for the cases that need a crash or a browser.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { summarizePlaywright, summarizeVitest, type ExitStatus } from '../../../scripts/test-summary.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = join(ROOT, 'node_modules', '.bin');
const FIXTURES = 'tests/fixtures/runner';
/** Spawns at a time: the machine is shared, and each run is short. */
const CONCURRENCY = 2;

interface Run {
  exit: ExitStatus;
  report: unknown;
}

/** Named fixture runs: the arguments after `vitest run`. */
const CASES = {
  passing: [`${FIXTURES}/passing.fixture.ts`],
  loadError: [`${FIXTURES}/load-error.fixture.ts`],
  beforeAll: [`${FIXTURES}/before-all.fixture.ts`],
  unhandledRejection: [`${FIXTURES}/unhandled-rejection.fixture.ts`],
  killedWorker: [`${FIXTURES}/killed-worker.fixture.ts`],
  skipped: [`${FIXTURES}/skipped.fixture.ts`],
  only: [`${FIXTURES}/only.fixture.ts`],
  // Zero tests: a name filter that matches nothing, and a file filter that matches nothing.
  noTestSelected: [`${FIXTURES}/passing.fixture.ts`, '-t', 'no test has this name'],
  noFileSelected: [`${FIXTURES}/no-such.fixture.ts`],
} satisfies Record<string, string[]>;
type Case = keyof typeof CASES;

let reportDir: string;
const runs = new Map<Case, Run>();

/** The child's environment without this Vitest's own markers, and without CI (whose default forbids `.only`). */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  for (const key of Object.keys(env)) if (key.startsWith('VITEST') || key === 'CI') delete env[key];
  return env;
}

/** Runs a test runner to its end; its exit status and the JSON report it wrote (null if none). */
function runRunner(runner: 'vitest' | 'playwright', args: string[], reportFile: string, env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(BIN, runner), args, { cwd: ROOT, env: childEnv(env), stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      let report: unknown = null;
      try {
        report = JSON.parse(readFileSync(reportFile, 'utf8'));
      } catch {
        // No report: the summary must count that as a failure too.
      }
      resolve({ exit: { code, signal }, report });
    });
  });
}

function runVitest(name: Case): Promise<Run> {
  const reportFile = join(reportDir, `${name}.json`);
  const config = join(ROOT, FIXTURES, 'vitest.config.ts');
  return runRunner('vitest', ['run', ...CASES[name], '--config', config, '--reporter=json', `--outputFile=${reportFile}`], reportFile);
}

/** A Playwright run of one fixture file; its report and artifacts stay in a scratch directory. */
function runPlaywright(file: string): Promise<Run> {
  const outputDir = mkdtempSync(join(reportDir, 'playwright-'));
  const args = ['test', `${FIXTURES}/${file}`, '--config', join(ROOT, FIXTURES, 'playwright.config.ts')];
  return runRunner('playwright', args, join(outputDir, 'report.json'), { RUNNER_FIXTURE_OUTPUT_DIR: outputDir });
}

function run(name: Case): Run {
  const result = runs.get(name);
  if (!result) throw new Error(`fixture run ${name} did not happen`);
  return result;
}

const summary = (name: Case) => summarizeVitest(run(name).exit, run(name).report);

beforeAll(async () => {
  reportDir = mkdtempSync(join(tmpdir(), 'canopy-runner-'));
  const queue = Object.keys(CASES) as Case[];
  const worker = async () => {
    for (let name = queue.shift(); name; name = queue.shift()) runs.set(name, await runVitest(name));
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}, 120_000);

afterAll(() => {
  rmSync(reportDir, { recursive: true, force: true });
});

describe('scripts/test-summary.js on real vitest runs', () => {
  it('counts a passing file as passed', () => {
    expect(run('passing').exit).toEqual({ code: 0, signal: null });
    expect(summary('passing')).toEqual({ passed: 1, failed: 0, skipped: 0, problems: [] });
  });

  it('fails a file that throws while loading', () => {
    const result = summary('loadError');
    expect(result.failed).toBeGreaterThanOrEqual(1);
    expect(result.problems.join('\n')).toMatch(/load-error\.fixture\.ts failed outside its tests.*throws while loading/);
  });

  it('fails a failing beforeAll, though its test is only skipped', () => {
    const result = summary('beforeAll');
    expect(result.failed).toBeGreaterThanOrEqual(1);
    expect(result.problems.join('\n')).toMatch(/before-all\.fixture\.ts failed outside its tests/);
  });

  it('fails an unhandled rejection, which only the exit code shows', () => {
    const { exit, report } = run('unhandledRejection');
    expect(exit.code).not.toBe(0);
    // The JSON report alone looks green: every test passed.
    expect(summarizeVitest({ code: 0, signal: null }, report).failed).toBe(0);
    const result = summary('unhandledRejection');
    expect(result).toMatchObject({ passed: 1, failed: 1 });
    expect(result.problems).toEqual([expect.stringMatching(/^vitest: exited with code 1 though its report shows no failure/)]);
  });

  it('fails a worker killed mid-file', () => {
    const result = summary('killedWorker');
    expect(result.failed).toBeGreaterThanOrEqual(1);
    expect(result.problems.join('\n')).toMatch(/never finished/);
  });

  it('fails a run in which no test ran', () => {
    for (const name of ['noTestSelected', 'noFileSelected'] as const) {
      const result = summary(name);
      expect(result, name).toMatchObject({ passed: 0, failed: 1 });
      expect(result.problems, name).toContain('vitest: no test ran');
    }
  });

  it('reports skipped and todo tests without failing', () => {
    expect(summary('skipped')).toEqual({ passed: 1, failed: 0, skipped: 2, problems: [] });
  });

  it('refuses `.only` with the project config, even outside CI', () => {
    const result = summary('only');
    expect(run('only').exit.code).not.toBe(0);
    expect(result.failed).toBeGreaterThanOrEqual(1);
  });

  it('fails a run that left no report', () => {
    expect(summarizeVitest({ code: 1, signal: null }, null)).toMatchObject({ passed: 0, failed: 1 });
    expect(summarizeVitest({ code: null, signal: 'SIGKILL' }, null)).toMatchObject({ passed: 0, failed: 1 });
  });
});

describe('scripts/test-summary.js on real playwright runs', () => {
  let passing: Run;
  let only: Run;
  beforeAll(async () => {
    passing = await runPlaywright('passing.pw.ts');
    only = await runPlaywright('only.pw.ts');
  }, 120_000);

  it('counts a passing file as passed', () => {
    expect(summarizePlaywright(passing.exit, passing.report)).toEqual({ passed: 1, failed: 0, skipped: 0, problems: [] });
  });

  it('refuses `.only` with the project config, even outside CI', () => {
    expect(only.exit.code).not.toBe(0);
    const result = summarizePlaywright(only.exit, only.report);
    expect(result.failed).toBeGreaterThanOrEqual(1);
    expect(result.problems.join('\n')).toMatch(/forbidOnly/);
  });
});

describe('scripts/test-summary.js on playwright reports', () => {
  /** The fields of Playwright's json report that the summary reads. */
  const report = (stats: Partial<Record<'expected' | 'unexpected' | 'flaky' | 'skipped', number>>, errors: { message: string }[] = []) => ({
    config: {},
    suites: [],
    errors,
    stats: { startTime: new Date(0).toISOString(), duration: 1, expected: 0, skipped: 0, unexpected: 0, flaky: 0, ...stats },
  });
  const ok: ExitStatus = { code: 0, signal: null };
  const failedExit: ExitStatus = { code: 1, signal: null };

  it('counts expected and flaky tests as passed, skipped apart', () => {
    expect(summarizePlaywright(ok, report({ expected: 9, flaky: 1, skipped: 2 }))).toEqual({ passed: 10, failed: 0, skipped: 2, problems: [] });
  });

  it('counts each unexpected test as failed', () => {
    expect(summarizePlaywright(failedExit, report({ expected: 3, unexpected: 2 }))).toMatchObject({ passed: 3, failed: 2 });
  });

  it('counts errors outside tests, such as a forbidden .only', () => {
    const forbidden = report({}, [{ message: "Error: item focused with '.only' is not allowed due to the 'forbidOnly' option in 'playwright.config.ts'" }]);
    const result = summarizePlaywright(failedExit, forbidden);
    expect(result.failed).toBeGreaterThanOrEqual(1);
    expect(result.problems.join('\n')).toMatch(/forbidOnly/);
  });

  it('fails a non-zero exit that the report does not explain', () => {
    expect(summarizePlaywright(failedExit, report({ expected: 4 }))).toMatchObject({ passed: 4, failed: 1 });
    expect(summarizePlaywright({ code: null, signal: 'SIGKILL' }, report({ expected: 4 })).problems).toEqual([
      expect.stringMatching(/^playwright: was killed by SIGKILL/),
    ]);
  });

  it('fails when no test ran or there is no report', () => {
    expect(summarizePlaywright(ok, report({ skipped: 3 }))).toMatchObject({ passed: 0, failed: 1, skipped: 3 });
    expect(summarizePlaywright({ code: null, signal: null }, null)).toMatchObject({ passed: 0, failed: 1 });
    expect(summarizePlaywright(ok, { errors: [] })).toMatchObject({ failed: 1 });
  });
});
