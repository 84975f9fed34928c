// Measurement 6 (issue 7): posts crossing a mesh of real companion processes on loopback — a
// 10-node line and a seeded 20-node random mesh — against bare ws round trips × hops, and the
// bytes each node sends per post next to its degree. CANOPY_BENCH_MESH=0 skips it, =quick shrinks it.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { nodeCrypto } from '../../companion/crypto/node.ts';
import { b58encode } from '../../protocol/bytes.ts';
import { signEvent } from '../../protocol/events.ts';
import { encodeFrame } from '../../protocol/frames.ts';
import { generateIdentity } from '../../protocol/identity.ts';
import { ensureBuild } from '../../scripts/ensure-build.js';
import { HOST, now, percentile, type Row } from './harness.ts';
import { BARE_MESSAGE_BYTES } from './links.ts';
import { hopsFrom, lineEdges, randomMeshEdges, type Edge } from './mesh-graph.ts';
import { linkPairs, MeshProcesses, type MeshNode } from './mesh-nodes.ts';
import { cpuMs, meshBytesSent, type SocketBytes } from './mesh-counters.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MESH_SEED = 7;
const RTT_WARMUP = 100;
const RTT_SAMPLES = 300;
const POST_TIMEOUT_MS = 30_000;
/** After the last measured post: its acks and forwards still in flight get counted too. */
const SETTLE_MS = 300;
/**
 * Pause after a post has reached every node: its duplicates and acks are still crossing the mesh,
 * and the next post should be timed on its own, not queued behind them.
 */
const BETWEEN_POSTS_MS = 20;
const CONTENT = 'The quick brown fox jumps over the lazy dog while the benchmark measures the Canopy mesh. 0123456789';

export interface MeshSize {
  line: number;
  mesh: number;
  posts: number;
  warmup: number;
}

/** CANOPY_BENCH_MESH: "0" skips the mesh part, "quick" runs it small, anything else full size. */
export function meshSizeFromEnv(value = process.env.CANOPY_BENCH_MESH): MeshSize | null {
  if (value === '0') return null;
  if (value === 'quick') return { line: 4, mesh: 6, posts: 20, warmup: 3 };
  return { line: 10, mesh: 20, posts: 100, warmup: 10 };
}

/** Round trips of a 200 B ws message to an echo server in another node process (as between two companions). */
async function crossProcessWsRtt(): Promise<number[]> {
  const script = `const { WebSocketServer } = require('ws');
const server = new WebSocketServer({ host: '${HOST}', port: 0, perMessageDeflate: false });
server.on('listening', () => console.log(server.address().port));
server.on('connection', (ws) => ws.on('message', (data) => ws.send(data)));
process.stdin.on('end', () => process.exit(0)).resume();`;
  // Its stdin is our pipe: when this process ends, however it ends, the echo server ends too.
  const child = spawn(process.execPath, ['-e', script], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    const [port] = (await once(child.stdout!, 'data')) as [Buffer];
    const ws = new WebSocket(`ws://${HOST}:${port.toString().trim()}`, { perMessageDeflate: false });
    await once(ws, 'open');
    const payload = Buffer.alloc(BARE_MESSAGE_BYTES, 0x61);
    let echoed: (() => void) | null = null;
    ws.on('message', () => echoed?.());
    const samples: number[] = [];
    for (let i = 0; i < RTT_WARMUP + RTT_SAMPLES; i++) {
      const t0 = now();
      const back = new Promise<void>((resolve) => (echoed = resolve));
      ws.send(payload);
      await back;
      if (i >= RTT_WARMUP) samples.push(now() - t0);
    }
    ws.close();
    return samples;
  } finally {
    child.stdin!.end();
    child.kill();
  }
}

/** The bytes of one post as a link sends it: frame JSON + 16 B Noise tag + 4 B ws header. */
function postFrameWireBytes(): number {
  const identity = generateIdentity(nodeCrypto);
  const signed = signEvent(nodeCrypto, identity, {
    v: 1,
    author: identity.peerId,
    author_key: b58encode(identity.ed25519.publicKey),
    channel: 'general',
    seq: 1_000,
    kind: 'post',
    ts: Date.now(),
    body: { content: `${CONTENT} #10` },
  });
  return encodeFrame({ t: 'events', events: [signed] }).length + 16 + 4;
}

/** When each node's app link reported a stored message, by message id. */
class Arrivals {
  private readonly seen = new Map<string, Map<number, number>>();
  private waiting: { id: string; done: () => void } | null = null;

  constructor(private readonly count: number, nodes: readonly MeshNode[]) {
    for (const [i, node] of nodes.entries()) node.onStored((id, at) => this.record(id, i, at));
  }

  private record(id: string, node: number, at: number): void {
    const times = this.seen.get(id) ?? new Map<number, number>();
    if (!times.has(node)) times.set(node, at);
    this.seen.set(id, times);
    if (this.waiting?.id === id && times.size === this.count) this.waiting.done();
  }

  /** Arrival times at every node; fails naming the nodes it never reached. */
  async all(id: string): Promise<Map<number, number>> {
    const times = () => this.seen.get(id) ?? new Map<number, number>();
    if (times().size < this.count) {
      let timer: NodeJS.Timeout | undefined;
      try {
        await new Promise<void>((resolve, reject) => {
          this.waiting = { id, done: resolve };
          timer = setTimeout(() => {
            const missing = Array.from({ length: this.count }, (_, i) => i).filter((i) => !times().has(i));
            reject(new Error(`bench: post ${id} did not reach ${missing.map((i) => `N${i + 1}`).join(', ')}`));
          }, POST_TIMEOUT_MS);
        });
      } finally {
        clearTimeout(timer);
        this.waiting = null;
      }
    }
    const result = times();
    this.seen.clear();
    return result;
  }
}

interface TopologyResult {
  name: string;
  count: number;
  degrees: number[];
  hops: number[];
  /** Per post: ms from just before the POST at N1 to each node's push. */
  posts: number[][];
  /** Per node: bytes sent on its mesh sockets per measured post (NaN if its links changed mid-batch). */
  bytesPerPost: number[];
  /** CPU time of all the companions together per measured post (the pauses between posts included). */
  cpuMsPerPost: number;
}

/** Starts `count` companions, links them along `edges`, posts from N1 one at a time and times every arrival. */
async function runTopology(name: string, count: number, edges: Edge[], size: MeshSize): Promise<TopologyResult> {
  const processes = new MeshProcesses();
  let phase = now();
  const progress = (what: string) => {
    process.stderr.write(`\n  ${name}: ${what} (${((now() - phase) / 1000).toFixed(1)} s)`);
    phase = now();
  };
  try {
    const nodes = await processes.start(count);
    progress(`${count} companions up`);
    const graph = await linkPairs(nodes, edges);
    progress(`${edges.length} links up`);
    const hops = hopsFrom(graph, 0);
    const arrivals = new Arrivals(count, nodes);
    const origin = nodes[0]!;
    const post = async (i: number): Promise<number[]> => {
      const t0 = now();
      const sent = await origin.api.post('/p2p/send', { content: `${CONTENT} #${i}`, broadcast: true });
      if (sent.status !== 200) throw new Error(`bench: post at N1 failed: ${JSON.stringify(sent.body)}`);
      const times = await arrivals.all(sent.body.message_id as string);
      await new Promise((resolve) => setTimeout(resolve, BETWEEN_POSTS_MS));
      return nodes.map((_, n) => times.get(n)! - t0);
    };
    for (let i = 0; i < size.warmup; i++) await post(i);

    const pids = nodes.map((node) => node.instance.pid);
    const meshPorts = nodes.map((node) => node.instance.meshPort);
    const before = await meshBytesSent(pids, meshPorts);
    const cpuBefore = cpuMs(pids);
    const posts: number[][] = [];
    for (let i = 0; i < size.posts; i++) posts.push(await post(size.warmup + i));
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    const after = await meshBytesSent(pids, meshPorts);
    const cpuUsed = cpuMs(pids).reduce((sum, ms, i) => sum + ms - cpuBefore[i]!, 0);
    progress(`${size.warmup} + ${size.posts} posts timed`);
    const perPost = (start: SocketBytes, end: SocketBytes) =>
      sameSockets(start, end) ? (end.bytes - start.bytes) / size.posts : NaN;
    return {
      name,
      count,
      degrees: nodes.map((_, i) => graph.get(i)!.size),
      hops,
      posts,
      bytesPerPost: pids.map((pid) => perPost(before.get(pid)!, after.get(pid)!)),
      cpuMsPerPost: cpuUsed / size.posts,
    };
  } finally {
    await processes.stop();
  }
}

const sameSockets = (a: SocketBytes, b: SocketBytes) => a.sockets.size === b.sockets.size && [...a.sockets].every((s) => b.sockets.has(s));

/** Least-squares bytes/post = slope × degree + intercept over the relaying (non-origin) nodes. */
function fitByDegree(result: TopologyResult): { slope: number; intercept: number } {
  const points = result.degrees.map((d, i) => [d, result.bytesPerPost[i]!] as const).filter(([, b], i) => i > 0 && Number.isFinite(b));
  const mean = (values: number[]) => values.reduce((s, v) => s + v, 0) / values.length;
  const mx = mean(points.map(([d]) => d));
  const my = mean(points.map(([, b]) => b));
  const sxx = points.reduce((s, [d]) => s + (d - mx) ** 2, 0);
  const slope = sxx === 0 ? NaN : points.reduce((s, [d, b]) => s + (d - mx) * (b - my), 0) / sxx;
  return { slope, intercept: my - slope * mx };
}

function latencyRows(result: TopologyResult, label: string, title: string, rtt: number[]): Row[] {
  const section = `${label}. mesh: ${title}, real companion processes, post at N1 one at a time (${result.posts.length} posts)`;
  const farthest = Math.max(...result.hops);
  const everyone = result.hops.map((_, i) => i);
  const layer = (h: number) => everyone.filter((i) => result.hops[i] === h);
  // For each post: when the last node of a set had it, from the POST or from N1's own push.
  const fromPost = (members: number[]) => result.posts.map((times) => Math.max(...members.map((i) => times[i]!)));
  const fromN1 = (members: number[]) => result.posts.map((times) => Math.max(...members.map((i) => times[i]! - times[0]!)));
  const method =
    `arrival = the node's app-link 'message' push as this process decodes it (no polling; one Noise-sealed push per node per post); ` +
    `"from POST": t0 just before POST /api/v1/p2p/send at N1 (the next post ${BETWEEN_POSTS_MS} ms after the last node had it); "after N1": from N1's own push, so the REST call and the ` +
    `push path (the same at every node) drop out. ${title}: POST -> stored at N1 -> N1's push took p50 ` +
    `${percentile(fromPost([0]), 50).toFixed(2)} ms`;
  const rttNote =
    `bare ws RTT: ${BARE_MESSAGE_BYTES} B echoed by a ws server in another node process, p50 ` +
    `${percentile(rtt, 50).toFixed(3)} ms, p99 ${percentile(rtt, 99).toFixed(3)} ms (${RTT_SAMPLES} round trips); percentiles are nearest-rank over the ${result.posts.length} posts`;
  const row = (measurement: string, samples: number[], p: number, hops: number, detail: string): Row => ({
    section,
    measurement: `${measurement}, p${p}`,
    unit: 'ms',
    canopy: percentile(samples, p),
    baseline: percentile(rtt, p) * hops,
    baselineName: `bare ws RTT x ${hops}`,
    detail,
  });
  const all = `all ${result.count} nodes (${farthest} hop${farthest === 1 ? '' : 's'})`;
  const rows: Row[] = [
    ...[50, 99].map((p) => row(`${all} from POST`, fromPost(everyone), p, farthest, method)),
    ...[50, 99].map((p) => row(`${all} after N1`, fromN1(everyone), p, farthest, rttNote)),
  ];
  for (let h = 1; h <= farthest; h++) {
    const members = layer(h);
    const who = members.length === 1 ? `N${members[0]! + 1}` : `all ${members.length} nodes`;
    rows.push(row(`${who} at ${h} hop${h === 1 ? '' : 's'} after N1`, fromN1(members), 50, h, rttNote));
  }
  return rows;
}

function byteRows(results: TopologyResult[], frameBytes: number): Row[] {
  const section = `6c. mesh: bytes each node sends on its mesh sockets per post, by degree (${results.map((r) => `${r.count}-node ${r.name}`).join(', ')})`;
  const rows: Row[] = [];
  for (const result of results) {
    const groups = new Map<string, { degree: number; nodes: number[] }>();
    for (const [i, degree] of result.degrees.entries()) {
      const key = i === 0 ? 'origin' : `d${degree}`;
      const group = groups.get(key) ?? { degree, nodes: [] };
      group.nodes.push(i);
      groups.set(key, group);
    }
    const ordered = [...groups].sort(([a, x], [b, y]) => (a === 'origin' ? -1 : b === 'origin' ? 1 : x.degree - y.degree));
    for (const [key, { degree, nodes }] of ordered) {
      const values = nodes.map((i) => result.bytesPerPost[i]!);
      const who = key === 'origin' ? 'N1 (posts)' : `${nodes.length} relaying node${nodes.length === 1 ? '' : 's'}`;
      rows.push({
        section,
        measurement: `${result.name} ${result.count} nodes: ${who}, degree ${degree}`,
        unit: 'B',
        canopy: values.reduce((s, v) => s + v, 0) / values.length,
        baseline: degree * frameBytes,
        baselineName: `degree x ${frameBytes} B post frame`,
        detail:
          `bytes/post = growth of tcp_info bytes_sent (ss, kernel) over a node's mesh sockets during the measured posts, ` +
          `/ posts (TCP payload: Noise, ws framing, frames incl. acks and duplicates; keepalives every 15 s included; ` +
          `app-link and REST sockets excluded); mean over the nodes of that degree; baseline = one copy of the post frame per link`,
      });
    }
  }
  return rows;
}

function nodeReport(results: TopologyResult[]): string {
  const lines = ['Mesh: bytes sent on mesh sockets per post, per node (degree = linked peers; hops from N1):'];
  for (const result of results) {
    const fit = fitByDegree(result);
    const links = result.degrees.reduce((sum, d) => sum + d, 0) / 2;
    lines.push(
      `  ${result.count}-node ${result.name}, ${links} links: the companions used ${result.cpuMsPerPost.toFixed(1)} ms of CPU per post ` +
        `together (/proc/<pid>/stat), ${(result.cpuMsPerPost / links).toFixed(2)} ms per link`,
    );
    lines.push(
      `  ${result.count}-node ${result.name}: relaying nodes send ~ ${fit.slope.toFixed(0)} B x degree ${fit.intercept >= 0 ? '+' : '-'} ` +
        `${Math.abs(fit.intercept).toFixed(0)} B per post (least squares)`,
    );
    const cells = result.degrees.map(
      (d, i) => `N${i + 1}: deg ${d}, ${result.hops[i]} hop${result.hops[i] === 1 ? '' : 's'}, ${Number.isFinite(result.bytesPerPost[i]) ? `${Math.round(result.bytesPerPost[i]!)} B` : 'links changed'}`,
    );
    for (let i = 0; i < cells.length; i += 4) lines.push(`    ${cells.slice(i, i + 4).map((c) => c.padEnd(30)).join('').trimEnd()}`);
  }
  return lines.join('\n');
}

export interface MeshBenchResult {
  rows: Row[];
  /** The per-node byte counts, printed under the table. */
  report: string;
  nodes: Array<{ topology: string; node: string; degree: number; hops: number; bytes_per_post: number | null }>;
}

export async function benchMesh(size: MeshSize): Promise<MeshBenchResult> {
  // Every companion start builds the web app first if web/ changed: do it once, here, instead.
  await ensureBuild();
  const rtt = await crossProcessWsRtt();
  const line = await runTopology('line', size.line, lineEdges(size.line), size);
  const mesh = await runTopology('mesh', size.mesh, randomMeshEdges(size.mesh, MESH_SEED), size);
  const results = [line, mesh];
  return {
    rows: [
      ...latencyRows(line, '6a', `${size.line}-node line N1-N2-...-N${size.line}`, rtt),
      ...latencyRows(mesh, '6b', `${size.mesh}-node random mesh (seed ${MESH_SEED}, each node linked to 2-3 earlier ones)`, rtt),
      ...byteRows(results, postFrameWireBytes()),
    ],
    report: nodeReport(results),
    nodes: results.flatMap((r) =>
      r.degrees.map((degree, i) => ({
        topology: `${r.count}-node ${r.name}`,
        node: `N${i + 1}`,
        degree,
        hops: r.hops[i]!,
        bytes_per_post: Number.isFinite(r.bytesPerPost[i]) ? Number(r.bytesPerPost[i]!.toFixed(1)) : null,
      })),
    ),
  };
}
