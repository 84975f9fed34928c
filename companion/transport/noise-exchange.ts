import type { CryptoBackend, KeyPair } from '../../protocol/crypto/types.ts';
import { SecureTransport, XXHandshake } from '../../protocol/noise/index.ts';
import { InboxTimeoutError, type MessageInbox } from './inbox.ts';
import type { MessageSocket } from './message-socket.ts';

export const HANDSHAKE_TIMEOUT_MS = 10_000;
/** Both clients send message 1 as soon as the socket opens; a silent socket gives its slot back soon. */
export const FIRST_MESSAGE_TIMEOUT_MS = 2_000;
// Both Canopy links send a bare ephemeral key first (no payload: it would travel in clear).
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

export interface NoiseExchangeOptions<T> {
  crypto: CryptoBackend;
  initiator: boolean;
  staticKey: KeyPair;
  prologue: Uint8Array;
  /**
   * What we prove about ourselves: sent in message 2 (responder) or 3 (initiator), encrypted. The
   * initiator's may depend on the responder's static key, known by then (a responder gets undefined).
   */
  payload: Uint8Array | ((remoteStatic: Uint8Array | undefined) => Uint8Array);
  /** Checks the other side's payload against its Noise-authenticated static key; throws HandshakeError to refuse. */
  verify(remotePayload: Uint8Array, remoteStatic: Uint8Array): T;
  /** The whole handshake. */
  timeoutMs?: number;
  /** A responder waits this long for message 1 (within `timeoutMs`). */
  firstMessageTimeoutMs?: number;
}

export interface NoiseExchangeResult<T> {
  transport: SecureTransport;
  remoteStatic: Uint8Array;
  verified: T;
}

/**
 * Noise XX over one socket: -> e / <- e, ee, s, es + responder payload / -> s, se + initiator
 * payload. The initiator checks the responder before revealing itself. Fresh ephemerals on both
 * sides make a recorded handshake worthless to replay.
 */
export async function noiseExchange<T>(ws: MessageSocket, inbox: MessageInbox, options: NoiseExchangeOptions<T>): Promise<NoiseExchangeResult<T>> {
  const deadline = Date.now() + (options.timeoutMs ?? HANDSHAKE_TIMEOUT_MS);
  const receive = () => inbox.next(Math.max(1, deadline - Date.now()));
  const noise = new XXHandshake(options.crypto, { initiator: options.initiator, staticKey: options.staticKey, prologue: options.prologue });
  const step = <R>(action: () => R): R => {
    try {
      return action();
    } catch (error) {
      throw new HandshakeError('noise_failed', `Handshake failed: ${(error as Error).message}`);
    }
  };
  const finish = (verified: T): NoiseExchangeResult<T> => ({
    transport: step(() => SecureTransport.fromHandshake(noise)),
    remoteStatic: noise.remoteStaticKey!,
    verified,
  });

  try {
    if (options.initiator) {
      ws.send(step(() => noise.writeMessage(new Uint8Array(0))));
      const message2 = await receive();
      const remotePayload = step(() => noise.readMessage(message2));
      const verified = options.verify(remotePayload, noise.remoteStaticKey!);
      const payload = typeof options.payload === 'function' ? options.payload(noise.remoteStaticKey!) : options.payload;
      ws.send(step(() => noise.writeMessage(payload)));
      return finish(verified);
    }
    const message1 = await inbox.next(Math.max(1, Math.min(deadline - Date.now(), options.firstMessageTimeoutMs ?? FIRST_MESSAGE_TIMEOUT_MS)));
    // Anything but a bare ephemeral key (random bytes, another protocol) is refused at once
    // instead of tying up a handshake slot until the timeout.
    if (message1.length !== FIRST_MESSAGE_BYTES) {
      throw new HandshakeError('bad_payload', 'Handshake failed: first message is not a Canopy handshake');
    }
    step(() => noise.readMessage(message1));
    const payload = typeof options.payload === 'function' ? options.payload(undefined) : options.payload;
    ws.send(step(() => noise.writeMessage(payload)));
    const message3 = await receive();
    const remotePayload = step(() => noise.readMessage(message3));
    return finish(options.verify(remotePayload, noise.remoteStaticKey!));
  } catch (error) {
    if (error instanceof HandshakeError) throw error;
    const timedOut = error instanceof InboxTimeoutError || Date.now() >= deadline;
    throw new HandshakeError(timedOut ? 'timeout' : 'noise_failed', `Handshake failed: ${(error as Error).message}`);
  }
}
