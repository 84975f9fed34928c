import { parseArgs } from 'node:util';
import { ensureBuild } from '../scripts/ensure-build.js';
import { canonicalizeEndpoint, MAX_ENDPOINTS } from '../protocol/invite.ts';
import { CANOPY_VERSION } from '../protocol/version.ts';
import { keyFingerprint } from '../protocol/app/fingerprint.ts';
import { ALLOWED_ORIGINS_ENV, parseAllowedOrigins } from './api/origin.ts';
import { nodeCrypto } from './crypto/node.ts';
import { socketLimitsFromEnv } from './http-server.ts';
import { eventStreamLimitsFromEnv } from './api/event-stream.ts';
import { RELAY_LIMIT_ENV, relayLimitsFromEnv } from './mesh/relay-circuits.ts';
import { openInstance, startCompanion } from './node.ts';
import { KeyService } from './service/key-service.ts';
import { dialableUrl } from './instance/listening.ts';
import { mintApiKey } from './instance/mint-key.ts';
import { MCP_KEY_PERMISSIONS } from './mcp/key.ts';
import { runMcpServer } from './mcp/server.ts';
import { ensureSetupCode } from './service/setup-code.ts';
import { DEFAULT_KEY_PERMISSIONS, PERMISSIONS } from './service/permissions.ts';
import { RELAY_POLICIES, type RelayPolicy } from './service/relay-service.ts';

const USAGE = `Canopy ${CANOPY_VERSION}

Usage:
  canopy start [--host HOST] [--port PORT] [--p2p-port PORT] [--data-dir DIR] [--no-discovery]
               [--advertise URL[,URL...]]
      Run this instance: web UI + REST API on PORT (default 7770), mesh on PORT+1.
      --advertise (or CANOPY_ADVERTISE) replaces the mesh endpoints offered in invites, handshakes,
      introductions and mDNS, e.g. ws://203.0.113.7:9771 for a port forward or a VPN address.
      LAN discovery (mDNS) follows HOST: loopback only unless HOST is a LAN or wildcard address;
      --no-discovery (or CANOPY_DISCOVERY=off) turns it off.
  canopy keys create [--permissions LIST] [--name NAME] [--expires-days N] [--data-dir DIR]
      Mint an API key and print it alone on stdout (works while the instance runs).
      LIST is comma-separated from: ${PERMISSIONS.join(', ')}, or "all".
      Default: ${DEFAULT_KEY_PERMISSIONS.join(',')}
  canopy keys list [--data-dir DIR]
  canopy keys revoke ID [--data-dir DIR]
  canopy mcp [--data-dir DIR] [--url URL] [--api-key KEY]
      Serve this instance to an MCP client (Claude Desktop, an IDE, an agent) over stdin/stdout; the
      instance must be running. URL: where its REST API answers (default: the address the running
      instance records in DIR, else http://127.0.0.1:7770, following CANOPY_HOST/CANOPY_PORT).
      Without --api-key it mints its own key (${MCP_KEY_PERMISSIONS.join(', ')}) once and keeps
      it in DIR/mcp/api-key.
  canopy setup-code [--data-dir DIR]
      Print the one-time code that creating the web app's account needs (alone on stdout);
      fails once the account exists.

Environment: CANOPY_HOST, CANOPY_PORT, CANOPY_MESH_PORT, CANOPY_DATA_DIR, CANOPY_RELAY_POLICY, CANOPY_DISCOVERY,
  CANOPY_ADVERTISE,
  ${ALLOWED_ORIGINS_ENV} (comma-separated origins, e.g. https://canopy.example.com, whose pages
  may use the web app and REST besides the companion's own address),
  CANOPY_HEADERS_TIMEOUT_MS, CANOPY_IDLE_TIMEOUT_MS, CANOPY_MAX_SOCKETS (socket limits of both
  ports; see docs/LIMITS.md),
  ${Object.values(RELAY_LIMIT_ENV).join(', ')}
  (what a full_relay instance carries for others; see README "Relay limits").
`;

class UsageError extends Error {}

function port(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`Invalid ${name}: ${value}`);
  return n;
}

/** `--advertise` / CANOPY_ADVERTISE: comma-separated mesh endpoints, each checked as an invite's would be. */
function advertiseOption(value: string | undefined): string[] | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const endpoints = value.split(',').map((entry) => {
    try {
      return canonicalizeEndpoint(entry);
    } catch (error) {
      throw new UsageError(`Invalid --advertise: ${(error as Error).message}`);
    }
  });
  if (endpoints.length > MAX_ENDPOINTS) throw new UsageError(`Invalid --advertise: at most ${MAX_ENDPOINTS} endpoints`);
  return [...new Set(endpoints)];
}

/** A configuration error found while reading the environment is the user's to fix: a usage error. */
function usageErrorOf<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

const dataDirOf = (flag: string | undefined) => flag ?? process.env.CANOPY_DATA_DIR ?? 'data';
const DEFAULT_HOST = '127.0.0.1';
const DEFAULT_PORT = 7770;

async function start(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      'p2p-port': { type: 'string' },
      'mesh-port': { type: 'string' },
      'data-dir': { type: 'string' },
      'no-discovery': { type: 'boolean' },
      advertise: { type: 'string' },
    },
  });
  const discovery = process.env.CANOPY_DISCOVERY ?? 'on';
  if (discovery !== 'on' && discovery !== 'off') throw new UsageError(`Invalid CANOPY_DISCOVERY: ${discovery}. Use: on, off`);
  const host = values.host ?? process.env.CANOPY_HOST ?? DEFAULT_HOST;
  const webPort = port(values.port ?? process.env.CANOPY_PORT, '--port') ?? DEFAULT_PORT;
  const meshPort = port(values['p2p-port'] ?? values['mesh-port'] ?? process.env.CANOPY_MESH_PORT, '--p2p-port') ?? webPort + 1;
  const relayPolicy = process.env.CANOPY_RELAY_POLICY ?? 'broker_only';
  if (!(RELAY_POLICIES as readonly string[]).includes(relayPolicy)) {
    throw new UsageError(`Invalid CANOPY_RELAY_POLICY: ${relayPolicy}. Use: ${RELAY_POLICIES.join(', ')}`);
  }
  const advertise = advertiseOption(values.advertise ?? process.env.CANOPY_ADVERTISE);
  const allowedOrigins = usageErrorOf(() => parseAllowedOrigins(process.env[ALLOWED_ORIGINS_ENV]));
  const socketLimits = usageErrorOf(() => socketLimitsFromEnv(process.env));
  const relayLimits = usageErrorOf(() => relayLimitsFromEnv(process.env));
  const eventStreamLimits = usageErrorOf(() => eventStreamLimitsFromEnv(process.env));
  await ensureBuild();
  const companion = await startCompanion({
    socketLimits,
    allowedOrigins,
    host,
    port: webPort,
    meshPort,
    dataDir: dataDirOf(values['data-dir']),
    relayPolicy: relayPolicy as RelayPolicy,
    discovery: !values['no-discovery'] && discovery === 'on',
    advertise,
    relayLimits,
    eventStreamLimits,
  });
  const shown = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
  process.stdout.write(
    `Canopy ${CANOPY_VERSION} running as peer ${companion.identity.peerId}\n` +
      `  Web UI and REST API: http://${shown}:${webPort}\n` +
      `  Mesh listener:       ws://${host}:${meshPort}/p2p\n` +
      (advertise ? `  Advertised as:       ${advertise.join(', ')}\n` : '') +
      `  Data:                ${companion.paths.deviceDir}\n` +
      `  Key fingerprint:     ${keyFingerprint(nodeCrypto, companion.identity.x25519.publicKey)} (the web app shows it at login)\n`,
  );
  const setupCode = ensureSetupCode(companion.store);
  if (setupCode) {
    // Only someone who sees this terminal (or runs `canopy setup-code`) can create the account.
    process.stdout.write(
      `  No account yet: open http://${shown}:${webPort}/?setup=${setupCode} to create yours.\n` +
        `  Setup code:          ${setupCode} (also printed by \`npx canopy setup-code\`)\n`,
    );
  }
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await companion.close();
  return 0;
}

async function mcp(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { 'data-dir': { type: 'string' }, url: { type: 'string' }, 'api-key': { type: 'string' } },
  });
  if (values.url !== undefined && !URL.canParse(values.url)) throw new UsageError(`Invalid --url: ${values.url}`);
  // Where `canopy start` with the same environment listens, for an instance that recorded nothing.
  const defaultUrl = dialableUrl(process.env.CANOPY_HOST ?? DEFAULT_HOST, port(process.env.CANOPY_PORT, 'CANOPY_PORT') ?? DEFAULT_PORT);
  await runMcpServer({ dataDir: dataDirOf(values['data-dir']), url: values.url, defaultUrl, apiKey: values['api-key'] });
  return 0;
}

/** Prints the setup code alone on stdout, as `keys create` prints a key, for scripts and tests. */
function setupCode(args: string[]): number {
  const { values } = parseArgs({ args, options: { 'data-dir': { type: 'string' } } });
  const instance = openInstance(dataDirOf(values['data-dir']), { quiet: true });
  try {
    const code = ensureSetupCode(instance.store);
    if (!code) {
      process.stderr.write('canopy: the account already exists, so there is no setup code; log in instead\n');
      return 1;
    }
    process.stdout.write(`${code}\n`);
    return 0;
  } finally {
    instance.store.close();
  }
}

function keys(args: string[]): number {
  const [action, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      permissions: { type: 'string', multiple: true },
      name: { type: 'string' },
      'expires-days': { type: 'string' },
      'data-dir': { type: 'string' },
    },
  });
  const dataDir = dataDirOf(values['data-dir']);
  if (action === 'create') {
    const expires = values['expires-days'] ? Number(values['expires-days']) : undefined;
    if (expires !== undefined && (!Number.isInteger(expires) || expires < 1)) throw new UsageError('--expires-days must be a positive integer');
    const created = mintApiKey(dataDir, { permissions: values.permissions ?? DEFAULT_KEY_PERMISSIONS, name: values.name, expiresDays: expires }, 'from the command line');
    process.stdout.write(`${created.api_key}\n`);
    process.stderr.write(`Created API key ${created.id} with permissions: ${created.permissions.join(', ')}\n`);
    return 0;
  }
  const instance = openInstance(dataDir, { quiet: true });
  try {
    const service = new KeyService(instance.store.apiKeys);
    switch (action) {
      case 'list':
        process.stdout.write(JSON.stringify(service.list(), null, 2) + '\n');
        return 0;
      case 'revoke': {
        const id = positionals[0];
        if (!id) throw new UsageError('Usage: canopy keys revoke ID');
        process.stdout.write(JSON.stringify(service.revoke(id)) + '\n');
        return 0;
      }
      default:
        throw new UsageError(`Unknown keys command: ${action ?? '(none)'}`);
    }
  } finally {
    instance.store.close();
  }
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  try {
    switch (command) {
      case 'start':
        return await start(args);
      case 'keys':
        return keys(args);
      case 'setup-code':
        return setupCode(args);
      case 'mcp':
        return await mcp(args);
      case '--version':
      case 'version':
        process.stdout.write(`${CANOPY_VERSION}\n`);
        return 0;
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(USAGE);
        return command === undefined ? 1 : 0;
      default:
        throw new UsageError(`Unknown command: ${command}`);
    }
  } catch (error) {
    const known = error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') || (error as { name?: string }).name === 'ServiceError';
    process.stderr.write(`canopy: ${(error as Error).message}\n${known ? '\nRun `canopy help` for usage.\n' : ''}`);
    return known ? 2 : 1;
  }
}
