import { benchEndToEnd } from './e2e.ts';
import { TempDirs, formatTable } from './harness.ts';
const dirs = new TempDirs();
try { console.log(formatTable(await benchEndToEnd(dirs, 225_000))); } finally { dirs.cleanup(); }
process.exit(0);
