import { chmodSync, existsSync, readFileSync, statSync } from 'node:fs';
import type { CryptoBackend } from '../../protocol/crypto/types.ts';
import { generateIdentity, identityFromFile, identityToFile, type Identity, type IdentityFile } from '../../protocol/identity.ts';
import { writeFileAtomic } from './paths.ts';

/** Loads the instance identity, creating it on first launch. The file holds private keys: mode 0600. */
export function loadOrCreateIdentity(crypto: CryptoBackend, file: string, warn: (message: string) => void): Identity {
  if (!existsSync(file)) {
    const identity = generateIdentity(crypto);
    writeFileAtomic(file, JSON.stringify(identityToFile(identity), null, 2) + '\n', 0o600);
    return identity;
  }
  if ((statSync(file).mode & 0o077) !== 0) {
    warn(`${file} was readable by other users; restricting it to mode 0600`);
    chmodSync(file, 0o600);
  }
  return identityFromFile(crypto, JSON.parse(readFileSync(file, 'utf8')) as IdentityFile);
}
