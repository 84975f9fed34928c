import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { nodeCrypto } from '../../../companion/crypto/node.ts';
import type { Logger } from '../../../companion/logger.ts';
import type { Link } from '../../../companion/mesh/link.ts';
import type { LinkManager } from '../../../companion/mesh/link-manager.ts';
import { INTRODUCTION_VERIFY_BUDGET, PeerIntroductions, REANNOUNCE_INTERVAL_MS } from '../../../companion/mesh/peer-introductions.ts';
import { openStore, type Store } from '../../../companion/store/index.ts';
import { b64urlEncode } from '../../../protocol/bytes.ts';
import type { Frame } from '../../../protocol/frames.ts';
import { generateIdentity, publicIdentity, type Identity } from '../../../protocol/identity.ts';
import { checkIntroductions, introductionEntry, verifyIntroduction, type IntroducedPeerEntry } from '../../../protocol/mesh/introduction.ts';

// The introductions component against a real store, with links and the link manager reduced to
// what it uses (who is linked, and the frames sent to each), and a clock the test moves.

let dir: string;
let store: Store;
let clock: number;
const me = generateIdentity(nodeCrypto);
const names = new Map<string, string>();
const sent = new Map<string, Frame[]>();
const links = new Map<string, Link>();
const quiet: Logger = { info() {}, warn() {}, error() {} } as unknown as Logger;
let introductions: PeerIntroductions;

beforeEach(() => {
  vi.useFakeTimers();
  clock = 1_000_000;
  dir = mkdtempSync(join(tmpdir(), 'canopy-introductions-'));
  store = openStore({ file: join(dir, 'canopy.db'), atRestKey: new Uint8Array(32).fill(1), now: () => clock });
  links.clear();
  sent.clear();
  names.clear();
  const manager = { connected: () => [...links.values()], get: (peerId: string) => links.get(peerId) } as unknown as LinkManager;
  introductions = new PeerIntroductions({
    crypto: nodeCrypto,
    identity: me,
    store,
    manager,
    log: quiet,
    describe: (peerId) => ({ display_name: names.get(peerId) ?? '', device_name: '' }),
    now: () => clock,
  });
});
afterEach(() => {
  vi.useRealTimers();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

function linkUp(identity: Identity, endpoints: string[] = []): Link {
  const link = {
    peerId: identity.peerId,
    info: { remote: publicIdentity(identity), payload: { binding: b64urlEncode(identity.binding), endpoints } },
    send: (frame: Frame) => {
      sent.get(identity.peerId)!.push(frame);
      return true;
    },
  } as unknown as Link;
  sent.set(identity.peerId, []);
  links.set(identity.peerId, link);
  introductions.linkUp(link);
  return link;
}

const introducedTo = (peerId: string): IntroducedPeerEntry[] =>
  sent.get(peerId)!.flatMap((frame) => (frame.t === 'introduce' ? frame.peers : []));

const entryOf = (identity: Identity): IntroducedPeerEntry =>
  introductionEntry({ ...publicIdentity(identity), binding: b64urlEncode(identity.binding) }, ['ws://127.0.0.1:9'], { display_name: '', device_name: '' });

it('a new link learns the other linked peers, and they learn it, with keys that verify', () => {
  const b = generateIdentity(nodeCrypto);
  const c = generateIdentity(nodeCrypto);
  names.set(b.peerId, 'Bob');
  linkUp(b, ['ws://127.0.0.1:1001']);
  expect(introducedTo(b.peerId)).toEqual([]);
  // A stored peer is introduced with the endpoints we keep for it, not the ones it advertised.
  store.peers.saveFromHandshake({ ...publicIdentity(c), endpoints: ['ws://127.0.0.1:2002'] }, 'invited');
  linkUp(c, ['ws://127.0.0.1:9999']);
  const toC = introducedTo(c.peerId);
  expect(toC.map((e) => [e.peer_id, e.display_name, e.endpoints])).toEqual([[b.peerId, 'Bob', ['ws://127.0.0.1:1001']]]);
  const toB = introducedTo(b.peerId);
  expect(toB.map((e) => [e.peer_id, e.endpoints])).toEqual([[c.peerId, ['ws://127.0.0.1:2002']]]);
  expect([...toB, ...toC].every((entry) => verifyIntroduction(nodeCrypto, entry).ok)).toBe(true);
});

it('a peer whose name keeps changing is re-announced at once, then at most once per interval', () => {
  const b = generateIdentity(nodeCrypto);
  const c = generateIdentity(nodeCrypto);
  linkUp(b);
  linkUp(c);
  const aboutC = () => introducedTo(b.peerId).filter((e) => e.peer_id === c.peerId).map((e) => e.display_name);
  expect(aboutC()).toEqual(['']);
  introductions.namesMayHaveChanged(c.peerId); // nothing changed: nothing sent
  for (let i = 0; i < 20; i++) {
    names.set(c.peerId, `name ${i}`);
    introductions.namesMayHaveChanged(c.peerId);
  }
  expect(aboutC()).toEqual(['', 'name 0']);
  clock += REANNOUNCE_INTERVAL_MS;
  vi.advanceTimersByTime(REANNOUNCE_INTERVAL_MS);
  expect(aboutC()).toEqual(['', 'name 0', 'name 19']);
  // Nothing else was pending.
  clock += 10 * REANNOUNCE_INTERVAL_MS;
  vi.advanceTimersByTime(10 * REANNOUNCE_INTERVAL_MS);
  expect(aboutC()).toEqual(['', 'name 0', 'name 19']);
});

it('a link may make us check at most a burst of signatures, then a trickle', () => {
  const mallory = linkUp(generateIdentity(nodeCrypto));
  const flood = Array.from({ length: 2 * INTRODUCTION_VERIFY_BUDGET.burst }, () => entryOf(generateIdentity(nodeCrypto)));
  const verify = vi.spyOn(nodeCrypto, 'ed25519Verify');
  introductions.receive(mallory, checkIntroductions(flood));
  expect(verify).toHaveBeenCalledTimes(INTRODUCTION_VERIFY_BUDGET.burst);
  expect(store.introduced.list()).toHaveLength(INTRODUCTION_VERIFY_BUDGET.burst);
  // Ten seconds refill ten checks; the stored ones merge without any.
  clock += 10_000;
  verify.mockClear();
  introductions.receive(mallory, checkIntroductions(flood));
  expect(verify).toHaveBeenCalledTimes(10);
  expect(store.introduced.list()).toHaveLength(INTRODUCTION_VERIFY_BUDGET.burst + 10);
  verify.mockRestore();
});
