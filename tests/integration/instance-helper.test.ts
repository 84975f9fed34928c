// tests/helpers/instance.ts: a port taken between picking and binding means another try on a fresh
// pair, not a failed (or skipped) file; and no companion outlives the test process that started it.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/api.ts';
import { freePortPair, startInstance, type Instance } from '../helpers/instance.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Holds `port` on 127.0.0.1 until the test ends, as another process grabbing it would. */
async function occupy(port: number): Promise<Server> {
  // Anyone who connects (the helper polling for readiness) is hung up on, so close() does not wait.
  const server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => resolve());
  });
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return server;
}

function track(instance: Instance): Instance {
  cleanups.push(() => instance.stop());
  return instance;
}

/** Companion processes (`canopy.js start`) whose command line mentions `dir`. */
function companionsUnder(dir: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmdline.includes('canopy.js') && cmdline.includes(dir)) found.push(pid);
    } catch {
      // The process ended meanwhile.
    }
  }
  return found;
}

describe('startInstance', () => {
  it('tries a fresh port pair when the picked one was taken meanwhile', async () => {
    const taken = await freePortPair();
    await occupy(taken + 1); // the mesh port: the companion's second bind fails with EADDRINUSE
    const picked: number[] = [];
    const pickPort = async () => {
      const port = picked.length === 0 ? taken : await freePortPair();
      picked.push(port);
      return port;
    };
    const instance = track(await startInstance({ pickPort }));
    expect(picked[0]).toBe(taken);
    expect(picked.length).toBeGreaterThanOrEqual(2);
    expect(instance.port).toBe(picked.at(-1));
    expect(instance.port).not.toBe(taken);
    expect((await fetch(`${instance.url}/api/v1/p2p/status`)).status).toBe(200);
  });

  it('keeps a port the caller chose: taken means a clear failure, not another port', async () => {
    const port = await freePortPair();
    await occupy(port);
    await expect(startInstance({ port })).rejects.toThrow(/EADDRINUSE/);
  });

  it('kills a companion that a failed Promise.all abandoned when the test process ends', async () => {
    // A real Vitest run of the fixture: its test ends while the second companion is still running.
    const runTmp = mkdtempSync(join(tmpdir(), 'canopy-abandoned-'));
    cleanups.push(() => rmSync(runTmp, { recursive: true, force: true }));
    const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: runTmp };
    for (const key of Object.keys(env)) if (key.startsWith('VITEST')) delete env[key];
    const args = ['run', 'tests/fixtures/runner/abandoned-start.fixture.ts', '--config', 'tests/fixtures/runner/vitest.config.ts'];
    const child = spawn(join(ROOT, 'node_modules', '.bin', 'vitest'), args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    cleanups.push(() => {
      for (const pid of companionsUnder(runTmp)) process.kill(Number(pid), 'SIGKILL');
    });
    // The fixture passed: the abandoned companion was running when its test ended.
    expect(code, output).toBe(0);
    await eventually('no companion left from that run', async () => companionsUnder(runTmp).length === 0, 10_000);
  });
});
