import { mkdtempSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCompanion } from '../../companion/node.ts';
import { apiClient, createKey } from '../helpers/api.ts';
import { startInstance } from '../helpers/instance.ts';
import { freePort, HOST, now } from './harness.ts';
const N = Number(process.env.N ?? 20000);
const aDir = mkdtempSync(join(tmpdir(), 'profA-')); cpSync(process.argv[2]!, aDir, { recursive: true });
const a = await startCompanion({ host: HOST, port: await freePort(), meshPort: await freePort(), dataDir: aDir, relayPolicy: 'broker_only', quiet: true, discovery: false });
const b = await startInstance({ args: ['--no-discovery'] });
const bApi = apiClient(b.url, await createKey(b.dataDir));
const inv = a.network.invite({}).invite_code;
const t0 = now();
await bApi.post('/p2p/invite/import', { invite_code: inv });
for (;;) { const c = (await bApi.get('/channels')).body.channels.find((c: any) => c.id === 'general')?.message_count ?? 0; if (c >= N) break; await new Promise((r) => setTimeout(r, 50)); }
console.log('catch-up s', (now() - t0) / 1000);
await a.close(); await b.stop(); process.exit(0);
