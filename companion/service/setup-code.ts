// The one-time code that creating the first account needs, as Jupyter's token: whoever can read
// the terminal (or the data dir) where Canopy runs is the owner; a web page or a LAN host that
// reaches the port first is not. It is made when no account exists, kept in the settings table
// (inside the owner-only database) so `canopy setup-code` can print it while the instance runs,
// and deleted in the same transaction that creates the account.
import { createHash, randomInt, timingSafeEqual } from 'node:crypto';
import type { Store } from '../store/index.ts';

const SETTING = 'setup_code';
// Crockford's base32: no I, L, O or U, so a code read aloud or copied by hand survives.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/** 16 characters of 5 bits: 80 bits, shown as four groups of four. */
const LENGTH = 16;
const GROUP = 4;

function generate(): string {
  let code = '';
  for (let i = 0; i < LENGTH; i++) code += ALPHABET[randomInt(ALPHABET.length)];
  return code.match(new RegExp(`.{${GROUP}}`, 'g'))!.join('-');
}

/** What the user typed, as the stored form compares it: case, spaces and dashes ignored, O→0, I/L→1. */
function normalize(code: string): string {
  return code
    .toUpperCase()
    .replace(/[\s-]/g, '')
    .replace(/O/g, '0')
    .replace(/[IL]/g, '1');
}

const digest = (text: string) => createHash('sha256').update(text).digest();

/**
 * The current setup code, made now if the instance has no account yet; null once an account
 * exists (a code left over from before is deleted then).
 */
export function ensureSetupCode(store: Store): string | null {
  return store.db
    .transaction((): string | null => {
      if (store.accounts.hasUsers()) {
        store.settings.delete(SETTING);
        return null;
      }
      const existing = store.settings.get<string>(SETTING);
      if (existing) return existing;
      const code = generate();
      store.settings.set(SETTING, code);
      return code;
    })
    .immediate();
}

/** Whether `candidate` is the current setup code. Compared in constant time (over digests). */
export function setupCodeMatches(store: Store, candidate: string): boolean {
  const stored = store.settings.get<string>(SETTING);
  if (!stored) return false;
  return timingSafeEqual(digest(normalize(candidate)), digest(normalize(stored)));
}

/** Called inside the transaction that creates the account: the code is spent. */
export function spendSetupCode(store: Store): void {
  store.settings.delete(SETTING);
}
