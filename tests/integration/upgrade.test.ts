// Upgrades lose nothing: data directories written by an earlier Canopy (schema 4, before
// introductions and profile cards) open with the current one. The peers stay linked and trusted,
// the old API keys still work, and every post, channel, DM and profile is still there.
import { chmodSync, cpSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrations } from '../../companion/store/index.ts';
import { apiClient, eventually, type ApiClient } from '../helpers/api.ts';
import { startInstance, type Instance } from '../helpers/instance.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/upgrade-schema4/', import.meta.url));
const keys = JSON.parse(readFileSync(join(FIXTURE, 'keys.json'), 'utf8')) as { a: string; b: string };
// The ports the old instances ran on: each stored the other's endpoint with them. Below the
// ephemeral range, so no port another test picked at random can hold them.
const PORTS = { a: 29470, b: 29472 };
const PEERS = { a: 'FeTs8yTYQVzJaUer', b: '7S2V8LgtEcagpY4s' };
const DATABASES = { a: 'devices/479f1c33/canopy.db', b: 'devices/f1abd472/canopy.db' };

let a: Instance;
let b: Instance;
let apiA: ApiClient;
let apiB: ApiClient;

/** A private copy of a fixture directory, with the modes the companion gives its files. */
function copyFixture(name: 'a' | 'b'): string {
  const dir = mkdtempSync(join(tmpdir(), `canopy-upgrade-${name}-`));
  cpSync(join(FIXTURE, name), dir, { recursive: true });
  chmodSync(join(dir, DATABASES[name]), 0o600);
  return dir;
}

const schemaVersion = (file: string): number => {
  const db = new BetterSqlite3(file, { readonly: true });
  try {
    return db.pragma('user_version', { simple: true }) as number;
  } finally {
    db.close();
  }
};

beforeAll(async () => {
  const dirs = { a: copyFixture('a'), b: copyFixture('b') };
  expect(schemaVersion(join(dirs.a, DATABASES.a))).toBe(4);
  [a, b] = await Promise.all([
    startInstance({ dataDir: dirs.a, port: PORTS.a, args: ['--no-discovery'] }),
    startInstance({ dataDir: dirs.b, port: PORTS.b, args: ['--no-discovery'] }),
  ]);
  apiA = apiClient(a.url, keys.a);
  apiB = apiClient(b.url, keys.b);
}, 60_000);

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
});

describe('upgrading a schema-4 data directory', () => {
  it('migrates the database to the current schema and keeps the identity', async () => {
    expect(schemaVersion(join(a.dataDir, DATABASES.a))).toBe(migrations.length);
    expect((await apiA.get('/p2p/status')).body.peer_id).toBe(PEERS.a);
    expect((await apiB.get('/p2p/status')).body.peer_id).toBe(PEERS.b);
  });

  it('accepts the API keys minted before the upgrade', async () => {
    expect((await apiA.get('/p2p/peers')).status).toBe(200);
    expect((await apiB.get('/p2p/peers')).status).toBe(200);
  });

  it('relinks the peers linked before, still trusted', async () => {
    const peers = await eventually('B linked to A again', async () => {
      const body = (await apiB.get('/p2p/peers')).body;
      return body.connected_peers.includes(PEERS.a) && body;
    }, 30_000);
    expect(peers.known_peers.find((peer: { peer_id: string }) => peer.peer_id === PEERS.a)).toMatchObject({ trust: 'invited', connected: true });
    expect((await apiA.get('/p2p/requests')).body.requests).toEqual([]);
  });

  it('keeps every post, channel and DM readable', async () => {
    const general = (await apiB.get('/channels/general/messages')).body.messages as Array<{ content: string; author_peer_id: string }>;
    expect(general).toEqual([expect.objectContaining({ content: 'hello before the upgrade', author_peer_id: PEERS.a })]);
    const channels = (await apiB.get('/channels')).body.channels as Array<{ id: string; description: string; origin_peer: string }>;
    const old = channels.find((channel) => channel.id === 'old-times-f4249c30fcc3');
    expect(old).toMatchObject({ description: 'made by schema 4', origin_peer: PEERS.a });
    const posts = (await apiB.get(`/channels/${old!.id}/messages`)).body.messages;
    expect(posts.map((post: { content: string }) => post.content)).toEqual(['in a channel']);
    const dms = (await apiB.get('/messages')).body.messages;
    expect(dms).toEqual([expect.objectContaining({ content: 'a private word', sender_id: PEERS.a, direction: 'incoming' })]);
  });

  it('keeps the profile, and the peer learns it again over the new link', async () => {
    expect((await apiA.get('/profile')).body).toMatchObject({ display_name: 'Ada', bio: 'from schema 4' });
    expect(await eventually("Ada's name on B", async () => {
      const known = (await apiB.get('/p2p/peers')).body.known_peers as Array<{ peer_id: string; display_name: string | null }>;
      return known.find((peer) => peer.peer_id === PEERS.a)?.display_name === 'Ada';
    })).toBe(true);
  });

  it('goes on exchanging messages after the upgrade, continuing the old sequence', async () => {
    const sent = await apiA.post('/p2p/send', { content: 'hello after the upgrade', broadcast: true });
    expect(sent.status).toBe(200);
    const general = await eventually('the new post on B', async () => {
      const messages = (await apiB.get('/channels/general/messages')).body.messages as Array<{ content: string; seq: number }>;
      return messages.length === 2 && messages;
    });
    expect(general.map((m) => m.content).sort()).toEqual(['hello after the upgrade', 'hello before the upgrade']);
    // The new post continues A's old sequence in general, so B's catch-up state stays exact.
    expect(general.map((m) => m.seq).sort()).toEqual([1, 2]);
  });
});
