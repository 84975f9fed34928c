import { b58decode, b58encode, b64urlDecode, b64urlEncode, utf8 } from '../../protocol/bytes.ts';
import type { CryptoBackend } from '../../protocol/crypto/types.ts';
import { parseHandshakePayload, type HandshakePayload } from '../../protocol/frames.ts';
import { peerIdMatches, verifyBinding, type Identity, type PublicIdentity } from '../../protocol/identity.ts';
import { inviteProof } from '../../protocol/invite-proof.ts';
import { CANOPY_NOISE_PROLOGUE, type SecureTransport } from '../../protocol/noise/index.ts';
import { CANOPY_VERSION, CAPABILITIES, PROTOCOL_VERSION } from '../../protocol/version.ts';
import type { MessageInbox } from '../transport/inbox.ts';
import type { MessageSocket } from '../transport/message-socket.ts';
import { HandshakeError, noiseExchange } from '../transport/noise-exchange.ts';

export { HandshakeError } from '../transport/noise-exchange.ts';

export interface HandshakeResult {
  transport: SecureTransport;
  remote: PublicIdentity;
  payload: HandshakePayload;
}

export interface HandshakeOptions {
  crypto: CryptoBackend;
  identity: Identity;
  initiator: boolean;
  advertisedEndpoints: string[];
  /** A dialer that got the peer from an invite knows whom it expects; anyone else is refused. */
  expectedPeerId?: string;
  /** Initiator only: the secret of the responder's invite we imported, proven in our payload. */
  inviteSecret?: Uint8Array;
  timeoutMs?: number;
}

export function localHandshakePayload(identity: Identity, endpoints: string[]): HandshakePayload {
  return {
    peer_id: identity.peerId,
    ed25519_key: b58encode(identity.ed25519.publicKey),
    binding: b64urlEncode(identity.binding),
    protocol_version: PROTOCOL_VERSION,
    canopy_version: CANOPY_VERSION,
    capabilities: [...CAPABILITIES],
    endpoints,
  };
}

/**
 * The mesh handshake: each side's payload proves that its peer_id hashes from its Ed25519 key and
 * that this Ed25519 key signed the X25519 static key Noise just authenticated.
 */
export async function runHandshake(ws: MessageSocket, inbox: MessageInbox, options: HandshakeOptions): Promise<HandshakeResult> {
  const { crypto, identity } = options;
  const result = await noiseExchange(ws, inbox, {
    crypto,
    initiator: options.initiator,
    staticKey: identity.x25519,
    prologue: CANOPY_NOISE_PROLOGUE,
    payload: (remoteStatic) => {
      const payload = localHandshakePayload(identity, options.advertisedEndpoints);
      if (options.inviteSecret && remoteStatic) {
        payload.invite_proof = b64urlEncode(inviteProof(crypto, options.inviteSecret, identity.x25519.publicKey, remoteStatic));
      }
      return utf8(JSON.stringify(payload));
    },
    timeoutMs: options.timeoutMs,
    verify: (payload, remoteStatic) => verifyRemote(crypto, identity, remoteStatic, payload, options.expectedPeerId),
  });
  return { transport: result.transport, ...result.verified };
}

/** Checks a peer's identity payload against the static key Noise authenticated. */
export function verifyPeerIdentity(
  crypto: CryptoBackend,
  remoteStatic: Uint8Array,
  payload: { peer_id: string; ed25519_key: string; binding: string },
): PublicIdentity {
  const ed25519PublicKey = b58decode(payload.ed25519_key);
  if (!peerIdMatches(crypto, payload.peer_id, ed25519PublicKey)) {
    throw new HandshakeError('peer_id_mismatch', 'Peer ID does not match public key');
  }
  if (!verifyBinding(crypto, ed25519PublicKey, remoteStatic, b64urlDecode(payload.binding))) {
    throw new HandshakeError('binding_invalid', 'Peer X25519 key is not signed by its identity key');
  }
  return { peerId: payload.peer_id, ed25519PublicKey, x25519PublicKey: remoteStatic };
}

function verifyRemote(
  crypto: CryptoBackend,
  identity: Identity,
  remoteStatic: Uint8Array,
  payloadBytes: Uint8Array,
  expectedPeerId: string | undefined,
): { remote: PublicIdentity; payload: HandshakePayload } {
  const parsed = parseHandshakePayload(payloadBytes);
  if (!parsed.ok) throw new HandshakeError('bad_payload', `Handshake payload invalid: ${parsed.error}`);
  const payload = parsed.payload;
  const remote = verifyPeerIdentity(crypto, remoteStatic, payload);
  if (payload.protocol_version !== PROTOCOL_VERSION) {
    throw new HandshakeError('protocol_mismatch', `Unsupported protocol version ${payload.protocol_version}`);
  }
  if (payload.peer_id === identity.peerId) throw new HandshakeError('self_connect', 'Refusing to connect to ourselves');
  if (expectedPeerId && payload.peer_id !== expectedPeerId) {
    throw new HandshakeError('unexpected_peer', `Endpoint answered as ${payload.peer_id}, expected ${expectedPeerId}`);
  }
  return { remote, payload };
}
