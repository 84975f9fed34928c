// Issue 6, deliverable 7: the account service's one 5xx. When every password-check slot is taken
// (passwords.ts HASHING_LIMITS), a login or setup is refused as a 503 ServiceError that says to
// retry in 1 s, and a refused login costs the browser none of its free tries.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Logger } from '../../../companion/logger.ts';
import { AccountService, LOGIN_ALLOWANCE, type Requester } from '../../../companion/service/account-service.ts';
import { refusal } from './refusal.ts';
import { HASHING_LIMITS, hashPassword } from '../../../companion/service/passwords.ts';
import { ensureSetupCode } from '../../../companion/service/setup-code.ts';
import { openStore, type Store } from '../../../companion/store/index.ts';

const PASSWORD = 'correct horse battery';
const BUSY = {
  status: 503,
  message: 'Too many logins are being checked right now; try again in a moment',
  details: { retry_after_seconds: 1 },
};

let dir: string;
let store: Store;
let service: AccountService;
const warnings: string[] = [];
const log: Logger = { info: () => {}, warn: (_area, message) => warnings.push(message), error: () => {} };
const browser: Requester = { deviceKey: new Uint8Array(32).fill(3), label: 'Phone', address: '127.0.0.1' };

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'canopy-account-busy-'));
  store = openStore({ file: join(dir, 'canopy.db'), atRestKey: new Uint8Array(32).fill(1) });
  service = new AccountService(store, 'peer-under-test', log);
  warnings.length = 0;
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Takes every running and queued hashing slot; resolves when those jobs are done. */
function saturateHasher(): Promise<unknown> {
  return Promise.all(Array.from({ length: HASHING_LIMITS.concurrent + HASHING_LIMITS.queued }, () => hashPassword('filler password')));
}

describe('account service while password checks are saturated', () => {
  it('refuses setup with 503 and retry_after_seconds, and keeps the setup code for the retry', async () => {
    const code = ensureSetupCode(store)!;
    const busy = saturateHasher();
    expect(await refusal(service.setup('alice', PASSWORD, code, browser))).toEqual(BUSY);
    await busy;
    expect(store.accounts.hasUsers()).toBe(false);
    await service.setup('alice', PASSWORD, code, browser);
    expect(store.accounts.hasUsers()).toBe(true);
  }, 60_000);

  it('refuses logins with 503 and retry_after_seconds without counting them as failures', async () => {
    await service.setup('alice', PASSWORD, ensureSetupCode(store)!, { ...browser, deviceKey: new Uint8Array(32).fill(9) });
    const busy = saturateHasher();
    // More refusals than the browser's free failures, one after another (each is refused within
    // microtasks, before any filler job can finish): were they counted, the later ones would get 429.
    for (let i = 0; i < LOGIN_ALLOWANCE.device + 2; i++) expect(await refusal(service.login('alice', 'wrong password', browser))).toEqual(BUSY);
    expect(warnings).toContain('password checks saturated: login refused as busy');
    await busy;
    const device = await service.login('alice', PASSWORD, browser);
    expect(device.userId).toBeDefined();
  }, 60_000);
});
