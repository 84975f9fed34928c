import { EventEmitter } from 'node:events';
import type { CryptoBackend } from '../../protocol/crypto/types.ts';
import type { Identity } from '../../protocol/identity.ts';
import {
  decodeIntroduction,
  introductionEntry,
  MAX_INTRODUCED_PER_FRAME,
  verifyIntroduction,
  type IntroducedPeer,
  type IntroducedPeerEntry,
  type ReceivedIntroductions,
} from '../../protocol/mesh/introduction.ts';
import { b58encode, b64urlEncode } from '../../protocol/bytes.ts';
import type { Logger } from '../logger.ts';
import { limitWarning } from '../rate-limited-log.ts';
import type { Store } from '../store/index.ts';
import type { Link } from './link.ts';
import type { LinkManager } from './link-manager.ts';
import { TokenBucket } from '../token-bucket.ts';

/** What we tell others a peer is called; the profile layer decides where names come from. */
export type DescribePeer = (peerId: string) => { display_name: string; device_name: string };

/**
 * Signature checks one link may make us run: a burst, then a steady trickle. An honest peer
 * introduces its linked peers once per link-up; a hostile one must not make us spend our CPU on
 * Ed25519 verifications of junk. Entries over the budget are dropped (the introducer sends them
 * again on its next link-up).
 */
export const INTRODUCTION_VERIFY_BUDGET = { burst: 64, perSecond: 1 };
/** A peer whose names keep changing is re-announced to the others at most this often. */
export const REANNOUNCE_INTERVAL_MS = 30_000;

export interface PeerIntroductionsOptions {
  crypto: CryptoBackend;
  identity: Identity;
  store: Store;
  manager: LinkManager;
  log: Logger;
  describe: DescribePeer;
  now?: () => number;
}

/**
 * Sends and receives `introduce` frames (guide §9, DESIGN §3a). Only trusted links reach here (the
 * LinkManager holds strangers apart), so every introducer is a peer we trust; what it says is still
 * checked: keys by signature, tables by caps, CPU by a per-link budget.
 */
export class PeerIntroductions extends EventEmitter<{ changed: [] }> {
  private readonly budgets = new WeakMap<Link, TokenBucket>();
  /** Names last announced about each linked peer, to re-announce only real changes. */
  private readonly announced = new Map<string, string>();
  private readonly reannounced = new Map<string, { at: number; timer?: NodeJS.Timeout }>();
  private readonly now: () => number;
  private readonly warnForged;
  private readonly warnMalformed;
  private readonly warnBudget;
  private readonly warnFull;

  constructor(private readonly options: PeerIntroductionsOptions) {
    super();
    this.now = options.now ?? Date.now;
    const { log } = options;
    this.warnForged = limitWarning(log, 'introductions', 'introduced peer refused: its keys do not check out');
    this.warnMalformed = limitWarning(log, 'introductions', 'malformed introductions dropped');
    this.warnBudget = limitWarning(log, 'introductions', 'introductions over the verification budget dropped');
    this.warnFull = limitWarning(log, 'introductions', 'introduced peers table full: new introductions refused');
  }

  /** A trusted link came up: it learns our other peers, and they learn it. */
  linkUp(link: Link): void {
    const others = this.options.manager.connected().filter((other) => other.peerId !== link.peerId);
    this.sendAll(link, others.map((other) => this.entryFor(other)));
    const entry = this.entryFor(link);
    this.announced.set(link.peerId, namesKey(entry));
    for (const other of others) this.sendAll(other, [entry]);
  }

  linkDown(peerId: string): void {
    this.announced.delete(peerId);
    clearTimeout(this.reannounced.get(peerId)?.timer);
    this.reannounced.delete(peerId);
  }

  /**
   * The peer's names may have changed (its profile arrived): if they differ from what we told the
   * others, tell them again, at most once per REANNOUNCE_INTERVAL_MS per peer (a peer sending
   * profile after profile must not make us send a frame to everyone for each).
   */
  namesMayHaveChanged(peerId: string): void {
    const link = this.options.manager.get(peerId);
    if (!link || !this.announced.has(peerId) || namesKey(this.entryFor(link)) === this.announced.get(peerId)) return;
    const last = this.reannounced.get(peerId);
    if (last?.timer) return;
    const wait = last ? last.at + REANNOUNCE_INTERVAL_MS - this.now() : 0;
    if (wait <= 0) {
      this.reannounce(peerId);
      return;
    }
    const timer = setTimeout(() => this.reannounce(peerId), wait);
    timer.unref();
    this.reannounced.set(peerId, { at: last!.at, timer });
  }

  private reannounce(peerId: string): void {
    this.reannounced.set(peerId, { at: this.now() });
    const link = this.options.manager.get(peerId);
    if (!link) return;
    const entry = this.entryFor(link);
    this.announced.set(peerId, namesKey(entry));
    for (const other of this.options.manager.connected()) if (other.peerId !== peerId) this.sendAll(other, [entry]);
  }

  /** Checks and stores what a trusted peer told us; emits 'changed' when the table changed. */
  receive(link: Link, frame: ReceivedIntroductions): void {
    if (frame.rejected.length) this.warnMalformed({ peer: link.peerId, count: frame.rejected.length, first: frame.rejected[0]!.reason });
    // One commit per frame, not one per entry.
    const outcomes = this.options.store.db.transaction(() => frame.peers.map((entry) => this.take(link, entry)))();
    if (outcomes.includes(true)) this.emit('changed');
  }

  /** Stores one entry if it may be; true when that changed what the list shows. */
  private take(link: Link, entry: IntroducedPeerEntry): boolean {
    const { store, identity } = this.options;
    const peerId = entry.peer_id;
    if (peerId === identity.peerId || peerId === link.peerId || store.peers.get(peerId) || store.forgotten.has(peerId)) return false;
    const stored = store.introduced.get(peerId);
    if (stored && !sameKeys(stored, entry)) {
      // The first verified keys stay: a peer's keys never change, so other keys are someone's lie.
      this.warnForged({ peer: link.peerId, introduced: peerId, reason: 'keys differ from the ones already verified' });
      return false;
    }
    // A stored row was verified when it was stored: equal keys and binding need no second check.
    const peer = stored ? decodeIntroduction(entry) : this.verified(link, entry);
    if (!peer) return false;
    const outcome = store.introduced.introduce(peer, link.peerId);
    if (outcome === 'full_total' || outcome === 'full_introducer') {
      this.warnFull({ peer: link.peerId, limit: outcome });
      return false;
    }
    // A bare refresh changes nothing shown: no push to the browsers for it.
    return outcome !== 'refreshed';
  }

  /** The entry's peer if its keys check out and the link's verification budget allows the check. */
  private verified(link: Link, entry: IntroducedPeerEntry): IntroducedPeer | null {
    if (!this.budgetOf(link).take()) {
      this.warnBudget({ peer: link.peerId, burst: INTRODUCTION_VERIFY_BUDGET.burst, per_second: INTRODUCTION_VERIFY_BUDGET.perSecond });
      return null;
    }
    const verdict = verifyIntroduction(this.options.crypto, entry);
    if (verdict.ok) return verdict.peer;
    this.warnForged({ peer: link.peerId, introduced: entry.peer_id, reason: verdict.reason });
    return null;
  }

  private budgetOf(link: Link): TokenBucket {
    let budget = this.budgets.get(link);
    if (!budget) {
      budget = new TokenBucket(INTRODUCTION_VERIFY_BUDGET.burst, INTRODUCTION_VERIFY_BUDGET.perSecond, this.now);
      this.budgets.set(link, budget);
    }
    return budget;
  }

  /** The linked peer as we introduce it: keys its handshake proved, endpoints we know, names. */
  private entryFor(link: Link): IntroducedPeerEntry {
    const stored = this.options.store.peers.get(link.peerId)?.endpoints ?? [];
    const endpoints = stored.length ? stored : link.info.payload.endpoints;
    return introductionEntry({ ...link.info.remote, binding: link.info.payload.binding }, endpoints, this.options.describe(link.peerId));
  }

  private sendAll(link: Link, entries: IntroducedPeerEntry[]): void {
    for (let i = 0; i < entries.length; i += MAX_INTRODUCED_PER_FRAME) {
      link.send({ t: 'introduce', peers: entries.slice(i, i + MAX_INTRODUCED_PER_FRAME) });
    }
  }
}

const namesKey = (entry: IntroducedPeerEntry): string => JSON.stringify([entry.display_name, entry.device_name]);

function sameKeys(stored: { ed25519PublicKey: Uint8Array; x25519PublicKey: Uint8Array; binding: Uint8Array }, entry: IntroducedPeerEntry): boolean {
  return (
    b58encode(stored.ed25519PublicKey) === entry.ed25519_key &&
    b58encode(stored.x25519PublicKey) === entry.x25519_key &&
    b64urlEncode(stored.binding) === entry.binding
  );
}
