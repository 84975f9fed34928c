#!/usr/bin/env node
// Builds the web app (vite build -> build/) only when needed: build/index.html is missing, or a
// source that goes into it (web/, static/, protocol/, svelte.config.js, vite.config.ts,
// package-lock.json) is newer than build/.stamp. Prints one line saying what it did.
//
//   node scripts/ensure-build.js [--force] [--verbose]
//   import { ensureBuild } from '../scripts/ensure-build.js';
//   const { built } = await ensureBuild();   // throws (with vite's output) if the build fails
//
// Several processes may call it at once (tests start many companions): a lock directory makes the
// others wait, then re-check, so only one build runs. The lock names its holder's pid, so a holder
// killed mid-build (tests kill companions) does not block every later start for minutes.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SOURCES = ['web', 'static', 'protocol', 'svelte.config.js', 'vite.config.ts', 'package-lock.json'];
const LOCK_STALE_MS = 10 * 60 * 1000;

/** Newest mtime (ms) of a file or of any file below a directory; 0 if it does not exist. */
function newestMtime(path) {
  let st;
  try {
    st = statSync(path);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs; // a deleted file shows up as a newer directory mtime
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    newest = Math.max(newest, newestMtime(join(path, entry.name)));
  }
  return newest;
}

/**
 * Why a build is needed, or null when build/ is up to date.
 * @param {string} root
 * @returns {string | null}
 */
export function buildReason(root = ROOT) {
  const outDir = join(root, 'build');
  if (!existsSync(join(outDir, 'index.html'))) return 'build/index.html is missing';
  let stamp;
  try {
    stamp = statSync(join(outDir, '.stamp')).mtimeMs;
  } catch {
    return 'build/.stamp is missing';
  }
  for (const src of SOURCES) {
    if (newestMtime(join(root, src)) > stamp) return `${src} changed since the last build`;
  }
  return null;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The lock's holder died (its pid is gone), or the lock is older than any build takes. */
function lockIsStale(lock) {
  try {
    const pid = Number(readFileSync(join(lock, 'pid'), 'utf8'));
    if (pid > 0) process.kill(pid, 0);
  } catch (err) {
    if (/** @type {NodeJS.ErrnoException} */ (err).code === 'ESRCH') return true;
    // No pid file yet (the holder is between mkdir and write): judge by age alone.
  }
  return Date.now() - statSync(lock).mtimeMs > LOCK_STALE_MS;
}

async function withLock(root, fn) {
  const lock = join(root, '.svelte-kit', 'canopy-build.lock');
  mkdirSync(dirname(lock), { recursive: true });
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'pid'), String(process.pid));
      break;
    } catch (err) {
      if (/** @type {NodeJS.ErrnoException} */ (err).code !== 'EEXIST') throw err;
      try {
        if (lockIsStale(lock)) rmSync(lock, { recursive: true, force: true });
      } catch {
        /* gone already */
      }
      await sleep(250);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function runVite(root, verbose) {
  const vite = join(root, 'node_modules', '.bin', 'vite');
  return new Promise((resolveRun, reject) => {
    const child = spawn(vite, ['build'], {
      cwd: root,
      stdio: verbose ? 'inherit' : ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, FORCE_COLOR: verbose ? process.env.FORCE_COLOR : '0' },
    });
    let output = '';
    const keep = (chunk) => {
      output = (output + chunk.toString()).slice(-20_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.on('error', (err) => reject(new Error(`could not start ${vite}: ${err.message}`)));
    child.on('exit', (code, signal) => {
      if (code === 0) resolveRun();
      else reject(new Error(`vite build failed (${signal ?? `exit ${code}`})${verbose ? '' : `:\n${output}`}`));
    });
  });
}

/**
 * Build the web app into build/ if it is missing or stale.
 * @param {{ root?: string, force?: boolean, verbose?: boolean, log?: (line: string) => void }} [options]
 * @returns {Promise<{ built: boolean, reason: string | null, ms: number }>}
 */
export async function ensureBuild(options = {}) {
  const { root = ROOT, force = false, verbose = false, log = (line) => console.log(line) } = options;
  const t0 = Date.now();
  let reason = force ? 'forced' : buildReason(root);
  if (!reason) {
    log('web app: up to date (build/)');
    return { built: false, reason: null, ms: Date.now() - t0 };
  }
  return withLock(root, async () => {
    // Another process may have built it while we waited for the lock.
    reason = force ? 'forced' : buildReason(root);
    if (!reason) {
      log('web app: up to date (build/)');
      return { built: false, reason: null, ms: Date.now() - t0 };
    }
    const started = Date.now();
    await runVite(root, verbose);
    // Stamp with the time the build started: a source edited during the build triggers another one.
    const stamp = join(root, 'build', '.stamp');
    writeFileSync(stamp, `${new Date(started).toISOString()}\n`);
    utimesSync(stamp, started / 1000, started / 1000);
    const ms = Date.now() - t0;
    log(`web app: built build/ in ${(ms / 1000).toFixed(1)} s (${reason})`);
    return { built: true, reason, ms };
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const args = process.argv.slice(2);
  ensureBuild({ force: args.includes('--force'), verbose: args.includes('--verbose') }).catch((err) => {
    console.error(`web app: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  });
}
