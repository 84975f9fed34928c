// The card engine's budgets (companion/mesh/profile-cards.ts): signature checks per link, forwarding
// coalesced per owner, and our own card's version never going back. Real store, scripted links.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { nodeCrypto } from '../../../companion/crypto/node.ts';
import type { Logger } from '../../../companion/logger.ts';
import type { Link } from '../../../companion/mesh/link.ts';
import type { LinkManager } from '../../../companion/mesh/link-manager.ts';
import { ProfileCards, type CardLimits } from '../../../companion/mesh/profile-cards.ts';
import { ProfileService } from '../../../companion/service/profile-service.ts';
import { openStore, type Store } from '../../../companion/store/index.ts';
import type { Frame } from '../../../protocol/frames.ts';
import { generateIdentity } from '../../../protocol/identity.ts';
import { signProfileCard, type SignedProfileCard } from '../../../protocol/mesh/profile-card.ts';

const LIMITS: CardLimits = { maxHeld: 100, verifyBurst: 5, verifyPerSecond: 5, forwardCooldownMs: 10_000 };
const quiet: Logger = { info: () => {}, warn: () => {}, error: () => {} };
const me = generateIdentity(nodeCrypto);

let dir: string;
let store: Store;
let links: Link[];

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
  dir = mkdtempSync(join(tmpdir(), 'canopy-cards-'));
  store = openStore({ file: join(dir, 'canopy.db'), atRestKey: new Uint8Array(32).fill(1) });
  links = [];
});
afterEach(() => {
  vi.useRealTimers();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

function fakeLink(peerId: string) {
  const sent: Frame[] = [];
  const link = {
    peerId,
    isOpen: true,
    bufferedAmount: 0,
    send: (frame: Frame) => (sent.push(frame), true),
    drained: () => Promise.resolve(),
    onClose: () => {},
  } as unknown as Link;
  links.push(link);
  return { link, sent };
}

function engine(profiles = new ProfileService(store.settings)) {
  const manager = { connected: () => links } as unknown as LinkManager;
  const cards = new ProfileCards({ crypto: nodeCrypto, identity: me, store, manager, profiles, log: quiet, limits: LIMITS });
  return { cards, profiles };
}

const cardOf = (name: string, updatedAt = Date.now(), owner = generateIdentity(nodeCrypto)): SignedProfileCard =>
  signProfileCard(nodeCrypto, owner, { display_name: name, bio: '', avatar: null, device: { name: '', description: '', avatar: null } }, updatedAt);
const received = (signed: SignedProfileCard) => ({ t: 'card' as const, check: { ok: true as const, signed } });
const cardsIn = (sent: Frame[]) => sent.flatMap((f) => (f.t === 'card' ? [f.card] : []));

describe('ProfileCards', () => {
  it('checks at most the burst of a flood at once, and asks for the rest as the budget refills', () => {
    const { cards } = engine();
    const { link, sent } = fakeLink('XXXXXXXXXXXXXXXX');
    cards.linkUp(link);
    const flood = Array.from({ length: 20 }, (_, i) => cardOf(`n${i}`));
    for (const signed of flood) cards.receive(link, received(signed));
    // Our own card, and the burst's worth of the flood.
    expect(store.profileCards.count()).toBe(1 + LIMITS.verifyBurst);
    vi.advanceTimersByTime(1000);
    const request = sent.find((f) => f.t === 'card_request');
    expect(request && request.t === 'card_request' && request.peer_ids).toHaveLength(LIMITS.verifyPerSecond);
    // Answered, they are checked within the refilled budget.
    for (const peerId of (request as Extract<Frame, { t: 'card_request' }>).peer_ids) {
      cards.receive(link, received(flood.find((c) => c.card.peer_id === peerId)!));
    }
    expect(store.profileCards.count()).toBe(1 + LIMITS.verifyBurst + LIMITS.verifyPerSecond);
    cards.close();
  });

  it("forwards an owner's card at once, then at most once per cooldown with the latest", () => {
    const { cards } = engine();
    const from = fakeLink('FFFFFFFFFFFFFFFF');
    const to = fakeLink('TTTTTTTTTTTTTTTT');
    cards.linkUp(from.link);
    cards.linkUp(to.link);
    from.sent.length = 0;
    to.sent.length = 0;
    const owner = generateIdentity(nodeCrypto);
    cards.receive(from.link, received(cardOf('v1', Date.now(), owner)));
    expect(cardsIn(to.sent).map((c) => c.card.display_name)).toEqual(['v1']);
    expect(cardsIn(from.sent)).toEqual([]);
    vi.advanceTimersByTime(1000);
    cards.receive(from.link, received(cardOf('v2', Date.now(), owner)));
    vi.advanceTimersByTime(1000);
    cards.receive(from.link, received(cardOf('v3', Date.now(), owner)));
    expect(cardsIn(to.sent)).toHaveLength(1);
    vi.advanceTimersByTime(LIMITS.forwardCooldownMs);
    expect(cardsIn(to.sent).map((c) => c.card.display_name)).toEqual(['v1', 'v3']);
    expect(cardsIn(from.sent)).toEqual([]);
    cards.close();
  });

  it('signs our card again only on a change, with a version above the last even if the clock went back', () => {
    const { cards, profiles } = engine();
    const first = store.profileCards.get(me.peerId)!.updatedAt;
    profiles.onChange = () => cards.refreshOwn();
    vi.setSystemTime(first - 60_000);
    profiles.setUser({ display_name: 'Me' });
    const second = store.profileCards.get(me.peerId)!;
    expect(second.signed.card.display_name).toBe('Me');
    expect(second.updatedAt).toBe(first + 1);
    // Same content after a restart: the held card stays as it is.
    engine(profiles);
    expect(store.profileCards.get(me.peerId)!.hash).toBe(second.hash);
    // Until a display name is set, the account's username stands in.
    profiles.setUser({ display_name: '' });
    store.accounts.createUser('mina', 'hash');
    cards.refreshOwn();
    expect(store.profileCards.get(me.peerId)!.signed.card.display_name).toBe('mina');
    cards.close();
  });
});
