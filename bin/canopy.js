#!/usr/bin/env node
// Entry point for `npm start` and `npx canopy ...`. Node 20 cannot run TypeScript itself, so tsx's
// loader is registered first; the CLI proper lives in companion/cli.ts.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../companion/cli.ts');
process.exitCode = await main(process.argv.slice(2));
