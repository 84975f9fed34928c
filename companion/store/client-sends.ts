import type { Database } from './database.ts';

/**
 * Remembers which event each web-outbox send became, so a send retried after a dropped link
 * returns the first result instead of posting the message twice.
 */
export class ClientSendRepository {
  readonly #get;
  readonly #clientIds;
  readonly #record;

  constructor(db: Database) {
    this.#get = db.prepare<[string], string>('SELECT event_id FROM client_sends WHERE client_id = ?').pluck();
    this.#clientIds = db.prepare<[string], { client_id: string; event_id: string }>(
      'SELECT client_id, event_id FROM client_sends WHERE event_id IN (SELECT value FROM json_each(?))',
    );
    this.#record = db.prepare('INSERT INTO client_sends (client_id, event_id, created_at) VALUES (?, ?, ?)');
  }

  eventFor(clientId: string): string | undefined {
    return this.#get.get(clientId);
  }

  /** event id → client id, for those of `eventIds` that came from a web outbox. */
  clientIdsFor(eventIds: readonly string[]): Map<string, string> {
    if (eventIds.length === 0) return new Map();
    return new Map(this.#clientIds.all(JSON.stringify(eventIds)).map((row) => [row.event_id, row.client_id]));
  }

  record(clientId: string, eventId: string, at: number): void {
    this.#record.run(clientId, eventId, at);
  }
}
