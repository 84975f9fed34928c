// A star of five (issue 7, deliverable 6): a hub H linked to four leaves that know nothing of each
// other. Through H alone every leaf learns the others (introductions), their names and device names
// (signed profile cards), their channels and posts — each exactly once; two leaves that then link
// directly still get every post once, although it now reaches them by two paths.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, createKey, eventually, type ApiClient } from '../helpers/api.ts';
import { startInstance, type Instance } from '../helpers/instance.ts';

const LEAVES = 4;

interface Node {
  instance: Instance;
  api: ApiClient;
  peerId: string;
  name: string;
}

let hub: Node;
let leaves: Node[] = [];

type Message = { id: string; content: string; author_peer_id: string };
type Introduced = { peer_id: string; display_name: string | null; device_name: string | null; introduced_by: string[] };

async function startNode(name: string): Promise<Node> {
  const instance = await startInstance();
  const api = apiClient(instance.url, await createKey(instance.dataDir));
  const peerId = (await api.get('/p2p/status')).body.peer_id as string;
  expect((await api.post('/profile', { display_name: name })).status).toBe(200);
  expect((await api.post('/device/profile', { display_name: `${name}'s machine` })).status).toBe(200);
  return { instance, api, peerId, name };
}

const messagesIn = async (node: Node, channel: string): Promise<Message[]> =>
  (await node.api.get(`/channels/${channel}/messages`)).body.messages ?? [];

beforeAll(async () => {
  // One at a time: five companions starting at once can take a 2-core machine past the start timeout.
  hub = await startNode('Hub');
  for (let i = 1; i <= LEAVES; i++) leaves.push(await startNode(`Leaf ${i}`));
  const invite = (await hub.api.get('/p2p/invite')).body.invite_code as string;
  for (const leaf of leaves) {
    expect((await leaf.api.post('/p2p/invite/import', { invite_code: invite })).body.status).toBe('connected');
  }
}, 180_000);

afterAll(async () => {
  await Promise.all([hub, ...leaves].map((node) => node?.instance.stop()));
});

describe('a star of five', () => {
  it('introduces every leaf to every other leaf, by the hub, with names and device names', async () => {
    for (const leaf of leaves) {
      const others = leaves.filter((other) => other !== leaf);
      const introduced = await eventually(`${leaf.name} to know the other leaves`, async () => {
        const list = (await leaf.api.get('/p2p/introduced')).body.introduced_peers as Introduced[];
        const found = others.map((other) => list.find((entry) => entry.peer_id === other.peerId));
        return found.every((entry) => entry?.display_name && entry.device_name) && (found as Introduced[]);
      }, 60_000);
      for (const [index, entry] of introduced.entries()) {
        expect(entry).toMatchObject({ display_name: others[index]!.name, device_name: `${others[index]!.name}'s machine`, introduced_by: [hub.peerId] });
      }
      const listed = (await leaf.api.get('/p2p/introduced')).body.introduced_peers as Introduced[];
      expect(listed.map((entry) => entry.peer_id)).not.toContain(leaf.peerId);
      expect(listed.map((entry) => entry.peer_id)).not.toContain(hub.peerId);
    }
  }, 120_000);

  it("carries every leaf's signed profile card to every other leaf", async () => {
    for (const leaf of leaves) {
      for (const other of leaves.filter((node) => node !== leaf)) {
        const card = await eventually(`${other.name}'s card on ${leaf.name}`, async () => {
          const answer = await leaf.api.get(`/profiles/${other.peerId}`);
          return answer.status === 200 && answer.body;
        }, 60_000);
        expect(card).toMatchObject({ peer_id: other.peerId, display_name: other.name });
      }
    }
  }, 120_000);

  it("carries each leaf's channel and its post to every node exactly once", async () => {
    const channels = [];
    for (const leaf of leaves) {
      const channel = (await leaf.api.post('/channels', { name: 'star', description: `${leaf.name}'s corner` })).body as { id: string };
      const posted = await leaf.api.post('/channels/messages', { channel_id: channel.id, content: `hello from ${leaf.name}` });
      expect(posted.status).toBe(200);
      channels.push({ id: channel.id, author: leaf, messageId: posted.body.message_id as string });
    }
    for (const node of [hub, ...leaves]) {
      for (const channel of channels) {
        const messages = await eventually(`${channel.id} on ${node.name}`, async () => {
          const list = await messagesIn(node, channel.id);
          return list.length > 0 && list;
        }, 60_000);
        expect(messages.map((m) => m.id)).toEqual([channel.messageId]);
        expect(messages[0]).toMatchObject({ author_peer_id: channel.author.peerId });
      }
    }
  }, 180_000);

  it('links two leaves directly on request, and a post reaching them by two paths is stored once', async () => {
    const [first, second, third] = leaves as [Node, Node, Node];
    const connected = await first.api.post('/p2p/connect_introduced', { peer_id: second.peerId });
    expect(connected.status).toBe(200);
    expect(connected.body).toMatchObject({ status: 'connected', peer_id: second.peerId });
    await eventually('the direct link on the second leaf', async () =>
      ((await second.api.get('/p2p/peers')).body.connected_peers as string[]).includes(first.peerId));

    const posted = await third.api.post('/p2p/send', { content: 'one copy for everyone', broadcast: true });
    for (const node of [hub, ...leaves]) {
      const copies = await eventually(`the broadcast on ${node.name}`, async () => {
        const list = (await messagesIn(node, 'general')).filter((m) => m.content === 'one copy for everyone');
        return list.length > 0 && list;
      }, 60_000);
      expect(copies.map((m) => m.id)).toEqual([posted.body.message_id]);
    }
    // The first leaf, now linked to the second, is no longer listed as merely introduced there.
    const listed = (await second.api.get('/p2p/introduced')).body.introduced_peers as Introduced[];
    expect(listed.map((entry) => entry.peer_id)).not.toContain(first.peerId);
  }, 120_000);
});
