import { benchCatchUp } from './catch-up.ts';
import { benchFirstPaint } from './first-paint.ts';
import { TempDirs, formatTable } from './harness.ts';
const dirs = new TempDirs();
try {
  const which = process.argv[2];
if (process.env.PROF_CHILD) process.env.NODE_OPTIONS = '--cpu-prof --cpu-prof-dir=/tmp/profchild';
  const rows = which === 'catch-up' ? await benchCatchUp(dirs, 225_000) : await benchFirstPaint(dirs);
  console.log(formatTable(rows));
  for (const r of rows) if (r.detail) console.log('-', r.detail);
} finally { dirs.cleanup(); }
process.exit(0);
