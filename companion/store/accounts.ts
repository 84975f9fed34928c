import { randomBytes } from 'node:crypto';
import type { Clock } from './clock.ts';
import { systemClock } from './clock.ts';
import type { Database } from './database.ts';

export interface UserRecord {
  id: string;
  username: string;
  passwordHash: string;
  createdAt: number;
}

export interface DeviceRecord {
  id: string;
  publicKey: Uint8Array;
  userId: string;
  label: string;
  createdAt: number;
  lastSeenAt: number | null;
  revokedAt: number | null;
}

interface UserRow {
  id: string;
  username: string;
  password_hash: string;
  created_at: number;
}

interface DeviceRow {
  id: string;
  public_key: Buffer;
  user_id: string;
  label: string;
  created_at: number;
  last_seen_at: number | null;
  revoked_at: number | null;
}

const toUser = (row: UserRow): UserRecord => ({
  id: row.id,
  username: row.username,
  passwordHash: row.password_hash,
  createdAt: row.created_at,
});

const toDevice = (row: DeviceRow): DeviceRecord => ({
  id: row.id,
  publicKey: new Uint8Array(row.public_key),
  userId: row.user_id,
  label: row.label,
  createdAt: row.created_at,
  lastSeenAt: row.last_seen_at,
  revokedAt: row.revoked_at,
});

/**
 * Web app accounts and the browsers logged in to them. A browser is remembered by its device
 * key (the static key of its app-link handshake), so a revoked device key must log in again.
 */
export class AccountRepository {
  readonly #now: Clock;
  readonly #countUsers;
  readonly #firstUsername;
  readonly #userByName;
  readonly #userById;
  readonly #insertUser;
  readonly #deviceByKey;
  readonly #deviceById;
  readonly #listDevices;
  readonly #insertDevice;
  readonly #reviveDevice;
  readonly #touchDevice;
  readonly #revokeDevice;

  constructor(db: Database, now: Clock = systemClock) {
    this.#now = now;
    this.#countUsers = db.prepare<[], number>('SELECT COUNT(*) FROM users').pluck();
    this.#firstUsername = db.prepare<[], string>('SELECT username FROM users ORDER BY created_at, id LIMIT 1').pluck();
    this.#userByName = db.prepare<[string], UserRow>('SELECT * FROM users WHERE username = ?');
    this.#userById = db.prepare<[string], UserRow>('SELECT * FROM users WHERE id = ?');
    this.#insertUser = db.prepare('INSERT INTO users (id, username, password_hash, created_at) VALUES (?, ?, ?, ?)');
    this.#deviceByKey = db.prepare<[Buffer], DeviceRow>('SELECT * FROM devices WHERE public_key = ?');
    this.#deviceById = db.prepare<[string], DeviceRow>('SELECT * FROM devices WHERE id = ?');
    this.#listDevices = db.prepare<[], DeviceRow>('SELECT * FROM devices WHERE revoked_at IS NULL ORDER BY created_at');
    this.#insertDevice = db.prepare(
      'INSERT INTO devices (id, public_key, user_id, label, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.#reviveDevice = db.prepare(
      'UPDATE devices SET user_id = ?, label = ?, revoked_at = NULL, created_at = ?, last_seen_at = ? WHERE id = ?',
    );
    this.#touchDevice = db.prepare('UPDATE devices SET last_seen_at = ? WHERE id = ?');
    this.#revokeDevice = db.prepare('UPDATE devices SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL');
  }

  hasUsers(): boolean {
    return this.#countUsers.get()! > 0;
  }

  /** The web account's username (the first, as there is one), or null before setup. */
  firstUsername(): string | null {
    return this.#firstUsername.get() ?? null;
  }

  createUser(username: string, passwordHash: string): UserRecord {
    const user = { id: randomBytes(8).toString('hex'), username, passwordHash, createdAt: this.#now() };
    this.#insertUser.run(user.id, user.username, user.passwordHash, user.createdAt);
    return user;
  }

  userByName(username: string): UserRecord | undefined {
    const row = this.#userByName.get(username);
    return row && toUser(row);
  }

  userById(id: string): UserRecord | undefined {
    const row = this.#userById.get(id);
    return row && toUser(row);
  }

  /** The device with this key if it is logged in (not revoked). */
  activeDevice(publicKey: Uint8Array): DeviceRecord | undefined {
    const row = this.#deviceByKey.get(Buffer.from(publicKey));
    return row && row.revoked_at === null ? toDevice(row) : undefined;
  }

  /** Logs a device key in to a user: a new row, or a revoked one brought back. */
  registerDevice(publicKey: Uint8Array, userId: string, label: string): DeviceRecord {
    const now = this.#now();
    const existing = this.#deviceByKey.get(Buffer.from(publicKey));
    if (existing) {
      this.#reviveDevice.run(userId, label, now, now, existing.id);
      return toDevice(this.#deviceById.get(existing.id)!);
    }
    const id = randomBytes(8).toString('hex');
    this.#insertDevice.run(id, Buffer.from(publicKey), userId, label, now, now);
    return toDevice(this.#deviceById.get(id)!);
  }

  touchDevice(id: string): void {
    this.#touchDevice.run(this.#now(), id);
  }

  devices(): DeviceRecord[] {
    return this.#listDevices.all().map(toDevice);
  }

  revokeDevice(id: string): boolean {
    return this.#revokeDevice.run(this.#now(), id).changes > 0;
  }
}
