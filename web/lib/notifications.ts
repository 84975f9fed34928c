/**
 * Browser notifications for incoming messages while the tab is hidden. Opt-in: nothing is shown
 * until the user turns them on in Settings (which asks the browser's permission), and each kind of
 * message (DM, mention of your name, any channel post) has its own switch. The Notification API
 * only exists on secure origins (https, localhost): a phone on http://<lan-ip> has none, and
 * Settings says so instead of offering a switch that cannot work.
 */
import type { AppMessage } from '../../protocol/app/contract.ts';
import { isDmChannel } from '../../protocol/events.ts';
import { db, getMeta, setMeta, type MetaValues } from './db.ts';
import { excerptOf } from './ui/reply.ts';

export type NotifyKind = keyof MetaValues['notify'];
export type NotifySettings = MetaValues['notify'];

/** What the user gets when they first turn notifications on: DMs and mentions, not every post. */
export const DEFAULT_NOTIFY: NotifySettings = { dm: true, mention: true, channel: false };
export const NOTIFY_OFF: NotifySettings = { dm: false, mention: false, channel: false };

export type NotifySupport = 'unsupported' | 'insecure' | NotificationPermission;

/** Why notifications can or cannot be shown in this browser right now. */
export function notifySupport(): NotifySupport {
  if (typeof window === 'undefined') return 'unsupported';
  if (!window.isSecureContext) return 'insecure';
  if (!('Notification' in window)) return 'unsupported';
  return Notification.permission;
}

export async function loadNotifySettings(): Promise<NotifySettings> {
  return (await getMeta('notify')) ?? NOTIFY_OFF;
}

export function saveNotifySettings(settings: NotifySettings): Promise<void> {
  return setMeta('notify', settings);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** `content` names one of `names` as a word of its own, with or without a leading @ (case-insensitive). */
export function mentions(content: string, names: readonly string[]): boolean {
  return names.some((name) => {
    const trimmed = name.trim();
    if (!trimmed) return false;
    return new RegExp(`(^|[^\\p{L}\\p{N}_])@?${escapeRegExp(trimmed)}(?=$|[^\\p{L}\\p{N}_])`, 'iu').test(content);
  });
}

/** Which switch governs a message: DM, a channel post naming you, or any other channel post; null for your own. */
export function notifyKindOf(message: Pick<AppMessage, 'channel' | 'direction' | 'content'>, myNames: readonly string[]): NotifyKind | null {
  if (message.direction !== 'incoming') return null;
  if (isDmChannel(message.channel)) return 'dm';
  return mentions(message.content ?? '', myNames) ? 'mention' : 'channel';
}

export interface NotificationText {
  title: string;
  body: string;
  /** Where a click on it leads: the conversation. */
  url: string;
}

export function notificationText(message: Pick<AppMessage, 'channel' | 'content'>, authorName: string, channelName: string | null): NotificationText {
  const url = `/messages?c=${encodeURIComponent(message.channel)}`;
  const title = isDmChannel(message.channel) ? authorName : `${authorName} in # ${channelName ?? message.channel}`;
  return { title, body: excerptOf(message.content), url };
}

/**
 * Shows one notification, through the service worker when there is one (the only way on Android,
 * and its click handler can focus or reopen the app); one per conversation, replacing the last.
 */
export async function showNotification(text: NotificationText, tag: string): Promise<void> {
  const options: NotificationOptions = { body: text.body, tag, data: { url: text.url }, icon: '/icon-192.png' };
  const registration = await navigator.serviceWorker?.getRegistration().catch(() => undefined);
  if (registration) {
    await registration.showNotification(text.title, options);
    return;
  }
  const notification = new Notification(text.title, options);
  notification.onclick = () => {
    window.focus();
    location.assign(text.url);
  };
}

/**
 * Called for each message the companion pushes live (never for history pulled on sync): notifies
 * when the tab is hidden, permission is granted and the user's switch for this kind is on.
 */
export async function notifyIncoming(message: AppMessage, authorName: string, username: string | null): Promise<void> {
  if (document.visibilityState !== 'hidden' || message.direction !== 'incoming') return;
  if (notifySupport() !== 'granted') return;
  const [settings, profile, channel] = await Promise.all([loadNotifySettings(), db.profiles.get('user'), db.channels.get(message.channel)]);
  const kind = notifyKindOf(message, [username ?? '', profile?.display_name ?? '']);
  if (!kind || !settings[kind]) return;
  await showNotification(notificationText(message, authorName, channel?.name || null), message.channel);
}
