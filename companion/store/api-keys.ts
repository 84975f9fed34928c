import { b64urlEncode, hexEncode, utf8 } from '../../protocol/bytes.ts';
import { nodeCrypto } from '../crypto/node.ts';
import { systemClock, type Clock } from './clock.ts';
import type { Database } from './database.ts';

export const API_KEY_PREFIX = 'cnp_';
/** last_used_at is informational; writing it on every request would turn reads into writes. */
const LAST_USED_RESOLUTION_MS = 60_000;

export interface ApiKeyRecord {
  /** Public identifier (16 hex), safe to show and to use for revocation. */
  id: string;
  name: string | null;
  permissions: string[];
  createdAt: number;
  expiresAt: number | null;
  revokedAt: number | null;
  lastUsedAt: number | null;
}

export interface NewApiKey {
  permissions: string[];
  name?: string;
  expiresAt?: number | null;
}

interface ApiKeyRow {
  id: string;
  name: string | null;
  permissions: string;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  last_used_at: number | null;
}

const PUBLIC_COLUMNS = 'id, name, permissions, created_at, expires_at, revoked_at, last_used_at';

/**
 * The key is 256 random bits, so a plain SHA-256 is enough: a slow password hash only helps
 * against guessable secrets, and nobody can enumerate 2^256 keys. Lookup is by hash, so there
 * is no secret-dependent comparison to time either. Only the hash is stored.
 */
export const hashApiKey = (key: string): string => hexEncode(nodeCrypto.sha256(utf8(key)));

export class ApiKeyRepository {
  readonly #now: Clock;
  readonly #insert;
  readonly #byHash;
  readonly #get;
  readonly #list;
  readonly #touch;
  readonly #revoke;

  constructor(db: Database, now: Clock = systemClock) {
    this.#now = now;
    this.#insert = db.prepare(
      `INSERT INTO api_keys (id, hash, name, permissions, created_at, expires_at)
       VALUES (@id, @hash, @name, @permissions, @createdAt, @expiresAt)`,
    );
    this.#byHash = db.prepare<[string], ApiKeyRow>(`SELECT ${PUBLIC_COLUMNS} FROM api_keys WHERE hash = ?`);
    this.#get = db.prepare<[string], ApiKeyRow>(`SELECT ${PUBLIC_COLUMNS} FROM api_keys WHERE id = ?`);
    this.#list = db.prepare<[], ApiKeyRow>(`SELECT ${PUBLIC_COLUMNS} FROM api_keys ORDER BY created_at, id`);
    this.#touch = db.prepare<[number, string]>('UPDATE api_keys SET last_used_at = ? WHERE id = ?');
    this.#revoke = db.prepare<[number, string]>('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL');
  }

  /** Returns the key itself exactly once; it cannot be recovered afterwards. */
  create(options: NewApiKey): { key: string; record: ApiKeyRecord } {
    if (!Array.isArray(options.permissions) || !options.permissions.every((p) => typeof p === 'string')) {
      throw new TypeError('permissions must be an array of strings');
    }
    const key = API_KEY_PREFIX + b64urlEncode(nodeCrypto.randomBytes(32));
    const id = hexEncode(nodeCrypto.randomBytes(8));
    this.#insert.run({
      id,
      hash: hashApiKey(key),
      name: options.name ?? null,
      permissions: JSON.stringify([...new Set(options.permissions)]),
      createdAt: this.#now(),
      expiresAt: options.expiresAt ?? null,
    });
    return { key, record: this.get(id)! };
  }

  /** The key's record if it is known, not revoked and not expired; otherwise null. */
  verify(key: string): ApiKeyRecord | null {
    if (typeof key !== 'string' || !key.startsWith(API_KEY_PREFIX)) return null;
    const row = this.#byHash.get(hashApiKey(key));
    if (!row) return null;
    const now = this.#now();
    if (row.revoked_at !== null || (row.expires_at !== null && row.expires_at <= now)) return null;
    if (row.last_used_at === null || now - row.last_used_at >= LAST_USED_RESOLUTION_MS) {
      this.#touch.run(now, row.id);
      row.last_used_at = now;
    }
    return toRecord(row);
  }

  get(id: string): ApiKeyRecord | undefined {
    const row = this.#get.get(id);
    return row && toRecord(row);
  }

  /** All keys, revoked and expired included, oldest first. Hashes never leave this module. */
  list(): ApiKeyRecord[] {
    return this.#list.all().map(toRecord);
  }

  /** True when the key exists (now revoked, or revoked before, keeping the first time); false if unknown. */
  revoke(id: string): boolean {
    this.#revoke.run(this.#now(), id);
    return this.#get.get(id) !== undefined;
  }
}

function toRecord(row: ApiKeyRow): ApiKeyRecord {
  const permissions: unknown = JSON.parse(row.permissions);
  return {
    id: row.id,
    name: row.name,
    permissions: Array.isArray(permissions) ? permissions.filter((p): p is string => typeof p === 'string') : [],
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    lastUsedAt: row.last_used_at,
  };
}
