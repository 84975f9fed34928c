// A hand-driven mesh client for tests that need to misbehave: it speaks the Noise handshake
// itself, so a test can replay, tamper with or stop answering at any step.
import { WebSocket } from 'ws';
import { nodeCrypto } from '../../companion/crypto/node.ts';
import { b58encode, b64urlEncode, utf8 } from '../../protocol/bytes.ts';
import { decodeFrame, encodeFrame, type DecodeFrameResult, type Frame } from '../../protocol/frames.ts';
import type { Identity } from '../../protocol/identity.ts';
import { decodeInvite } from '../../protocol/invite.ts';
import { inviteProof } from '../../protocol/invite-proof.ts';
import { CANOPY_NOISE_PROLOGUE, SecureTransport, XXHandshake } from '../../protocol/noise/index.ts';

export interface RawConnection {
  ws: WebSocket;
  next(): Promise<Uint8Array>;
  closed: Promise<{ code: number; reason: string }>;
}

/**
 * Opens a socket to a mesh URL (`ws://host:port/p2p`) and queues what arrives. `from` is the local
 * loopback address to dial from (e.g. 127.0.0.2): the companion then sees another host, as it
 * would a stranger on the LAN.
 */
export async function openRaw(url: string, from?: string): Promise<RawConnection> {
  const ws = new WebSocket(url, from ? { localAddress: from } : {});
  const received: Buffer[] = [];
  const waiters: Array<() => void> = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  ws.on('message', (data) => {
    received.push(data as Buffer);
    waiters.splice(0).forEach((wake) => wake());
  });
  ws.on('error', () => {});
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const next = async (): Promise<Uint8Array> => {
    while (received.length === 0) await new Promise<void>((wake) => waiters.push(wake));
    return new Uint8Array(received.shift()!);
  };
  return { ws, next, closed };
}

/** The identity payload a Canopy node sends in the handshake (with `invite_proof` when given). */
export function handshakePayload(identity: Identity, inviteProofB64?: string, endpoints: string[] = [], capabilities: string[] = []): Uint8Array {
  return utf8(
    JSON.stringify({
      peer_id: identity.peerId,
      ed25519_key: b58encode(identity.ed25519.publicKey),
      binding: b64urlEncode(identity.binding),
      protocol_version: 1,
      canopy_version: 'test',
      capabilities,
      endpoints,
      ...(inviteProofB64 ? { invite_proof: inviteProofB64 } : {}),
    }),
  );
}

export interface RawHandshakeOptions {
  /**
   * The responder's invite code: its invite secret is proven in message 3, so the raw peer is
   * trusted (DESIGN §3a). Without it the raw peer is a stranger: a pending request that gets nothing.
   */
  inviteCode?: string;
  /** Capabilities the raw peer claims (none by default: a peer from before any of them). */
  capabilities?: string[];
  /** Endpoints the raw peer advertises in its payload (none by default). */
  endpoints?: string[];
  /** The loopback address to dial from (see openRaw). */
  from?: string;
}

/** Runs an honest initiator handshake; returns the connection, its transport and what it sent. */
export async function rawHandshake(url: string, identity: Identity, options: RawHandshakeOptions = {}) {
  const connection = await openRaw(url, options.from);
  const noise = new XXHandshake(nodeCrypto, { initiator: true, staticKey: identity.x25519, prologue: CANOPY_NOISE_PROLOGUE });
  const message1 = noise.writeMessage(new Uint8Array(0));
  connection.ws.send(message1);
  noise.readMessage(await connection.next());
  const secret = options.inviteCode ? decodeInvite(nodeCrypto, options.inviteCode).inviteSecret : undefined;
  const proof = secret && b64urlEncode(inviteProof(nodeCrypto, secret, identity.x25519.publicKey, noise.remoteStaticKey!));
  const message3 = noise.writeMessage(handshakePayload(identity, proof, options.endpoints, options.capabilities));
  connection.ws.send(message3);
  return { ...connection, message1, message3, transport: SecureTransport.fromHandshake(noise) };
}

type ReceivedFrame = Extract<DecodeFrameResult, { ok: true }>['frame'];

/**
 * A trusted, hand-driven peer: it proves `inviteCode` in the handshake, then keeps every frame the
 * companion sends (decoded) so a test can wait for one, and sends whatever frames the test likes.
 */
export async function scriptedPeer(url: string, identity: Identity, inviteCode: string, from?: string) {
  const connection = await rawHandshake(url, identity, { inviteCode, from });
  const { transport } = connection;
  const received: ReceivedFrame[] = [];
  const waiters = new Set<() => void>();
  let open = true;
  void connection.closed.then(() => {
    open = false;
    waiters.forEach((wake) => wake());
  });
  void (async () => {
    while (open) {
      const decoded = decodeFrame(transport.open(await connection.next()));
      if (!decoded.ok) throw new Error(`undecodable frame from the companion: ${decoded.error}`);
      received.push(decoded.frame);
      waiters.forEach((wake) => wake());
    }
  })().catch(() => {});
  const send = (frame: Frame) => connection.ws.send(transport.seal(encodeFrame(frame)));
  /** Resolves with every received frame `match` accepts once there are at least `count`, or rejects after `ms`. */
  const waitFor = <F extends ReceivedFrame>(match: (frame: ReceivedFrame) => frame is F, count = 1, ms = 15_000): Promise<F[]> =>
    new Promise((resolve, reject) => {
      const check = () => {
        const found = received.filter(match);
        if (found.length >= count) return finish(() => resolve(found));
        if (!open) return finish(() => reject(new Error(`link closed with ${found.length} of ${count} frames`)));
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`timed out with ${received.filter(match).length} of ${count} frames`))), ms);
      const finish = (then: () => void) => {
        clearTimeout(timer);
        waiters.delete(check);
        then();
      };
      waiters.add(check);
      check();
    });
  return { identity, peerId: identity.peerId, send, waitFor, received, close: () => connection.ws.close(), isOpen: () => open };
}
