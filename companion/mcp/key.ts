import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { mintApiKey } from '../instance/mint-key.ts';
import { writeFileAtomic } from '../instance/paths.ts';
import type { Permission } from '../service/permissions.ts';

/** Exactly what the MCP tools use: reading and sending messages, peers, invites, relay policy; never manage_keys. */
export const MCP_KEY_PERMISSIONS: Permission[] = ['read_messages', 'write_messages', 'view_peers', 'manage_peers'];
export const MCP_KEY_NAME = 'MCP server';

/** Where the REST client gets its key, and whether a refused key can be replaced by a fresh one. */
export interface KeySource {
  key(): Promise<string>;
  /** Forget `key` (the instance refused it); true when the next key() may bring a different one. */
  refused(key: string): boolean;
}

/** `--api-key`: the caller's key as given; a refusal is final, the caller has to fix it. */
export function fixedKey(key: string): KeySource {
  return { key: async () => key, refused: () => false };
}

/** The answer of a request made with the candidate key: whether the instance accepts it. */
export type KeyProbe = (key: string) => Promise<boolean>;

/**
 * The MCP server's own key, minted like `canopy keys create` and kept in `<data dir>/mcp/api-key`
 * (0600) so restarts reuse it instead of adding a row to the keys table each time. A stored key
 * is checked against the running instance before use; a revoked or unknown one is replaced.
 */
export class StoredKey implements KeySource {
  private readonly file: string;
  private current: Promise<string> | undefined;
  /** The key `current` resolved to: a refusal of an older key (a concurrent call's) changes nothing. */
  private resolved: string | undefined;

  constructor(
    private readonly dataDir: string,
    private readonly accepted: KeyProbe,
  ) {
    this.file = join(resolve(dataDir), 'mcp', 'api-key');
  }

  key(): Promise<string> {
    // A failed attempt (instance down) is not cached: the next tool call tries again.
    this.current ??= this.load().then(
      (key) => (this.resolved = key),
      (error: unknown) => {
        this.current = undefined;
        throw error;
      },
    );
    return this.current;
  }

  refused(key: string): boolean {
    if (this.resolved === key) {
      this.current = undefined;
      this.resolved = undefined;
    }
    return true;
  }

  private async load(): Promise<string> {
    const stored = existsSync(this.file) ? readFileSync(this.file, 'utf8').trim() : '';
    if (stored && (await this.accepted(stored))) return stored;
    const created = mintApiKey(this.dataDir, { permissions: MCP_KEY_PERMISSIONS, name: MCP_KEY_NAME }, 'for the MCP server');
    mkdirSync(join(resolve(this.dataDir), 'mcp'), { recursive: true, mode: 0o700 });
    writeFileAtomic(this.file, `${created.api_key}\n`, 0o600);
    process.stderr.write(`canopy mcp: minted API key ${created.id} (${MCP_KEY_PERMISSIONS.join(', ')}), kept in ${this.file}\n`);
    if (!(await this.accepted(created.api_key))) {
      throw new Error(`The instance does not accept a key minted in ${resolve(this.dataDir)}: is --url the instance of this data dir?`);
    }
    return created.api_key;
  }
}
