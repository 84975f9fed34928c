// Issue 6, attacks 6, 7 (app link) and 9 (lockout): password guessing is counted before the slow
// hash, one login per session runs at a time, scrypt jobs are capped so the web port keeps
// answering during a flood, strangers cannot lock the owner's browsers out, and unauthenticated
// sessions and pending handshakes are capped apart from the logged-in browsers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/api.ts';
import { connectApp, newDeviceKey, setUpAccount, tryUpgrade, type AppClient, type AppReply } from '../helpers/app-client.ts';
import { startInstance, type Instance } from '../helpers/instance.ts';

const PASSWORD = 'correct horse battery';
/**
 * Guessers dial from other loopback addresses than the owner's browser (127.0.0.1), as strangers
 * on the LAN would: per-address limits keep them from crowding the owner out. `guesser(n)` spreads
 * many of them over several addresses, as a botnet would.
 */
const STRANGER = '127.0.0.2';
const guesser = (n: number) => `127.0.1.${1 + (n % 200)}`;
const owner = newDeviceKey();
let node: Instance;

beforeAll(async () => {
  node = await startInstance();
  const app = await connectApp(node.url, owner, 'Owner laptop');
  expect((await setUpAccount(app, node.dataDir, 'alice', PASSWORD)).result).toMatchObject({ authenticated: true });
  app.close();
});
afterAll(async () => node?.stop());

const statuses = (replies: AppReply[]) => replies.map((reply) => (reply.ok ? 200 : reply.error!.status));
const count = (list: number[], status: number) => list.filter((s) => s === status).length;

/** Closes a client and waits until the companion has seen the close (so it no longer holds a slot). */
async function closeAndWait(app: AppClient): Promise<void> {
  app.close();
  await app.closed;
}

describe('login throttling', () => {
  it('answers 200 pipelined wrong guesses and the right password on one session with 429s, not a login', async () => {
    const attacker = await connectApp(node.url, undefined, undefined, STRANGER);
    const guesses = Array.from({ length: 200 }, (_, i) => attacker.call('session.login', { username: 'alice', password: `wrong ${i}` }));
    const right = attacker.call('session.login', { username: 'alice', password: PASSWORD });
    const replies = await Promise.all([...guesses, right]);
    const all = statuses(replies);
    expect(count(all, 401)).toBeLessThanOrEqual(5);
    expect(count(all, 429)).toBeGreaterThanOrEqual(195);
    // One login at a time per session: the rest of the pipeline is turned away before any hashing.
    expect(replies.filter((reply) => /already being checked/.test(reply.error?.message ?? '')).length).toBeGreaterThanOrEqual(195);
    expect((await right).ok).toBe(false);
    expect((await attacker.call('session.status')).result.authenticated).toBe(false);
    await closeAndWait(attacker);
  });

  it('counts guesses before hashing: one device key on many sessions gets its 5 free tries, not more', async () => {
    const key = newDeviceKey();
    const sessions = await Promise.all(Array.from({ length: 6 }, () => connectApp(node.url, key, undefined, STRANGER)));
    const rounds = await Promise.all(
      sessions.flatMap((app) => [0, 1, 2].map((i) => app.call('session.login', { username: 'bob', password: `nope ${i}` }))),
    );
    const all = statuses(rounds);
    expect(count(all, 401)).toBeLessThanOrEqual(5);
    expect(count(all, 200)).toBe(0);
    const throttled = rounds.find((reply) => reply.error?.status === 429 && reply.error.details?.retry_after_seconds);
    expect(throttled?.error?.message).toMatch(/Too many failed logins; try again in \d+ seconds?|already being checked/);
    await Promise.all(sessions.map(closeAndWait));
  });

  it('lets the owner\'s logged-in browser log in while strangers with throwaway keys have the username throttled', async () => {
    let refused: AppReply | undefined;
    for (let i = 0; i < 40 && !refused; i++) {
      const stranger = await connectApp(node.url, undefined, undefined, guesser(i));
      const reply = await stranger.call('session.login', { username: 'alice', password: `guess ${i}` });
      if (reply.error?.status === 429) refused = reply;
      else expect(reply.error?.status).toBe(401);
      await closeAndWait(stranger);
    }
    expect(refused?.error?.details?.retry_after_seconds).toBeGreaterThan(0);

    const laptop = await connectApp(node.url, owner);
    expect((await laptop.call('session.login', { username: 'alice', password: PASSWORD })).result).toMatchObject({ authenticated: true });
    expect((await laptop.call('network.peers')).ok).toBe(true);
    await closeAndWait(laptop);
  }, 120_000);

  it('keeps GET / answering during a login flood (scrypt jobs are capped)', async () => {
    // As many sessions as the companion takes, each pipelining guesses at random usernames (each
    // one a full scrypt on the old code): 64 × 7 ≈ 450 logins at once.
    const opened = await Promise.allSettled(Array.from({ length: 64 }, (_, n) => connectApp(node.url, undefined, undefined, guesser(n))));
    const flooders = opened.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    const flood = Promise.all(
      flooders.flatMap((app, n) =>
        Array.from({ length: 7 }, (_, i) => app.call('session.login', { username: `user${n}x${i}`, password: 'flood' })),
      ),
    );
    const answered: number[] = [];
    for (let i = 0; i < 5; i++) {
      const page = await fetch(`${node.url}/`, { signal: AbortSignal.timeout(5_000) });
      expect(page.status).toBe(200);
      await page.text();
      answered.push(page.status);
    }
    expect(answered).toHaveLength(5);
    const replies = statuses(await flood);
    expect(count(replies, 200)).toBe(0);
    await Promise.all(flooders.map(closeAndWait));
  }, 120_000);
});

describe('app-link sessions and handshakes', () => {
  it('caps unauthenticated sessions apart from logged-in browsers: 70 strangers do not keep the owner out', async () => {
    const opened = await Promise.allSettled(Array.from({ length: 70 }, () => connectApp(node.url, undefined, undefined, STRANGER)));
    const strangers = opened.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    const alive = (await Promise.all(strangers.map(async (app) => (await app.call('session.status')).ok))).filter(Boolean).length;
    // At most 8 per address get a session; the rest are closed (cap) or pushed out mid-handshake.
    expect(alive).toBeLessThanOrEqual(8);
    expect(node.output()).toMatch(/app link limit reached.*(browsers not logged in|pending handshakes)/);

    const laptop = await connectApp(node.url, owner);
    expect((await laptop.call('session.status')).result).toMatchObject({ authenticated: true });
    expect((await laptop.call('network.peers')).ok).toBe(true);
    await closeAndWait(laptop);
    await Promise.all(strangers.map(closeAndWait));
  });

  it('refuses new connections past the per-address rate with 429, while the owner\'s address still connects', async () => {
    const flood = await Promise.allSettled(Array.from({ length: 60 }, () => tryUpgrade(node.url, {}, '127.0.0.3')));
    const answers = flood.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    const refused = answers.filter((answer) => answer.status === 429);
    expect(refused.length).toBeGreaterThanOrEqual(20);
    expect(JSON.parse(refused[0]!.body)).toEqual({ error: 'Too many connections from your address; try again in a few seconds' });
    for (const answer of answers) answer.ws?.terminate();

    const laptop = await connectApp(node.url, owner);
    expect((await laptop.call('session.status')).result.authenticated).toBe(true);
    await closeAndWait(laptop);
  });

  it('closes a session that has not logged in after the login window (~30 s)', async () => {
    const idle = await connectApp(node.url);
    expect((await idle.call('session.status')).ok).toBe(true);
    const closed = await Promise.race([idle.closed, new Promise<null>((r) => setTimeout(() => r(null), 45_000))]);
    expect(closed).toMatchObject({ code: 4010 });
  }, 60_000);

  it('caps pending handshakes: a flood of silent sockets holds at most 8 slots per address, the owner still connects', async () => {
    const upgrades = await Promise.allSettled(Array.from({ length: 100 }, () => tryUpgrade(node.url, {}, STRANGER)));
    const sockets = upgrades.flatMap((result) => (result.status === 'fulfilled' && result.value.ws ? [result.value.ws] : []));
    // Newcomers push out the oldest silent sockets (or are refused with 503): at most 8 stay, not 100.
    await eventually('silent sockets beyond the cap dropped', async () => sockets.filter((ws) => ws.readyState === ws.OPEN).length <= 8, 5_000);

    // The owner's browser sends message 1 at once: it gets in even while silent sockets hold slots.
    const laptop = await connectApp(node.url, owner);
    expect((await laptop.call('session.status')).result.authenticated).toBe(true);
    await closeAndWait(laptop);
    // The silent ones never send handshake message 1: they are dropped within seconds.
    await eventually('every silent socket dropped', async () => sockets.every((ws) => ws.readyState === ws.CLOSED));
  });
});
