// wait_for_message's cursor and held messages against a scripted event stream on loopback, so the
// contract (ready cursor, id lines, since= on reconnect, dropped) is pinned apart from the companion.
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fixedKey } from '../../../companion/mcp/key.ts';
import { RestClient } from '../../../companion/mcp/rest-client.ts';
import { MessageWaiter } from '../../../companion/mcp/wait.ts';

/** The `since` of every request to /api/v1/events, in order (null: none), and the open streams. */
let requests: (string | null)[] = [];
let open: ServerResponse[] = [];
/** Every event sent; event n has the cursor `c${n + 1}`, as the contract's opaque cursors go. */
const history: string[] = [];
const server = createServer((req, res) => {
  const url = new URL(req.url!, 'http://127.0.0.1');
  if (url.pathname !== '/api/v1/events' || req.headers['x-api-key'] !== 'k') {
    res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"error":"Not found"}');
    return;
  }
  const since = url.searchParams.get('since');
  requests.push(since);
  res.writeHead(200, { 'Content-Type': 'text/event-stream' });
  // Replay what came after `since`, then say live; without it, start now.
  for (const event of since ? history.slice(Number(since.slice(1))) : []) res.write(event);
  res.write(`: ping\n\nevent: ready\ndata: {"cursor":"c${history.length}"}\n\n`);
  open.push(res);
  res.on('close', () => (open = open.filter((r) => r !== res)));
});

/** Sends one event to every open stream; returns its cursor. */
function push(event: string, data: object): string {
  const id = `c${history.length + 1}`;
  history.push(`event: ${event}\nid: ${id}\ndata: ${JSON.stringify(data)}\n\n`);
  for (const res of open) res.write(history.at(-1));
  return id;
}
const dm = (peer: string, content: string, direction = 'incoming') => ({ peer_id: peer, content, direction });
const post = (channel: string, content: string) => ({ channel_id: channel, content, origin: 'remote' });
const connected = async (count = 1) => {
  while (open.length < count) await new Promise((r) => setTimeout(r, 10));
};

let rest: RestClient;
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  rest = new RestClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, fixedKey('k'));
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  requests = [];
  for (const res of open) res.destroy();
  open = [];
});

const wait = (waiter: MessageWaiter, options: { timeoutMs?: number; channelId?: string; peerId?: string; signal?: AbortSignal } = {}) =>
  waiter.wait({ timeoutMs: 5_000, signal: new AbortController().signal, ...options });

describe('MessageWaiter', () => {
  it('starts at now, returns the next message from someone else, and resumes after it', async () => {
    const waiter = new MessageWaiter(rest);
    push('dm', dm('P', 'before the wait'));
    const first = wait(waiter);
    await connected();
    push('dm', dm('P', 'mine', 'outgoing'));
    push('post', { ...post('general', 'mine too'), origin: 'local' });
    push('channel', { id: 'x' });
    const id = push('dm', dm('P', 'hello'));
    expect((await first).incoming).toEqual({ kind: 'dm', message: dm('P', 'hello') });
    expect(requests).toEqual([null]);

    // Arrives between the two waits: not missed, and 'hello' not repeated.
    push('post', post('general', 'in between'));
    const second = await wait(waiter);
    expect(second.incoming?.message).toEqual(post('general', 'in between'));
    expect(requests).toEqual([null, id]);
  });

  it('keeps what a filtered wait passed over for the next wait', async () => {
    const waiter = new MessageWaiter(rest);
    const filtered = wait(waiter, { peerId: 'Q' });
    await connected();
    push('post', post('general', 'skipped for now'));
    push('dm', dm('P', 'another peer'));
    push('dm', dm('Q', 'from Q'));
    expect((await filtered).incoming?.message).toEqual(dm('Q', 'from Q'));
    expect((await wait(waiter, { channelId: 'general' })).incoming?.message).toEqual(post('general', 'skipped for now'));
    expect((await wait(waiter)).incoming?.message).toEqual(dm('P', 'another peer'));
    expect(requests).toHaveLength(1);
  });

  it('says nothing came on timeout, and the next wait goes on from the last event seen', async () => {
    const waiter = new MessageWaiter(rest);
    const idle = wait(waiter, { timeoutMs: 300, channelId: 'quiet' });
    await connected();
    const seen = push('profile', { peer_id: 'P' });
    expect((await idle).incoming).toBeNull();
    const next = wait(waiter, { channelId: 'quiet' });
    await connected();
    push('post', post('quiet', 'finally'));
    expect((await next).incoming?.message).toEqual(post('quiet', 'finally'));
    expect(requests).toEqual([null, seen]);
  });

  it('reconnects from its cursor when the server drops it', async () => {
    const waiter = new MessageWaiter(rest);
    const waiting = wait(waiter, { channelId: 'general' });
    await connected();
    const last = push('post', post('elsewhere', 'held'));
    for (const res of open) res.end('event: dropped\ndata: {"reason":"slow"}\n\n');
    await new Promise((r) => setTimeout(r, 50));
    await connected();
    push('post', post('general', 'after the drop'));
    expect((await waiting).incoming?.message).toEqual(post('general', 'after the drop'));
    expect(requests).toEqual([null, last]);
  });

  it('stops when the tool call is cancelled, and refuses a second wait at once', async () => {
    const waiter = new MessageWaiter(rest);
    const controller = new AbortController();
    const cancelled = wait(waiter, { signal: controller.signal });
    await connected();
    await expect(wait(waiter)).rejects.toThrow('Another wait_for_message is still running');
    controller.abort();
    await expect(cancelled).rejects.toThrow('cancelled');
    await new Promise((r) => setTimeout(r, 50));
    expect(open).toHaveLength(0);
  });

  it('reports an instance without the event stream as an API error', async () => {
    const broken = new MessageWaiter(new RestClient(rest.baseUrl, fixedKey('wrong')));
    await expect(wait(broken)).rejects.toMatchObject({ status: 404, message: 'Not found' });
  });
});
