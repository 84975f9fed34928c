import { EventEmitter } from 'node:events';
import { b58decode, b64urlDecode, b64urlEncode, equalBytes } from '../../protocol/bytes.ts';
import type { CryptoBackend } from '../../protocol/crypto/types.ts';
import type { Identity } from '../../protocol/identity.ts';
import { canonicalizeEndpoints, INVITE_SECRET_BYTES } from '../../protocol/invite.ts';
import { verifyInviteProof } from '../../protocol/invite-proof.ts';
import { cardName, verifyProfileCard } from '../../protocol/mesh/profile-card.ts';
import type { Logger } from '../logger.ts';
import { limitWarning } from '../rate-limited-log.ts';
import type { PeerKeys, PeerTrust, Store } from '../store/index.ts';
import { CloseCode, type Link } from './link.ts';
import type { Admission, LinkManager } from './link-manager.ts';

const INVITE_SECRET_SETTING = 'invite_secret';
const INVITE_USES_SETTING = 'invite_uses';
/**
 * New peers one invite secret may admit. A code is meant to be shared, but one that leaks (posted
 * publicly) must not let a stranger mint trusted identities without end: past this, holders of
 * the code become requests, and Regenerate starts a new count.
 */
export const MAX_INVITE_USES = 100;
/** Profile cards read from one pending link: each costs a signature check, and one names the request. */
export const MAX_PENDING_CARDS = 3;
const TRUST_INTRODUCED_SETTING = 'trust_introduced';

export interface ConsentOptions {
  crypto: CryptoBackend;
  identity: Identity;
  store: Store;
  manager: LinkManager;
  log: Logger;
}

/**
 * Who may link with us (DESIGN §3a). A link is trusted when its peer is stored in `peers` (we
 * imported its invite, accepted its request, or chose it), proves in its handshake that it holds
 * an invite we issued, or a trusted peer introduced it (setting `trust_introduced`, default on).
 * A peer the user forgot gets neither of the last two. Anyone else becomes a pending request:
 * LinkManager keeps its link apart, and the only frame read from it is its profile card, for the
 * request's name. Accepting closes that link and saves the peer with the endpoints it advertised;
 * the next link, dialled by either side, is trusted from its first frame and syncs like any other.
 */
export class ConsentGate extends EventEmitter<{ changed: [] }> {
  /** Declined peers may keep redialling; one line a minute says so. */
  private readonly noteRefused;
  private readonly noteInviteUsedUp;
  /** Peer IDs the user chose to dial right now (a Connect button), with the trust their proven key gets. */
  private readonly chosen = new Map<string, PeerTrust>();

  constructor(private readonly options: ConsentOptions) {
    super();
    this.noteRefused = limitWarning(options.log, 'consent', 'declined peer refused');
    this.noteInviteUsedUp = limitWarning(options.log, 'consent', 'invite used up: its holder becomes a request');
    options.manager.on('request', (link) => this.hold(link));
  }

  /** LinkManager's admission rule; trusted links have their handshake keys and endpoints saved. */
  admit(link: Link): Admission {
    const { store, log } = this.options;
    const known = store.peers.get(link.peerId);
    if (known) {
      store.peers.saveFromHandshake(handshakeKeys(link), known.trust);
      return 'trusted';
    }
    // A peer the user is connecting to right now: our dial (direct or through a relay), or its own
    // dial back to us when a broker passed our endpoints on; the handshake proved its peer ID.
    const chosenTrust = this.chosen.get(link.peerId);
    if (chosenTrust) {
      store.db.transaction(() => {
        store.peers.saveFromHandshake(handshakeKeys(link), chosenTrust);
        store.requests.remove(link.peerId);
        store.forgotten.clear(link.peerId);
      })();
      log.info('consent', 'peer chosen by the user', { peer: link.peerId, trust: chosenTrust });
      this.emit('changed');
      return 'trusted';
    }
    // A peer the user forgot comes back only by the user's choice, never by a secret or a friend.
    const forgotten = store.forgotten.has(link.peerId);
    if (!forgotten && link.info.direction === 'inbound' && this.provesOurInvite(link)) {
      const uses = this.inviteUses();
      if (uses < MAX_INVITE_USES) {
        store.db.transaction(() => {
          store.peers.saveFromHandshake(handshakeKeys(link), 'invite_holder');
          store.requests.remove(link.peerId);
          store.settings.set(INVITE_USES_SETTING, uses + 1);
        })();
        log.info('consent', 'peer used our invite', { peer: link.peerId, uses: uses + 1 });
        this.emit('changed');
        return 'trusted';
      }
      this.noteInviteUsedUp({ peer: link.peerId, max: MAX_INVITE_USES });
    }
    if (!forgotten && this.trustIntroduced() && store.introduced.get(link.peerId)) {
      store.db.transaction(() => {
        store.peers.saveFromHandshake(handshakeKeys(link), 'introduced');
        store.requests.remove(link.peerId);
      })();
      log.info('consent', 'peer introduced by a trusted peer', { peer: link.peerId });
      this.emit('changed');
      return 'trusted';
    }
    const outcome = store.requests.record(link.info.remote, link.info.remoteAddress);
    if (outcome === 'declined') {
      this.noteRefused({ peer: link.peerId });
      return 'refused';
    }
    this.emit('changed');
    return 'pending';
  }

  /** Accepts a pending request; false when there is none. The caller dials the peer next. */
  accept(peerId: string): boolean {
    const { store, manager } = this.options;
    const request = store.requests.pending(peerId);
    if (!request) return false;
    const link = manager.pendingLink(peerId);
    store.db.transaction(() => {
      store.peers.saveFromHandshake(link ? handshakeKeys(link) : { ...request, endpoints: [] }, 'accepted');
      if (request.displayName) store.peers.setDisplayName(peerId, request.displayName);
      store.requests.remove(peerId);
      store.forgotten.clear(peerId);
    })();
    manager.dropPending(peerId, 'request accepted; connect again', CloseCode.goingAway);
    this.emit('changed');
    return true;
  }

  /** Declines a pending request and closes its link; false when there is none. */
  decline(peerId: string): boolean {
    if (!this.options.store.requests.decline(peerId)) return false;
    this.options.manager.dropPending(peerId, 'request declined');
    this.emit('changed');
    return true;
  }

  /**
   * We imported the peer's invite (or chose it otherwise): its request or refusal is void, it is no
   * longer forgotten, and its pending link makes way for ours.
   */
  imported(peerId: string): void {
    this.options.store.forgotten.clear(peerId);
    const removed = this.options.store.requests.remove(peerId);
    const dropped = this.options.manager.dropPending(peerId, 'invite imported; connect again', CloseCode.goingAway);
    if (removed || dropped) this.emit('changed');
  }

  /**
   * Runs `dial` with the peer marked as chosen by the user (as if we had imported its invite): the
   * link our dial makes is trusted (`trust`) once its handshake proves the expected peer ID. Its
   * request, if any, makes way first.
   */
  async choose<T>(peerId: string, dial: () => Promise<T>, trust: PeerTrust = 'invited'): Promise<T> {
    this.imported(peerId);
    this.chosen.set(peerId, trust);
    try {
      return await dial();
    } finally {
      this.chosen.delete(peerId);
    }
  }

  /** The secret carried in our invite codes; made on first use. */
  inviteSecret(): Uint8Array {
    return this.storedInviteSecret() ?? this.regenerateInviteSecret();
  }

  /** A new invite secret: codes with the old one now lead to a request. */
  regenerateInviteSecret(): Uint8Array {
    const secret = this.options.crypto.randomBytes(INVITE_SECRET_BYTES);
    const { settings } = this.options.store;
    this.options.store.db.transaction(() => {
      settings.set(INVITE_SECRET_SETTING, b64urlEncode(secret));
      settings.set(INVITE_USES_SETTING, 0);
    })();
    return secret;
  }

  /** How many new peers the current invite secret has admitted. */
  inviteUses(): number {
    return this.options.store.settings.get<number>(INVITE_USES_SETTING) ?? 0;
  }

  /** The secret to prove when dialling a peer whose invite we imported. */
  inviteSecretFor(peerId: string): Uint8Array | undefined {
    return this.options.store.peers.get(peerId)?.inviteSecret ?? undefined;
  }

  /** Whether peers introduced by a trusted peer are trusted when they link to us (default on). */
  trustIntroduced(): boolean {
    return this.options.store.settings.get<boolean>(TRUST_INTRODUCED_SETTING) ?? true;
  }

  setTrustIntroduced(on: boolean): void {
    this.options.store.settings.set(TRUST_INTRODUCED_SETTING, on);
  }

  private storedInviteSecret(): Uint8Array | undefined {
    const text = this.options.store.settings.get<string>(INVITE_SECRET_SETTING);
    return text === undefined ? undefined : b64urlDecode(text);
  }

  private provesOurInvite(link: Link): boolean {
    const proof = link.info.payload.invite_proof;
    const secret = this.storedInviteSecret();
    if (!proof || !secret) return false;
    let bytes: Uint8Array;
    try {
      bytes = b64urlDecode(proof);
    } catch {
      return false;
    }
    const { crypto, identity } = this.options;
    return verifyInviteProof(crypto, secret, link.info.remote.x25519PublicKey, identity.x25519.publicKey, bytes);
  }

  /**
   * Reads a stranger's own profile card to name its request: only a card of its own (the peer ID
   * and key its handshake proved) that verifies, and only a few. Cards are not stored: a request is
   * no peer of ours. A legacy unsigned `profile` frame (Canopy before signed cards) names it only
   * when no card did.
   */
  private hold(link: Link): void {
    let cardsLeft = MAX_PENDING_CARDS;
    let namedByCard = false;
    link.onFrame((frame) => {
      // A stranger's events, vectors and acks are dropped unread: nothing is stored or forwarded.
      if (this.options.manager.pendingLink(link.peerId) !== link) return;
      let name: string | null;
      if (frame.t === 'card') {
        if (!frame.check.ok || cardsLeft <= 0) return;
        cardsLeft--;
        const { card } = frame.check.signed;
        if (card.peer_id !== link.peerId || !this.isLinkKey(link, card.ed25519_key)) return;
        if (!verifyProfileCard(this.options.crypto, frame.check.signed).ok) return;
        name = cardName(card);
        namedByCard = true;
      } else if (frame.t === 'profile' && !namedByCard) {
        name = frame.display_name.trim() || frame.device_name.trim() || null;
      } else return;
      if (this.options.store.requests.setDisplayName(link.peerId, name)) this.emit('changed');
    });
  }

  private isLinkKey(link: Link, b58Key: string): boolean {
    try {
      return equalBytes(b58decode(b58Key), link.info.remote.ed25519PublicKey);
    } catch {
      return false;
    }
  }
}

function handshakeKeys(link: Link): PeerKeys {
  return {
    peerId: link.peerId,
    ed25519PublicKey: link.info.remote.ed25519PublicKey,
    x25519PublicKey: link.info.remote.x25519PublicKey,
    endpoints: canonicalizeEndpoints(link.info.payload.endpoints),
  };
}
