import type { ApiKeyRecord, ApiKeyRepository } from '../store/index.ts';
import { ServiceError } from './errors.ts';
import { parsePermissions, type Permission } from './permissions.ts';

const DAY_MS = 86_400_000;

const describe = (record: ApiKeyRecord) => ({
  id: record.id,
  name: record.name,
  permissions: record.permissions,
  created_at: new Date(record.createdAt).toISOString(),
  expires_at: record.expiresAt ? new Date(record.expiresAt).toISOString() : null,
  last_used_at: record.lastUsedAt ? new Date(record.lastUsedAt).toISOString() : null,
  revoked: record.revokedAt !== null,
});

/** API keys: minted with explicit permissions, shown once, stored hashed, revocable. */
export class KeyService {
  constructor(private readonly keys: ApiKeyRepository) {}

  create(request: { permissions: string[]; name?: string; expiresDays?: number }) {
    let permissions: Permission[];
    try {
      permissions = parsePermissions(request.permissions);
    } catch (error) {
      throw new ServiceError(400, (error as Error).message);
    }
    if (permissions.length === 0) throw new ServiceError(400, 'permissions must list at least one permission');
    const expiresAt = request.expiresDays ? Date.now() + request.expiresDays * DAY_MS : null;
    const { key, record } = this.keys.create({ permissions, name: request.name, expiresAt });
    return { api_key: key, ...describe(record), expires_days: request.expiresDays ?? null };
  }

  list() {
    return { keys: this.keys.list().map(describe) };
  }

  revoke(id: string) {
    if (!this.keys.revoke(id)) throw new ServiceError(404, 'API key not found', { id });
    return { status: 'revoked', id };
  }
}
