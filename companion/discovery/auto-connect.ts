import { z } from 'zod';
import type { Logger } from '../logger.ts';
import type { SettingsRepository } from '../store/index.ts';
import type { LanDiscovery } from './lan-discovery.ts';

const AUTO_CONNECT_SETTING = 'discovery_auto_connect';

export const DiscoverySettingsRequest = z.object({
  auto_connect: z.boolean({ error: 'auto_connect must be true or false' }),
});

export interface AutoConnectOptions {
  discovery: LanDiscovery;
  settings: SettingsRepository;
  log: Logger;
  /** Whether we already know (trust) or are linked with this peer: then there is nothing to do. */
  isKnown: (peerId: string) => boolean;
  /** The same dial as the Connect button, with the expected peer ID. */
  connect: (peerId: string) => Promise<unknown>;
}

/**
 * Settings → Network "connect to LAN peers automatically" (default off: a stranger on a café
 * Wi-Fi must not receive your posts). When on, each newly discovered peer is dialled once, exactly
 * as if the user clicked Connect; on their side we are a request.
 */
export class AutoConnect {
  /** Peer IDs already tried while listed; bounded by the discovered list, pruned on each pass. */
  private readonly tried = new Set<string>();

  constructor(private readonly options: AutoConnectOptions) {
    options.discovery.on('changed', () => this.run());
  }

  get enabled(): boolean {
    return this.options.settings.get<boolean>(AUTO_CONNECT_SETTING) ?? false;
  }

  set(enabled: boolean): void {
    this.options.settings.set(AUTO_CONNECT_SETTING, enabled);
    this.tried.clear();
    this.run();
  }

  private run(): void {
    const listed = this.options.discovery.peers.list().map((peer) => peer.peerId);
    const current = new Set(listed);
    for (const peerId of this.tried) if (!current.has(peerId)) this.tried.delete(peerId);
    if (!this.enabled) return;
    for (const peerId of listed) {
      if (this.tried.has(peerId) || this.options.isKnown(peerId)) continue;
      this.tried.add(peerId);
      this.options.connect(peerId).catch((error: unknown) => {
        this.options.log.info('discovery', 'auto-connect failed', { peer: peerId, reason: error instanceof Error ? error.message : String(error) });
      });
    }
  }
}
