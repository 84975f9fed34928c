// The soak's attacker, run as its own process so that its busy event loop cannot slow down the
// test's measurements: `node --import tsx tests/soak/abuse.ts '<json config>'`. It abuses the
// victims until `durationMs` has passed, then prints one JSON line with what it did. It dials from
// other loopback addresses (127.0.2.x) than the honest peers and the owner (127.0.0.1), as
// strangers on the LAN would, spread over several addresses as a botnet would.
import { connect, type Socket } from 'node:net';
import { nodeCrypto } from '../../companion/crypto/node.ts';
import { generateIdentity } from '../../protocol/identity.ts';
import { apiClient } from '../helpers/api.ts';
import { connectApp } from '../helpers/app-client.ts';
import type { Instance } from '../helpers/instance.ts';
import { rawHandshake } from '../helpers/raw-peer.ts';
import { trustedRawSession } from '../helpers/raw-session.ts';

export interface Victim {
  url: string;
  port: number;
  meshPort: number;
  /** An API key that may read the invite (view_peers), so the sync flooder can be trusted. */
  key: string;
  /** A username whose password the login flood guesses, or null for no login flood. */
  loginAs: string | null;
}

export interface AbuseConfig {
  victims: Victim[];
  durationMs: number;
  halfOpenPerPort: number;
}

const counts = { syncFrames: 0, strangers: 0, wrongLogins: 0, halfOpenReopened: 0 };
let dials = 0;
/** The next attacker address: 127.0.2.1 to 127.0.2.16, in turn. */
const attackerAddress = () => `127.0.2.${1 + (dials++ % 16)}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `task` again and again until `stop` says so, `concurrency` at a time. */
function loop(stop: () => boolean, concurrency: number, task: () => Promise<unknown>): Promise<void> {
  const worker = async () => {
    while (!stop()) await task().catch(() => sleep(50));
  };
  return Promise.all(Array.from({ length: concurrency }, worker)).then(() => {});
}

/** Keeps `count` TCP sockets open to a port, sending nothing; reopens the ones the server closes. */
function halfOpen(port: number, count: number, stop: () => boolean): Promise<void> {
  const sockets = new Set<Socket>();
  const open = () => {
    if (stop()) return;
    const socket = connect({ host: '127.0.0.1', port, localAddress: attackerAddress() });
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => {
      sockets.delete(socket);
      counts.halfOpenReopened++;
      setTimeout(open, 50);
    });
  };
  for (let i = 0; i < count; i++) open();
  return (async () => {
    while (!stop()) await sleep(200);
    for (const socket of sockets) socket.destroy();
  })();
}

/** A trusted peer that never reads and sends empty sync frames without pause. */
async function syncFlood(victim: Victim, stop: () => boolean): Promise<void> {
  const session = await trustedRawSession(victim as unknown as Instance, apiClient(victim.url, victim.key));
  session.stopReading();
  while (!stop() && session.isOpen()) {
    for (let i = 0; i < 50; i++) session.send({ t: 'sync', vectors: {} });
    counts.syncFrames += 50;
    await sleep(10);
  }
  session.close();
}

/** A fresh identity nobody invited completes a handshake and lingers a moment. */
async function stranger(victim: Victim): Promise<void> {
  const connection = await rawHandshake(`ws://127.0.0.1:${victim.meshPort}/p2p`, generateIdentity(nodeCrypto), { from: attackerAddress() });
  counts.strangers++;
  await sleep(500);
  connection.ws.terminate();
}

/** A new browser key guessing the owner's password. */
async function wrongLogin(victim: Victim): Promise<void> {
  const app = await connectApp(victim.url, undefined, undefined, attackerAddress());
  try {
    await app.call('session.login', { username: victim.loginAs, password: `guess-${Math.random()}` });
    counts.wrongLogins++;
  } finally {
    app.close();
  }
}

export async function abuse(config: AbuseConfig): Promise<typeof counts> {
  const deadline = Date.now() + config.durationMs;
  const stop = () => Date.now() > deadline;
  await Promise.all(
    config.victims.flatMap((victim) => [
      syncFlood(victim, stop),
      halfOpen(victim.meshPort, config.halfOpenPerPort, stop),
      halfOpen(victim.port, config.halfOpenPerPort, stop),
      loop(stop, 3, () => stranger(victim)),
      ...(victim.loginAs ? [loop(stop, 4, () => wrongLogin(victim))] : []),
    ]),
  );
  return counts;
}

const config = JSON.parse(process.argv[2] ?? '{}') as AbuseConfig;
console.log(JSON.stringify(await abuse(config)));
process.exit(0);
