/** API keys as `keys.list` reports them (the same JSON as GET /api/v1/keys). */
export const PERMISSIONS = [
  { id: 'read_messages', label: 'Read messages' },
  { id: 'write_messages', label: 'Send messages' },
  { id: 'view_peers', label: 'View peers' },
  { id: 'manage_peers', label: 'Manage peers (invites, connect)' },
  { id: 'manage_keys', label: 'Manage API keys' },
] as const;

export interface ApiKeyInfo {
  id: string;
  name: string | null;
  permissions: string[];
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked: boolean;
}

function isApiKeyInfo(value: unknown): value is ApiKeyInfo {
  if (typeof value !== 'object' || value === null) return false;
  const key = value as Record<string, unknown>;
  return typeof key.id === 'string' && Array.isArray(key.permissions) && typeof key.created_at === 'string';
}

export function parseKeyList(result: Record<string, unknown>): ApiKeyInfo[] {
  return Array.isArray(result.keys) ? result.keys.filter(isApiKeyInfo) : [];
}
