import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Database } from './database.ts';

/** How often the background thread copies committed WAL pages into the database file. */
export const CHECKPOINT_INTERVAL_MS = 100;
/**
 * The main connection still checkpoints by itself once the WAL holds this many pages (64 MiB): a
 * bound on the WAL should the background thread ever stop.
 */
export const FALLBACK_AUTOCHECKPOINT_PAGES = 16_384;

/*
 * The worker's whole program: its own connection to the same file, a PASSIVE checkpoint on a
 * timer (it never waits for, nor blocks, the writer), and a clean close on request. Plain
 * CommonJS evaluated by the worker, so it needs no TypeScript loader there.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
const timer = setInterval(() => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch { /* busy or closing: the next tick tries again */ }
}, workerData.intervalMs);
parentPort.on('message', () => { clearInterval(timer); db.close(); parentPort.close(); });
`;

/**
 * Moves SQLite's WAL checkpoints off the event loop. With SQLite's default, the commit that
 * crosses 1,000 WAL pages copies them into the database file before it returns: a stall of
 * milliseconds in the middle of a send or a received batch (a quarter of the end-to-end pipeline
 * and a third of its p99 latency here). A second thread with its own connection does that work
 * beside the writer instead. Durability is unchanged: a checkpoint only copies committed pages.
 */
export class BackgroundCheckpointer {
  private readonly worker: Worker;

  constructor(db: Database, file: string, intervalMs = CHECKPOINT_INTERVAL_MS) {
    db.pragma(`wal_autocheckpoint = ${FALLBACK_AUTOCHECKPOINT_PAGES}`);
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { driver, file, intervalMs } });
    // The process must be able to exit while the thread waits for its next tick.
    this.worker.unref();
  }

  /** Stops the thread after its current checkpoint; resolves once its connection is closed. */
  async close(): Promise<void> {
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.ref(); // waiting for it now, so it must keep the process alive until it is done
    this.worker.postMessage('close');
    await exited;
  }
}
