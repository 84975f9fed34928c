// Starts a real companion process (integration and browser tests):
//   node bin/canopy.js start --host 127.0.0.1 --port P --data-dir <fresh temp dir>
// on a free port P (P + 1 must be free too: the mesh listens there), waits until
// GET /api/v1/p2p/status answers 200 with the peer ID the child printed, and stop() ends it and
// removes the data dir. A port taken meanwhile (EADDRINUSE) means a fresh pair and another try;
// every companion started is killed when the test process exits, whatever happened to the test
// that started it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 5_000;
const OUTPUT_KEEP = 16_000;
/** Fresh port pairs tried when another process takes the picked port before the companion binds it. */
const PORT_ATTEMPTS = 5;

export interface StartOptions {
  /** HTTP port; the mesh uses port + 1. Default: a free pair picked at random. */
  port?: number;
  /** Extra CLI arguments after the standard ones. */
  args?: string[];
  /** Extra environment variables for the companion. */
  env?: Record<string, string>;
  /** Reuse a data dir (a restart); by default a fresh temp dir is made. */
  dataDir?: string;
  /** Where a free port pair comes from when `port` is not given (default freePortPair). */
  pickPort?: () => Promise<number>;
}

export interface Instance {
  /** http://127.0.0.1:P */
  url: string;
  port: number;
  /** Mesh port (port + 1). */
  meshPort: number;
  /** The companion's process id (e.g. to read its memory use from /proc/<pid>/status). */
  pid: number;
  dataDir: string;
  /** stdout + stderr so far (the tail), for assertions and failure messages. */
  output(): string;
  /** SIGTERM, SIGKILL after 5 s, then removes the data dir unless keepData. Safe to call twice. */
  stop(options?: { keepData?: boolean }): Promise<void>;
  /** kill -9, as a crash would; the data dir is kept. */
  kill(): Promise<void>;
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: HOST, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

function randomPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen({ port: 0, host: HOST }, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** A port P such that P and P + 1 are both free on 127.0.0.1. */
export async function freePortPair(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await randomPort();
    if (port > 0 && port < 65535 && (await canListen(port + 1))) return port;
  }
  throw new Error('could not find two adjacent free ports on 127.0.0.1');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (exited(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      resolve(false);
    }, ms);
    const onExit = () => {
      clearTimeout(timer);
      resolve(true);
    };
    child.once('exit', onExit);
  });
}

/**
 * Every companion this process started that has not exited yet. A child is added the moment it is
 * spawned, before any await, so even a start that a failed `Promise.all` abandoned is on the list;
 * whatever is still running when the test process exits is killed then, never left behind.
 */
const running = new Set<ChildProcess>();
function killRunning(): void {
  for (const child of running) child.kill('SIGKILL');
}
process.on('exit', killRunning);
// Vitest ends its workers with SIGTERM (SIGKILL 500 ms later), which skips 'exit' handlers: kill the
// companions first, then let the signal do what it would have done.
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    killRunning();
    process.kill(process.pid, signal);
  });
}

/** Thrown when the companion exited because another process took its port first. */
class PortTakenError extends Error {}

export async function startInstance(options: StartOptions = {}): Promise<Instance> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'canopy-test-'));
  // A port picked free can be taken by someone else before the companion binds it: pick a fresh
  // pair and try again. A port the caller chose (a restart) is kept, so that failure is final.
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await (options.pickPort ?? freePortPair)());
    try {
      return await launch(options, port, dataDir);
    } catch (error) {
      const retry = error instanceof PortTakenError && options.port === undefined && attempt < PORT_ATTEMPTS;
      if (!retry) {
        rmSync(dataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
        throw error;
      }
    }
  }
}

/** One companion on `port`, ready to answer; on failure it is stopped and the data dir kept. */
async function launch(options: StartOptions, port: number, dataDir: string): Promise<Instance> {
  const url = `http://${HOST}:${port}`;
  const args = [
    join(ROOT, 'bin', 'canopy.js'),
    'start',
    '--host', HOST,
    '--port', String(port),
    '--data-dir', dataDir,
    ...(options.args ?? []),
  ];
  // Spawn node directly (not npx/npm): killing a wrapper would orphan the server.
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));

  let out = '';
  let err = '';
  const keep = (prev: string, chunk: Buffer) => (prev + chunk.toString('utf8')).slice(-OUTPUT_KEEP);
  child.stdout?.on('data', (c: Buffer) => (out = keep(out, c)));
  child.stderr?.on('data', (c: Buffer) => (err = keep(err, c)));
  let spawnError: Error | undefined;
  child.on('error', (e) => {
    spawnError = e;
    running.delete(child);
  });

  let stopped = false;
  const stop = async (stopOptions: { keepData?: boolean } = {}): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (!exited(child)) {
      child.kill('SIGTERM');
      if (!(await waitForExit(child, STOP_GRACE_MS))) {
        child.kill('SIGKILL');
        await waitForExit(child, STOP_GRACE_MS);
      }
    }
    if (!stopOptions.keepData) rmSync(dataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  };
  const kill = async (): Promise<void> => {
    stopped = true;
    child.kill('SIGKILL');
    await waitForExit(child, STOP_GRACE_MS);
  };

  const fail = async (why: string, portTaken = false): Promise<never> => {
    await stop({ keepData: true });
    const message =
      `companion on ${url} ${why}\n` +
      `command: ${process.execPath} ${args.join(' ')}\n` +
      `--- stderr ---\n${err.trim() || '(empty)'}\n--- stdout ---\n${out.trim() || '(empty)'}`;
    throw portTaken ? new PortTakenError(message) : new Error(message);
  };

  const deadline = Date.now() + READY_TIMEOUT_MS;
  let lastProblem = 'no answer yet';
  for (;;) {
    if (spawnError) return fail(`could not be spawned: ${spawnError.message}`);
    if (exited(child)) {
      const why = `exited before it was ready (${child.signalCode ?? `exit code ${child.exitCode}`})`;
      return fail(why, /EADDRINUSE/.test(err + out));
    }
    if (Date.now() > deadline) return fail(`was not ready within ${READY_TIMEOUT_MS / 1000} s (last: ${lastProblem})`);
    // Another process may answer on this port (it took the port first; our child is about to exit
    // with EADDRINUSE): only our child's own peer ID, printed once it listens, counts as ready.
    const ownPeerId = /running as peer (\S+)/.exec(out)?.[1];
    try {
      const res = await fetch(`${url}/api/v1/p2p/status`, { signal: AbortSignal.timeout(2_000) });
      const body = (await res.json().catch(() => ({}))) as { peer_id?: unknown };
      if (res.status === 200 && ownPeerId && body.peer_id === ownPeerId) break;
      lastProblem = res.status !== 200 ? `HTTP ${res.status}` : ownPeerId ? `another peer (${String(body.peer_id)}) answers` : 'not listening yet';
    } catch (e) {
      lastProblem = e instanceof Error ? e.message : String(e);
    }
    await sleep(200);
  }

  return { url, port, meshPort: port + 1, pid: child.pid!, dataDir, output: () => `${err}${out}`, stop, kill };
}
