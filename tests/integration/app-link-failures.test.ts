// Issue 6, deliverable 7: every 5xx the app link can answer, driven over a real WebSocket with
// Noise against a real AppServer (real store in a temp dir, real account service):
// - a method that fails unexpectedly → exactly `{status: 500, message: 'Internal error'}`, logged
//   with its stack, nothing of it in the reply, and the session keeps working;
// - a login past the cap of logged-in browsers → 503 with retry_after_seconds;
// - an upgrade when every handshake slot is held by a handshake in progress → HTTP 503 `{"error"}`.
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OriginPolicy } from '../../companion/api/origin.ts';
import { APP_LINK_LIMITS } from '../../companion/app/admission.ts';
import { AppServer } from '../../companion/app/app-server.ts';
import type { AppServices } from '../../companion/app/methods.ts';
import { nodeCrypto } from '../../companion/crypto/node.ts';
import { loadOrCreateIdentity } from '../../companion/instance/identity-store.ts';
import type { Logger } from '../../companion/logger.ts';
import { AccountService } from '../../companion/service/account-service.ts';
import type { NetworkService } from '../../companion/service/network-service.ts';
import { ensureSetupCode } from '../../companion/service/setup-code.ts';
import { openStore, type Store } from '../../companion/store/index.ts';
import { APP_LINK_PROLOGUE_TEXT } from '../../protocol/app/contract.ts';
import { utf8 } from '../../protocol/bytes.ts';
import { XXHandshake } from '../../protocol/noise/index.ts';
import { eventually } from '../helpers/api.ts';
import { connectApp, newDeviceKey, tryUpgrade, type AppClient } from '../helpers/app-client.ts';
import { openRaw, type RawConnection } from '../helpers/raw-peer.ts';

const PASSWORD = 'correct horse battery';
/** What the failing method throws: a path and a detail that must never reach the browser. */
const SECRET_DETAIL = 'disk on fire at /var/secret/canopy.db';

let dir: string;
let store: Store;
let server: Server;
let appServer: AppServer;
let url: string;
const logLines: string[] = [];
const owner = newDeviceKey();

const log: Logger = {
  info: () => {},
  warn: (area, message, fields) => logLines.push(`WARN [${area}] ${message} ${JSON.stringify(fields ?? {})}`),
  error: (area, message, fields) => logLines.push(`ERROR [${area}] ${message} ${JSON.stringify(fields ?? {})}`),
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'canopy-app-failures-'));
  store = openStore({ file: join(dir, 'canopy.db'), atRestKey: new Uint8Array(32).fill(7) });
  const identity = loadOrCreateIdentity(nodeCrypto, join(dir, 'identity.json'), () => {});
  const accounts = new AccountService(store, identity.peerId, log);
  // An unexpected failure, as a bug or a broken disk would cause: a plain Error, not a ServiceError.
  const network = {
    peerSummaries: () => {
      throw new Error(SECRET_DETAIL);
    },
  } as unknown as NetworkService;
  const services = { accounts, network } as AppServices;
  appServer = new AppServer(nodeCrypto, identity, store, services, log, new OriginPolicy());
  server = createServer((_request, response) => response.writeHead(404).end());
  server.on('upgrade', (request, socket, head) => {
    if (!appServer.handleUpgrade(request, socket, head)) socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

  const app = await connectApp(url, owner, 'Owner laptop');
  const setup = await app.call('session.setup', { username: 'alice', password: PASSWORD, setup_code: ensureSetupCode(store)! });
  expect(setup.result).toMatchObject({ authenticated: true });
  await closeAndWait(app);
});

afterAll(async () => {
  appServer?.close();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  store?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function closeAndWait(app: AppClient): Promise<void> {
  app.close();
  await app.closed;
}

/** Retries `open` while the companion refuses new connections from this address for a moment (a rate per address). */
const whenAllowed = <T>(open: () => Promise<T | null>): Promise<T> => eventually('a connection the companion accepts', open, 30_000);

/** Opens `count` sessions, a few at a time so none is pushed out as a silent pending handshake. */
async function openSessions(count: number, key = owner): Promise<AppClient[]> {
  const sessions: AppClient[] = [];
  while (sessions.length < count) {
    const batch = Math.min(4, count - sessions.length);
    sessions.push(...(await Promise.all(Array.from({ length: batch }, () => whenAllowed(() => connectApp(url, key))))));
  }
  return sessions;
}

describe('app link: a method that fails unexpectedly', () => {
  it('answers exactly 500 "Internal error", logs the stack, leaks nothing, and the session stays usable', async () => {
    const app = await whenAllowed(() => connectApp(url, owner));
    expect((await app.call('session.status')).result).toMatchObject({ authenticated: true });

    const failed = await app.call('network.peers');
    expect(failed).toEqual({ ok: false, error: { status: 500, message: 'Internal error' } });
    expect(JSON.stringify(failed)).not.toMatch(/disk on fire|secret|at .*\.ts/);

    const logged = logLines.find((line) => line.includes('method failed'));
    expect(logged).toContain('network.peers');
    expect(logged).toContain(SECRET_DETAIL); // the owner's log has the stack the browser does not
    expect(logged).toMatch(/at .*app-link-failures\.test\.ts/);

    // The same session answers the next calls: a working one, and the failing one again.
    expect((await app.call('session.status')).result).toMatchObject({ authenticated: true, username: 'alice' });
    expect((await app.call('network.peers')).error).toEqual({ status: 500, message: 'Internal error' });
    await closeAndWait(app);
  });
});

describe('app link: the cap on logged-in browsers', () => {
  it(`refuses a login past ${APP_LINK_LIMITS.loggedInSessions} logged-in browsers with 503 and retry_after_seconds, then lets it in when one leaves`, async () => {
    const loggedIn = await openSessions(APP_LINK_LIMITS.loggedInSessions);
    const statuses = await Promise.all(loggedIn.map((app) => app.call('session.status')));
    expect(statuses.every((reply) => reply.result?.authenticated === true)).toBe(true);

    const newcomer = await whenAllowed(() => connectApp(url, newDeviceKey(), 'New phone'));
    const refused = await newcomer.call('session.login', { username: 'alice', password: PASSWORD });
    expect(refused.error).toEqual({
      status: 503,
      message: 'Too many browsers are logged in right now; log one out or try again later',
      details: { retry_after_seconds: 30 },
    });
    expect(logLines.some((line) => line.includes('app link limit reached') && line.includes('logged-in browsers'))).toBe(true);

    // One browser leaves: the same session logs in (the refusal did not count as a failed login).
    await closeAndWait(loggedIn.pop()!);
    await eventually('the login accepted once a slot is free', async () => {
      const reply = await newcomer.call('session.login', { username: 'alice', password: PASSWORD });
      return reply.ok ? reply : reply.error?.status === 503 ? null : Promise.reject(new Error(JSON.stringify(reply)));
    });
    expect((await newcomer.call('session.status')).result).toMatchObject({ authenticated: true });
    await Promise.all([...loggedIn, newcomer].map(closeAndWait));
  }, 60_000);
});

describe('app link: no handshake slot free', () => {
  it('refuses the upgrade with HTTP 503 and a JSON error while every slot holds a handshake in progress', async () => {
    // Each sends handshake message 1 (so it cannot be pushed out as silent) and then stalls.
    const stalled: RawConnection[] = [];
    for (let i = 0; i < APP_LINK_LIMITS.pendingHandshakesPerAddress; i++) {
      const connection = await whenAllowed(() => openRaw(`${url.replace(/^http/, 'ws')}/api/v1/app`));
      const noise = new XXHandshake(nodeCrypto, { initiator: true, staticKey: newDeviceKey(), prologue: utf8(APP_LINK_PROLOGUE_TEXT) });
      connection.ws.send(noise.writeMessage(new Uint8Array(0)));
      await connection.next(); // message 2: the companion has seen message 1
      stalled.push(connection);
    }

    const refused = await whenAllowed(async () => {
      const answer = await tryUpgrade(url);
      return answer.status === 429 ? null : answer;
    });
    expect(refused.status).toBe(503);
    expect(JSON.parse(refused.body)).toEqual({ error: 'Too many connections are being set up right now; try again shortly' });
    expect(logLines.some((line) => line.includes('app link limit reached') && line.includes('pending handshakes'))).toBe(true);

    // Once they go, a browser connects again.
    for (const connection of stalled) connection.ws.terminate();
    await Promise.all(stalled.map((connection) => connection.closed));
    const app = await whenAllowed(() => connectApp(url, owner));
    expect((await app.call('session.status')).result).toMatchObject({ authenticated: true });
    await closeAndWait(app);
  });
});
