// Auto-connect to LAN peers (Settings → Network, default off). It dials every discovered peer, so
// it runs in a private network namespace (root, `unshare -n`): in the shared loopback other test
// files' instances would receive its requests. Without the privilege the test is skipped, and says so.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const canUnshare = spawnSync('unshare', ['-n', 'true']).status === 0;

describe('LAN auto-connect', () => {
  it.skipIf(!canUnshare)('is off by default; when on, a discovered peer is linked as our choice and sees a request', () => {
    const run = spawnSync(
      'unshare',
      ['-n', 'sh', '-c', 'ip link set lo up && exec node --import tsx tests/integration/netns/auto-connect.check.ts'],
      { cwd: ROOT, encoding: 'utf8', timeout: 170_000 },
    );
    const line = run.stdout.trim().split('\n').pop() ?? '';
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(JSON.parse(line)).toEqual({
      defaultSetting: false,
      linkedWhileOff: false,
      set: { status: 'ok', auto_connect: true },
      trust: 'invited',
      request: true,
      rejected: 400,
    });
  }, 180_000);
});
