// Measurements 2b (link establishment) and 3 (link throughput), each against bare `ws`.
import { nodeCrypto } from '../../companion/crypto/node.ts';
import { b58encode, hexEncode, utf8 } from '../../protocol/bytes.ts';
import { eventId, signEvents, type CanopyEvent } from '../../protocol/events.ts';
import { encodeFrame, type Frame } from '../../protocol/frames.ts';
import { generateIdentity } from '../../protocol/identity.ts';
import { compareRates, percentile, targetStatus, type Row } from './harness.ts';
import {
  closeWsServer,
  linkConnectCycle,
  openLink,
  openWsPair,
  pumpRate,
  startLinkPair,
  startWsServer,
  wsConnectCycle,
} from './transport.ts';

export const MESSAGES = 100_000;
export const BARE_MESSAGE_BYTES = 200;
const WARMUP_MESSAGES = 10_000;
const ROUNDS = 3;
const CONNECT = { rounds: 3, warmupMs: 300, durationMs: 700 };

export async function benchLinkEstablishment(): Promise<Row[]> {
  const { server, url } = await startWsServer();
  const pair = await startLinkPair();
  const { canopy, baseline } = await compareRates(() => linkConnectCycle(pair), () => wsConnectCycle(server, url), CONNECT);
  await pair.close();
  await closeWsServer(server);
  return [
    {
      section: '2b. link establishment over loopback (sequential, open + close)',
      measurement: 'LinkManager.dial -> both sides up -> close',
      unit: '/s',
      canopy,
      baseline,
      baselineName: 'bare ws open+close',
      detail: 'Canopy: ws open + Noise XX + identity payload checks on both sides (node:crypto); baseline: ws open, accepted, closed',
    },
  ];
}

/** Three event ids: an `ack` frame whose plaintext is just over 200 bytes. */
function ackFrame(): Frame {
  const ids = [1, 2, 3].map((n) => hexEncode(nodeCrypto.sha256(utf8(`bench-${n}`))));
  return { t: 'ack', ids };
}

/** Events per frame in the batched row: what one burst or catch-up frame carries. */
const BATCHED_EVENTS = 100;

/** `n` pre-signed posts in one `events` frame, signed once as a batch when n > 1 (schema-validated at the receiver, signatures not re-checked). */
function eventsFrame(n: number): Frame {
  const identity = generateIdentity(nodeCrypto);
  const events: CanopyEvent[] = Array.from({ length: n }, (_, i) => ({
    v: 1,
    author: identity.peerId,
    author_key: b58encode(identity.ed25519.publicKey),
    channel: 'general',
    seq: i + 1,
    kind: 'post',
    ts: Date.now(),
    body: { content: 'hello from the benchmark' },
  }));
  return { t: 'events', events: signEvents(nodeCrypto, identity, events, events.map((e) => eventId(nodeCrypto, e))) };
}

export interface ThroughputResult {
  rows: Row[];
  /** Bare ws 200 B messages/s, the baseline for the end-to-end pipeline too. */
  bareWsRate: number;
}

/**
 * Bare ws and the two Canopy frames take turns, ROUNDS times, each sending MESSAGES messages;
 * each figure is the median of its rounds, so a disturbance hits one round, not one transport.
 */
export async function benchLinkThroughput(): Promise<ThroughputResult> {
  const ws = await openWsPair();
  let bareReceived = 0;
  ws.accepted.on('message', () => bareReceived++);
  const payload = Buffer.alloc(BARE_MESSAGE_BYTES, 0x61);
  const bare = (n: number) => pumpRate(n, () => ws.client.send(payload), () => ws.client.bufferedAmount, () => bareReceived);

  const pair = await startLinkPair();
  const { sender, receiver } = await openLink(pair);
  let linkReceived = 0;
  receiver.onFrame(() => linkReceived++);
  const frames = [
    { what: 'ack frame', frame: ackFrame(), events: 1 },
    { what: 'events frame, 1 signed post', frame: eventsFrame(1), events: 1 },
    { what: `events frame, ${BATCHED_EVENTS} posts signed as one batch`, frame: eventsFrame(BATCHED_EVENTS), events: BATCHED_EVENTS },
  ];
  const viaLink = (frame: Frame) => (n: number) =>
    pumpRate(n, () => sender.send(frame), () => sender.bufferedAmount, () => linkReceived);
  // Each run carries MESSAGES items (messages or events) and reports items/s.
  const runs = [bare, ...frames.map(({ frame, events }) => (n: number) => viaLink(frame)(Math.ceil(n / events)).then((rate) => rate * events))];

  for (const run of runs) await run(WARMUP_MESSAGES);
  const rates: number[][] = runs.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, run] of runs.entries()) rates[i]!.push(await run(MESSAGES));
  }
  await ws.close();
  await pair.close();

  const bareWsRate = percentile(rates[0]!, 50);
  const section = `3. link throughput, ${MESSAGES.toLocaleString('en-US')} messages one at a time, received and decoded (median of ${ROUNDS})`;
  const rows = frames.map(({ what, frame, events }, i): Row => {
    const size = encodeFrame(frame).length;
    const batched = events > 1;
    const rate = percentile(rates[i + 1]!, 50);
    return {
      section,
      measurement: batched ? `Link: ${what}, events/s (${size} B plaintext per frame)` : `Link: ${what} (${size} B plaintext)`,
      unit: '/s',
      canopy: rate,
      baseline: bareWsRate,
      baselineName: `bare ws ${BARE_MESSAGE_BYTES} B`,
      detail: batched
        ? `Canopy ${what}: ${Math.round(size / events)} B per event with its proof; each frame JSON-encoded, sealed, sent, opened, parsed, every event schema-checked (${targetStatus('>= 0.5x bare ws', rate / bareWsRate >= 0.5)})`
        : `Canopy ${what}: JSON encode + Noise seal + ws + Noise open + JSON parse + frame schema; ${size} B plaintext, ${size + 16} B on the wire`,
    };
  });
  return { rows, bareWsRate };
}
