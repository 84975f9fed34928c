import type { DeviceProfile, Profile } from '../../protocol/app/contract.ts';
import { isUnicodeText } from '../../protocol/frames.ts';
import type { SettingsRepository } from '../store/index.ts';
import { ServiceError } from './errors.ts';

const MAX_AVATAR_CHARS = 64 * 1024;
const AVATAR = /^data:image\/(png|jpeg|webp|gif);base64,[A-Za-z0-9+/=]+$/;

type FieldRules<T> = { [K in keyof T]: (value: unknown) => T[K] };

const USER_FIELDS: FieldRules<Profile> = {
  display_name: (value) => text(value, 'display_name', 64),
  bio: (value) => text(value, 'bio', 500),
  avatar: (value) => avatar(value),
};
const DEVICE_FIELDS: FieldRules<DeviceProfile> = {
  display_name: (value) => text(value, 'display_name', 64),
  description: (value) => text(value, 'description', 200),
  avatar: (value) => avatar(value),
};

const EMPTY_USER: Profile = { display_name: '', bio: '', avatar: null };
const EMPTY_DEVICE: DeviceProfile = { display_name: '', description: '', avatar: null };

function text(value: unknown, field: string, max: number): string {
  if (typeof value !== 'string') throw new ServiceError(400, `${field} must be text`);
  if (value.length > max) throw new ServiceError(400, `${field} is too long (max ${max} characters)`);
  // Peers would receive a lone surrogate as U+FFFD: refuse it here, as message content is.
  if (!isUnicodeText(value)) throw new ServiceError(400, `${field} must be valid Unicode text (it holds a lone surrogate)`);
  return value.trim();
}

function avatar(value: unknown): string | null {
  if (value === null || value === '') return null;
  if (typeof value !== 'string' || !AVATAR.test(value)) {
    throw new ServiceError(400, 'avatar must be a PNG, JPEG, WebP or GIF data: URL');
  }
  if (value.length > MAX_AVATAR_CHARS) throw new ServiceError(400, 'avatar is too large (max 64 KiB); use a smaller image');
  return value;
}

/** This instance's user profile and device profile, kept locally (propagation to peers comes with profile sync). */
export class ProfileService {
  /** Called after either profile changed, so peers can be told. */
  onChange: () => void = () => {};

  constructor(private readonly settings: SettingsRepository) {}

  get(): { user: Profile; device: DeviceProfile } {
    return {
      user: { ...EMPTY_USER, ...this.settings.get<Profile>('profile.user') },
      device: { ...EMPTY_DEVICE, ...this.settings.get<DeviceProfile>('profile.device') },
    };
  }

  setUser(update: Record<string, unknown>): { user: Profile } {
    return { user: this.save('profile.user', this.get().user, update, USER_FIELDS) };
  }

  setDevice(update: Record<string, unknown>): { device: DeviceProfile } {
    return { device: this.save('profile.device', this.get().device, update, DEVICE_FIELDS) };
  }

  /** Validates the fields present in `update`, stores the merged profile and tells peers. */
  private save<T extends object>(key: string, current: T, update: Record<string, unknown>, rules: FieldRules<T>): T {
    const next = { ...current };
    for (const field of Object.keys(rules) as Array<keyof T & string>) {
      if (field in update) next[field] = rules[field](update[field]);
    }
    this.settings.set(key, next);
    this.onChange();
    return next;
  }
}
