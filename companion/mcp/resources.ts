import { ResourceTemplate, type McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { Json, RestClient } from './rest-client.ts';

/** Messages a channel or conversation resource shows: the recent ones; tools page further back. */
export const RESOURCE_MESSAGES = 50;

const json = (uri: URL, data: Json) => ({ contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(data) }] });

/** A template variable as the client sent it: one value, percent-decoded. */
const variable = (value: string | string[] | undefined) => decodeURIComponent(Array.isArray(value) ? (value[0] ?? '') : (value ?? ''));

export function registerResources(server: McpServer, rest: RestClient): void {
  server.registerResource('channels', 'canopy://channels', {
    description: 'The public channels this node knows (ids, names, message counts).',
    mimeType: 'application/json',
  }, async (uri) => json(uri, await rest.get('/channels')));

  const channels = new ResourceTemplate('canopy://channels/{channel_id}', {
    list: async () => {
      const data = await rest.get('/channels');
      return {
        resources: (data.channels as { id: string; name: string; description: string }[]).map((channel) => ({
          uri: `canopy://channels/${encodeURIComponent(channel.id)}`,
          name: `#${channel.name}`,
          description: channel.description || `Recent posts in ${channel.name}`,
          mimeType: 'application/json',
        })),
      };
    },
  });
  server.registerResource('channel', channels, {
    description: `The ${RESOURCE_MESSAGES} most recent posts of a channel, newest first.`,
    mimeType: 'application/json',
  }, async (uri, { channel_id }) =>
    json(uri, await rest.get(`/channels/${encodeURIComponent(variable(channel_id))}/messages`, { limit: RESOURCE_MESSAGES })),
  );

  const conversations = new ResourceTemplate('canopy://conversations/{peer_id}', {
    list: async () => {
      const [messages, peers] = await Promise.all([rest.get('/messages', { limit: 1 }), rest.get('/p2p/peers')]);
      const names = new Map((peers.known_peers as { peer_id: string; display_name: string | null }[]).map((p) => [p.peer_id, p.display_name]));
      return {
        resources: (messages.conversations as { peer_id: string; message_count: number }[]).map((conversation) => ({
          uri: `canopy://conversations/${conversation.peer_id}`,
          name: `DMs with ${names.get(conversation.peer_id) ?? conversation.peer_id}`,
          description: `${conversation.message_count} direct messages with peer ${conversation.peer_id}`,
          mimeType: 'application/json',
        })),
      };
    },
  });
  server.registerResource('conversation', conversations, {
    description: `The ${RESOURCE_MESSAGES} most recent direct messages with a peer, newest first.`,
    mimeType: 'application/json',
  }, async (uri, { peer_id }) => json(uri, await rest.get('/messages', { peer_id: variable(peer_id), limit: RESOURCE_MESSAGES })));
}
