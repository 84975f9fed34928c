import type { CircuitFrame } from '../../protocol/mesh/relay.ts';
import type { Logger } from '../logger.ts';
import { limitWarning } from '../rate-limited-log.ts';
import { MessageInbox } from '../transport/inbox.ts';
import type { CircuitMux } from './circuit-mux.ts';
import { CircuitClosedError, CircuitSocket } from './circuit-socket.ts';
import type { Link } from './link.ts';
import type { LinkManager } from './link-manager.ts';

/** How long the relay and the target have to open a circuit. */
export const CIRCUIT_OPEN_TIMEOUT_MS = 12_000;
/**
 * Circuits being opened toward us (before their handshake ends): per requester behind a relay, per
 * relay, and in all. The per-requester cap comes first so that one peer flooding a relay with
 * circuits to us cannot take the slots an honest peer behind the same relay needs.
 */
export const INCOMING_CIRCUIT_LIMITS = { perRequester: 2, perRelay: 8, total: 16 } as const;

/**
 * The two ends of circuits: asks a relay for a circuit to a peer and runs the mesh handshake in it
 * as initiator, and answers `circuit_incoming` by running it as responder. The link that comes out
 * goes through the link manager like a dialled one (expected peer ID, consent, duplicates).
 */
export class CircuitDialer {
  /** Handshakes running in circuits toward us, by relay and by requester (`relay/requester`). */
  private readonly incomingByRelay = new Map<string, number>();
  private readonly incomingByRequester = new Map<string, number>();
  private incomingTotal = 0;
  private readonly warnIncomingFull;

  constructor(
    private readonly options: {
      mux: CircuitMux;
      manager: LinkManager;
      log: Logger;
    },
  ) {
    this.warnIncomingFull = limitWarning(options.log, 'relay', 'too many circuits being opened toward us: refused');
  }

  /** A link to `target` through a circuit via `relay`; rejects with CircuitClosedError or HandshakeError. */
  async dialVia(relay: Link, target: string): Promise<Link> {
    const { mux, manager } = this.options;
    const id = mux.allocate(relay);
    const socket = new CircuitSocket(relay, id, () => mux.unregister(relay, id));
    const inbox = new MessageInbox(socket);
    mux.register(relay, id, socket);
    const accepted = socket.accepted(CIRCUIT_OPEN_TIMEOUT_MS);
    relay.send({ t: 'circuit_open', id, target });
    await accepted;
    return manager.secureCircuit(socket, inbox, { direction: 'outbound', via: relay.peerId, expectedPeerId: target });
  }

  /** `circuit_incoming` from a relay: accept it and answer the handshake of whoever is at the other end. */
  accept(relay: Link, frame: Extract<CircuitFrame, { t: 'circuit_incoming' }>): void {
    const { mux, manager, log } = this.options;
    if (!mux.openedByPeer(relay, frame.id) || mux.has(relay, frame.id)) {
      relay.send({ t: 'circuit_close', id: frame.id, code: 'protocol_error', reason: 'circuit id taken or of the wrong parity' });
      return;
    }
    const requester = `${relay.peerId}/${frame.from}`;
    const limits = INCOMING_CIRCUIT_LIMITS;
    if (
      relay.info.via ||
      (this.incomingByRequester.get(requester) ?? 0) >= limits.perRequester ||
      (this.incomingByRelay.get(relay.peerId) ?? 0) >= limits.perRelay ||
      this.incomingTotal >= limits.total
    ) {
      this.warnIncomingFull({ relay: relay.peerId, from: frame.from });
      relay.send({ t: 'circuit_close', id: frame.id, code: 'circuit_limit', reason: 'too many circuits being opened' });
      return;
    }
    count(this.incomingByRequester, requester, +1);
    count(this.incomingByRelay, relay.peerId, +1);
    this.incomingTotal += 1;
    const socket = new CircuitSocket(relay, frame.id, () => mux.unregister(relay, frame.id));
    const inbox = new MessageInbox(socket);
    mux.register(relay, frame.id, socket);
    relay.send({ t: 'circuit_accept', id: frame.id });
    manager
      .secureCircuit(socket, inbox, { direction: 'inbound', via: relay.peerId })
      .catch((error: Error) => {
        if (!(error instanceof CircuitClosedError)) log.info('relay', 'relayed handshake failed', { via: relay.peerId, from: frame.from, error: error.message });
      })
      .finally(() => {
        count(this.incomingByRequester, requester, -1);
        count(this.incomingByRelay, relay.peerId, -1);
        this.incomingTotal -= 1;
      });
  }
}

/** Adds `delta` to a counter, dropping it at zero so the map holds only what is running. */
function count(counters: Map<string, number>, key: string, delta: number): void {
  const value = (counters.get(key) ?? 0) + delta;
  if (value > 0) counters.set(key, value);
  else counters.delete(key);
}
