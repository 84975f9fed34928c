import type { SessionStatus, DeviceInfo } from '../../protocol/app/contract.ts';
import { CANOPY_VERSION } from '../../protocol/version.ts';
import type { DeviceRecord, Store } from '../store/index.ts';
import { ServiceError } from './errors.ts';
import type { Logger } from '../logger.ts';
import { limitWarning } from '../rate-limited-log.ts';
import { LoginThrottle, type ThrottleKey } from './login-throttle.ts';
import { HashingBusyError, hashPassword, verifyPassword } from './passwords.ts';
import { ensureSetupCode, setupCodeMatches, spendSetupCode } from './setup-code.ts';

const USERNAME = /^[\p{L}\p{N}_.-]{1,64}$/u;
const MIN_PASSWORD = 8;
const MAX_PASSWORD = 1024;
const INVALID_LOGIN = 'Invalid username or password';
const WHERE_IS_THE_CODE = 'it is printed in the terminal where Canopy runs, or run `npx canopy setup-code`';

/** Free failures per key before the waits start (then 1 s, 2 s, 4 s, … see login-throttle.ts). */
export const LOGIN_ALLOWANCE = {
  /** Per browser (device key). */
  device: 5,
  /** Per username, shared by every browser that is not already logged in. */
  username: 20,
  /** Wrong setup codes per browser and per address. */
  setupDevice: 5,
  setupAddress: 10,
};

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** The browser asking: its Noise-proven device key, its label and the address it connects from. */
export interface Requester {
  deviceKey: Uint8Array;
  label: string;
  address: string;
}

/** The web app's one local account and the browsers logged in to it (each known by its device key). */
export class AccountService {
  private readonly warnBusy;
  private readonly warnThrottled;
  private dummy: Promise<string> | null = null;
  /** Called once the account exists: until a display name is set, peers see its username. */
  onAccountCreated: () => void = () => {};

  constructor(
    private readonly store: Store,
    private readonly peerId: string,
    log: Logger,
    private readonly throttle = new LoginThrottle(),
  ) {
    this.warnBusy = limitWarning(log, 'app', 'password checks saturated: login refused as busy');
    this.warnThrottled = limitWarning(log, 'app', 'login or setup refused: too many failures');
    // A fresh instance gets its setup code now, so `start` can print it and setup can check it.
    ensureSetupCode(store);
  }

  status(device: DeviceRecord | undefined, deviceKey: string): SessionStatus {
    const user = device ? this.store.accounts.userById(device.userId) : undefined;
    return {
      peer_id: this.peerId,
      canopy_version: CANOPY_VERSION,
      setup_required: !this.store.accounts.hasUsers(),
      authenticated: Boolean(user),
      username: user?.username ?? null,
      device_id: device?.id ?? deviceKey,
    };
  }

  /** First visit on a fresh instance: with the setup code, creates the account and logs this browser in. */
  async setup(username: string, password: string, setupCode: string, who: Requester): Promise<DeviceRecord> {
    if (this.store.accounts.hasUsers()) throw new ServiceError(409, 'Setup is already done: log in instead');
    const keys = [
      { key: `setup-device:${keyId(who.deviceKey)}`, freeFailures: LOGIN_ALLOWANCE.setupDevice },
      { key: `setup-address:${who.address}`, freeFailures: LOGIN_ALLOWANCE.setupAddress },
    ];
    this.refuseWhileThrottled(keys, 'wrong setup codes');
    if (!setupCode.trim()) throw new ServiceError(400, `Setup code required: ${WHERE_IS_THE_CODE}`);
    if (!setupCodeMatches(this.store, setupCode)) {
      this.throttle.reserve(keys);
      this.throttle.fail(keys);
      throw new ServiceError(403, `Wrong setup code: ${WHERE_IS_THE_CODE}`, this.outlook(keys));
    }
    if (!USERNAME.test(username)) {
      throw new ServiceError(400, 'Username must be 1-64 letters, digits, dots, dashes or underscores');
    }
    if (password.length < MIN_PASSWORD) throw new ServiceError(400, `Password must be at least ${MIN_PASSWORD} characters`);
    if (password.length > MAX_PASSWORD) throw new ServiceError(400, 'Password is too long');
    const hash = await this.hashing(() => hashPassword(password));
    const device = this.store.db.transaction(() => {
      if (this.store.accounts.hasUsers()) throw new ServiceError(409, 'Setup is already done: log in instead');
      const user = this.store.accounts.createUser(username, hash);
      spendSetupCode(this.store);
      return this.store.accounts.registerDevice(who.deviceKey, user.id, who.label);
    })();
    this.onAccountCreated();
    return device;
  }

  async login(username: string, password: string, who: Requester): Promise<DeviceRecord> {
    // A browser gets a few tries; a username more, shared by every browser, so that guessing with
    // many fresh device keys is still bounded. A browser already logged in has proven the password
    // and is exempt from the username's count: strangers cannot lock the owner's browsers out.
    const keys: ThrottleKey[] = [{ key: `device:${keyId(who.deviceKey)}`, freeFailures: LOGIN_ALLOWANCE.device }];
    if (!this.store.accounts.activeDevice(who.deviceKey)) {
      keys.push({ key: `user:${username.toLowerCase()}`, freeFailures: LOGIN_ALLOWANCE.username });
    }
    this.refuseWhileThrottled(keys, 'failed logins');
    // Counted before the slow hash, so parallel guesses cannot all pass the check above.
    this.throttle.reserve(keys);
    const user = this.store.accounts.userByName(username);
    // Hash even for an unknown user so timing does not reveal which usernames exist.
    let ok: boolean;
    try {
      ok = await this.hashing(async () => verifyPassword(password, user?.passwordHash ?? (await this.dummyHash())));
    } catch (error) {
      this.throttle.refund(keys); // refused as busy (or broke): no password was checked
      throw error;
    }
    if (!user || !ok) {
      this.throttle.fail(keys);
      throw new ServiceError(401, INVALID_LOGIN, this.outlook(keys));
    }
    this.throttle.succeed(keys);
    return this.store.accounts.registerDevice(who.deviceKey, user.id, who.label);
  }

  private refuseWhileThrottled(keys: ThrottleKey[], what: string): void {
    const wait = Math.ceil(this.throttle.retryAfter(keys) / 1000);
    if (wait <= 0) return;
    this.warnThrottled({ what });
    throw new ServiceError(429, `Too many ${what}; try again in ${wait} second${wait === 1 ? '' : 's'}`, { retry_after_seconds: wait });
  }

  /**
   * What a wrong attempt tells the browser besides the refusal: how many wrong tries it has left
   * before the waits begin, and the wait this one started (so the form counts down at once instead
   * of learning it from the next try's 429).
   */
  private outlook(keys: ThrottleKey[]): { attempts_left: number; retry_after_seconds?: number } {
    const wait = Math.ceil(this.throttle.retryAfter(keys) / 1000);
    return { attempts_left: this.throttle.attemptsLeft(keys), ...(wait > 0 ? { retry_after_seconds: wait } : {}) };
  }

  /** Runs a password hash; a saturated hasher becomes a 503 that says to retry. */
  private async hashing<T>(job: () => Promise<T>): Promise<T> {
    try {
      return await job();
    } catch (error) {
      if (!(error instanceof HashingBusyError)) throw error;
      this.warnBusy();
      throw new ServiceError(503, error.message, { retry_after_seconds: 1 });
    }
  }

  private dummyHash(): Promise<string> {
    // Made on first need; a refused attempt (busy) must not be remembered as the dummy.
    this.dummy ??= hashPassword('not a real password').catch((error: unknown) => {
      this.dummy = null;
      throw error;
    });
    return this.dummy;
  }

  devices(currentId: string | null, connectedIds: Set<string>): { devices: DeviceInfo[] } {
    return {
      devices: this.store.accounts.devices().map((device) => ({
        id: device.id,
        label: device.label,
        created_at: iso(device.createdAt)!,
        last_seen_at: iso(device.lastSeenAt),
        current: device.id === currentId,
        connected: connectedIds.has(device.id),
      })),
    };
  }

  revokeDevice(id: string): { status: 'revoked'; id: string } {
    if (!this.store.accounts.revokeDevice(id)) throw new ServiceError(404, 'Browser not found', { id });
    return { status: 'revoked', id };
  }
}

const keyId = (deviceKey: Uint8Array) => Buffer.from(deviceKey).toString('base64url');
