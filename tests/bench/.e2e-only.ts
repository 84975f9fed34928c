import { benchEndToEnd } from './e2e.ts';
import { benchLinkThroughput } from './links.ts';
import { benchStages } from './stages.ts';
import { TempDirs, formatTable } from './harness.ts';
const dirs = new TempDirs();
try {
  const t = await benchLinkThroughput();
  const rows = [...t.rows, ...(await benchEndToEnd(dirs, t.bareWsRate)), ...(await benchStages(dirs))];
  console.log(formatTable(rows));
  for (const r of rows) if (r.detail) console.log('-', r.detail);
} finally { dirs.cleanup(); }
process.exit(0);
