import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HASHING_LIMITS, HashingBusyError, hashPassword, verifyPassword } from '../../../companion/service/passwords.ts';
import { ensureSetupCode, setupCodeMatches, spendSetupCode } from '../../../companion/service/setup-code.ts';
import { openStore, type Store } from '../../../companion/store/index.ts';

let dir: string;
let store: Store;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'canopy-setup-'));
  store = openStore({ file: join(dir, 'canopy.db'), atRestKey: new Uint8Array(32).fill(1) });
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('setup code', () => {
  it('is made once while no account exists, forgiving in how it is typed, and gone once spent', () => {
    const code = ensureSetupCode(store)!;
    expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/);
    expect(ensureSetupCode(store)).toBe(code);
    const typed = code.toLowerCase().replace(/-/g, ' ').replace(/0/g, 'o').replace(/1/g, 'l');
    expect(setupCodeMatches(store, typed)).toBe(true);
    expect(setupCodeMatches(store, `${code}0`)).toBe(false);
    expect(setupCodeMatches(store, '')).toBe(false);
    spendSetupCode(store);
    expect(setupCodeMatches(store, code)).toBe(false);
  });

  it('is deleted, not made, once an account exists', () => {
    ensureSetupCode(store);
    store.accounts.createUser('alice', 'scrypt$x');
    expect(ensureSetupCode(store)).toBeNull();
    expect(store.settings.get('setup_code')).toBeUndefined();
  });
});

describe('password hashing gate', () => {
  it(`runs at most ${HASHING_LIMITS.concurrent} + ${HASHING_LIMITS.queued} queued checks and refuses the rest as busy`, async () => {
    const stored = await hashPassword('a long password');
    const total = HASHING_LIMITS.concurrent + HASHING_LIMITS.queued + 6;
    const outcomes = await Promise.allSettled(Array.from({ length: total }, () => verifyPassword('a long password', stored)));
    const busy = outcomes.filter((o) => o.status === 'rejected' && o.reason instanceof HashingBusyError);
    const checked = outcomes.filter((o) => o.status === 'fulfilled' && o.value === true);
    expect(busy).toHaveLength(6);
    expect(checked).toHaveLength(total - 6);
    // The gate frees its slots: a later check runs.
    expect(await verifyPassword('wrong', stored)).toBe(false);
  }, 90_000);
});
