// Measurement 4b: what each stage of the pipeline costs per post, in µs, each next to what the
// same stage cost before issue 10 (one signature, one check, one commit per event). The stages of
// one post: sign (sender), schema-check and verify (receiver), seal at rest and insert (both).
import { join } from 'node:path';
import { nodeCrypto } from '../../companion/crypto/node.ts';
import { openStore } from '../../companion/store/index.ts';
import { b58encode } from '../../protocol/bytes.ts';
import { eventId, signEvent, signEvents, verifyEvent, type CanopyEvent, type SignedEvent, type VerifiedBatches } from '../../protocol/events.ts';
import { SignedEventSchema } from '../../protocol/frames.ts';
import { generateIdentity } from '../../protocol/identity.ts';
import { compareRates, type Row, type TempDirs } from './harness.ts';

const BATCH = 100;
const TURNS = { rounds: 3, warmupMs: 150, durationMs: 400 };
const SECTION = `4b. cost per post by stage, in ms (lower is better): batched (${BATCH} per batch) vs one at a time`;

function posts(n: number, firstSeq: number): { events: CanopyEvent[]; ids: string[] } {
  const events = Array.from({ length: n }, (_, i) => ({
    v: 1 as const,
    author: identity.peerId,
    author_key: b58encode(identity.ed25519.publicKey),
    channel: 'general',
    seq: firstSeq + i,
    kind: 'post' as const,
    ts: Date.now(),
    body: { content: 'The quick brown fox jumps over the lazy dog while the benchmark measures Canopy stage by stage.' },
  }));
  return { events, ids: events.map((e) => eventId(nodeCrypto, e)) };
}
const identity = generateIdentity(nodeCrypto);

const freshCache = (): VerifiedBatches => {
  const keys = new Set<string>();
  return { has: (k) => keys.has(k), add: (k) => void keys.add(k) };
};

/** µs per post of an operation that handles `perCall` posts per call. */
const micros = (ratePerSecond: number, perCall: number) => 1e6 / (ratePerSecond * perCall);

export async function benchStages(dirs: TempDirs): Promise<Row[]> {
  const { events, ids } = posts(BATCH, 1);
  const batch = signEvents(nodeCrypto, identity, events, ids);
  const singles = events.map((e) => signEvent(nodeCrypto, identity, e));
  const rows: Row[] = [];
  const stage = async (name: string, batched: () => void, single: () => void, detail: string) => {
    const rates = await compareRates(batched, single, TURNS);
    rows.push({
      section: SECTION,
      measurement: name,
      unit: 'ms',
      canopy: micros(rates.canopy, BATCH) / 1000,
      baseline: micros(rates.baseline, BATCH) / 1000,
      baselineName: 'one at a time',
      detail,
    });
  };

  await stage(
    'sign (sender)',
    () => void signEvents(nodeCrypto, identity, events, ids),
    () => events.forEach((e) => signEvent(nodeCrypto, identity, e)),
    `stage costs are per post in ms (x1000 = µs); sign: one Ed25519 signature over a Merkle root of ${BATCH} ids vs one per event (canonical JSON + SHA-256 for the id are in both)`,
  );
  await stage(
    'verify (receiver)',
    () => {
      const cache = freshCache();
      for (const s of batch) if (!verifyEvent(nodeCrypto, s, cache).ok) throw new Error('bench: verify failed');
    },
    () => {
      for (const s of singles) if (!verifyEvent(nodeCrypto, s).ok) throw new Error('bench: verify failed');
    },
    'verify: canonical JSON + id hash + inclusion path (7 hashes) + one signature check per batch vs one per event',
  );
  await stage(
    'schema check of a received event (zod)',
    () => batch.forEach((s) => SignedEventSchema.parse(s)),
    () => singles.forEach((s) => SignedEventSchema.parse(s)),
    'schema check: the same validation every received event gets (batched events also carry their proof)',
  );

  const store = openStore({ file: join(dirs.make('stages'), 'canopy.db'), atRestKey: new Uint8Array(32).fill(9) });
  let seq = 1;
  const inserts = (signedEvents: SignedEvent[]) => {
    const fresh = posts(BATCH, seq);
    seq += BATCH;
    return fresh.events.map((event, i) => ({ signed: { ...signedEvents[i]!, event }, id: fresh.ids[i]! }));
  };
  try {
    await stage(
      'seal at rest + insert into SQLite (WAL)',
      () => {
        const rows = inserts(batch);
        store.db.transaction(() => {
          for (const { signed, id } of rows) store.events.insert(signed, { id, sourcePeer: null, readable: signed.event.body as { content: string }, receivedAt: Date.now() });
        })();
      },
      () => {
        for (const { signed, id } of inserts(singles)) store.events.insert(signed, { id, sourcePeer: null, readable: signed.event.body as { content: string }, receivedAt: Date.now() });
      },
      'store: XChaCha20-Poly1305 at rest + INSERT + head update; one commit per group (as the publisher and intake do) vs one commit per event (signatures are not checked by the store)',
    );
  } finally {
    store.close();
  }
  return rows;
}
