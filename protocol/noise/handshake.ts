import { concatBytes } from '../bytes.ts';
import { generateKeyPair, type CryptoBackend, type KeyPair } from '../crypto/types.ts';
import type { CipherState } from './cipher-state.ts';
import { NoiseError } from './errors.ts';
import { SymmetricState } from './symmetric-state.ts';

export const NOISE_PROTOCOL_NAME = 'Noise_XX_25519_ChaChaPoly_SHA256';

const DHLEN = 32;
const TAGLEN = 16;
/** Noise's limit on every message (spec §3); handshake messages here are far smaller. */
const MAX_HANDSHAKE_MESSAGE_BYTES = 65535;
const EMPTY = new Uint8Array(0);

type DhToken = 'ee' | 'es' | 'se';
type Token = 'e' | 's' | DhToken;
type KeyRef = 'e' | 's';

/** XX: -> e ; <- e, ee, s, es ; -> s, se */
const XX_MESSAGES: readonly (readonly Token[])[] = [['e'], ['e', 'ee', 's', 'es'], ['s', 'se']];

/** Which of our keys and which of the peer's each DH token combines, from each side's view. */
const DH_KEYS: Record<DhToken, { initiator: [KeyRef, KeyRef]; responder: [KeyRef, KeyRef] }> = {
  ee: { initiator: ['e', 'e'], responder: ['e', 'e'] },
  es: { initiator: ['e', 's'], responder: ['s', 'e'] },
  se: { initiator: ['s', 'e'], responder: ['e', 's'] },
};

export interface XXHandshakeOptions {
  initiator: boolean;
  /** Our long-term X25519 key pair. */
  staticKey: KeyPair;
  /** Must be identical on both sides, or the handshake fails at message 2. */
  prologue: Uint8Array;
  /** Only for test vectors: a fixed ephemeral key. Normally one is generated per handshake. */
  ephemeralKey?: KeyPair;
}

/** Reads fixed-size fields off the front of a handshake message. */
class MessageReader {
  readonly #message: Uint8Array;
  #offset = 0;

  constructor(message: Uint8Array) {
    this.#message = message;
  }

  take(length: number): Uint8Array {
    if (this.#offset + length > this.#message.length) throw new NoiseError('Handshake message is too short');
    const field = this.#message.slice(this.#offset, this.#offset + length);
    this.#offset += length;
    return field;
  }

  rest(): Uint8Array {
    return this.#message.slice(this.#offset);
  }
}

function assertX25519KeyPair(keyPair: KeyPair, what: string): void {
  if (keyPair.publicKey.length !== DHLEN || keyPair.secretKey.length !== DHLEN) {
    throw new NoiseError(`The ${what} must be a 32-byte X25519 key pair`);
  }
}

/** Noise_XX_25519_ChaChaPoly_SHA256 HandshakeState (spec §5.3) for one side of one handshake. */
export class XXHandshake {
  readonly #crypto: CryptoBackend;
  readonly #initiator: boolean;
  readonly #static: KeyPair;
  readonly #symmetric: SymmetricState;
  #ephemeral: KeyPair | undefined;
  #remoteEphemeral: Uint8Array | undefined;
  #remoteStatic: Uint8Array | undefined;
  #messageIndex = 0;
  #failure: NoiseError | undefined;
  #splitDone = false;

  constructor(crypto: CryptoBackend, options: XXHandshakeOptions) {
    assertX25519KeyPair(options.staticKey, 'static key');
    if (options.ephemeralKey) assertX25519KeyPair(options.ephemeralKey, 'ephemeral key');
    this.#crypto = crypto;
    this.#initiator = options.initiator;
    this.#static = options.staticKey;
    this.#ephemeral = options.ephemeralKey;
    this.#symmetric = new SymmetricState(crypto, NOISE_PROTOCOL_NAME);
    this.#symmetric.mixHash(options.prologue);
  }

  get isComplete(): boolean {
    return this.#failure === undefined && this.#messageIndex === XX_MESSAGES.length;
  }

  /** The peer's static X25519 key, known from message 2 (initiator) or message 3 (responder). */
  get remoteStaticKey(): Uint8Array | undefined {
    return this.#remoteStatic?.slice();
  }

  /** Binds the whole transcript; equal on both sides once complete (channel binding). */
  get handshakeHash(): Uint8Array {
    return this.#symmetric.handshakeHash;
  }

  /** Writes our next handshake message. The message-1 payload is sent in the clear. */
  writeMessage(payload: Uint8Array): Uint8Array {
    return this.#guard(() => {
      const tokens = this.#nextTokens('write');
      const parts = tokens.map((token) => this.#writeToken(token));
      parts.push(this.#symmetric.encryptAndHash(payload));
      const message = concatBytes(...parts);
      if (message.length > MAX_HANDSHAKE_MESSAGE_BYTES) {
        throw new NoiseError(`Handshake message of ${message.length} bytes exceeds ${MAX_HANDSHAKE_MESSAGE_BYTES}`);
      }
      this.#messageIndex++;
      return message;
    });
  }

  /** Reads the peer's next handshake message and returns its payload. */
  readMessage(message: Uint8Array): Uint8Array {
    return this.#guard(() => {
      const tokens = this.#nextTokens('read');
      if (message.length > MAX_HANDSHAKE_MESSAGE_BYTES) {
        throw new NoiseError(`Handshake message of ${message.length} bytes exceeds ${MAX_HANDSHAKE_MESSAGE_BYTES}`);
      }
      const reader = new MessageReader(message);
      for (const token of tokens) this.#readToken(token, reader);
      const encryptedPayload = reader.rest();
      if (this.#symmetric.hasKey() && encryptedPayload.length < TAGLEN) {
        throw new NoiseError('Handshake message is too short');
      }
      const payload = this.#symmetric.decryptAndHash(encryptedPayload);
      this.#messageIndex++;
      return payload;
    });
  }

  /** The transport cipher states, oriented for this side. May be called once, after completion. */
  split(): { send: CipherState; receive: CipherState } {
    if (this.#failure) throw new NoiseError('Handshake has failed', { cause: this.#failure });
    if (!this.isComplete) throw new NoiseError('Handshake is not complete');
    if (this.#splitDone) throw new NoiseError('split() may be called only once: a second copy would reuse nonces');
    this.#splitDone = true;
    const [initiatorToResponder, responderToInitiator] = this.#symmetric.split();
    return this.#initiator
      ? { send: initiatorToResponder, receive: responderToInitiator }
      : { send: responderToInitiator, receive: initiatorToResponder };
  }

  /** Any error kills the handshake: a half-processed message leaves the state unusable. */
  #guard<T>(step: () => T): T {
    if (this.#failure) throw new NoiseError('Handshake has already failed', { cause: this.#failure });
    try {
      return step();
    } catch (error) {
      this.#failure =
        error instanceof NoiseError
          ? error
          : new NoiseError(`Handshake failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      throw this.#failure;
    }
  }

  #nextTokens(direction: 'write' | 'read'): readonly Token[] {
    const tokens = XX_MESSAGES[this.#messageIndex];
    if (!tokens) throw new NoiseError('Handshake is already complete');
    const initiatorWritesNext = this.#messageIndex % 2 === 0;
    const weWriteNext = initiatorWritesNext === this.#initiator;
    const number = this.#messageIndex + 1;
    if (direction === 'write' && !weWriteNext) throw new NoiseError(`Out of turn: handshake message ${number} is the peer's to write`);
    if (direction === 'read' && weWriteNext) throw new NoiseError(`Out of turn: handshake message ${number} is ours to write`);
    return tokens;
  }

  #writeToken(token: Token): Uint8Array {
    switch (token) {
      case 'e': {
        this.#ephemeral ??= generateKeyPair(this.#crypto, 'x25519');
        this.#symmetric.mixHash(this.#ephemeral.publicKey);
        return this.#ephemeral.publicKey.slice();
      }
      case 's':
        return this.#symmetric.encryptAndHash(this.#static.publicKey);
      default:
        this.#mixDh(token);
        return EMPTY;
    }
  }

  #readToken(token: Token, reader: MessageReader): void {
    switch (token) {
      case 'e':
        this.#remoteEphemeral = reader.take(DHLEN);
        this.#symmetric.mixHash(this.#remoteEphemeral);
        return;
      case 's': {
        const length = this.#symmetric.hasKey() ? DHLEN + TAGLEN : DHLEN;
        this.#remoteStatic = this.#symmetric.decryptAndHash(reader.take(length));
        return;
      }
      default:
        this.#mixDh(token);
    }
  }

  #mixDh(token: DhToken): void {
    const [ours, theirs] = DH_KEYS[token][this.#initiator ? 'initiator' : 'responder'];
    const local = ours === 'e' ? this.#ephemeral : this.#static;
    const remote = theirs === 'e' ? this.#remoteEphemeral : this.#remoteStatic;
    if (!local || !remote) throw new NoiseError(`Missing key for ${token}`);
    this.#symmetric.mixKey(this.#crypto.x25519(local.secretKey, remote));
  }
}
