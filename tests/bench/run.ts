// `npm run bench`: every Canopy figure next to a baseline measured in this same run on this
// machine, as a ratio. No pass/fail: timings belong here, never in tests (DESIGN.md §8).
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { benchCryptoBackends, benchNoiseHandshakes } from './crypto.ts';
import { benchCatchUp } from './catch-up.ts';
import { benchEndToEnd } from './e2e.ts';
import { benchFirstPaint } from './first-paint.ts';
import { formatTable, now, ratioOf, TempDirs, type Row } from './harness.ts';
import { benchLinkEstablishment, benchLinkThroughput } from './links.ts';
import { benchMesh, meshSizeFromEnv, type MeshBenchResult } from './mesh.ts';
import { benchRelay } from './relay.ts';
import { benchStages } from './stages.ts';
import { benchWebApp } from './web.ts';

const REPORT_DIR = fileURLToPath(new URL('../../reports/', import.meta.url));

async function main(): Promise<void> {
  const started = now();
  const dirs = new TempDirs();
  const rows: Row[] = [];
  let mesh: MeshBenchResult | undefined;
  const step = async (name: string, run: () => Row[] | Promise<Row[]>) => {
    const t = now();
    process.stderr.write(`bench: ${name}...`);
    rows.push(...(await run()));
    process.stderr.write(` ${((now() - t) / 1000).toFixed(1)} s\n`);
  };
  try {
    await step('crypto backends', benchCryptoBackends);
    await step('noise handshakes', benchNoiseHandshakes);
    await step('link establishment', benchLinkEstablishment);
    let bareWsRate = NaN;
    await step('link throughput', async () => {
      const result = await benchLinkThroughput();
      bareWsRate = result.bareWsRate;
      return result.rows;
    });
    await step('end to end', () => benchEndToEnd(dirs, bareWsRate));
    await step('cost per stage', () => benchStages(dirs));
    if (process.env.CANOPY_BENCH_CATCH_UP !== '0') {
      await step('catch-up (2 companion processes; CANOPY_BENCH_CATCH_UP=N events, =0 skips)', () => benchCatchUp(dirs, bareWsRate));
    }
    await step('web app', () => benchWebApp(dirs));
    if (process.env.CANOPY_BENCH_FIRST_PAINT !== '0') {
      await step('first paint after login (CANOPY_BENCH_FIRST_PAINT=N messages, =0 skips)', () => benchFirstPaint(dirs, bareWsRate));
    }
    const meshSize = meshSizeFromEnv();
    if (meshSize) {
      await step(`mesh (${meshSize.line}-node line, ${meshSize.mesh}-node mesh; CANOPY_BENCH_MESH=0 skips, =quick shrinks)`, async () => {
        mesh = await benchMesh(meshSize);
        return mesh.rows;
      });
    }
    if (process.env.CANOPY_BENCH_RELAY !== '0') await step('relay vs direct (4 companion processes; CANOPY_BENCH_RELAY=0 skips)', benchRelay);
  } finally {
    dirs.cleanup();
  }
  const seconds = (now() - started) / 1000;
  const machine = `${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${availableParallelism()} cores, Node ${process.version}`;

  console.log(`\nCanopy benchmark (${machine}; ${seconds.toFixed(1)} s)\n`);
  console.log(formatTable(rows));
  console.log('\nratio = canopy / baseline: for rates higher is better, for latencies and sizes lower is better.');
  console.log('Sections 1-5 run in this one process on 127.0.0.1 (sender and receiver share one event loop), except 4c (two companion processes); sections 6 and 7 run real companion processes.');
  if (mesh) console.log(`\n${mesh.report}`);
  const notes = [...new Set(rows.map((r) => r.detail).filter(Boolean))];
  if (notes.length) console.log(`\nWhat was measured:\n${notes.map((n) => `- ${n}`).join('\n')}`);
  const missed = notes.filter((n) => n?.includes('NOT met')).length;
  if (missed) console.log(`\n${missed} of the measurements above miss an issue 10 target: docs/PERFORMANCE.md ("Targets") says, from the profile, what holds each back and what would move it.`);

  mkdirSync(REPORT_DIR, { recursive: true });
  const report = {
    generated_at: new Date().toISOString(),
    machine: { cpu: cpus()[0]?.model.trim(), cores: availableParallelism(), node: process.version, platform: process.platform },
    duration_seconds: Number(seconds.toFixed(1)),
    results: rows.map((row) => ({ ...row, ratio: ratioOf(row) })),
    ...(mesh ? { mesh_nodes: mesh.nodes } : {}),
  };
  writeFileSync(`${REPORT_DIR}bench.json`, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nWrote reports/bench.json`);
}

main().then(
  // Links and sockets are closed, but a lingering keepalive or close timer must not hold the run open.
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
