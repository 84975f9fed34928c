// Real companion processes for the mesh bench: started as the integration tests start them
// (tests/helpers/instance.ts, discovery off so 30 instances do not chatter on mDNS), each with an
// account, a logged-in app link that reports every stored message, and a REST API key.
import { apiClient, type ApiClient } from '../helpers/api.ts';
import { connectApp, type AppClient } from '../helpers/app-client.ts';
import { startInstance, type Instance } from '../helpers/instance.ts';
import { now } from './harness.ts';

/** Companions started at once: more only queue on the two cores and make each start slower. */
const START_CONCURRENCY = 4;
/** Invite imports (Noise handshake, catch-up, introductions on both sides) running at once. */
const LINK_CONCURRENCY = 4;
const SETUP_CODE = /Setup code:\s+(\S+)/;
const READY_TIMEOUT_MS = 30_000;

export interface MeshNode {
  /** 1-based, as the topologies name them (N1 … Nn). */
  index: number;
  instance: Instance;
  api: ApiClient;
  app: AppClient;
  peerId: string;
  /** Called with each stored message's id and the moment its app-link push was decoded here. */
  onStored(listener: (id: string, at: number) => void): void;
}

/**
 * Runs `work` over `items`, at most `limit` at a time. After a failure nothing new starts, and the
 * first error is thrown only once every running item has finished, so whatever they started is
 * known to the caller's cleanup.
 */
async function inBatches<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (next < items.length && !failure) {
      const i = next++;
      try {
        results[i] = await work(items[i]!);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
  return results;
}

async function setupCodeOf(instance: Instance): Promise<string> {
  const deadline = now() + READY_TIMEOUT_MS;
  for (;;) {
    const match = SETUP_CODE.exec(instance.output());
    if (match) return match[1]!;
    if (now() > deadline) throw new Error(`bench: no setup code printed by ${instance.url}:\n${instance.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** One companion with an owner account (over its app link, as the Setup page does) and an API key. */
async function startNode(index: number, started: Instance[], args: readonly string[]): Promise<MeshNode> {
  const instance = await startInstance({ args: ['--no-discovery', ...args] });
  started.push(instance);
  const app = await connectApp(instance.url, undefined, 'mesh bench');
  const setup = await app.call('session.setup', { username: `bench${index}`, password: 'mesh bench password', setup_code: await setupCodeOf(instance) });
  if (!setup.ok) throw new Error(`bench: account setup on N${index} failed: ${JSON.stringify(setup.error)}`);
  const key = await app.call('keys.create', { permissions: ['read_messages', 'write_messages', 'view_peers', 'manage_peers'], name: 'mesh bench' });
  if (!key.ok) throw new Error(`bench: API key on N${index} failed: ${JSON.stringify(key.error)}`);
  const api = apiClient(instance.url, key.result.api_key as string);
  const status = await api.get('/p2p/status');
  return {
    index,
    instance,
    api,
    app,
    peerId: status.body.peer_id as string,
    onStored: (listener) =>
      app.onPush(({ topic, data }) => {
        if (topic === 'message') listener(data.id as string, now());
      }),
  };
}

/** A set of running companions; stop() ends every process and removes every data dir. */
export class MeshProcesses {
  private readonly started: Instance[] = [];
  private readonly apps: AppClient[] = [];

  /** `argsOf` adds CLI arguments per node (1-based index), e.g. --advertise for an unreachable one. */
  async start(count: number, argsOf: (index: number) => readonly string[] = () => []): Promise<MeshNode[]> {
    const indexes = Array.from({ length: count }, (_, i) => i + 1);
    const nodes = await inBatches(indexes, START_CONCURRENCY, async (index) => {
      const node = await startNode(index, this.started, argsOf(index));
      this.apps.push(node.app);
      return node;
    });
    return nodes;
  }

  async stop(): Promise<void> {
    for (const app of this.apps.splice(0)) app.close();
    await Promise.all(this.started.splice(0).map((instance) => instance.stop()));
  }
}

/**
 * Links every pair over REST the way a user does: the second imports the first's invite. Returns
 * each node's peers as it reports them once every link is up (the real graph, not the intended one).
 */
export async function linkPairs(nodes: readonly MeshNode[], edges: ReadonlyArray<readonly [number, number]>): Promise<Map<number, Set<number>>> {
  await inBatches(edges, LINK_CONCURRENCY, async ([inviter, importer]) => {
    const invite = await nodes[inviter]!.api.get('/p2p/invite');
    const imported = await nodes[importer]!.api.post('/p2p/invite/import', { invite_code: invite.body.invite_code });
    if (imported.body.status !== 'connected') throw new Error(`bench: N${importer + 1} could not link to N${inviter + 1}: ${JSON.stringify(imported.body)}`);
  });
  const wanted = new Map(nodes.map((_, i) => [i, new Set<number>()]));
  for (const [a, b] of edges) {
    wanted.get(a)!.add(b);
    wanted.get(b)!.add(a);
  }
  const byPeerId = new Map(nodes.map((node, i) => [node.peerId, i]));
  const deadline = now() + READY_TIMEOUT_MS;
  for (;;) {
    const graph = new Map<number, Set<number>>();
    for (const [i, node] of nodes.entries()) {
      const peers = await node.api.get('/p2p/peers');
      const connected = (peers.body.connected_peers as string[]).map((id) => byPeerId.get(id)).filter((j): j is number => j !== undefined);
      graph.set(i, new Set(connected));
    }
    const settled = [...wanted].every(([i, want]) => graph.get(i)!.size >= want.size);
    if (settled) return graph;
    if (now() > deadline) throw new Error('bench: the mesh links did not all come up');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
