import { EventEmitter } from 'node:events';
import type { LinkFrame } from './link.ts';
import type { Link } from './link.ts';
import type { LinkManager } from './link-manager.ts';
import type { ProfileService } from '../service/profile-service.ts';
import type { Store } from '../store/index.ts';

type ProfileFrame = Extract<LinkFrame, { t: 'profile' }>;

/**
 * Profile cards between directly linked peers: each side sends its own on link-up and whenever
 * it changes, so the Connect page shows names instead of peer IDs. (Cards of peers further away
 * arrive with mesh-wide profile propagation.)
 */
export class ProfileExchange extends EventEmitter<{ changed: [peerId: string] }> {
  constructor(
    private readonly store: Store,
    private readonly manager: LinkManager,
    private readonly profiles: ProfileService,
  ) {
    super();
  }

  linkUp(link: Link): void {
    link.send(this.card());
  }

  /** Sends our card to every linked peer; call after our profile changed. */
  announce(): void {
    const card = this.card();
    for (const link of this.manager.connected()) link.send(card);
  }

  receive(link: Link, frame: ProfileFrame): void {
    const name = frame.display_name.trim() || frame.device_name.trim() || null;
    this.store.settings.set(`peer_profile.${link.peerId}`, {
      display_name: frame.display_name,
      bio: frame.bio,
      device_name: frame.device_name,
      device_description: frame.device_description,
    });
    if (this.store.peers.get(link.peerId)?.displayName !== name) {
      this.store.peers.setDisplayName(link.peerId, name);
      this.emit('changed', link.peerId);
    }
  }

  private card(): ProfileFrame {
    const { user, device } = this.profiles.get();
    return {
      t: 'profile',
      display_name: user.display_name,
      bio: user.bio,
      device_name: device.display_name,
      device_description: device.description,
    };
  }
}
