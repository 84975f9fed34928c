// Issue 9, item 9: a wrong password tells the browser how many tries it has left before the waits
// begin (`attempts_left`), and the wrong try that starts a wait says how long at once
// (`retry_after_seconds` on the 401 itself); the waits grow 1 s, 2 s, 4 s instead of a long lockout.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Logger } from '../../../companion/logger.ts';
import { AccountService, LOGIN_ALLOWANCE, type Requester } from '../../../companion/service/account-service.ts';
import { refusal } from './refusal.ts';
import { LoginThrottle } from '../../../companion/service/login-throttle.ts';
import { ensureSetupCode } from '../../../companion/service/setup-code.ts';
import { openStore, type Store } from '../../../companion/store/index.ts';

const PASSWORD = 'correct horse battery';
const log: Logger = { info: () => {}, warn: () => {}, error: () => {} };
const owner: Requester = { deviceKey: new Uint8Array(32).fill(9), label: 'Laptop', address: '127.0.0.1' };
const browser: Requester = { deviceKey: new Uint8Array(32).fill(3), label: 'Phone', address: '127.0.0.1' };

let dir: string;
let store: Store;
const clock = { now: 1_000_000 };
let service: AccountService;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'canopy-login-outlook-'));
  store = openStore({ file: join(dir, 'canopy.db'), atRestKey: new Uint8Array(32).fill(1) });
  service = new AccountService(store, 'peer-under-test', log, new LoginThrottle(() => clock.now));
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('what a wrong password tells the browser', () => {
  it('counts down the free tries, then says each wait as it starts: 1 s, 2 s, 4 s', async () => {
    await service.setup('alice', PASSWORD, ensureSetupCode(store)!, owner);
    const left: unknown[] = [];
    for (let i = 0; i < LOGIN_ALLOWANCE.device - 1; i++) {
      const { status, details } = await refusal(service.login('alice', `wrong ${i}`, browser));
      expect(status).toBe(401);
      expect(details).not.toHaveProperty('retry_after_seconds');
      left.push(details.attempts_left);
    }
    expect(left).toEqual([4, 3, 2, 1]);

    const waits: unknown[] = [];
    for (let i = 0; i < 3; i++) {
      const wrong = await refusal(service.login('alice', 'still wrong', browser));
      expect(wrong).toMatchObject({ status: 401, message: 'Invalid username or password', details: { attempts_left: 0 } });
      waits.push(wrong.details.retry_after_seconds);
      // Trying again before the wait is over is refused without checking the password.
      expect(await refusal(service.login('alice', PASSWORD, browser))).toMatchObject({ status: 429, details: { retry_after_seconds: wrong.details.retry_after_seconds } });
      clock.now += Number(wrong.details.retry_after_seconds) * 1000;
    }
    expect(waits).toEqual([1, 2, 4]);

    // The right password after the wait logs in and starts the count afresh.
    await service.login('alice', PASSWORD, browser);
    const fresh = await refusal(service.login('alice', 'wrong again', browser));
    expect(fresh.details).toEqual({ attempts_left: LOGIN_ALLOWANCE.device - 1 });
  }, 60_000);

  it('says the same for wrong setup codes', async () => {
    ensureSetupCode(store);
    const wrong = await refusal(service.setup('alice', PASSWORD, 'AAAA-BBBB-CCCC-DDDD', browser));
    expect(wrong).toMatchObject({ status: 403, details: { attempts_left: LOGIN_ALLOWANCE.setupDevice - 1 } });
  });
});
