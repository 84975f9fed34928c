// Issue 10: our posts are published with group commit. Every publish of one loop turn is signed
// once per channel, stored in one commit, and pushed in one frame per link, before any caller
// hears back; a lone post still goes out on the next turn.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nodeCrypto } from '../../../companion/crypto/node.ts';
import type { Link } from '../../../companion/mesh/link.ts';
import type { LinkManager } from '../../../companion/mesh/link-manager.ts';
import { Publisher } from '../../../companion/mesh/publisher.ts';
import { SyncEngine } from '../../../companion/mesh/sync.ts';
import { openStore, type Store } from '../../../companion/store/index.ts';
import { verifyEvent } from '../../../protocol/events.ts';
import type { Frame } from '../../../protocol/frames.ts';
import { generateIdentity } from '../../../protocol/identity.ts';
import { CAPABILITIES } from '../../../protocol/version.ts';

const me = generateIdentity(nodeCrypto);
const peer = generateIdentity(nodeCrypto);
const errors: string[] = [];
const silent = { info: () => {}, warn: () => {}, error: (_topic: string, message: string) => void errors.push(message) };

let dir: string;
let store: Store;
let sent: Frame[];
let publisher: Publisher;
let link: {
  peerId: string;
  isOpen: boolean;
  bufferedAmount: number;
  info: { payload: { capabilities: string[] } };
  send: (frame: Frame) => boolean;
};

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'canopy-live-push-'));
  store = openStore({ file: join(dir, 'canopy.db'), atRestKey: new Uint8Array(32).fill(1) });
  store.peers.saveFromHandshake(
    { peerId: peer.peerId, ed25519PublicKey: peer.ed25519.publicKey, x25519PublicKey: peer.x25519.publicKey, endpoints: [] },
    'accepted',
  );
  sent = [];
  errors.length = 0;
  link = {
    peerId: peer.peerId,
    isOpen: true,
    bufferedAmount: 0,
    info: { payload: { capabilities: [...CAPABILITIES] } },
    send: (frame) => (sent.push(frame), true),
  };
  const manager = { get: (id: string) => (id === peer.peerId ? link : undefined), connected: () => [link] } as unknown as LinkManager;
  publisher = new Publisher(nodeCrypto, me, store, new SyncEngine(nodeCrypto, me, store, manager, silent));
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const accept = () => {};
const publishPost = (content: string, channel = 'general'): Promise<string> =>
  publisher.publish({ channel, kind: 'post', body: { content }, readable: { content } }, accept);

const eventFrames = () => sent.filter((frame) => frame.t === 'events') as Array<Extract<Frame, { t: 'events' }>>;
const contents = (frame: Extract<Frame, { t: 'events' }>) => frame.events.map((signed) => (signed.event.body as { content: string }).content);

describe('publishing with group commit', () => {
  it('stores a burst in one commit, signs it once, sends it as one frame, in order, before anyone hears back', async () => {
    const heard: string[] = [];
    const bursts = Array.from({ length: 50 }, (_, i) =>
      publishPost(`post ${i}`).then((id) => {
        // By the time a caller hears back, its post is stored and its frame written.
        expect(store.events.has(id)).toBe(true);
        expect(eventFrames()).toHaveLength(1);
        heard.push(id);
        return id;
      }),
    );
    // Nothing is stored or sent while the burst is still being made.
    expect(store.events.nextSeq(me.peerId, 'general')).toBe(1);
    const ids = await Promise.all(bursts);
    expect(heard).toEqual(ids);
    const [frame] = eventFrames();
    expect(contents(frame!)).toEqual(ids.map((_, i) => `post ${i}`));
    expect(frame!.events.map((s) => s.event.seq)).toEqual(ids.map((_, i) => i + 1));
    expect(new Set(frame!.events.map((s) => s.sig)).size).toBe(1);
    expect(frame!.events.every((s, i) => verifyEvent(nodeCrypto, s).ok && store.events.has(ids[i]!))).toBe(true);
  });

  it('signs each channel of a burst on its own', async () => {
    await Promise.all([publishPost('a1', 'alpha'), publishPost('b1', 'beta'), publishPost('a2', 'alpha')]);
    const [frame] = eventFrames();
    const sigOf = (content: string) => frame!.events.find((s) => (s.event.body as { content: string }).content === content)!.sig;
    expect(sigOf('a1')).toBe(sigOf('a2'));
    expect(sigOf('b1')).not.toBe(sigOf('a1'));
    expect(frame!.events.find((s) => (s.event.body as { content: string }).content === 'b1')!.proof).toBeUndefined();
  });

  it('sends a lone post on its own, signed as a plain event', async () => {
    await publishPost('alone');
    expect(eventFrames()).toHaveLength(1);
    expect(eventFrames()[0]!.events[0]!.proof).toBeUndefined();
    await publishPost('again');
    expect(eventFrames()).toHaveLength(2);
    expect(eventFrames()[1]!.events[0]!.event.seq).toBe(2);
  });

  it('refuses an event the check rejects without queueing it or taking its seq', async () => {
    const refuse = () => {
      throw new Error('refused');
    };
    expect(() => publisher.publish({ channel: 'general', kind: 'post', body: { content: 'no' }, readable: null }, refuse)).toThrow('refused');
    await publishPost('yes');
    expect(eventFrames()[0]!.events.map((s) => s.event.seq)).toEqual([1]);
  });

  it('fails every publish of a burst whose commit fails, and frees their seqs', async () => {
    const burst = [publishPost('one'), publisher.publish({ channel: 'general', kind: 'post', body: { content: 'two' }, readable: { content: 'two' }, alsoInCommit: () => {
      throw new Error('disk full');
    } }, accept)];
    const results = await Promise.allSettled(burst);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(eventFrames()).toHaveLength(0);
    await publishPost('three');
    expect(eventFrames()[0]!.events.map((s) => s.event.seq)).toEqual([1]);
  });

  it('signs our events one by one for a peer from before batch signatures', async () => {
    link.info.payload.capabilities = ['chat', 'dm_sealed_v1', 'sync_vv_v1'];
    const ids = await Promise.all([publishPost('old 1'), publishPost('old 2'), publishPost('old 3')]);
    const [frame] = eventFrames();
    expect(frame!.events.every((s) => s.proof === undefined)).toBe(true);
    expect(frame!.events.map((s) => verifyEvent(nodeCrypto, s))).toEqual(ids.map((id) => ({ ok: true, id })));
  });

  it('sends nothing to a link that is closed', async () => {
    link.isOpen = false;
    await publishPost('too late');
    expect(eventFrames()).toHaveLength(0);
  });

  it('logs a push that throws; the post stays stored and the caller hears back', async () => {
    link.send = () => {
      throw new Error('socket exploded');
    };
    const id = await publishPost('boom');
    expect(store.events.has(id)).toBe(true);
    expect(errors).toEqual(['live push failed']);
  });
});
