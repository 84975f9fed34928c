// Issue 6, attack 2: a web page on another site (or a LAN host) must not be able to create the
// account of a fresh instance, nor drive its REST API from a browser. The app link and
// state-changing REST requests accept browsers only from the companion's own origin, and the first
// account needs the one-time setup code printed at start.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, createKey, eventually } from '../helpers/api.ts';
import { connectApp, newDeviceKey, readSetupCode, tryUpgrade } from '../helpers/app-client.ts';
import { startInstance, type Instance } from '../helpers/instance.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);
const PASSWORD = 'correct horse battery';
const EVIL = 'https://evil.example';

let node: Instance;
let allowing: Instance;

beforeAll(async () => {
  [node, allowing] = await Promise.all([
    startInstance(),
    startInstance({ env: { CANOPY_ALLOWED_ORIGINS: 'https://canopy.example.com' } }),
  ]);
});
afterAll(async () => Promise.all([node?.stop(), allowing?.stop()]));

describe('browser origin on the app link', () => {
  it('refuses an upgrade from another origin with 403, so it cannot create the account', async () => {
    const refused = await tryUpgrade(node.url, { Origin: EVIL });
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body).error).toMatch(/other web pages/);

    const app = await connectApp(node.url);
    expect((await app.call('session.status')).result).toMatchObject({ setup_required: true });
    app.close();
  });

  it('refuses a DNS-rebound name (Origin matches Host, but the name is not local)', async () => {
    const port = new URL(node.url).port;
    const rebound = await tryUpgrade(node.url, { Host: `evil.example:${port}`, Origin: `http://evil.example:${port}` });
    expect(rebound.status).toBe(403);
    expect(JSON.parse(rebound.body).error).toMatch(/host name "evil.example"/);
  });

  it('accepts its own origin, local names and clients without Origin', async () => {
    const port = new URL(node.url).port;
    const cases: Array<Record<string, string>> = [
      { Origin: node.url },
      { Host: `localhost:${port}`, Origin: `http://localhost:${port}` },
      { Host: `canopy-box.local:${port}`, Origin: `http://canopy-box.local:${port}` },
      {},
    ];
    for (const headers of cases) {
      const opened = await tryUpgrade(node.url, headers);
      expect(opened.status, JSON.stringify(headers)).toBe(101);
      opened.ws!.close();
    }
  });

  it('accepts an origin listed in CANOPY_ALLOWED_ORIGINS, and no other', async () => {
    const listed = await tryUpgrade(allowing.url, { Host: 'canopy.example.com', Origin: 'https://canopy.example.com' });
    expect(listed.status).toBe(101);
    listed.ws!.close();
    expect((await tryUpgrade(allowing.url, { Origin: EVIL })).status).toBe(403);
  });
});

describe('browser origin on REST', () => {
  it('refuses a state-changing request from another origin; curl-style (no Origin) with a key works', async () => {
    const key = await createKey(node.dataDir, 'all');
    const post = (headers: Record<string, string>) =>
      fetch(`${node.url}/api/v1/keys`, {
        method: 'POST',
        headers: { 'X-API-Key': key, 'Content-Type': 'application/json', ...headers },
        body: JSON.stringify({ permissions: ['all'], name: 'minted' }),
      });

    const foreign = await post({ Origin: EVIL });
    expect(foreign.status).toBe(403);
    expect((await foreign.json()).error).toMatch(/other web pages/);
    const rebound = await post({ Host: `evil.example:${new URL(node.url).port}`, Origin: `http://evil.example:${new URL(node.url).port}` });
    expect(rebound.status).toBe(403);

    expect((await post({})).status).toBe(201);
    expect((await post({ Origin: node.url })).status).toBe(201);
    // Reading is not state-changing: the answer is the same as without an Origin.
    const read = await fetch(`${node.url}/api/v1/p2p/status`, { headers: { Origin: EVIL } });
    expect(read.status).toBe(200);
    const names = (await apiClient(node.url, key).get('/keys')).body.keys.map((k: { name: string }) => k.name);
    expect(names.filter((name: string) => name === 'minted')).toHaveLength(2);
  });
});

describe('setup code', () => {
  it('is printed at start with a ?setup= link and by `canopy setup-code`', async () => {
    const code = await readSetupCode(node.dataDir);
    expect(code).toMatch(/^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$/);
    await eventually('the start banner', async () => node.output().includes('Key fingerprint'));
    expect(node.output()).toContain(`Setup code:          ${code}`);
    expect(node.output()).toContain(`http://127.0.0.1:${new URL(node.url).port}/?setup=${code}`);
    expect(await readSetupCode(node.dataDir)).toBe(code);
  });

  it('is required, throttled when wrong, accepted once, then gone', async () => {
    const guesser = await connectApp(node.url);
    const attempt = (app: typeof guesser, setup_code?: string) =>
      app.call('session.setup', { username: 'mallory', password: PASSWORD, ...(setup_code === undefined ? {} : { setup_code }) });
    expect((await attempt(guesser)).error).toMatchObject({ status: 400, message: 'Setup code required' });
    expect((await attempt(guesser, '')).error?.message).toMatch(/Setup code required: it is printed in the terminal/);
    let throttled;
    for (let i = 0; i < 10 && !throttled; i++) {
      const reply = await attempt(guesser, `WRONG-CODE-${i}`);
      if (reply.error?.status === 429) throttled = reply.error;
      else expect(reply.error).toMatchObject({ status: 403, message: expect.stringMatching(/^Wrong setup code: .*npx canopy setup-code/) });
    }
    expect(throttled?.details?.retry_after_seconds).toBeGreaterThan(0);
    expect((await guesser.call('session.status')).result.setup_required).toBe(true);
    guesser.close();

    // The owner types it in lower case without dashes: still the code.
    const code = await readSetupCode(node.dataDir);
    const owner = await connectApp(node.url, newDeviceKey());
    const done = await owner.call('session.setup', { username: 'alice', password: PASSWORD, setup_code: code.replace(/-/g, '').toLowerCase() });
    expect(done.result).toMatchObject({ authenticated: true, username: 'alice' });
    owner.close();

    const again = await connectApp(node.url);
    expect((await again.call('session.setup', { username: 'mallory', password: PASSWORD, setup_code: code })).error?.status).toBe(409);
    again.close();
    const cli = await run(process.execPath, [join(ROOT, 'bin', 'canopy.js'), 'setup-code', '--data-dir', node.dataDir], { cwd: ROOT }).catch(
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    expect(cli).toMatchObject({ code: 1, stdout: '' });
    expect(cli.stderr).toMatch(/account already exists/);
  });

  it('is not printed once the account exists', async () => {
    await node.stop({ keepData: true });
    node = await startInstance({ dataDir: node.dataDir });
    await eventually('the start banner', async () => node.output().includes('Key fingerprint'));
    expect(node.output()).not.toMatch(/Setup code|No account yet/);
  }, 90_000);
});
