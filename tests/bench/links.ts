// Measurements 2b (link establishment) and 3 (link throughput), each against bare `ws`.
import { nodeCrypto } from '../../companion/crypto/node.ts';
import { b58encode, hexEncode, utf8 } from '../../protocol/bytes.ts';
import { signEvent, type SignedEvent } from '../../protocol/events.ts';
import { encodeFrame, type Frame } from '../../protocol/frames.ts';
import { generateIdentity } from '../../protocol/identity.ts';
import { compareRates, percentile, type Row } from './harness.ts';
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

/** One pre-signed post in an `events` frame (schema-validated at the receiver, signature not re-checked). */
function eventsFrame(): Frame {
  const identity = generateIdentity(nodeCrypto);
  const signed: SignedEvent = signEvent(nodeCrypto, identity, {
    v: 1,
    author: identity.peerId,
    author_key: b58encode(identity.ed25519.publicKey),
    channel: 'general',
    seq: 1,
    kind: 'post',
    ts: Date.now(),
    body: { content: 'hello from the benchmark' },
  });
  return { t: 'events', events: [signed] };
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
    { what: 'ack frame', frame: ackFrame() },
    { what: 'events frame, 1 signed post', frame: eventsFrame() },
  ];
  const viaLink = (frame: Frame) => (n: number) =>
    pumpRate(n, () => sender.send(frame), () => sender.bufferedAmount, () => linkReceived);
  const runs = [bare, ...frames.map(({ frame }) => viaLink(frame))];

  for (const run of runs) await run(WARMUP_MESSAGES);
  const rates: number[][] = runs.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, run] of runs.entries()) rates[i]!.push(await run(MESSAGES));
  }
  await ws.close();
  await pair.close();

  const bareWsRate = percentile(rates[0]!, 50);
  const section = `3. link throughput, ${MESSAGES.toLocaleString('en-US')} messages one at a time, received and decoded (median of ${ROUNDS})`;
  const rows = frames.map(({ what, frame }, i): Row => {
    const size = encodeFrame(frame).length;
    return {
      section,
      measurement: `Link: ${what} (${size} B plaintext)`,
      unit: '/s',
      canopy: percentile(rates[i + 1]!, 50),
      baseline: bareWsRate,
      baselineName: `bare ws ${BARE_MESSAGE_BYTES} B`,
      detail: `Canopy ${what}: JSON encode + Noise seal + ws + Noise open + JSON parse + frame schema; ${size} B plaintext, ${size + 16} B on the wire`,
    };
  });
  return { rows, bareWsRate };
}
