import type { ProfileCardView, ProfileSummary } from '../../protocol/app/contract.ts';
import type { Store, StoredProfileCard } from '../store/index.ts';
import { ServiceError } from './errors.ts';

/** Characters of card JSON per `profiles.list` page: with avatars it must fit one app-link frame. */
export const PROFILE_PAGE_CHARS = 512 * 1024;

/**
 * Who is who, for everything that shows a peer: the verified profile cards we hold (ours
 * included), and for a direct peer without a card yet, the name its legacy unsigned card left.
 */
export class ProfileDirectory {
  constructor(private readonly store: Store) {}

  card(peerId: string): StoredProfileCard | undefined {
    return this.store.profileCards.get(peerId);
  }

  /** Display name, else device name, else null. */
  nameOf(peerId: string): string | null {
    const names = this.store.profileCards.names(peerId);
    if (names) return names.displayName.trim() || names.deviceName.trim() || null;
    return this.store.peers.get(peerId)?.displayName ?? null;
  }

  /** Both names, '' when unknown (what introductions carry). */
  describe(peerId: string): { display_name: string; device_name: string } {
    const names = this.store.profileCards.names(peerId);
    if (names) return { display_name: names.displayName, device_name: names.deviceName };
    return { display_name: this.store.peers.get(peerId)?.displayName ?? '', device_name: '' };
  }

  /** GET /profiles: every card held, without avatars. */
  list(): { profiles: ProfileSummary[] } {
    return {
      profiles: this.store.profileCards.summaries().map((s) => ({
        peer_id: s.peerId,
        display_name: s.displayName,
        bio: s.bio,
        device_name: s.deviceName,
        device_description: s.deviceDescription,
        has_avatar: s.hasAvatar,
        has_device_avatar: s.hasDeviceAvatar,
        updated_at: s.updatedAt,
      })),
    };
  }

  /** GET /profiles/:peer_id: one card with its avatars; 404 when we hold none. */
  get(peerId: string): ProfileCardView {
    const held = this.store.profileCards.get(peerId);
    if (!held) throw new ServiceError(404, 'No profile card known for this peer', { peer_id: peerId });
    return cardView(held);
  }

  /** profiles.list: cards with avatars, in pages that fit one app-link frame. */
  page(after: string | undefined): { profiles: ProfileCardView[]; next_after: string | null } {
    const { cards, nextAfter } = this.store.profileCards.page(after ?? '', PROFILE_PAGE_CHARS);
    return { profiles: cards.map(cardView), next_after: nextAfter };
  }
}

export function cardView(held: StoredProfileCard): ProfileCardView {
  const { card } = held.signed;
  return {
    peer_id: card.peer_id,
    display_name: card.display_name,
    bio: card.bio,
    avatar: card.avatar,
    device_name: card.device.name,
    device_description: card.device.description,
    device_avatar: card.device.avatar,
    updated_at: card.updated_at,
  };
}
