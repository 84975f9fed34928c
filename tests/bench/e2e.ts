// Measurement 4: two companions in this process, B imports A's invite, B posts, A stores.
import { startCompanion, type Companion } from '../../companion/node.ts';
import { freePort, HOST, now, percentile, scaledTargetStatus, until, yieldToLoop, type Row, type TempDirs } from './harness.ts';
import { BARE_MESSAGE_BYTES } from './links.ts';
import { openWsPair, wsOneWayLatency } from './transport.ts';

const LATENCY_SAMPLES = 300;
const PIPELINE_POSTS = 5_000;
const WARMUP_POSTS = 100;
/** API calls between two yields to the event loop, as a busy local client would make them. */
const SEND_BATCH = 100;
const CONTENT = 'The quick brown fox jumps over the lazy dog while the benchmark measures Canopy end to end. 0123456789';

async function startPair(dirs: TempDirs): Promise<{ a: Companion; b: Companion }> {
  const start = async (name: string) => {
    const port = await freePort();
    const meshPort = await freePort();
    return startCompanion({ host: HOST, port, meshPort, dataDir: dirs.make(name), relayPolicy: 'broker_only', quiet: true });
  };
  const a = await start('a');
  const b = await start('b');
  const imported = await b.network.importInvite(a.network.invite({}).invite_code);
  if (imported.status !== 'connected') throw new Error(`bench: B could not connect to A: ${JSON.stringify(imported)}`);
  await until(() => a.network.status().connected_peers === 1, 'A to see the link from B');
  return { a, b };
}

/** Ids A has stored, with a way to wait for one. */
function watchStored(a: Companion) {
  const stored = new Set<string>();
  let waiting: { id: string; resolve: () => void } | null = null;
  a.sync.on('stored', (id) => {
    stored.add(id);
    if (waiting?.id === id) waiting.resolve();
  });
  return {
    count: () => stored.size,
    waitFor: (id: string) =>
      stored.has(id) ? Promise.resolve() : new Promise<void>((resolve) => (waiting = { id, resolve })),
  };
}

const post = async (b: Companion, i: number): Promise<string> => (await b.messages.send({ content: `${CONTENT} #${i}`, broadcast: true })).message_id;

async function sendOneAtATime(a: ReturnType<typeof watchStored>, b: Companion, n: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = now();
    await a.waitFor(await post(b, i));
    samples.push(now() - t0);
  }
  return samples;
}

/** Posts `n` as fast as the API allows (yielding every SEND_BATCH calls); events/s stored at A. */
async function sendPipelined(a: ReturnType<typeof watchStored>, b: Companion, n: number): Promise<{ rate: number; sendRate: number }> {
  const target = a.count() + n;
  const start = now();
  let sendBusyMs = 0;
  const sends: Array<Promise<string>> = [];
  for (let i = 0; i < n; i++) {
    const t = now();
    sends.push(post(b, i));
    sendBusyMs += now() - t;
    if (i % SEND_BATCH === SEND_BATCH - 1) await yieldToLoop();
  }
  await Promise.all(sends);
  await until(() => a.count() >= target, `A to store ${n} posts`, 120_000);
  return { rate: n / ((now() - start) / 1000), sendRate: n / (sendBusyMs / 1000) };
}

export async function benchEndToEnd(dirs: TempDirs, bareWsRate: number): Promise<Row[]> {
  const ws = await openWsPair();
  const payload = Buffer.alloc(BARE_MESSAGE_BYTES, 0x61);
  await wsOneWayLatency(ws, 100, payload);
  const wsSamples = await wsOneWayLatency(ws, LATENCY_SAMPLES, payload);
  await ws.close();

  const { a, b } = await startPair(dirs);
  try {
    const stored = watchStored(a);
    await sendOneAtATime(stored, b, WARMUP_POSTS);
    const samples = await sendOneAtATime(stored, b, LATENCY_SAMPLES);
    await sendPipelined(stored, b, 500);
    const pipeline = await sendPipelined(stored, b, PIPELINE_POSTS);
    const section = '4. end to end: companion B posts to "general", companion A stores (same process)';
    const latency = (p: number, targetMs: number): Row => ({
      section,
      measurement: `latency p${p}, send -> stored at A (${LATENCY_SAMPLES} posts, one at a time)`,
      unit: 'ms',
      canopy: percentile(samples, p),
      baseline: percentile(wsSamples, p),
      baselineName: `bare ws ${BARE_MESSAGE_BYTES} B one-way`,
      detail: `Canopy: MessageService.send (sign, SQLite commit) -> link -> A verifies, seals at rest, inserts -> 'stored'; ${CONTENT.length + 5}-char posts; ${scaledTargetStatus(percentile(samples, p), targetMs, 'ms', false, bareWsRate)}`,
    });
    return [
      latency(50, 0.5),
      latency(99, 2),
      {
        section,
        measurement: `pipeline, ${PIPELINE_POSTS.toLocaleString('en-US')} posts as fast as the API allows`,
        unit: '/s',
        canopy: pipeline.rate,
        baseline: bareWsRate,
        baselineName: `bare ws ${BARE_MESSAGE_BYTES} B, from 3`,
        detail: `events/s stored at A (first send to last stored), B yielding to the event loop every ${SEND_BATCH} send() calls; both companions share one event loop; B's send() calls alone ran at ${Math.round(pipeline.sendRate)} calls/s; ${scaledTargetStatus(pipeline.rate, 10_000, 'posts/s', true, bareWsRate)}`,
      },
    ];
  } finally {
    await b.close();
    await a.close();
  }
}
