import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { CallToolResult, ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { RELAY_POLICIES } from '../service/relay-service.ts';
import { RestError, type Json, type RestClient } from './rest-client.ts';
import { MAX_WAIT_SECONDS, type MessageWaiter } from './wait.ts';

/** Most messages one read returns: a page an LLM can take in; older ones come with `before`. */
export const MAX_PAGE = 100;
const DEFAULT_PAGE = 20;
/** How often a long wait reports progress, so clients that reset their timeout on progress keep waiting. */
const PROGRESS_EVERY_MS = 10_000;

const channelId = z.string().trim().min(1).max(256).describe('A channel id from list_channels, e.g. "general".');
const peerId = z.string().trim().min(1).max(64).describe('A peer id (16 base58 characters) from list_peers.');
const content = z.string().min(1).max(65_536).describe('The message text (at most 65,536 characters).');
const page = {
  limit: z.number().int().min(1).max(MAX_PAGE).default(DEFAULT_PAGE).describe(`How many messages, newest first (1-${MAX_PAGE}).`),
  before: z.number().int().min(0).optional().describe('Paging cursor: pass the previous result\'s next_before to get older messages.'),
};

/** One line for the model, then the API's JSON, which is also the structured result. */
export function result(summary: string, data: Json): CallToolResult {
  return { content: [{ type: 'text', text: `${summary}\n${JSON.stringify(data)}` }], structuredContent: data };
}

/** A failed call as a tool error with the API's own message, so the model can correct itself. */
function toolError(error: unknown): CallToolResult {
  const text =
    error instanceof RestError
      ? error.status
        ? `Canopy API error ${error.status}: ${error.message}\n${JSON.stringify(error.body)}`
        : error.message
      : (error as Error).name === 'TimeoutError'
        ? 'Canopy did not answer in time'
        : (error as Error).message;
  return { isError: true, content: [{ type: 'text', text }] };
}

const guarded =
  <A>(handler: (args: A, extra: Extra) => Promise<CallToolResult>) =>
  async (args: A, extra: Extra): Promise<CallToolResult> => {
    try {
      return await handler(args, extra);
    } catch (error) {
      return toolError(error);
    }
  };

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;

const messagesSummary = (data: Json, what: string) => {
  const more = data.has_more ? `; older: before=${String(data.next_before)}` : '';
  return `${count((data.messages as unknown[]).length, 'message')} ${what}, newest first${more}`;
};

export function registerTools(server: McpServer, rest: RestClient, waiter: MessageWaiter): void {
  const read = { readOnlyHint: true, openWorldHint: false };
  const write = { readOnlyHint: false, destructiveHint: false, openWorldHint: true };

  server.registerTool('list_channels', {
    description: 'List the public channels this Canopy node knows, with their ids, names, message counts and last activity.',
    inputSchema: {},
    annotations: read,
  }, guarded(async () => {
    const data = await rest.get('/channels');
    const channels = data.channels as { id: string; message_count: number }[];
    return result(`${count(channels.length, 'channel')}: ${channels.map((c) => `${c.id} (${c.message_count})`).join(', ')}`, data);
  }));

  server.registerTool('read_channel', {
    description: 'Read posts of one public channel, newest first. For older posts call again with before = next_before.',
    inputSchema: { channel_id: channelId, ...page },
    annotations: read,
  }, guarded(async (args) => {
    const data = await rest.get(`/channels/${encodeURIComponent(args.channel_id)}/messages`, { limit: args.limit, before: args.before });
    return result(messagesSummary(data, `in channel ${args.channel_id}`), data);
  }));

  server.registerTool('send_post', {
    description: 'Post a message in a public channel; it reaches every linked peer. Use list_channels for ids ("general" always exists).',
    inputSchema: { channel_id: channelId, content },
    annotations: write,
  }, guarded(async (args) => {
    const data = await rest.post('/channels/messages', { channel_id: args.channel_id, content: args.content });
    return result(`Posted in ${args.channel_id} (message_id ${String(data.message_id)})`, data);
  }));

  server.registerTool('read_conversation', {
    description: 'Read the end-to-end encrypted direct messages exchanged with one peer, newest first. For older ones call again with before = next_before.',
    inputSchema: { peer_id: peerId, ...page },
    annotations: read,
  }, guarded(async (args) => {
    const data = await rest.get('/messages', { peer_id: args.peer_id, limit: args.limit, before: args.before });
    return result(messagesSummary(data, `with ${args.peer_id}`), data);
  }));

  server.registerTool('send_dm', {
    description: 'Send an end-to-end encrypted direct message to one peer. If the peer is offline it is queued and delivered when the link returns.',
    inputSchema: { peer_id: peerId, content },
    annotations: write,
  }, guarded(async (args) => {
    const data = await rest.post('/p2p/send', { peer_id: args.peer_id, content: args.content });
    return result(`DM to ${args.peer_id}: ${String(data.status)} (message_id ${String(data.message_id)})`, data);
  }));

  server.registerTool('list_peers', {
    description: 'List the peers: which are connected now (direct or through a relay), every known peer with its display name and trust, and LAN-discovered ones.',
    inputSchema: {},
    annotations: read,
  }, guarded(async () => {
    const data = await rest.get('/p2p/peers');
    const known = data.known_peers as { peer_id: string; display_name: string | null; connected: boolean }[];
    const named = known.map((p) => `${p.display_name ?? '?'} ${p.peer_id}${p.connected ? ' (connected)' : ''}`);
    return result(`${count(known.length, 'known peer')}${named.length ? `: ${named.join(', ')}` : ''}`, data);
  }));

  server.registerTool('get_invite', {
    description: 'Get this node\'s invite code. Whoever imports it (import_invite on their node) links with this node.',
    inputSchema: {},
    annotations: read,
  }, guarded(async () => {
    const data = await rest.get('/p2p/invite');
    return result(`Invite code: ${String(data.invite_code)}`, data);
  }));

  server.registerTool('import_invite', {
    description: 'Link with another Canopy node by importing its invite code ("canopy:..."). Answers connected, or imported_not_connected with the reason.',
    inputSchema: { invite_code: z.string().trim().min(1).max(16 * 1024).describe('The invite code, starting with "canopy:".') },
    annotations: { ...write, idempotentHint: true },
  }, guarded(async (args) => {
    const data = await rest.post('/p2p/invite/import', { invite_code: args.invite_code });
    return result(`Invite of ${String(data.peer_id)}: ${String(data.status)}`, data);
  }));

  server.registerTool('set_relay_policy', {
    description: 'Choose what this node does for peers that cannot reach each other: off (nothing), broker_only (introduce them), full_relay (also carry their traffic).',
    inputSchema: { policy: z.enum(RELAY_POLICIES) },
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  }, guarded(async (args) => {
    const data = await rest.post('/p2p/relay_policy', { policy: args.policy });
    return result(`Relay policy: ${String(data.relay_policy)}`, data);
  }));

  server.registerTool('wait_for_message', {
    description:
      'Block until the next post or direct message from someone else arrives, then return it; or say none came within timeout_seconds. ' +
      'Consecutive calls never miss or repeat a message. Filter with channel_id (posts there) and/or peer_id (DMs with that peer); ' +
      'messages that do not match are kept for a later call.',
    inputSchema: {
      timeout_seconds: z.number().int().min(1).max(MAX_WAIT_SECONDS).default(30).describe(`Seconds to wait (1-${MAX_WAIT_SECONDS}).`),
      channel_id: channelId.optional(),
      peer_id: peerId.optional(),
    },
    annotations: read,
  }, guarded(async (args, extra) => {
    const token = extra._meta?.progressToken;
    const started = Date.now();
    const progress = token === undefined ? undefined : setInterval(() => {
      const params = { progressToken: token, progress: Math.round((Date.now() - started) / 1000), total: args.timeout_seconds };
      void extra.sendNotification({ method: 'notifications/progress', params }).catch(() => {});
    }, PROGRESS_EVERY_MS);
    try {
      const waited = await waiter.wait({ timeoutMs: args.timeout_seconds * 1000, channelId: args.channel_id, peerId: args.peer_id, signal: extra.signal });
      const note = waited.forgotten ? ` (${waited.forgotten} earlier unmatched messages were not kept; read them with read_channel/read_conversation)` : '';
      if (!waited.incoming) return result(`No message within ${args.timeout_seconds} s${note}`, { message: null });
      const { kind, message } = waited.incoming;
      const where =
        kind === 'post'
          ? `post in ${String(message.channel_id)} by ${String(message.author_name ?? message.author_peer_id)}`
          : `DM from ${String(message.sender_name ?? message.peer_id)} (peer_id ${String(message.peer_id)})`;
      return result(`New ${where}${note}`, { kind, message });
    } finally {
      clearInterval(progress);
    }
  }));
}
