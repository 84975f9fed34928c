import { openInstance } from '../node.ts';
import { KeyService } from '../service/key-service.ts';

/**
 * Mints an API key straight into the data dir's store: works whether or not the instance runs
 * (SQLite WAL lets both open it). The one path for `canopy keys create` and `canopy mcp`, so both
 * log the same line and take the same checks. `via` names the minter in the log.
 */
export function mintApiKey(dataDir: string, request: { permissions: string[]; name?: string; expiresDays?: number }, via: string) {
  const instance = openInstance(dataDir, { quiet: true });
  try {
    const created = new KeyService(instance.store.apiKeys).create(request);
    instance.log.info('keys', `API key created ${via}`, { id: created.id, permissions: created.permissions.join(',') });
    return created;
  } finally {
    instance.store.close();
  }
}
