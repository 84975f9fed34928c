import { chmodSync, closeSync, existsSync, openSync } from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';
import { migrate } from './migrations.ts';

export type Database = BetterSqlite3.Database;

/**
 * The database holds message bodies and peer data: only the owner may read it. SQLite creates its
 * -wal and -shm files with the mode of the database file, so creating that one 0600 covers all
 * three; files made by an earlier version (0644) are tightened here.
 */
function restrictToOwner(file: string): void {
  if (!existsSync(file)) closeSync(openSync(file, 'a', 0o600));
  for (const path of [file, `${file}-wal`, `${file}-shm`]) if (existsSync(path)) chmodSync(path, 0o600);
}

/** Opens (creating if needed) the companion's SQLite file and brings its schema up to date. */
export function openDatabase(file: string): Database {
  if (file !== ':memory:') restrictToOwner(file);
  const db = new BetterSqlite3(file);
  try {
    // First, so that every later statement (including the WAL switch and the migrations) waits
    // for a lock instead of failing: `canopy keys create` writes to the same file while the
    // instance runs.
    db.pragma('busy_timeout = 5000');
    // WAL lets that second connection read and write beside the running instance.
    db.pragma('journal_mode = WAL');
    // In WAL mode NORMAL only skips the fsync at commit: a committed transaction is already in the
    // WAL file (the OS page cache), so a process crash such as kill -9 loses nothing acknowledged.
    // Only an OS crash or power loss can drop the last commits, never corrupt the database.
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    migrate(db);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}
