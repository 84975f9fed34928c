import { benchWebApp } from './web.ts';
import { TempDirs, formatTable } from './harness.ts';
const dirs = new TempDirs();
try { console.log(formatTable(await benchWebApp(dirs))); } finally { dirs.cleanup(); }
process.exit(0);
