// `canopy mcp`: the SDK's own client spawns the MCP server over stdio against two real companions
// linked by invite, and drives every tool as an MCP client (Claude Desktop, an IDE) would.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, createKey, eventually } from '../helpers/api.ts';
import { startInstance, type Instance } from '../helpers/instance.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CANOPY = join(ROOT, 'bin', 'canopy.js');
const run = promisify(execFile);

let a: Instance;
let b: Instance;
let peerA: string;
let peerB: string;

interface Session {
  client: Client;
  /** The server's stderr so far. */
  stderr(): string;
  /** Errors of the stdio channel: anything but JSON-RPC on the server's stdout shows up here. */
  channelErrors: Error[];
  close(): Promise<void>;
}
const sessions: Session[] = [];

async function mcp(instance: Instance, args: string[] = ['--url', instance.url]): Promise<Session> {
  const transport = new StdioClientTransport({ command: process.execPath, args: [CANOPY, 'mcp', '--data-dir', instance.dataDir, ...args], cwd: ROOT, stderr: 'pipe' });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const channelErrors: Error[] = [];
  const client = new Client({ name: 'canopy-test', version: '1.0.0' });
  await client.connect(transport);
  transport.onerror = (error) => channelErrors.push(error);
  const session = { client, stderr: () => stderr, channelErrors, close: () => client.close() };
  sessions.push(session);
  return session;
}

const call = (session: Session, name: string, args: Record<string, unknown> = {}) =>
  session.client.callTool({ name, arguments: args }) as Promise<CallToolResult>;
const data = (result: CallToolResult) => {
  expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
  return result.structuredContent as Record<string, any>;
};
const text = (result: CallToolResult) => (result.content[0] as { text: string }).text;

async function keyList(dataDir: string): Promise<{ id: string; name: string | null; permissions: string[]; revoked: boolean }[]> {
  const { stdout } = await run(process.execPath, [CANOPY, 'keys', 'list', '--data-dir', dataDir], { cwd: ROOT });
  return JSON.parse(stdout).keys;
}
const mcpKeys = async (dataDir: string) => (await keyList(dataDir)).filter((k) => k.name === 'MCP server' && !k.revoked);

let sessionA: Session;
let sessionB: Session;

beforeAll(async () => {
  [a, b] = await Promise.all([startInstance(), startInstance()]);
  const [keyA, keyB] = await Promise.all([createKey(a.dataDir), createKey(b.dataDir)]);
  const apiA = apiClient(a.url, keyA);
  const apiB = apiClient(b.url, keyB);
  peerA = (await apiA.get('/p2p/status')).body.peer_id;
  peerB = (await apiB.get('/p2p/status')).body.peer_id;
  const invite = await apiA.get('/p2p/invite');
  expect((await apiB.post('/p2p/invite/import', { invite_code: invite.body.invite_code })).body.status).toBe('connected');
  await eventually('A to see B', async () => (await apiA.get('/p2p/peers')).body.connected_peers.includes(peerB));
  [sessionA, sessionB] = await Promise.all([mcp(a), mcp(b)]);
});

afterAll(async () => {
  await Promise.all(sessions.map((s) => s.close().catch(() => {})));
  await Promise.all([a?.stop(), b?.stop()]);
});

describe('canopy mcp', () => {
  it('lists every tool with an input schema, and the resources', async () => {
    const { tools } = await sessionA.client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(
      ['get_invite', 'import_invite', 'list_channels', 'list_peers', 'read_channel', 'read_conversation', 'send_dm', 'send_post', 'set_relay_policy', 'wait_for_message'].sort(),
    );
    const wait = tools.find((t) => t.name === 'wait_for_message')!;
    expect(wait.inputSchema.properties).toMatchObject({ timeout_seconds: { maximum: 300 } });
    const { resources } = await sessionA.client.listResources();
    expect(resources.map((r) => r.uri)).toEqual(expect.arrayContaining(['canopy://channels', 'canopy://channels/general']));
    const { resourceTemplates } = await sessionA.client.listResourceTemplates();
    expect(resourceTemplates.map((t) => t.uriTemplate).sort()).toEqual(['canopy://channels/{channel_id}', 'canopy://conversations/{peer_id}']);
  });

  it('sends a DM from A that B reads in the conversation, also as a resource', async () => {
    const content = `hello B ${Math.random()}`;
    const sent = data(await call(sessionA, 'send_dm', { peer_id: peerB, content }));
    expect(sent).toMatchObject({ success: true, peer_id: peerB });
    const found = await eventually('the DM on B', async () => {
      const page = data(await call(sessionB, 'read_conversation', { peer_id: peerA, limit: 5 }));
      return page.messages.find((m: any) => m.content === content);
    });
    expect(found).toMatchObject({ id: sent.message_id, direction: 'incoming', sender_id: peerA });
    const { resources } = await sessionB.client.listResources();
    expect(resources.map((r) => r.uri)).toContain(`canopy://conversations/${peerA}`);
    const resource = await sessionB.client.readResource({ uri: `canopy://conversations/${peerA}` });
    expect(JSON.parse((resource.contents[0] as { text: string }).text).messages.map((m: any) => m.content)).toContain(content);
  });

  it('posts in a channel from A that B reads, page by page', async () => {
    const tag = Math.random().toString(36).slice(2);
    for (const n of [1, 2, 3]) data(await call(sessionA, 'send_post', { channel_id: 'general', content: `post ${n} ${tag}` }));
    const first = await eventually('the posts on B', async () => {
      const page = data(await call(sessionB, 'read_channel', { channel_id: 'general', limit: 2 }));
      return page.messages[0]?.content === `post 3 ${tag}` && page;
    });
    expect(first.messages.map((m: any) => m.content)).toEqual([`post 3 ${tag}`, `post 2 ${tag}`]);
    expect(first.has_more).toBe(true);
    const older = data(await call(sessionB, 'read_channel', { channel_id: 'general', limit: 2, before: first.next_before }));
    expect(older.messages[0].content).toBe(`post 1 ${tag}`);
    const resource = await sessionB.client.readResource({ uri: 'canopy://channels/general' });
    expect((resource.contents[0] as { text: string }).text).toContain(`post 3 ${tag}`);
  });

  it('answers REST errors as tool errors with the API message, and keeps serving', async () => {
    const unknown = await call(sessionA, 'read_channel', { channel_id: 'no-such-channel' });
    expect(unknown.isError).toBe(true);
    expect(text(unknown)).toContain('Canopy API error 404: Channel not found');
    const post = await call(sessionA, 'send_post', { channel_id: 'no-such-channel', content: 'x' });
    expect(post.isError).toBe(true);
    const badPeer = await call(sessionA, 'send_dm', { peer_id: '1111111111111111', content: 'x' });
    expect(text(badPeer)).toContain('Unknown peer');
    // Input schema limits are checked before any request.
    const tooLong = await call(sessionA, 'read_channel', { channel_id: 'general', limit: 1000 });
    expect(tooLong.isError).toBe(true);
    expect(data(await call(sessionA, 'list_channels')).channels.map((c: any) => c.id)).toContain('general');
  });

  it('covers peers, invites and relay policy', async () => {
    const peers = data(await call(sessionB, 'list_peers'));
    expect(peers.connected_peers).toContain(peerA);
    const invite = data(await call(sessionA, 'get_invite'));
    expect(invite.invite_code).toMatch(/^canopy:/);
    expect(data(await call(sessionB, 'import_invite', { invite_code: invite.invite_code }))).toMatchObject({ peer_id: peerA });
    expect(data(await call(sessionA, 'set_relay_policy', { policy: 'full_relay' })).relay_policy).toBe('full_relay');
    expect((await call(sessionA, 'set_relay_policy', { policy: 'everything' })).isError).toBe(true);
  });

  it('mints its own key once, with exactly the four permissions, kept 0600 and never printed', async () => {
    data(await call(sessionA, 'list_channels'));
    const minted = await mcpKeys(a.dataDir);
    expect(minted).toHaveLength(1);
    expect([...minted[0]!.permissions].sort()).toEqual(['manage_peers', 'read_messages', 'view_peers', 'write_messages']);
    const file = join(a.dataDir, 'mcp', 'api-key');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const key = readFileSync(file, 'utf8').trim();
    expect(sessionA.stderr()).not.toContain(key);
    expect(readFileSync(join(a.dataDir, 'logs', 'canopy.log'), 'utf8')).not.toContain(key);
    expect(sessionA.channelErrors).toEqual([]);

    // A second start (found from the data dir alone, no --url) reuses the stored key.
    expect(JSON.parse(readFileSync(join(a.dataDir, 'listening.json'), 'utf8')).url).toBe(a.url);
    const again = await mcp(a, []);
    data(await call(again, 'list_channels'));
    expect((await mcpKeys(a.dataDir)).map((k) => k.id)).toEqual([minted[0]!.id]);
    expect(readFileSync(file, 'utf8').trim()).toBe(key);
    await again.close();
  });

  it('replaces its key when it was revoked', async () => {
    data(await call(sessionB, 'list_channels'));
    const [old] = await mcpKeys(b.dataDir);
    await run(process.execPath, [CANOPY, 'keys', 'revoke', old!.id, '--data-dir', b.dataDir], { cwd: ROOT });
    data(await call(sessionB, 'list_channels'));
    const now = await mcpKeys(b.dataDir);
    expect(now).toHaveLength(1);
    expect(now[0]!.id).not.toBe(old!.id);
  });

  it('refuses a data dir without an instance (creating nothing) and a bad --url', async () => {
    const missing = join(a.dataDir, 'not-an-instance');
    const failed = await run(process.execPath, [CANOPY, 'mcp', '--data-dir', missing], { cwd: ROOT }).catch((error: { code: number; stdout: string; stderr: string }) => error);
    expect(failed).toMatchObject({ code: 1, stdout: '' });
    expect(failed.stderr).toContain(`No Canopy instance in ${missing}`);
    expect(existsSync(missing)).toBe(false);
    const badUrl = await run(process.execPath, [CANOPY, 'mcp', '--data-dir', a.dataDir, '--url', 'nowhere'], { cwd: ROOT }).catch((error: { code: number; stderr: string }) => error);
    expect(badUrl).toMatchObject({ code: 2, stderr: expect.stringContaining('Invalid --url: nowhere') });
  });

  it('uses the key given with --api-key and mints none', async () => {
    const readOnly = await createKey(b.dataDir, 'read_messages');
    const before = await keyList(b.dataDir);
    const session = await mcp(b, ['--url', b.url, '--api-key', readOnly]);
    expect(data(await call(session, 'list_channels')).channels.length).toBeGreaterThan(0);
    const refused = await call(session, 'send_post', { channel_id: 'general', content: 'not allowed' });
    expect(refused.isError).toBe(true);
    expect(text(refused)).toContain('Canopy API error 403: Invalid or insufficient permissions');
    expect(await keyList(b.dataDir)).toHaveLength(before.length);
    await session.close();
  });

  it('waits for the next message: starts now, returns a DM sent meanwhile, and consecutive waits neither miss nor repeat', async () => {
    // Earlier tests left DMs and posts on B: a first wait starts at "now", so it sees none of them.
    const first = await call(sessionB, 'wait_for_message', { timeout_seconds: 1 });
    expect(data(first)).toEqual({ message: null });
    expect(text(first)).toContain('No message within 1 s');

    const tag = Math.random().toString(36).slice(2);
    const waiting = call(sessionB, 'wait_for_message', { timeout_seconds: 20, peer_id: peerA });
    await new Promise((r) => setTimeout(r, 500));
    data(await call(sessionA, 'send_dm', { peer_id: peerB, content: `during ${tag}` }));
    const during = data(await waiting);
    expect(during).toMatchObject({ kind: 'dm', message: { content: `during ${tag}`, peer_id: peerA, direction: 'incoming' } });

    // Sent while nobody waits: each comes exactly once, in order, then nothing.
    data(await call(sessionA, 'send_dm', { peer_id: peerB, content: `one ${tag}` }));
    data(await call(sessionA, 'send_post', { channel_id: 'general', content: `two ${tag}` }));
    const one = data(await call(sessionB, 'wait_for_message', { timeout_seconds: 20 }));
    const two = data(await call(sessionB, 'wait_for_message', { timeout_seconds: 20 }));
    expect([one.message.content, two.message.content]).toEqual([`one ${tag}`, `two ${tag}`]);
    expect(two.kind).toBe('post');
    expect(data(await call(sessionB, 'wait_for_message', { timeout_seconds: 2 }))).toEqual({ message: null });
  });
});
