import type { WebSocket } from 'ws';
import { b58decode, b58encode, b64urlDecode, b64urlEncode, utf8 } from '../../protocol/bytes.ts';
import type { CryptoBackend } from '../../protocol/crypto/types.ts';
import { parseHandshakePayload, type HandshakePayload } from '../../protocol/frames.ts';
import { peerIdMatches, verifyBinding, type Identity, type PublicIdentity } from '../../protocol/identity.ts';
import { CANOPY_NOISE_PROLOGUE, SecureTransport, XXHandshake } from '../../protocol/noise/index.ts';
import { CANOPY_VERSION, CAPABILITIES, PROTOCOL_VERSION } from '../../protocol/version.ts';
import { WsInbox } from './inbox.ts';

export const HANDSHAKE_TIMEOUT_MS = 10_000;
const FIRST_MESSAGE_BYTES = 32;

export type HandshakeFailure =
  | 'timeout'
  | 'noise_failed'
  | 'bad_payload'
  | 'peer_id_mismatch'
  | 'binding_invalid'
  | 'protocol_mismatch'
  | 'self_connect'
  | 'unexpected_peer';

export class HandshakeError extends Error {
  constructor(
    readonly failure: HandshakeFailure,
    message: string,
  ) {
    super(message);
    this.name = 'HandshakeError';
  }
}

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
 * Noise XX over one WebSocket: -> e / <- e, ee, s, es + responder identity / -> s, se + initiator
 * identity. Each side's payload proves that its peer_id hashes from its Ed25519 key and that this
 * Ed25519 key signed the X25519 static key Noise just authenticated. Fresh ephemerals on both
 * sides make a recorded handshake worthless to replay.
 */
export async function runHandshake(ws: WebSocket, inbox: WsInbox, options: HandshakeOptions): Promise<HandshakeResult> {
  const { crypto, identity } = options;
  const timeoutMs = options.timeoutMs ?? HANDSHAKE_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  const receive = () => inbox.next(Math.max(1, deadline - Date.now()));
  const ownPayload = utf8(JSON.stringify(localHandshakePayload(identity, options.advertisedEndpoints)));
  const noise = new XXHandshake(crypto, {
    initiator: options.initiator,
    staticKey: identity.x25519,
    prologue: CANOPY_NOISE_PROLOGUE,
  });

  const step = <T>(action: () => T): T => {
    try {
      return action();
    } catch (error) {
      throw new HandshakeError('noise_failed', `Handshake failed: ${(error as Error).message}`);
    }
  };

  let remotePayloadBytes: Uint8Array;
  try {
    if (options.initiator) {
      ws.send(step(() => noise.writeMessage(new Uint8Array(0))));
      const message2 = await receive();
      remotePayloadBytes = step(() => noise.readMessage(message2));
      const remote = verifyRemote(crypto, identity, noise.remoteStaticKey!, remotePayloadBytes, options.expectedPeerId);
      ws.send(step(() => noise.writeMessage(ownPayload)));
      return { transport: step(() => SecureTransport.fromHandshake(noise)), ...remote };
    }
    const message1 = await receive();
    // Our first message is a bare ephemeral key; anything else (random bytes, another protocol)
    // is refused at once instead of tying up a handshake slot until the timeout.
    if (message1.length !== FIRST_MESSAGE_BYTES) {
      throw new HandshakeError('bad_payload', 'Handshake failed: first message is not a Canopy handshake');
    }
    step(() => noise.readMessage(message1));
    ws.send(step(() => noise.writeMessage(ownPayload)));
    const message3 = await receive();
    remotePayloadBytes = step(() => noise.readMessage(message3));
    const remote = verifyRemote(crypto, identity, noise.remoteStaticKey!, remotePayloadBytes, undefined);
    return { transport: step(() => SecureTransport.fromHandshake(noise)), ...remote };
  } catch (error) {
    if (error instanceof HandshakeError) throw error;
    const timedOut = Date.now() >= deadline;
    throw new HandshakeError(timedOut ? 'timeout' : 'noise_failed', `Handshake failed: ${(error as Error).message}`);
  }
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
  const ed25519PublicKey = b58decode(payload.ed25519_key);
  if (!peerIdMatches(crypto, payload.peer_id, ed25519PublicKey)) {
    throw new HandshakeError('peer_id_mismatch', 'Peer ID does not match public key');
  }
  if (!verifyBinding(crypto, ed25519PublicKey, remoteStatic, b64urlDecode(payload.binding))) {
    throw new HandshakeError('binding_invalid', 'Peer X25519 key is not signed by its identity key');
  }
  if (payload.protocol_version !== PROTOCOL_VERSION) {
    throw new HandshakeError('protocol_mismatch', `Unsupported protocol version ${payload.protocol_version}`);
  }
  if (payload.peer_id === identity.peerId) throw new HandshakeError('self_connect', 'Refusing to connect to ourselves');
  if (expectedPeerId && payload.peer_id !== expectedPeerId) {
    throw new HandshakeError('unexpected_peer', `Endpoint answered as ${payload.peer_id}, expected ${expectedPeerId}`);
  }
  return { remote: { peerId: payload.peer_id, ed25519PublicKey, x25519PublicKey: remoteStatic }, payload };
}
