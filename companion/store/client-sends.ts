import type { Database } from './database.ts';

/**
 * Remembers which event each web-outbox send became, so a send retried after a dropped link
 * returns the first result instead of posting the message twice.
 */
export class ClientSendRepository {
  readonly #get;
  readonly #record;

  constructor(db: Database) {
    this.#get = db.prepare<[string], string>('SELECT event_id FROM client_sends WHERE client_id = ?').pluck();
    this.#record = db.prepare('INSERT INTO client_sends (client_id, event_id, created_at) VALUES (?, ?, ?)');
  }

  eventFor(clientId: string): string | undefined {
    return this.#get.get(clientId);
  }

  record(clientId: string, eventId: string, at: number): void {
    this.#record.run(clientId, eventId, at);
  }
}
