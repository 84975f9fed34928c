/**
 * The one reactive object the UI reads: where this browser stands with its companion (phase),
 * whether the app link is up, and the calls the pages make. Local-first: a browser that was
 * logged in before renders from IndexedDB at once, before (or without) reaching the companion.
 */
import {
  APP_LINK_PATH,
  type AppMethod,
  type AppParams,
  type AppPushes,
  type AppResult,
  type PushTopic,
  type SessionStatus,
} from '../../protocol/app/contract.ts';
import { clearReplica, deleteEverything, deleteMeta, getMeta, linkStore, rotateDeviceKey, setMeta } from './db.ts';
import {
  AppError,
  AppLink,
  deviceLabelFromUserAgent,
  KEY_CHANGED_MESSAGE,
  NOT_CONNECTED_MESSAGE,
  type AppPush,
  type CompanionInfo,
  type KeyChangedDetail,
  type LinkState,
  type LinkStateInfo,
  type WebSocketConstructor,
} from './link/app-link.ts';
import { appLinkReconnectDelay } from './link/reconnect-delay.ts';
import { isAppMessage, Replica, type SendInput } from './sync.ts';
import { notifyIncoming } from './notifications.ts';
import { people } from './people.svelte.ts';
import type { OutboxRow } from './db.ts';

export { AppError } from './link/app-link.ts';
export type { SendInput } from './sync.ts';

export type SessionPhase = 'starting' | 'connecting' | 'setup' | 'login' | 'ready' | 'key_changed' | 'error';

/** If session.status fails on a fresh link (e.g. timed out), ask again this soon while the link stays up. */
const STATUS_RETRY_MS = 3_000;

class Session {
  #phase = $state<SessionPhase>('starting');
  #online = $state(false);
  #status = $state<SessionStatus | null>(null);
  #fingerprint = $state<string | null>(null);
  #error = $state<string | null>(null);
  #keyChanged = $state<KeyChangedDetail | null>(null);
  #retryAt = $state<number | null>(null);

  #link: AppLink | null = null;
  #started: Promise<void> | null = null;
  /** The companion confirmed, on the current link, that this browser is logged in. */
  #authenticated = false;
  /** Increments per completed handshake, so a late status answer for an old link is ignored. */
  #linkGeneration = 0;
  /** Components that follow a push topic the replica does not keep (e.g. pending requests). */
  readonly #pushListeners = new Set<(push: AppPush) => void>();

  readonly #replica = new Replica({
    call: (method, params) => this.#request(method, params),
    canSend: () => this.#online && this.#authenticated,
    onError: (error) => console.warn('Canopy sync:', error),
  });

  get phase(): SessionPhase {
    return this.#phase;
  }
  /** The app link is open right now. */
  get online(): boolean {
    return this.#online;
  }
  get status(): SessionStatus | null {
    return this.#status;
  }
  /** Fingerprint of the pinned companion key (compare with what the companion prints at start). */
  get fingerprint(): string | null {
    return this.#fingerprint;
  }
  get error(): string | null {
    return this.#error;
  }
  /** Epoch ms of the next automatic attempt to reach the companion, while it is unreachable. */
  get retryAt(): number | null {
    return this.#retryAt;
  }
  /** Both fingerprints when phase is 'key_changed'. */
  get keyChanged(): KeyChangedDetail | null {
    return this.#keyChanged;
  }

  /** Idempotent; called by +layout.svelte on mount. */
  start(): Promise<void> {
    this.#started ??= this.#start();
    return this.#started;
  }

  async #start(): Promise<void> {
    try {
      const [username, status, pin] = await Promise.all([getMeta('username'), getMeta('status'), linkStore.loadPin()]);
      this.#fingerprint = pin?.fingerprint ?? null;
      if (username) {
        // Logged in before: show the replica now; the companion confirms (or revokes) once reachable.
        this.#status = status ?? null;
        this.#phase = 'ready';
      } else {
        this.#phase = 'connecting';
      }
    } catch (error) {
      this.#phase = 'error';
      this.#error =
        'This browser does not let Canopy store data (IndexedDB is unavailable; private windows sometimes block it). ' +
        `Details: ${error instanceof Error ? error.message : String(error)}`;
      return;
    }

    const link = new AppLink({
      url: appLinkUrl(),
      WebSocket: WebSocket as unknown as WebSocketConstructor,
      store: linkStore,
      label: deviceLabelFromUserAgent(navigator.userAgent),
      onState: (state, info) => this.#onLinkState(state, info),
      reconnectDelay: (attempt) => appLinkReconnectDelay(attempt, document.visibilityState === 'visible'),
      onOpen: (companion) => this.#onLinkOpen(companion),
      onPush: (push) => void this.#onPush(push),
    });
    this.#link = link;

    // Don't sit out a long backoff when the network comes back or the user returns to the tab.
    const nudge = () => link.reconnectNow();
    window.addEventListener('online', nudge);
    window.addEventListener('pageshow', nudge);
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') nudge();
    });

    link.start();
  }

  /** "Retry now": dial the companion at once instead of waiting for the next scheduled attempt. */
  reconnectNow(): void {
    this.#link?.reconnectNow();
  }

  /**
   * First visit on a fresh instance: create the local account with the companion's one-time setup
   * code. Throws AppError with a readable message.
   */
  async setup(username: string, password: string, setupCode: string): Promise<void> {
    const status = await this.#request('session.setup', { username, password, setup_code: setupCode });
    await this.#applyStatus(status);
  }

  async login(username: string, password: string): Promise<void> {
    const status = await this.#request('session.login', { username, password });
    await this.#applyStatus(status);
  }

  /**
   * Logs this browser out: tells the companion (when reachable), wipes the local replica and
   * outbox, and replaces the device key, so even a logout made offline cannot be undone by the
   * old key reconnecting later.
   */
  async logout(): Promise<void> {
    const link = this.#link;
    if (link?.state === 'open') {
      try {
        await link.request('session.logout', {});
      } catch {
        // Offline or already gone: the key rotation below still logs this browser out.
      }
    }
    this.#authenticated = false;
    await clearReplica();
    await rotateDeviceKey();
    this.#status = this.#status ? { ...this.#status, authenticated: false, username: null } : null;
    this.#phase = 'login';
    if (link) {
      link.stop();
      link.start(); // new handshake with the new device key
    }
  }

  /** Any app-link method. Throws AppError; AppError(0, 'Not connected …') when the link is down. */
  async call<M extends AppMethod>(method: M, params: AppParams<M>): Promise<AppResult<M>> {
    const result = await this.#request(method, params);
    this.#replica.afterCall(method, result);
    return result;
  }

  /** Queues a message in the outbox and sends it when possible (see sync.ts). */
  sendMessage(input: SendInput): Promise<OutboxRow> {
    return this.#replica.sendMessage(input);
  }

  /** Scroll-back for one channel; resolves whether still older messages exist. */
  loadOlder(channel: string): Promise<boolean> {
    return this.#replica.loadOlder(channel);
  }

  retryOutbox(clientId: string): Promise<void> {
    return this.#replica.retryOutbox(clientId);
  }

  discardOutbox(clientId: string): Promise<void> {
    return this.#replica.discardOutbox(clientId);
  }

  /**
   * Forgets everything this browser knows: device key, pinned companion key, history, outbox.
   * The explicit way out of 'key_changed' (after checking the new fingerprint with the owner).
   */
  async forgetCompanion(): Promise<void> {
    this.#link?.stop();
    await deleteEverything();
    location.reload();
  }

  // ---- internals ----

  async #request<M extends AppMethod>(method: M, params: AppParams<M>): Promise<AppResult<M>> {
    const link = this.#link;
    if (!link) throw new AppError(0, NOT_CONNECTED_MESSAGE);
    try {
      return await link.request(method, params);
    } catch (error) {
      // Logged out behind our back (expired, revoked while we were offline): ask where we stand.
      if (error instanceof AppError && error.status === 401 && !method.startsWith('session.')) {
        void this.#refreshStatus(this.#linkGeneration);
      }
      throw error;
    }
  }

  #onLinkState(state: LinkState, info: LinkStateInfo): void {
    this.#online = state === 'open';
    this.#retryAt = info.retryAt;
    if (state === 'key_changed') {
      this.#authenticated = false;
      this.#keyChanged = info.keyChanged;
      this.#error = KEY_CHANGED_MESSAGE;
      this.#phase = 'key_changed';
      return;
    }
    if (state === 'closed' || state === 'connecting') {
      this.#authenticated = false;
      if (state === 'closed' && info.error) {
        this.#error = `Can't reach your Canopy companion (${info.error}). Retrying…`;
      }
    }
  }

  #onLinkOpen(companion: CompanionInfo): void {
    this.#fingerprint = companion.fingerprint;
    this.#error = null;
    const generation = ++this.#linkGeneration;
    void this.#refreshStatus(generation);
  }

  async #refreshStatus(generation: number): Promise<void> {
    const link = this.#link;
    if (!link || link.state !== 'open' || generation !== this.#linkGeneration) return;
    try {
      const status = await link.request('session.status', {});
      if (generation !== this.#linkGeneration) return;
      await this.#applyStatus(status);
    } catch (error) {
      if (generation !== this.#linkGeneration || link.state !== 'open') return; // the next handshake asks again
      this.#error = error instanceof Error ? error.message : String(error);
      setTimeout(() => void this.#refreshStatus(generation), STATUS_RETRY_MS);
    }
  }

  /** The companion's word on this browser's session decides the phase. */
  async #applyStatus(status: SessionStatus): Promise<void> {
    this.#status = status;
    if (status.authenticated) {
      this.#authenticated = true;
      await setMeta('status', status);
      if (status.username) await setMeta('username', status.username);
      this.#phase = 'ready';
      this.#error = null;
      void this.#replica.syncAll();
      return;
    }
    this.#authenticated = false;
    if (await getMeta('username')) {
      // We were logged in and the companion says we are not (revoked, logged out elsewhere):
      // the replica is no longer ours to show.
      await clearReplica();
    }
    this.#phase = status.setup_required ? 'setup' : 'login';
  }

  /** Calls `handler` with each push of `topic`; returns the unsubscribe function. */
  onPush<T extends PushTopic>(topic: T, handler: (data: AppPushes[T]) => void): () => void {
    const listener = (push: AppPush) => {
      if (push.topic === topic) handler(push.data as AppPushes[T]);
    };
    this.#pushListeners.add(listener);
    return () => {
      this.#pushListeners.delete(listener);
    };
  }

  async #onPush(push: AppPush): Promise<void> {
    for (const listener of this.#pushListeners) listener(push);
    if (push.topic === 'session') {
      // Revoked or logged out elsewhere; the companion closes the link right after.
      this.#authenticated = false;
      await deleteMeta('username');
      await clearReplica();
      this.#status = this.#status ? { ...this.#status, authenticated: false, username: null } : null;
      this.#phase = 'login';
      return;
    }
    await this.#replica.applyPush(push);
    if (push.topic === 'message' && isAppMessage(push.data)) {
      const message = push.data;
      void notifyIncoming(message, people.name(message.author, message.author_name), this.#status?.username ?? null).catch((error: unknown) =>
        console.warn('Canopy notification:', error),
      );
    }
  }
}

/** Same host and port that served the page: the companion serves the app and the link together. */
function appLinkUrl(): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}${APP_LINK_PATH}`;
}

export const session = new Session();
