import type { CipherState } from './cipher-state.ts';
import { FrameTooLargeError, NoiseError } from './errors.ts';
import type { XXHandshake } from './handshake.ts';

// WebSocket messages are self-delimiting, so frames may exceed Noise's 65535 bytes; 1 MiB bounds memory per frame.
export const MAX_FRAME_BYTES = 1024 * 1024;
const TAGLEN = 16;
const NO_AD = new Uint8Array(0);

/**
 * The encrypted channel after a completed handshake. Frames must be opened in the order they
 * were sealed; any failure (tampered, replayed, reordered, truncated) poisons the transport for
 * good, and the caller closes the link.
 */
export class SecureTransport {
  readonly #send: CipherState;
  readonly #receive: CipherState;
  #failure: NoiseError | undefined;

  constructor(keys: { send: CipherState; receive: CipherState }) {
    if (!keys.send.hasKey() || !keys.receive.hasKey()) {
      throw new NoiseError('SecureTransport needs the keyed cipher states of a completed handshake');
    }
    this.#send = keys.send;
    this.#receive = keys.receive;
  }

  static fromHandshake(handshake: XXHandshake): SecureTransport {
    return new SecureTransport(handshake.split());
  }

  /** Set once the transport is poisoned; the reason to give when closing the link. */
  get failure(): NoiseError | undefined {
    return this.#failure;
  }

  seal(plaintext: Uint8Array): Uint8Array {
    this.#assertUsable();
    // Refusing to send is a local error, not a sign of attack: nothing was sent, so no poisoning.
    if (plaintext.length > MAX_FRAME_BYTES) {
      throw new FrameTooLargeError(`Frame of ${plaintext.length} bytes exceeds the ${MAX_FRAME_BYTES}-byte limit`);
    }
    return this.#poisonOnError(() => this.#send.encryptWithAd(NO_AD, plaintext));
  }

  open(ciphertext: Uint8Array): Uint8Array {
    this.#assertUsable();
    return this.#poisonOnError(() => {
      if (ciphertext.length > MAX_FRAME_BYTES + TAGLEN) {
        throw new FrameTooLargeError(`Received frame of ${ciphertext.length} bytes exceeds the ${MAX_FRAME_BYTES}-byte limit`);
      }
      if (ciphertext.length < TAGLEN) throw new NoiseError('Received frame is shorter than its authentication tag');
      return this.#receive.decryptWithAd(NO_AD, ciphertext);
    });
  }

  #assertUsable(): void {
    if (this.#failure) throw new NoiseError('Secure transport is closed after an earlier failure', { cause: this.#failure });
  }

  #poisonOnError<T>(step: () => T): T {
    try {
      return step();
    } catch (error) {
      this.#failure = error instanceof NoiseError ? error : new NoiseError('Secure transport failed', { cause: error });
      throw this.#failure;
    }
  }
}
