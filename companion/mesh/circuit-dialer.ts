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
/** Circuits being opened toward us (before their handshake ends), per relay and in all. */
const INCOMING_PER_RELAY = 4;
const INCOMING_TOTAL = 16;

/**
 * The two ends of circuits: asks a relay for a circuit to a peer and runs the mesh handshake in it
 * as initiator, and answers `circuit_incoming` by running it as responder. The link that comes out
 * goes through the link manager like a dialled one (expected peer ID, consent, duplicates).
 */
export class CircuitDialer {
  private readonly incoming = new Map<string, number>();
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
    const pending = this.incoming.get(relay.peerId) ?? 0;
    const total = [...this.incoming.values()].reduce((sum, n) => sum + n, 0);
    if (relay.info.via || pending >= INCOMING_PER_RELAY || total >= INCOMING_TOTAL) {
      this.warnIncomingFull({ relay: relay.peerId, from: frame.from });
      relay.send({ t: 'circuit_close', id: frame.id, code: 'circuit_limit', reason: 'too many circuits being opened' });
      return;
    }
    this.incoming.set(relay.peerId, pending + 1);
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
        const left = (this.incoming.get(relay.peerId) ?? 1) - 1;
        if (left > 0) this.incoming.set(relay.peerId, left);
        else this.incoming.delete(relay.peerId);
      });
  }
}
