import type { CanopyEvent, ChannelBody } from '../../protocol/events.ts';
import { systemClock, type Clock } from './clock.ts';
import type { Database } from './database.ts';

export interface ChannelRecord {
  id: string;
  name: string;
  description: string;
  originPeer: string | null;
  createdAt: number;
}

export interface ChannelInput {
  id: string;
  name: string;
  description?: string;
  originPeer?: string | null;
  /** ms since epoch; now when absent. */
  createdAt?: number;
}

interface ChannelRow {
  id: string;
  name: string;
  description: string;
  origin_peer: string | null;
  created_at: number;
}

/** Channel metadata. Events may name a channel before its metadata arrives; that is fine. */
export class ChannelRepository {
  readonly #now: Clock;
  readonly #insert;
  readonly #get;
  readonly #list;

  constructor(db: Database, now: Clock = systemClock) {
    this.#now = now;
    // First writer wins: a channel's metadata comes from its origin, and a later copy relayed by
    // another peer must not rename it.
    this.#insert = db.prepare<[string, string, string, string | null, number]>(
      `INSERT INTO channels (id, name, description, origin_peer, created_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (id) DO NOTHING`,
    );
    this.#get = db.prepare<[string], ChannelRow>('SELECT * FROM channels WHERE id = ?');
    this.#list = db.prepare<[], ChannelRow>('SELECT * FROM channels ORDER BY created_at, id');
  }

  /** Creates the channel if it does not exist; returns the stored record and whether it is new. */
  ensure(input: ChannelInput): { record: ChannelRecord; created: boolean } {
    const created =
      this.#insert.run(input.id, input.name, input.description ?? '', input.originPeer ?? null, input.createdAt ?? this.#now()).changes > 0;
    return { record: this.get(input.id)!, created };
  }

  /** Records a channel from its verified metadata event (kind 'channel'): its creator, name and time. */
  describedBy(event: CanopyEvent): ChannelRecord {
    const { name, description } = event.body as ChannelBody;
    return this.ensure({ id: event.channel, name, description, originPeer: event.author, createdAt: event.ts }).record;
  }

  get(id: string): ChannelRecord | undefined {
    const row = this.#get.get(id);
    return row && toRecord(row);
  }

  list(): ChannelRecord[] {
    return this.#list.all().map(toRecord);
  }
}

function toRecord(row: ChannelRow): ChannelRecord {
  return { id: row.id, name: row.name, description: row.description, originPeer: row.origin_peer, createdAt: row.created_at };
}
