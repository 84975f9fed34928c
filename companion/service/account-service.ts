import type { SessionStatus, DeviceInfo } from '../../protocol/app/contract.ts';
import { CANOPY_VERSION } from '../../protocol/version.ts';
import type { DeviceRecord, Store } from '../store/index.ts';
import { ServiceError } from './errors.ts';
import { LoginThrottle } from './login-throttle.ts';
import { hashPassword, verifyPassword } from './passwords.ts';

const USERNAME = /^[\p{L}\p{N}_.-]{1,64}$/u;
const MIN_PASSWORD = 8;
const MAX_PASSWORD = 1024;
const INVALID_LOGIN = 'Invalid username or password';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** The web app's one local account and the browsers logged in to it (each known by its device key). */
export class AccountService {
  private readonly throttle = new LoginThrottle();
  private dummy: Promise<string> | null = null;

  constructor(
    private readonly store: Store,
    private readonly peerId: string,
  ) {}

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

  /** First visit on a fresh instance: creates the account and logs this browser in. */
  async setup(username: string, password: string, deviceKey: Uint8Array, label: string): Promise<DeviceRecord> {
    if (this.store.accounts.hasUsers()) throw new ServiceError(409, 'Setup is already done: log in instead');
    if (!USERNAME.test(username)) {
      throw new ServiceError(400, 'Username must be 1-64 letters, digits, dots, dashes or underscores');
    }
    if (password.length < MIN_PASSWORD) throw new ServiceError(400, `Password must be at least ${MIN_PASSWORD} characters`);
    if (password.length > MAX_PASSWORD) throw new ServiceError(400, 'Password is too long');
    const hash = await hashPassword(password);
    return this.store.db.transaction(() => {
      if (this.store.accounts.hasUsers()) throw new ServiceError(409, 'Setup is already done: log in instead');
      const user = this.store.accounts.createUser(username, hash);
      return this.store.accounts.registerDevice(deviceKey, user.id, label);
    })();
  }

  async login(username: string, password: string, deviceKey: Uint8Array, label: string): Promise<DeviceRecord> {
    // A browser gets a few tries; a username more, shared by every browser, so that guessing with
    // many fresh device keys is still bounded without letting a stranger lock the owner out at once.
    const keys = [
      { key: `device:${Buffer.from(deviceKey).toString('base64url')}`, maxFailures: 5 },
      { key: `user:${username.toLowerCase()}`, maxFailures: 20 },
    ];
    const wait = this.throttle.retryAfter(keys);
    if (wait > 0) {
      throw new ServiceError(429, `Too many failed logins; try again in ${Math.ceil(wait / 1000)} seconds`, {
        retry_after_seconds: Math.ceil(wait / 1000),
      });
    }
    const user = this.store.accounts.userByName(username);
    // Hash even for an unknown user so timing does not reveal which usernames exist.
    const ok = await verifyPassword(password, user?.passwordHash ?? (await this.dummyHash()));
    if (!user || !ok) {
      this.throttle.fail(keys);
      throw new ServiceError(401, INVALID_LOGIN);
    }
    this.throttle.succeed(keys);
    return this.store.accounts.registerDevice(deviceKey, user.id, label);
  }

  private dummyHash(): Promise<string> {
    this.dummy ??= hashPassword('not a real password');
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
