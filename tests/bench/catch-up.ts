// Measurement 6b: catch-up of 100,000 events between two companion processes. A fills its data
// dir through MessageService (posts published as a busy agent makes them: SEND_BATCH per turn of
// the event loop), then A and B run as separate processes and B imports A's invite: the time from
// the import to B holding every event is the catch-up.
import { startCompanion } from '../../companion/node.ts';
import { apiClient, createKey, type ApiClient } from '../helpers/api.ts';
import { startInstance, type Instance } from '../helpers/instance.ts';
import { freePort, HOST, now, scaledTargetStatus, yieldToLoop, type Row, type TempDirs } from './harness.ts';
import { BARE_MESSAGE_BYTES } from './links.ts';

export const CATCH_UP_EVENTS = Number(process.env.CANOPY_BENCH_CATCH_UP ?? 100_000);
const SEND_BATCH = 100;
const CONTENT = 'Catch-up benchmark post: what a peer that was away for a month finds waiting for it. 0123456789';
const POLL_MS = 100;
const TIMEOUT_MS = 600_000;

/** Publishes `count` posts to `general` into `dataDir` as a busy agent would: SEND_BATCH per turn of the event loop. */
export async function fillDataDir(dataDir: string, count: number): Promise<void> {
  const companion = await startCompanion({ host: HOST, port: await freePort(), meshPort: await freePort(), dataDir, relayPolicy: 'broker_only', quiet: true, discovery: false });
  try {
    for (let sent = 0; sent < count; ) {
      const burst = Math.min(SEND_BATCH, count - sent);
      await Promise.all(Array.from({ length: burst }, (_, i) => companion.messages.send({ content: postContent(sent + i), broadcast: true })));
      sent += burst;
      await yieldToLoop();
    }
  } finally {
    await companion.close();
  }
}

/** The text of the i-th post fillDataDir makes. */
export const postContent = (i: number): string => `${CONTENT} #${i}`;

const generalCount = async (api: ApiClient): Promise<number> => {
  const channels = (await api.get('/channels')).body.channels as Array<{ id: string; message_count: number }>;
  return channels.find((c) => c.id === 'general')?.message_count ?? 0;
};

export async function benchCatchUp(dirs: TempDirs, bareWsRate: number): Promise<Row[]> {
  const aDir = dirs.make('catch-up-a');
  const filledAt = now();
  await fillDataDir(aDir, CATCH_UP_EVENTS);
  const fillSeconds = (now() - filledAt) / 1000;
  const started: Instance[] = [];
  try {
    const a = await startInstance({ dataDir: aDir, args: ['--no-discovery'] });
    started.push(a);
    const b = await startInstance({ args: ['--no-discovery'] });
    started.push(b);
    const aApi = apiClient(a.url, await createKey(a.dataDir));
    const bApi = apiClient(b.url, await createKey(b.dataDir));
    const invite = (await aApi.get('/p2p/invite')).body.invite_code as string;
    const t0 = now();
    const imported = await bApi.post('/p2p/invite/import', { invite_code: invite });
    if (imported.body.status !== 'connected') throw new Error(`bench: B could not connect to A: ${JSON.stringify(imported.body)}`);
    for (;;) {
      if ((await generalCount(bApi)) >= CATCH_UP_EVENTS) break;
      if (now() - t0 > TIMEOUT_MS) throw new Error(`bench: catch-up of ${CATCH_UP_EVENTS} events did not finish in ${TIMEOUT_MS / 1000} s`);
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    const seconds = (now() - t0) / 1000;
    const section = `4c. catch-up: B (new) links to A holding ${CATCH_UP_EVENTS.toLocaleString('en-US')} posts; two companion processes`;
    return [
      {
        section,
        measurement: `catch-up of ${CATCH_UP_EVENTS.toLocaleString('en-US')} events, import -> all stored at B`,
        unit: '/s',
        canopy: CATCH_UP_EVENTS / seconds,
        baseline: bareWsRate,
        baselineName: `bare ws ${BARE_MESSAGE_BYTES} B, from 3`,
        detail: `catch-up took ${seconds.toFixed(1)} s (${scaledTargetStatus(seconds, 10, 's', false, bareWsRate)}); A's posts were published ${SEND_BATCH} per event-loop turn (signed once per turn), filling A took ${fillSeconds.toFixed(1)} s; B polls GET /channels every ${POLL_MS} ms`,
      },
    ];
  } finally {
    await Promise.all(started.map((instance) => instance.stop()));
  }
}
