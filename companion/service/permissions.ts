/**
 * What an API key may do. Every route names the one permission it needs (see api/routes); a key
 * without it gets 403. The original let any key do any /p2p/* operation (its weakness 8.9).
 */
export const PERMISSIONS = ['read_messages', 'write_messages', 'view_peers', 'manage_peers', 'manage_keys'] as const;
export type Permission = (typeof PERMISSIONS)[number];

/** What `canopy keys create` grants when no --permissions are given: everything the guide's flows use. */
export const DEFAULT_KEY_PERMISSIONS: Permission[] = ['read_messages', 'write_messages', 'view_peers', 'manage_peers'];

export function isPermission(value: string): value is Permission {
  return (PERMISSIONS as readonly string[]).includes(value);
}

/** Accepts `a,b c` lists and `all`; throws naming the first unknown permission. */
export function parsePermissions(items: string[]): Permission[] {
  const names = items.flatMap((item) => item.split(/[\s,]+/)).filter(Boolean).map((name) => name.toLowerCase());
  if (names.includes('all')) return [...PERMISSIONS];
  for (const name of names) {
    if (!isPermission(name)) throw new Error(`Invalid permission: ${name}. Use: ${PERMISSIONS.join(', ')}`);
  }
  return [...new Set(names)] as Permission[];
}
