// Measurement 7 (issue 8): a link relayed through a third companion next to a direct one, real
// companion processes on loopback. A and B advertise a closed port (--advertise ws://127.0.0.1:1):
// they dial out, nobody dials them, as behind NAT. C is reachable. All three link to R
// (full_relay), which introduces them to each other; A then connects to B (Noise XX inside a blind
// circuit through R) and to C (dialled directly). A sends the same DMs to both, so each relayed
// figure has its direct twin, from the same sender, in the same run. CANOPY_BENCH_RELAY=0 skips it.
import { DEFAULT_RELAY_LIMITS } from '../../companion/mesh/relay-circuits.ts';
import { BROKERED_DIAL_WAIT_MS } from '../../companion/service/introduction-service.ts';
import type { CarriedCircuit, ConnectProgress } from '../../protocol/app/contract.ts';
import { CIRCUIT_PACE } from '../../protocol/mesh/relay.ts';
import { ensureBuild } from '../../scripts/ensure-build.js';
import { now, percentile, type Row } from './harness.ts';
import { cpuMs, meshBytesSent } from './mesh-counters.ts';
import { linkPairs, MeshProcesses, type MeshNode } from './mesh-nodes.ts';

const UNREACHABLE = 'ws://127.0.0.1:1';
const SECTION = '7. relay: A -> B through R (full_relay) vs A -> C dialled directly, real companion processes';
const CONTENT = 'The quick brown fox jumps over the lazy dog while the benchmark measures a relayed Canopy link. 0123456789';
const LATENCY_WARMUP = 20;
const LATENCY_SAMPLES = 200;
/** After a DM has reached both ends: its ack is still crossing, and the next DM is timed on its own. */
const BETWEEN_DMS_MS = 20;
const WAIT_TIMEOUT_MS = 60_000;
/** REST sends A has in flight during a throughput run: enough to keep it busy, as a busy local client would. */
const SEND_WINDOW = 16;
const THROUGHPUT_ROUNDS = 3;
const WORKLOADS = [
  { name: 'small DMs', dms: 600, chars: CONTENT.length },
  // 300 sealed 16 KiB DMs are ~6.5 MiB: past the circuit's 4 MiB burst, so its pace shows.
  { name: '16 KiB DMs', dms: 300, chars: 16 * 1024 },
] as const;
/** After the last DM is stored: its acks still in flight count toward the bytes and CPU too. */
const SETTLE_MS = 300;
const RECONNECT_SAMPLES = 10;
/** R lets a peer open circuits at this steady rate once its burst is spent (relay-circuits.ts). */
const CIRCUIT_OPEN_PERIOD_MS = 1000 / DEFAULT_RELAY_LIMITS.opensPerSecond;
const MIB = 1024 * 1024;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** When one node's app link reported each stored message, by id; waits without spinning the loop. */
class StoredAt {
  private readonly times = new Map<string, number>();
  private readonly waiters = new Map<string, () => void>();

  constructor(private readonly node: MeshNode) {
    node.onStored((id, at) => {
      if (this.times.has(id)) return;
      this.times.set(id, at);
      this.waiters.get(id)?.();
    });
  }

  async of(id: string): Promise<number> {
    const known = this.times.get(id);
    if (known !== undefined) return known;
    let timer: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        this.waiters.set(id, resolve);
        timer = setTimeout(() => reject(new Error(`bench: N${this.node.index} never reported ${id} stored`)), WAIT_TIMEOUT_MS);
      });
    } finally {
      clearTimeout(timer);
      this.waiters.delete(id);
    }
    return this.times.get(id)!;
  }
}

interface Pair {
  /** The receiving end, and what it is: B through R, or C directly. */
  to: MeshNode;
  name: 'relayed' | 'direct';
  stored: StoredAt;
}

interface Nodes {
  r: MeshNode;
  a: MeshNode;
  relayed: Pair;
  direct: Pair;
  storedAtA: StoredAt;
}

/** Asks `check` every 20 ms (REST reads between timed steps, never inside a timed interval). */
async function pollUntil(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = now() + WAIT_TIMEOUT_MS;
  while (!(await check())) {
    if (now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
    await sleep(20);
  }
}

const linkOf = async (on: MeshNode, peerId: string) =>
  ((await on.api.get('/p2p/peers')).body.connected_peer_details as Array<{ peer_id: string; connection: string; via: string | null }>).find(
    (row) => row.peer_id === peerId,
  );

/** R, A, B, C up; A, B, C linked to R, and A told about B and C by R. */
async function startNodes(processes: MeshProcesses): Promise<Nodes> {
  const unreachable = new Set([2, 3]);
  const nodes = await processes.start(4, (index) => (unreachable.has(index) ? ['--advertise', UNREACHABLE] : []));
  const [r, a, b, c] = nodes as [MeshNode, MeshNode, MeshNode, MeshNode];
  const policy = await r.api.post('/p2p/relay_policy', { policy: 'full_relay' });
  if (policy.status !== 200) throw new Error(`bench: R refused full_relay: ${JSON.stringify(policy.body)}`);
  await linkPairs(nodes, [
    [0, 1],
    [0, 2],
    [0, 3],
  ]);
  await pollUntil('R to introduce B and C to A', async () => {
    const introduced = (await a.api.get('/p2p/introduced')).body.introduced_peers as Array<{ peer_id: string }>;
    return [b, c].every((node) => introduced.some((p) => p.peer_id === node.peerId));
  });
  return {
    r,
    a,
    relayed: { to: b, name: 'relayed', stored: new StoredAt(b) },
    direct: { to: c, name: 'direct', stored: new StoredAt(c) },
    storedAtA: new StoredAt(a),
  };
}

/**
 * POST /p2p/connect_introduced at A until A's app link pushes `connected` for the peer (the
 * relayed answer is a 202 long before that); every progress stage with its time, for the notes.
 */
async function firstContact(a: MeshNode, pair: Pair, via: string | null): Promise<{ ms: number; stages: string }> {
  const stages: string[] = [];
  let settle: (failure?: string) => void = () => {};
  const done = new Promise<void>((resolve, reject) => (settle = (failure) => (failure ? reject(new Error(failure)) : resolve())));
  const t0 = now();
  a.app.onPush(({ topic, data }) => {
    const progress = data as ConnectProgress;
    if (topic !== 'connect_progress' || progress.peer_id !== pair.to.peerId) return;
    stages.push(`${progress.stage} ${(now() - t0).toFixed(0)} ms`);
    if (progress.stage === 'connected') settle();
    if (progress.stage === 'failed') settle(`bench: A could not connect to N${pair.to.index}: ${progress.message}`);
  });
  const answer = await a.api.post('/p2p/connect_introduced', { peer_id: pair.to.peerId });
  if (answer.status !== 200 && answer.status !== 202) throw new Error(`bench: connect_introduced failed: ${JSON.stringify(answer.body)}`);
  await done;
  const ms = now() - t0;
  const link = await linkOf(a, pair.to.peerId);
  if (link?.via !== via) throw new Error(`bench: A's link to N${pair.to.index} is ${JSON.stringify(link)}, expected via ${via}`);
  return { ms, stages: stages.join(', ') };
}

/** Disconnects the pair from A's side, waits until the far end saw it, and times POST /p2p/reconnect at A. */
async function reconnectOnce(a: MeshNode, pair: Pair): Promise<number> {
  const far = pair.to;
  await a.api.post('/p2p/disconnect', { peer_id: far.peerId });
  await pollUntil(`N${far.index} to see A gone`, async () => !(await linkOf(far, a.peerId)));
  const t0 = now();
  const answer = await a.api.post('/p2p/reconnect', { peer_id: far.peerId });
  const ms = now() - t0;
  if (answer.body.status !== 'connected' || answer.body.message) throw new Error(`bench: reconnect to N${far.index}: ${JSON.stringify(answer.body)}`);
  await pollUntil(`N${far.index} to see A back`, async () => Boolean(await linkOf(far, a.peerId)));
  return ms;
}

/** One DM's one-way times (ms) to the far end's push. */
type Timing = { fromPost: number; afterA: number };

/** One DM from A, timed from just before the POST and from A's own push, until the far end's push. */
async function oneDm(nodes: Nodes, pair: Pair, i: number): Promise<Timing> {
  const t0 = now();
  const sent = await nodes.a.api.post('/p2p/send', { content: `${CONTENT} #${i}`, peer_id: pair.to.peerId });
  if (sent.status !== 200) throw new Error(`bench: DM to N${pair.to.index} failed: ${JSON.stringify(sent.body)}`);
  const id = sent.body.message_id as string;
  const [atA, atFar] = await Promise.all([nodes.storedAtA.of(id), pair.stored.of(id)]);
  await sleep(BETWEEN_DMS_MS);
  return { fromPost: atFar - t0, afterA: atFar - atA };
}

function contentOf(chars: number, i: number): string {
  const tag = ` #${i}`;
  return CONTENT.repeat(Math.ceil(chars / CONTENT.length)).slice(0, chars - tag.length) + tag;
}

/** Bytes the A-end link carried both ways so far: R's own count for the circuit, the kernel's for a direct socket. */
async function linkBytes(nodes: Nodes, pair: Pair): Promise<{ bytes: number; identity: string }> {
  if (pair.name === 'relayed') {
    const carried = (await nodes.r.api.get('/p2p/relay_status')).body.carried_circuits as CarriedCircuit[];
    const ends = new Set([nodes.a.peerId, pair.to.peerId]);
    const circuit = carried.find((c) => ends.has(c.from) && ends.has(c.to));
    if (!circuit) throw new Error('bench: R carries no circuit between A and B');
    return { bytes: circuit.bytes_from + circuit.bytes_to, identity: circuit.opened_at };
  }
  const counted = await meshBytesSent([nodes.a.instance.pid, pair.to.instance.pid], [pair.to.instance.meshPort]);
  const sockets = [...counted.values()].flatMap((c) => [...c.sockets]);
  if (sockets.length !== 2) throw new Error(`bench: expected one socket each way between A and C, found ${sockets.join(', ')}`);
  return { bytes: [...counted.values()].reduce((sum, c) => sum + c.bytes, 0), identity: sockets.sort().join() };
}

interface Transfer {
  rate: number;
  bytes: number;
  /** CPU (ms) used by R, A, the receiving end and this process (REST client, app links) during `cpuWindowMs`. */
  cpu: { relay: number; sender: number; receiver: number; client: number };
  /** From just before the first POST until SETTLE_MS after the last DM was stored. */
  cpuWindowMs: number;
}

/** `dms` DMs from A, SEND_WINDOW REST calls in flight; DMs/s from the first POST to the last stored at the far end. */
async function transfer(nodes: Nodes, pair: Pair, dms: number, chars: number, offset: number): Promise<Transfer> {
  const pids = [nodes.r, nodes.a, pair.to].map((node) => node.instance.pid);
  const bytesBefore = await linkBytes(nodes, pair);
  const cpuBefore = cpuMs(pids);
  const clientBefore = process.cpuUsage();
  const t0 = now();
  const stored: Promise<number>[] = [];
  let next = 0;
  const postNext = async () => {
    while (next < dms) {
      const i = next++;
      const sent = await nodes.a.api.post('/p2p/send', { content: contentOf(chars, offset + i), peer_id: pair.to.peerId });
      if (sent.status !== 200) throw new Error(`bench: DM to N${pair.to.index} failed: ${JSON.stringify(sent.body)}`);
      stored.push(pair.stored.of(sent.body.message_id as string));
    }
  };
  await Promise.all(Array.from({ length: SEND_WINDOW }, postNext));
  const last = Math.max(...(await Promise.all(stored)));
  await sleep(SETTLE_MS);
  const cpuAfter = cpuMs(pids);
  const client = process.cpuUsage(clientBefore);
  const cpuWindowMs = now() - t0;
  const bytesAfter = await linkBytes(nodes, pair);
  if (bytesAfter.identity !== bytesBefore.identity) throw new Error(`bench: the ${pair.name} link changed during a transfer`);
  const [relay, sender, receiver] = cpuAfter.map((ms, i) => ms - cpuBefore[i]!) as [number, number, number];
  return {
    rate: dms / ((last - t0) / 1000),
    bytes: bytesAfter.bytes - bytesBefore.bytes,
    cpu: { relay, sender, receiver, client: (client.user + client.system) / 1000 },
    cpuWindowMs,
  };
}

const goal = (relayed: number, direct: number) =>
  `goal relayed <= 2x direct: ${relayed <= 2 * direct ? 'met' : 'NOT met'} (${(relayed / direct).toFixed(2)}x)`;

async function measureLatency(nodes: Nodes): Promise<Row[]> {
  const samples: Record<Pair['name'], Timing[]> = { relayed: [], direct: [] };
  for (let i = 0; i < LATENCY_WARMUP + LATENCY_SAMPLES; i++) {
    // The two take turns, and which goes first alternates, so neither always follows the other's ack.
    const order = i % 2 ? [nodes.relayed, nodes.direct] : [nodes.direct, nodes.relayed];
    for (const pair of order) {
      const sample = await oneDm(nodes, pair, i);
      if (i >= LATENCY_WARMUP) samples[pair.name].push(sample);
    }
  }
  const at = (name: Pair['name'], of: keyof Timing, p: number) => percentile(samples[name].map((s) => s[of]), p);
  const method =
    `one DM at a time from A, relayed and direct taking turns, ${BETWEEN_DMS_MS} ms apart; "stored" = that node's app-link 'message' push as this ` +
    `process decodes it (no polling; the same push path at B and C); "from POST": t0 just before POST /api/v1/p2p/send at A, so A's REST call, ` +
    `signing and sealing (the same both ways) count in full; "from stored at A": from A's own push for the DM, which A sends only after its ` +
    `link send, its delivery push and the REST answer, so that interval is short by A's push delay and its ratio overstates the relay`;
  const row = (of: keyof Timing, p: number, label: string): Row => {
    const relayed = at('relayed', of, p);
    const direct = at('direct', of, p);
    return {
      section: SECTION,
      measurement: `DM one-way latency p${p}, ${label} -> stored at far end (${LATENCY_SAMPLES} DMs each)`,
      unit: 'ms',
      canopy: relayed,
      baseline: direct,
      baselineName: 'direct A -> C',
      detail: `from ${label}, p${p}: ${goal(relayed, direct)}; relayed - direct = ${(relayed - direct).toFixed(2)} ms`,
    };
  };
  const rows = [row('fromPost', 50, 'POST at A'), row('fromPost', 99, 'POST at A'), row('afterA', 50, 'stored at A')];
  rows[0]!.detail = `${method}; ${rows[0]!.detail}`;
  return rows;
}

async function measureThroughput(nodes: Nodes): Promise<Row[]> {
  const rows: Row[] = [];
  let offset = 0;
  for (const workload of WORKLOADS) {
    const runs: Record<Pair['name'], Transfer[]> = { relayed: [], direct: [] };
    for (let round = 0; round < THROUGHPUT_ROUNDS; round++) {
      const order = round % 2 ? [nodes.direct, nodes.relayed] : [nodes.relayed, nodes.direct];
      for (const pair of order) {
        runs[pair.name].push(await transfer(nodes, pair, workload.dms, workload.chars, offset));
        offset += workload.dms;
      }
    }
    rows.push(...throughputRows(`${workload.dms.toLocaleString('en-US')} ${workload.name} (${workload.chars} chars)`, workload.name, runs));
  }
  return rows;
}

function throughputRows(what: string, name: string, runs: Record<Pair['name'], Transfer[]>): Row[] {
  const total = (pair: Pair['name'], of: (t: Transfer) => number) => runs[pair].reduce((sum, t) => sum + of(t), 0);
  const perMib = (pair: Pair['name'], who: keyof Transfer['cpu']) => total(pair, (t) => t.cpu[who]) / (total(pair, (t) => t.bytes) / MIB);
  /** Share of one core a process kept busy over the runs: near 100 % is what bounds the rate. */
  const busy = (pair: Pair['name'], who: keyof Transfer['cpu']) =>
    `${((100 * total(pair, (t) => t.cpu[who])) / total(pair, (t) => t.cpuWindowMs)).toFixed(0)} %`;
  const perRun = (pair: Pair['name']) => runs[pair].map((t) => `${t.rate.toFixed(0)}/s ${(t.bytes / MIB).toFixed(2)} MiB`).join(', ');
  const bytesRatio = Math.max(...runs.relayed.map((t) => t.bytes)) / Math.min(...runs.direct.map((t) => t.bytes));
  const cpuPerMib = (pair: Pair['name'], who: keyof Transfer['cpu']) => `${perMib(pair, who).toFixed(0)} ms`;
  return [
    {
      section: SECTION,
      measurement: `throughput, ${what}, DMs/s stored at far end (median of ${THROUGHPUT_ROUNDS})`,
      unit: '/s',
      canopy: percentile(runs.relayed.map((t) => t.rate), 50),
      baseline: percentile(runs.direct.map((t) => t.rate), 50),
      baselineName: 'direct A -> C',
      detail:
        `${what} posted at A over REST, ${SEND_WINDOW} calls in flight; DMs/s from the first POST to the far end's push for the last; relayed and direct take turns; ` +
        `the circuit ends pace themselves at ${CIRCUIT_PACE.bytesPerSecond / MIB} MiB/s and ${CIRCUIT_PACE.framesPerSecond} frames/s after a burst of ` +
        `${CIRCUIT_PACE.burstBytes / MIB} MiB / ${CIRCUIT_PACE.burstFrames} frames (CIRCUIT_PACE); each run's DMs/s and link bytes (both ways): relayed ${perRun('relayed')}; direct ${perRun('direct')}` +
        `${bytesRatio > 1.5 ? ` (a relayed run carried ${bytesRatio.toFixed(1)}x the bytes of a direct one for as many DMs)` : ''}; ` +
        `CPU busy (of one core) relayed: A ${busy('relayed', 'sender')}, R ${busy('relayed', 'relay')}, B ${busy('relayed', 'receiver')}, this process ${busy('relayed', 'client')}; ` +
        `direct: A ${busy('direct', 'sender')}, C ${busy('direct', 'receiver')}, this process ${busy('direct', 'client')}`,
    },
    {
      section: SECTION,
      measurement: `CPU per MiB carried, ${name}: relay R vs receiving end C (ms)`,
      unit: 'ms',
      canopy: perMib('relayed', 'relay'),
      baseline: perMib('direct', 'receiver'),
      baselineName: 'direct receiver C',
      detail:
        `${name}: utime + stime (/proc/<pid>/stat, 10 ms ticks) over all ${THROUGHPUT_ROUNDS} runs (+${SETTLE_MS} ms for the last acks) / MiB the link carried both ways ` +
        `(relayed: R's own circuit byte count, the sealed Noise messages of A and B; direct: the kernel's bytes_sent on A's and C's sockets, the same messages plus ws framing); ` +
        `per MiB relayed: R ${cpuPerMib('relayed', 'relay')}, receiver B ${cpuPerMib('relayed', 'receiver')}, sender A ${cpuPerMib('relayed', 'sender')}; ` +
        `direct: receiver C ${cpuPerMib('direct', 'receiver')}, sender A ${cpuPerMib('direct', 'sender')}, R idling ${cpuPerMib('direct', 'relay')}`,
    },
  ];
}

async function measureEstablishment(nodes: Nodes): Promise<Row[]> {
  const direct = await firstContact(nodes.a, nodes.direct, null);
  const relayed = await firstContact(nodes.a, nodes.relayed, nodes.r.peerId);
  return [
    {
      section: SECTION,
      measurement: 'first contact: POST connect_introduced at A -> link up at A (1 each)',
      unit: 'ms',
      canopy: relayed.ms,
      baseline: direct.ms,
      baselineName: 'direct A -> C',
      detail:
        `first contact: t0 just before POST /p2p/connect_introduced at A, done at A's app-link 'connect_progress' push 'connected'; relayed stages: ${relayed.stages}; ` +
        `direct stages: ${direct.stages}; a relayed peer is tried directly, then brokered (B dials A's advertised address, which fails, but A hears nothing of it ` +
        `and waits BROKERED_DIAL_WAIT_MS = ${BROKERED_DIAL_WAIT_MS} ms), then through the circuit`,
    },
  ];
}

async function measureReconnect(nodes: Nodes): Promise<Row[]> {
  const samples: Record<Pair['name'], number[]> = { relayed: [], direct: [] };
  for (let i = 0; i < RECONNECT_SAMPLES; i++) {
    const started = now();
    const order = i % 2 ? [nodes.direct, nodes.relayed] : [nodes.relayed, nodes.direct];
    for (const pair of order) samples[pair.name].push(await reconnectOnce(nodes.a, pair));
    await sleep(CIRCUIT_OPEN_PERIOD_MS - (now() - started));
  }
  const range = (s: number[]) => `${Math.min(...s).toFixed(1)}-${Math.max(...s).toFixed(1)} ms`;
  return [
    {
      section: SECTION,
      measurement: `reconnect: POST /p2p/reconnect at A -> answered connected, p50 (${RECONNECT_SAMPLES} each)`,
      unit: 'ms',
      canopy: percentile(samples.relayed, 50),
      baseline: percentile(samples.direct, 50),
      baselineName: 'direct A -> C',
      detail:
        `reconnect: A disconnects the peer (POST /p2p/disconnect), the far end sees it gone, then POST /p2p/reconnect at A, which answers once A has the link up ` +
        `(relayed: B's own address refused, then a circuit through R and Noise XX inside it; direct: ws dial + Noise XX); relayed and direct take turns, one pair every ` +
        `${CIRCUIT_OPEN_PERIOD_MS} ms (R's steady circuit_open rate per peer); range: relayed ${range(samples.relayed)}, direct ${range(samples.direct)}`,
    },
  ];
}

export async function benchRelay(): Promise<Row[]> {
  // Every companion start builds the web app first if web/ changed: do it once, here, instead.
  await ensureBuild();
  const processes = new MeshProcesses();
  let phase = now();
  const progress = (what: string) => {
    process.stderr.write(`\n  relay: ${what} (${((now() - phase) / 1000).toFixed(1)} s)`);
    phase = now();
  };
  try {
    const nodes = await startNodes(processes);
    progress('R, A, B, C up and linked to R');
    const establishment = await measureEstablishment(nodes);
    progress('first contact timed');
    const latency = await measureLatency(nodes);
    progress(`${2 * (LATENCY_WARMUP + LATENCY_SAMPLES)} DMs timed one at a time`);
    const throughput = await measureThroughput(nodes);
    progress('throughput and CPU measured');
    const reconnect = await measureReconnect(nodes);
    progress('reconnects timed');
    return [...establishment, ...reconnect, ...latency, ...throughput];
  } finally {
    await processes.stop();
  }
}
