import type { Database } from './database.ts';

/** Small JSON values that must survive a restart (relay policy, UI preferences, ...). */
export class SettingsRepository {
  readonly #get;
  readonly #set;
  readonly #delete;

  constructor(db: Database) {
    this.#get = db.prepare<[string], string>('SELECT value FROM settings WHERE key = ?').pluck();
    this.#set = db.prepare<[string, string]>(
      'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    );
    this.#delete = db.prepare<[string]>('DELETE FROM settings WHERE key = ?');
  }

  /** The caller vouches for T: values are whatever it stored, parsed back from JSON. */
  get<T>(key: string): T | undefined {
    const value = this.#get.get(key);
    return value === undefined ? undefined : (JSON.parse(value) as T);
  }

  /** Setting undefined deletes the key, since JSON has no undefined. */
  set(key: string, value: unknown): void {
    const json = JSON.stringify(value);
    if (json === undefined) this.#delete.run(key);
    else this.#set.run(key, json);
  }

  delete(key: string): boolean {
    return this.#delete.run(key).changes > 0;
  }
}
