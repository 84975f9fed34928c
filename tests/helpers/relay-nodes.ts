// Companions for the relay tests: each started with its own API key, linked over REST, restarted on
// the same data dir and ports. `UNREACHABLE` advertised makes an instance undialable, as behind NAT.
import { expect } from 'vitest';
import { apiClient, createKey, type ApiClient } from './api.ts';
import { startInstance, type Instance } from './instance.ts';

/** A closed loopback port: advertised, it makes an instance one that can dial out but not be dialled. */
export const UNREACHABLE = 'ws://127.0.0.1:1';

export interface TestNode {
  instance: Instance;
  api: ApiClient;
  peerId: string;
}

export interface PeerRow {
  peer_id: string;
  connection: 'direct' | 'relayed';
  via: string | null;
}

/** Starts nodes and stops every one still running with `stopAll` (afterAll). */
export function nodePool() {
  const nodes: TestNode[] = [];
  const start = async (env: Record<string, string> = {}, dataDir?: string, port?: number): Promise<TestNode> => {
    const instance = await startInstance({ env, dataDir, port });
    const api = apiClient(instance.url, await createKey(instance.dataDir));
    const node = { instance, api, peerId: (await api.get('/p2p/status')).body.peer_id as string };
    nodes.push(node);
    return node;
  };
  return {
    start,
    /** The same data dir and ports again (peers stored its address), with `env`; stop it first. */
    async restart(stopped: TestNode, env: Record<string, string>): Promise<TestNode> {
      const again = await start(env, stopped.instance.dataDir, stopped.instance.port);
      nodes.splice(nodes.indexOf(stopped), 1);
      return again;
    },
    stopAll: () => Promise.allSettled(nodes.map((node) => node.instance.stop())),
  };
}

/** `importer` imports `inviter`'s invite and is linked. */
export async function link(inviter: TestNode, importer: TestNode): Promise<void> {
  const invite = await inviter.api.get('/p2p/invite');
  expect((await importer.api.post('/p2p/invite/import', { invite_code: invite.body.invite_code })).body.status).toBe('connected');
}

/** `on`'s connected-peer row for `peerId`, if linked. */
export async function peerRow(on: TestNode, peerId: string): Promise<PeerRow | undefined> {
  return ((await on.api.get('/p2p/peers')).body.connected_peer_details as PeerRow[]).find((row) => row.peer_id === peerId);
}

/** Whether `node` has been introduced to `peerId`. */
export async function introduced(node: TestNode, peerId: string): Promise<boolean> {
  return ((await node.api.get('/p2p/introduced')).body.introduced_peers as Array<{ peer_id: string }>).some((p) => p.peer_id === peerId);
}
