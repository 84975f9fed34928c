import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { CANOPY_VERSION } from '../../protocol/version.ts';
import { readListening } from '../instance/listening.ts';
import { fixedKey, StoredKey } from './key.ts';
import { registerResources } from './resources.ts';
import { RestClient } from './rest-client.ts';
import { registerTools } from './tools.ts';
import { MessageWaiter } from './wait.ts';

export interface McpOptions {
  dataDir: string;
  /** The instance's web/API address; by default the one its data dir records, else `defaultUrl`. */
  url?: string;
  defaultUrl: string;
  /** Use this key instead of the server's own minted one. */
  apiKey?: string;
}

/** Every tool and resource, talking to the instance only through `rest`. */
export function createMcpServer(rest: RestClient): McpServer {
  const server = new McpServer(
    { name: 'canopy', version: CANOPY_VERSION },
    {
      instructions:
        'Canopy is a peer-to-peer messenger. Channels hold public posts shared with every linked peer; ' +
        'direct messages (DMs) are end-to-end encrypted between two peers. Use list_channels / list_peers to find ids, ' +
        'read_channel / read_conversation to read, send_post / send_dm to write, wait_for_message to wait for replies.',
    },
  );
  registerTools(server, rest, new MessageWaiter(rest));
  registerResources(server, rest);
  return server;
}

/**
 * `canopy mcp`: an MCP server on stdin/stdout until the client closes stdin (or a signal).
 * stdout is the protocol channel: everything else, diagnostics included, goes to stderr.
 */
export async function runMcpServer(options: McpOptions): Promise<void> {
  const root = resolve(options.dataDir);
  if (!options.apiKey && !existsSync(join(root, 'device.json'))) {
    throw new Error(`No Canopy instance in ${root}: pass the --data-dir of a running instance, or --api-key`);
  }
  const url = options.url ?? readListening(root) ?? options.defaultUrl;
  const keys = options.apiKey ? fixedKey(options.apiKey) : new StoredKey(root, (key) => rest.accepts(key));
  const rest: RestClient = new RestClient(url, keys);
  const server = createMcpServer(rest);
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((done) => {
    transport.onclose = done;
    process.stdin.once('end', done);
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
  await server.connect(transport);
  process.stderr.write(`canopy mcp: serving Canopy at ${url} over stdio\n`);
  // Ready the key now, so a wrong address or a stopped instance shows up at once; tools retry later.
  keys.key().catch((error: unknown) => process.stderr.write(`canopy mcp: ${(error as Error).message}\n`));
  await closed;
  await server.close();
}
