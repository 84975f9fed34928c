import { fromUtf8, utf8 } from '../../protocol/bytes.ts';
import { AeadError } from '../../protocol/crypto/types.ts';
import { randomBytes } from 'node:crypto';
import { nodeCrypto } from '../crypto/node.ts';

const NONCE_LENGTH = 12;
const TAG_LENGTH = 16;
/** Nonces are cut from one CSPRNG draw of this size: a draw per row was 5 % of a post's CPU. */
const NONCE_POOL_BYTES = 4096;

let noncePool = Buffer.alloc(0);
let nonceOffset = 0;

/** 12 fresh random bytes, never handed out twice (the pool only moves forward). */
function freshNonce(): Uint8Array {
  if (nonceOffset + NONCE_LENGTH > noncePool.length) {
    noncePool = randomBytes(NONCE_POOL_BYTES);
    nonceOffset = 0;
  }
  const nonce = noncePool.subarray(nonceOffset, nonceOffset + NONCE_LENGTH);
  nonceOffset += NONCE_LENGTH;
  return nonce;
}

/**
 * Encrypts stored bodies so the SQLite file alone does not reveal messages. Blob layout:
 * random 12-byte nonce || ChaCha20-Poly1305 ciphertext and tag. Random nonces are safe here:
 * the birthday bound for 96-bit nonces is far beyond any message count one instance stores.
 *
 * `context` is bound as associated data (e.g. the row's id and column), so a blob copied into
 * another row fails to open instead of showing one message under another's author.
 */
export class AtRestCipher {
  readonly #key: Uint8Array;

  constructor(key: Uint8Array) {
    if (key.length !== 32) throw new Error('At-rest key must be 32 bytes');
    this.#key = Uint8Array.from(key);
  }

  seal(text: string, context?: string): Buffer {
    const nonce = freshNonce();
    const sealed = nodeCrypto.aeadEncrypt(this.#key, nonce, utf8(text), aad(context));
    return Buffer.concat([nonce, sealed]);
  }

  /** Throws (AeadError) on a wrong key, a tampered blob, or a blob moved from another context. */
  open(blob: Uint8Array, context?: string): string {
    if (blob.length < NONCE_LENGTH + TAG_LENGTH) throw new AeadError();
    const plain = nodeCrypto.aeadDecrypt(this.#key, blob.subarray(0, NONCE_LENGTH), blob.subarray(NONCE_LENGTH), aad(context));
    return fromUtf8(plain);
  }
}

const aad = (context: string | undefined): Uint8Array | undefined => (context === undefined ? undefined : utf8(context));
