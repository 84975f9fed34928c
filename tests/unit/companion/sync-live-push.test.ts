// Issue 10: live pushes leave once the code that made them has finished (a microtask), so a burst
// of posts goes out in one frame (one commit and one ack at the peer), while a lone post still
// leaves at once, before the API could answer.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nodeCrypto } from '../../../companion/crypto/node.ts';
import type { Link } from '../../../companion/mesh/link.ts';
import type { LinkManager } from '../../../companion/mesh/link-manager.ts';
import { SyncEngine } from '../../../companion/mesh/sync.ts';
import { openStore, type Store } from '../../../companion/store/index.ts';
import { b58encode } from '../../../protocol/bytes.ts';
import { eventId, signEvent, type CanopyEvent } from '../../../protocol/events.ts';
import type { Frame } from '../../../protocol/frames.ts';
import { generateIdentity } from '../../../protocol/identity.ts';

const me = generateIdentity(nodeCrypto);
const peer = generateIdentity(nodeCrypto);
const errors: string[] = [];
const silent = { info: () => {}, warn: () => {}, error: (_topic: string, message: string) => void errors.push(message) };

let dir: string;
let store: Store;
let sent: Frame[];
let engine: SyncEngine;
let link: { peerId: string; isOpen: boolean; bufferedAmount: number; send: (frame: Frame) => boolean };
let seq = 0;

/** Lets pending microtasks run (an awaited resolved promise comes after them). */
const afterCurrentTask = () => Promise.resolve();

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'canopy-live-push-'));
  store = openStore({ file: join(dir, 'canopy.db'), atRestKey: new Uint8Array(32).fill(1) });
  store.peers.saveFromHandshake(
    { peerId: peer.peerId, ed25519PublicKey: peer.ed25519.publicKey, x25519PublicKey: peer.x25519.publicKey, endpoints: [] },
    'accepted',
  );
  sent = [];
  errors.length = 0;
  link = { peerId: peer.peerId, isOpen: true, bufferedAmount: 0, send: (frame) => (sent.push(frame), true) };
  const manager = { get: (id: string) => (id === peer.peerId ? link : undefined), connected: () => [link] } as unknown as LinkManager;
  engine = new SyncEngine(nodeCrypto, me, store, manager, silent);
  seq = 0;
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

function publishPost(content: string): string {
  const event: CanopyEvent = {
    v: 1,
    author: me.peerId,
    author_key: b58encode(me.ed25519.publicKey),
    channel: 'general',
    seq: ++seq,
    kind: 'post',
    ts: Date.now(),
    body: { content },
  };
  const id = eventId(nodeCrypto, event);
  engine.publish(signEvent(nodeCrypto, me, event), id, { content });
  return id;
}

const eventFrames = () => sent.filter((frame) => frame.t === 'events') as Array<Extract<Frame, { t: 'events' }>>;

describe('live pushes', () => {
  it('send a burst of posts as one frame once the code of the burst has run, in order, each stored first', async () => {
    const ids = Array.from({ length: 50 }, (_, i) => publishPost(`post ${i}`));
    // Stored at once (the API answers after the commit); nothing has left yet.
    expect(ids.every((id) => store.events.has(id))).toBe(true);
    expect(eventFrames()).toHaveLength(0);
    await afterCurrentTask();
    const frames = eventFrames();
    expect(frames).toHaveLength(1);
    expect(frames[0]!.events.map((signed) => (signed.event.body as { content: string }).content)).toEqual(ids.map((_, i) => `post ${i}`));
  });

  it('send a lone post at once after its call', async () => {
    publishPost('alone');
    await afterCurrentTask();
    expect(eventFrames()).toHaveLength(1);
    publishPost('again');
    await afterCurrentTask();
    expect(eventFrames()).toHaveLength(2);
  });

  it('send nothing to a link that closed before the burst ended', async () => {
    publishPost('too late');
    link.isOpen = false;
    await afterCurrentTask();
    expect(eventFrames()).toHaveLength(0);
  });

  it('log a push that throws, without taking the process down', async () => {
    link.send = () => {
      throw new Error('socket exploded');
    };
    publishPost('boom');
    await afterCurrentTask();
    expect(errors).toEqual(['live push failed']);
  });
});
