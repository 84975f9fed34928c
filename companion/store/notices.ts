import type { Database } from './database.ts';
import { systemClock, type Clock } from './clock.ts';

export interface Notice {
  id: number;
  type: string;
  data: Record<string, unknown>;
  createdAt: number;
}

/** How many notices are kept: a client further behind than this is told it missed some. */
export const NOTICE_RETENTION = 10_000;
/** Trimming runs once per this many inserts, not on every one. */
const TRIM_EVERY = 256;

/**
 * The event stream's journal of everything that is not a message (messages have their own
 * cursor in the events table). Append-only with increasing ids; only the newest
 * NOTICE_RETENTION rows are kept, so no peer can grow it without bound.
 */
export class NoticeRepository {
  readonly #now: Clock;
  readonly #insert;
  readonly #after;
  readonly #latest;
  readonly #oldest;
  readonly #trim;
  #insertsSinceTrim = 0;

  constructor(db: Database, now: Clock = systemClock, readonly retention = NOTICE_RETENTION) {
    this.#now = now;
    this.#insert = db.prepare<[string, string, number]>('INSERT INTO notices (type, data, created_at) VALUES (?, ?, ?)');
    this.#after = db.prepare<[number, number], { id: number; type: string; data: string; created_at: number }>(
      'SELECT id, type, data, created_at FROM notices WHERE id > ? ORDER BY id LIMIT ?',
    );
    // sqlite_sequence holds the last id handed out, even when that row was trimmed.
    this.#latest = db.prepare<[], number>("SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'notices'), 0)").pluck();
    this.#oldest = db.prepare<[], number | null>('SELECT MIN(id) FROM notices').pluck();
    this.#trim = db.prepare<[number]>('DELETE FROM notices WHERE id <= ?');
  }

  append(type: string, data: Record<string, unknown>): number {
    const id = Number(this.#insert.run(type, JSON.stringify(data), this.#now()).lastInsertRowid);
    if (++this.#insertsSinceTrim >= TRIM_EVERY) {
      this.#insertsSinceTrim = 0;
      this.#trim.run(id - this.retention);
    }
    return id;
  }

  /** Notices with id > `after`, oldest first. */
  after(after: number, limit: number): Notice[] {
    return this.#after.all(after, limit).map((row) => ({ id: row.id, type: row.type, data: JSON.parse(row.data), createdAt: row.created_at }));
  }

  /** The id of the newest notice ever written (0 when none). */
  latestId(): number {
    return this.#latest.get() ?? 0;
  }

  /** The id of the oldest notice still held; null when none is. */
  oldestId(): number | null {
    return this.#oldest.get() ?? null;
  }
}
