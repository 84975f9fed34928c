import { EventEmitter } from 'node:events';
import { Bonjour, type Browser, type Service } from 'bonjour-service';
import { PEER_ID_PATTERN } from '../../protocol/events.ts';
import { canonicalizeEndpoints } from '../../protocol/invite.ts';
import { CANOPY_VERSION, CAPABILITIES } from '../../protocol/version.ts';
import type { Logger } from '../logger.ts';
import { isLoopbackHost, meshEndpoint } from '../service/endpoints.ts';
import { DiscoveredPeers, type DiscoveredPeersLimits } from './discovered-peers.ts';

export const SERVICE_TYPE = 'canopy';

/** `running`, `off` (disabled by the user), or `failed: <reason>`. */
export type DiscoveryState = 'running' | 'off' | `failed: ${string}`;

export interface LanDiscoveryOptions {
  peerId: string;
  /** The web/mesh host: loopback keeps mDNS on loopback, anything else uses the LAN. */
  host: string;
  meshPort: number;
  /** `--advertise`: published in TXT `endpoints` (and its first port as the service port) instead of our addresses. */
  advertise?: string[];
  log: Logger;
  limits?: DiscoveredPeersLimits;
  /** How often the browser asks again, so live peers refresh and silent ones expire. */
  refreshMs?: number;
}

const DEFAULT_REFRESH_MS = 30_000;
/** A TXT string is at most 255 bytes; anything longer is not a record we wrote. */
const MAX_TXT_ENDPOINTS_CHARS = 255;

/**
 * Advertises this node as `_canopy._tcp` (TXT peer_id, version, capabilities) and browses for others.
 * bonjour-service swallows most network errors and throws from its default error callback, so every
 * error path is caught here and turned into `state`, never a crash.
 */
export class LanDiscovery extends EventEmitter<{ changed: [] }> {
  readonly peers: DiscoveredPeers;
  private bonjour: Bonjour | null = null;
  private browser: Browser | null = null;
  private timer: NodeJS.Timeout | null = null;
  private currentState: DiscoveryState = 'off';
  private readonly loopbackOnly: boolean;

  constructor(private readonly options: LanDiscoveryOptions) {
    super();
    this.peers = new DiscoveredPeers(options.limits);
    this.loopbackOnly = isLoopbackHost(options.host);
  }

  get state(): DiscoveryState {
    return this.currentState;
  }

  start(): void {
    const onError = (error: unknown) => this.fail(error);
    const advertise = this.options.advertise?.length ? this.options.advertise : undefined;
    try {
      // On loopback: send from 127.0.0.1 but receive on 0.0.0.0, or no multicast arrives (stack-check §7).
      // Its typings name the service options, but the object goes to multicast-dns, which takes interface/bind.
      const socketOptions = this.loopbackOnly ? { interface: '127.0.0.1', bind: '0.0.0.0' } : {};
      const bonjour = new Bonjour(socketOptions as ConstructorParameters<typeof Bonjour>[0], onError);
      this.bonjour = bonjour;
      // multicast-dns emits 'error' (EADDRINUSE, EACCES) with no listener attached by bonjour: it would crash us.
      const mdns = (bonjour as unknown as { server?: { mdns?: EventEmitter } }).server?.mdns;
      mdns?.on('error', onError);
      mdns?.on('warning', (error: unknown) => this.options.log.warn('discovery', 'mDNS warning', { error: String(error) }));
      const service = bonjour.publish({
        name: `canopy-${this.options.peerId}`,
        type: SERVICE_TYPE,
        protocol: 'tcp',
        port: advertise ? Number(new URL(advertise[0]!).port) : this.options.meshPort,
        txt: {
          peer_id: this.options.peerId,
          version: CANOPY_VERSION,
          capabilities: CAPABILITIES.join(','),
          ...(advertise ? { endpoints: fitTxt(advertise) } : {}),
        },
      });
      service.on('error', onError);
      this.browse();
      this.timer = setInterval(() => this.browse(), this.options.refreshMs ?? DEFAULT_REFRESH_MS);
      this.timer.unref();
      this.currentState = 'running';
    } catch (error) {
      this.fail(error);
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.browser?.stop();
    this.browser = null;
    const bonjour = this.bonjour;
    this.bonjour = null;
    if (bonjour) {
      // unpublishAll sends the goodbye (TTL 0) so others drop us at once instead of at expiry.
      await new Promise<void>((resolve) => {
        try {
          bonjour.unpublishAll(() => resolve());
        } catch {
          resolve();
        }
      });
      try {
        bonjour.destroy();
      } catch {
        // Already closed by a failure: nothing left to release.
      }
    }
    this.peers.clear();
    if (this.currentState === 'running') this.currentState = 'off';
  }

  /** A fresh browser each round: bonjour's own emits 'up' only once per service, so re-browsing refreshes lastSeen. */
  private browse(): void {
    if (!this.bonjour) return;
    try {
      this.browser?.stop();
      const browser = this.bonjour.find({ type: SERVICE_TYPE, protocol: 'tcp' });
      browser.on('up', (service: Service) => this.seen(service));
      browser.on('txt-update', (service: Service) => this.seen(service));
      browser.on('srv-update', (service: Service) => this.seen(service));
      browser.on('down', (service: Service) => {
        const peerId = claimedPeerId(service);
        if (peerId && this.peers.gone(peerId)) this.emit('changed');
      });
      this.browser = browser;
    } catch (error) {
      this.fail(error);
    }
  }

  private seen(service: Service): void {
    const peerId = claimedPeerId(service);
    if (!peerId || peerId === this.options.peerId) return;
    if (!Number.isInteger(service.port) || service.port <= 0 || service.port > 65535) return;
    const endpoints = this.endpointsOf(service);
    if (endpoints.length === 0) return;
    const txt = (service.txt ?? {}) as Record<string, unknown>;
    const version = typeof txt.version === 'string' ? txt.version.slice(0, 32) : null;
    const capabilities = typeof txt.capabilities === 'string'
      ? txt.capabilities.split(',').map((c) => c.trim().slice(0, 32)).filter(Boolean).slice(0, 32)
      : [];
    if (this.peers.seen({ peerId, endpoints, version, capabilities })) this.emit('changed');
  }

  /**
   * Where to dial: the endpoints its TXT record names (an `--advertise`d port forward or VPN
   * address), else its IPv4 addresses and the packet's source with its port; kept on loopback when
   * we are. Unverified either way: Connect dials with the TXT peer ID as the expected one.
   */
  private endpointsOf(service: Service): string[] {
    const named = (service.txt as Record<string, unknown> | undefined)?.endpoints;
    if (typeof named === 'string' && named.length <= MAX_TXT_ENDPOINTS_CHARS) {
      const endpoints = canonicalizeEndpoints(named.split(','));
      return (this.loopbackOnly ? endpoints.filter((endpoint) => isLoopbackHost(new URL(endpoint).hostname)) : endpoints).slice(0, 4);
    }
    const candidates = [service.referer?.address, ...(service.addresses ?? [])].filter(
      (address): address is string => typeof address === 'string' && /^\d{1,3}(\.\d{1,3}){3}$/.test(address),
    );
    const allowed = this.loopbackOnly ? candidates.filter(isLoopbackHost) : candidates;
    return [...new Set(allowed)].slice(0, 4).map((address) => meshEndpoint(address, service.port));
  }

  private fail(error: unknown): void {
    const reason = error instanceof Error ? error.message : String(error);
    if (this.currentState.startsWith('failed')) return;
    this.currentState = `failed: ${reason.slice(0, 200)}`;
    this.options.log.warn('discovery', 'LAN discovery failed', { reason });
    this.emit('changed');
  }
}

function claimedPeerId(service: Service): string | null {
  const peerId = (service.txt as Record<string, unknown> | undefined)?.peer_id;
  return typeof peerId === 'string' && PEER_ID_PATTERN.test(peerId) ? peerId : null;
}

/** As many endpoints as fit one TXT string, in order. */
function fitTxt(endpoints: string[]): string {
  let text = endpoints[0]!;
  for (const endpoint of endpoints.slice(1)) {
    if (text.length + 1 + endpoint.length > MAX_TXT_ENDPOINTS_CHARS) break;
    text += `,${endpoint}`;
  }
  return text;
}
