// `canopy start` refuses a bad setting before it opens anything: exit status 2, one line naming the
// setting and why, and no data directory created.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const CANOPY = fileURLToPath(new URL('../../bin/canopy.js', import.meta.url));
const parent = mkdtempSync(join(tmpdir(), 'canopy-cli-'));
afterAll(() => rmSync(parent, { recursive: true, force: true }));

function start(args: string[], env: Record<string, string> = {}) {
  const dataDir = join(parent, `data-${Math.random().toString(36).slice(2)}`);
  const result = spawnSync(process.execPath, [CANOPY, 'start', '--port', '1', '--data-dir', dataDir, ...args], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: result.status, stderr: result.stderr, dataDirMade: existsSync(dataDir) };
}

describe('canopy start: usage errors', () => {
  it.each([
    [['--advertise', 'http://203.0.113.7:7771'], {}, 'Invalid --advertise: Invalid endpoint "http://203.0.113.7:7771": scheme must be ws:// or wss://'],
    [[], { CANOPY_ADVERTISE: 'ws://' }, 'Invalid --advertise'],
    [[], { CANOPY_RELAY_POLICY: 'everything' }, 'Invalid CANOPY_RELAY_POLICY: everything. Use: off, broker_only, full_relay'],
    [[], { CANOPY_RELAY_MAX_CIRCUITS: '0' }, 'Invalid CANOPY_RELAY_MAX_CIRCUITS: 0 (expected a positive integer)'],
    [[], { CANOPY_RELAY_MAX_CIRCUIT_LIFETIME_MS: 'soon' }, 'Invalid CANOPY_RELAY_MAX_CIRCUIT_LIFETIME_MS: soon'],
  ])('%j %j → %s', (args, env, message) => {
    const result = start(args, env as Record<string, string>);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.dataDirMade).toBe(false);
  });
});
