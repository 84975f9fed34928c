import { EventEmitter } from 'node:events';
import { canonicalJson } from '../../protocol/canonical.ts';
import type { CryptoBackend } from '../../protocol/crypto/types.ts';
import type { ReceivedCard } from '../../protocol/frames.ts';
import type { Identity } from '../../protocol/identity.ts';
import {
  MAX_CARD_DIGEST_ENTRIES,
  MAX_CARD_REQUEST_IDS,
  cardName,
  profileCardHash,
  signProfileCard,
  verifyProfileCard,
  type CardDigestEntry,
  type ProfileCardContent,
  type SignedProfileCard,
} from '../../protocol/mesh/profile-card.ts';
import type { Logger } from '../logger.ts';
import { limitWarning } from '../rate-limited-log.ts';
import type { ProfileService } from '../service/profile-service.ts';
import type { Store } from '../store/index.ts';
import { MAX_LINK_BUFFERED_BYTES } from './catch-up.ts';
import type { Link, ReceivedLinkFrame } from './link.ts';
import type { LinkManager } from './link-manager.ts';

export type CardFrame = ReceivedCard | Extract<ReceivedLinkFrame, { t: 'card_digest' | 'card_request' | 'profile' }>;

export interface CardLimits {
  /** Cards held. Past it, a stranger's card is refused; a linked, known or introduced peer's makes room. */
  maxHeld: number;
  /** Signature checks one link may make us run: a burst, then a steady rate. */
  verifyBurst: number;
  verifyPerSecond: number;
  /** One owner's card is forwarded at most this often; the latest goes out when the wait ends. */
  forwardCooldownMs: number;
}

export const CARD_LIMITS: CardLimits = { maxHeld: 2000, verifyBurst: 200, verifyPerSecond: 100, forwardCooldownMs: 10_000 };

/** How often a link with cards still to fetch asks for the next batch (as its budget refills). */
const REQUEST_INTERVAL_MS = 1000;

interface LinkState {
  tokens: number;
  refilledAt: number;
  /** Owners whose newer card this link holds and we have yet to ask for (≤ maxHeld). */
  wanted: Set<string>;
  requestTimer: NodeJS.Timeout | null;
  /** Cards this link asked for, still to send (a subset of the cards we hold). */
  toSend: Set<string>;
  sending: boolean;
}

interface ForwardState {
  lastAt: number;
  timer: NodeJS.Timeout | null;
  /** The link the latest card came from: it is not sent back there. */
  from: string | null;
}

export interface ProfileCardsOptions {
  crypto: CryptoBackend;
  identity: Identity;
  store: Store;
  manager: LinkManager;
  profiles: ProfileService;
  log: Logger;
  limits?: CardLimits;
  now?: () => number;
}

/**
 * Profile cards across the mesh (guide §9). Our card is signed by us and re-signed on every change;
 * on link-up both sides send their own card and a digest of the cards they hold, and ask for the
 * ones newer than theirs. A received card is kept only if it is verified and newer than the one
 * held, then forwarded to every other link, so a card crosses the mesh hop by hop and nobody on
 * the way can forge, alter or roll it back.
 */
export class ProfileCards extends EventEmitter<{ changed: [peerId: string] }> {
  private readonly links = new WeakMap<Link, LinkState>();
  private readonly forwards = new Map<string, ForwardState>();
  private readonly limits: CardLimits;
  private readonly now: () => number;
  private readonly noteInvalid;
  private readonly noteFull;

  constructor(private readonly options: ProfileCardsOptions) {
    super();
    this.limits = options.limits ?? CARD_LIMITS;
    this.now = options.now ?? Date.now;
    this.noteInvalid = limitWarning(options.log, 'profiles', 'card refused');
    this.noteFull = limitWarning(options.log, 'profiles', "card store full: a stranger's card refused");
    this.refreshOwn();
  }

  /**
   * Signs a new card of ours if what it would say changed (profile, or the account's username
   * standing in for a display name), and sends it to every link. `updated_at` is above the last
   * card's even if the clock went back, and that card is stored, so a restart never reuses one.
   */
  refreshOwn(): void {
    const { crypto, identity, store, manager } = this.options;
    const content = this.ownContent();
    const held = store.profileCards.get(identity.peerId);
    if (held && sameContent(held.signed, content)) return;
    const signed = signProfileCard(crypto, identity, content, Math.max(this.now(), (held?.updatedAt ?? 0) + 1));
    store.profileCards.put(signed, profileCardHash(crypto, signed.card), null, this.now());
    this.emit('changed', identity.peerId);
    for (const link of manager.connected()) this.sendOwn(link, signed);
  }

  linkUp(link: Link): void {
    const { store, identity } = this.options;
    this.links.set(link, { tokens: this.limits.verifyBurst, refilledAt: this.now(), wanted: new Set(), requestTimer: null, toSend: new Set(), sending: false });
    link.onClose(() => {
      const state = this.links.get(link);
      if (state?.requestTimer) clearTimeout(state.requestTimer);
    });
    const own = store.profileCards.get(identity.peerId);
    if (own) this.sendOwn(link, own.signed);
    const digest = store.profileCards.digest();
    for (let i = 0; i < digest.length || i === 0; i += MAX_CARD_DIGEST_ENTRIES) {
      const cards = digest.slice(i, i + MAX_CARD_DIGEST_ENTRIES);
      link.send(i + MAX_CARD_DIGEST_ENTRIES < digest.length ? { t: 'card_digest', cards, more: true } : { t: 'card_digest', cards });
    }
    this.syncPeerName(link.peerId);
  }

  receive(link: Link, frame: CardFrame): void {
    switch (frame.t) {
      case 'card':
        if (frame.check.ok) this.receiveCard(link, frame.check.signed);
        else {
          this.noteInvalid({ peer: link.peerId, reason: frame.check.error });
          link.send({ t: 'error', about: 'card', reason: frame.check.error });
        }
        break;
      case 'card_digest':
        this.receiveDigest(link, frame.cards);
        break;
      case 'card_request':
        this.receiveRequest(link, frame.peer_ids);
        break;
      case 'profile':
        this.receiveLegacy(link, frame);
        break;
    }
  }

  /** Our card's content: the profiles as set, the username until a display name is. */
  private ownContent(): ProfileCardContent {
    const { user, device } = this.options.profiles.get();
    return {
      display_name: user.display_name || this.options.store.accounts.firstUsername() || '',
      bio: user.bio,
      avatar: user.avatar,
      device: { name: device.display_name, description: device.description, avatar: device.avatar },
    };
  }

  /**
   * Our signed card, and the same names in the unsigned `profile` frame of Canopy versions before
   * signed cards, so a peer that has not upgraded still shows who we are. Current peers hold our
   * card by then and ignore it (see receiveLegacy).
   */
  private sendOwn(link: Link, signed: SignedProfileCard): void {
    const { card } = signed;
    link.send({ t: 'card', card: signed });
    link.send({ t: 'profile', display_name: card.display_name, bio: card.bio, device_name: card.device.name, device_description: card.device.description });
  }

  private receiveCard(link: Link, signed: SignedProfileCard): void {
    const { crypto, identity, store } = this.options;
    const owner = signed.card.peer_id;
    // Ours comes only from us; a copy coming back is old news, a different one is not ours to take.
    if (owner === identity.peerId) return;
    const held = store.profileCards.head(owner);
    // Not newer: a duplicate, a replay of an older card, or a second card for the same version
    // (which only the owner could sign; the first one seen stays). None is verified again.
    if (held && signed.card.updated_at <= held.updatedAt) return;
    const state = this.links.get(link);
    if (!state) return;
    if (!this.takeToken(state)) {
      // Over budget: not lost, asked for again as the budget refills.
      this.want(link, state, owner);
      return;
    }
    const verified = verifyProfileCard(crypto, signed);
    if (!verified.ok) {
      this.noteInvalid({ peer: link.peerId, owner, reason: verified.reason });
      return;
    }
    if (!held && !this.makeRoom(owner)) {
      this.noteFull({ peer: link.peerId, owner, max: this.limits.maxHeld });
      return;
    }
    store.profileCards.put(signed, verified.hash, link.peerId, this.now());
    this.syncPeerName(owner);
    this.emit('changed', owner);
    this.forward(owner, link.peerId);
  }

  /**
   * Whether a new owner's card may be stored. Under the cap, yes; at it, a peer we link with or
   * were introduced to takes the place of the stranger held longest, and a stranger is refused
   * (a flood of made-up identities cannot push out the cards of the people we know).
   */
  private makeRoom(owner: string): boolean {
    const { store, identity } = this.options;
    if (store.profileCards.count() < this.limits.maxHeld) return true;
    if (!store.profileCards.isPrivileged(owner)) return false;
    const evict = store.profileCards.oldestUnprivileged(identity.peerId);
    if (evict) store.profileCards.remove(evict);
    // Past the cap only by known and introduced peers, whose own tables are capped.
    return true;
  }

  private receiveDigest(link: Link, entries: CardDigestEntry[]): void {
    const state = this.links.get(link);
    if (!state) return;
    const { store, identity } = this.options;
    for (const entry of entries) {
      if (entry.peer_id === identity.peerId) continue;
      const held = store.profileCards.head(entry.peer_id);
      if (!held || entry.updated_at > held.updatedAt) this.want(link, state, entry.peer_id);
    }
  }

  /** Answers with the cards we hold of those asked for, as the link drains (a request cannot pile up sends). */
  private receiveRequest(link: Link, peerIds: string[]): void {
    const state = this.links.get(link);
    if (!state) return;
    for (const peerId of peerIds) if (this.options.store.profileCards.head(peerId)) state.toSend.add(peerId);
    if (state.sending) return;
    state.sending = true;
    void (async () => {
      try {
        for (const peerId of state.toSend) {
          state.toSend.delete(peerId);
          await link.drained(MAX_LINK_BUFFERED_BYTES);
          const held = this.options.store.profileCards.get(peerId);
          if (!link.isOpen) return;
          if (held) link.send({ t: 'card', card: held.signed });
        }
      } finally {
        state.sending = false;
      }
    })().catch((error: Error) => this.options.log.warn('profiles', 'sending requested cards failed', { peer: link.peerId, error: error.message }));
  }

  /**
   * Legacy `profile` frame (Canopy before signed cards), kept rather than dropped: a peer that has
   * not upgraded would otherwise lose its name on our side. It is trusted for one thing only, the
   * name of the direct peer that sent it (the Noise handshake proved who that is), and only until
   * that peer's signed card arrives; it is never stored as a card nor forwarded.
   */
  private receiveLegacy(link: Link, frame: Extract<CardFrame, { t: 'profile' }>): void {
    const { store } = this.options;
    if (store.profileCards.head(link.peerId)) return;
    const name = frame.display_name.trim() || frame.device_name.trim() || null;
    if (store.peers.get(link.peerId) && store.peers.get(link.peerId)?.displayName !== name) {
      store.peers.setDisplayName(link.peerId, name);
      this.emit('changed', link.peerId);
    }
  }

  /** Keeps `peers.display_name` of a known peer equal to its card's name (the Connect page reads it). */
  private syncPeerName(peerId: string): void {
    const { store } = this.options;
    const held = store.profileCards.get(peerId);
    const peer = store.peers.get(peerId);
    if (!held || !peer) return;
    const name = cardName(held.signed.card);
    if (peer.displayName !== name) store.peers.setDisplayName(peerId, name);
  }

  private want(link: Link, state: LinkState, owner: string): void {
    if (state.wanted.size < this.limits.maxHeld) state.wanted.add(owner);
    if (state.wanted.size > 0 && !state.requestTimer) {
      // Asked for at once when the budget allows, else as it refills.
      state.requestTimer = setTimeout(() => this.requestWanted(link, state), this.available(state) >= 1 ? 0 : REQUEST_INTERVAL_MS);
    }
  }

  /** Asks for as many wanted cards as the link's verification budget can take now. */
  private requestWanted(link: Link, state: LinkState): void {
    state.requestTimer = null;
    if (!link.isOpen) return;
    const count = Math.min(Math.floor(this.available(state)), MAX_CARD_REQUEST_IDS, state.wanted.size);
    if (count > 0) {
      const peerIds = [...state.wanted].slice(0, count);
      for (const peerId of peerIds) state.wanted.delete(peerId);
      link.send({ t: 'card_request', peer_ids: peerIds });
    }
    if (state.wanted.size > 0) state.requestTimer = setTimeout(() => this.requestWanted(link, state), REQUEST_INTERVAL_MS);
  }

  private available(state: LinkState): number {
    const now = this.now();
    state.tokens = Math.min(this.limits.verifyBurst, state.tokens + ((now - state.refilledAt) / 1000) * this.limits.verifyPerSecond);
    state.refilledAt = now;
    return state.tokens;
  }

  private takeToken(state: LinkState): boolean {
    if (this.available(state) < 1) return false;
    state.tokens -= 1;
    return true;
  }

  /**
   * Sends an owner's newly stored card to every link but the one it came from, at most once per
   * cooldown per owner. Within the cooldown the latest card is sent when it ends: coalesced,
   * never lost.
   */
  private forward(owner: string, from: string | null): void {
    const now = this.now();
    this.sweepForwards(now);
    const state = this.forwards.get(owner);
    if (state && (state.timer || now - state.lastAt < this.limits.forwardCooldownMs)) {
      state.from = from;
      state.timer ??= setTimeout(() => {
        state.timer = null;
        state.lastAt = this.now();
        this.sendHeld(owner, state.from);
      }, state.lastAt + this.limits.forwardCooldownMs - now);
      return;
    }
    this.forwards.set(owner, { lastAt: now, timer: null, from });
    this.sendHeld(owner, from);
  }

  private sendHeld(owner: string, except: string | null): void {
    const held = this.options.store.profileCards.get(owner);
    if (!held) return;
    for (const link of this.options.manager.connected()) {
      if (link.peerId === except || link.peerId === owner) continue;
      // A link not reading gets no more; it asks for what it lacks with its next digest.
      if (link.bufferedAmount > MAX_LINK_BUFFERED_BYTES) continue;
      link.send({ t: 'card', card: held.signed });
    }
  }

  /** Forgets owners whose cooldown is over, so the map holds only recent forwards. */
  private sweepForwards(now: number): void {
    if (this.forwards.size < this.limits.maxHeld) return;
    for (const [owner, state] of this.forwards) {
      if (!state.timer && now - state.lastAt >= this.limits.forwardCooldownMs) this.forwards.delete(owner);
    }
  }

  /** Stops pending forwards (shutdown). */
  close(): void {
    for (const state of this.forwards.values()) if (state.timer) clearTimeout(state.timer);
    this.forwards.clear();
  }
}

function sameContent(signed: SignedProfileCard, content: ProfileCardContent): boolean {
  const { display_name, bio, avatar, device } = signed.card;
  return canonicalJson({ display_name, bio, avatar, device }) === canonicalJson(content);
}
