import type { DeviceProfile, Profile } from '../../protocol/app/contract.ts';
import type { SettingsRepository } from '../store/index.ts';
import { ServiceError } from './errors.ts';

const MAX_AVATAR_CHARS = 64 * 1024;
const AVATAR = /^data:image\/(png|jpeg|webp|gif);base64,[A-Za-z0-9+/=]+$/;

const EMPTY_USER: Profile = { display_name: '', bio: '', avatar: null };
const EMPTY_DEVICE: DeviceProfile = { display_name: '', description: '', avatar: null };

function text(value: unknown, field: string, max: number): string {
  if (typeof value !== 'string') throw new ServiceError(400, `${field} must be text`);
  if (value.length > max) throw new ServiceError(400, `${field} is too long (max ${max} characters)`);
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
    const user = { ...this.get().user };
    if ('display_name' in update) user.display_name = text(update.display_name, 'display_name', 64);
    if ('bio' in update) user.bio = text(update.bio, 'bio', 500);
    if ('avatar' in update) user.avatar = avatar(update.avatar);
    this.settings.set('profile.user', user);
    this.onChange();
    return { user };
  }

  setDevice(update: Record<string, unknown>): { device: DeviceProfile } {
    const device = { ...this.get().device };
    if ('display_name' in update) device.display_name = text(update.display_name, 'display_name', 64);
    if ('description' in update) device.description = text(update.description, 'description', 200);
    if ('avatar' in update) device.avatar = avatar(update.avatar);
    this.settings.set('profile.device', device);
    this.onChange();
    return { device };
  }
}
