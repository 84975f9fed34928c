/** Small helpers of the app link: hook isolation, frame bytes, push topics and the device label. */
import { b64urlDecode } from '../../../protocol/bytes.ts';
import type { PushTopic } from '../../../protocol/app/contract.ts';

/** A bug in a hook must not tear down the link it is observing. */
export function hook(call: () => void): void {
  try {
    call();
  } catch (error) {
    console.error('app link hook failed', error);
  }
}

// A record, not a list: a topic added to the contract fails type-checking here until it is let in.
const PUSH_TOPICS: Record<PushTopic, true> = {
  message: true,
  channels: true,
  delivery: true,
  peers: true,
  requests: true,
  connect_progress: true,
  discovered: true,
  profile: true,
  introduced: true,
  session: true,
};
export function isPushTopic(topic: string): topic is PushTopic {
  return Object.hasOwn(PUSH_TOPICS, topic);
}

/** Binary message data as bytes; null for text frames (which the app link never uses). */
export function toBytes(data: unknown): Uint8Array | null {
  if (data instanceof Uint8Array) return data;
  if (Object.prototype.toString.call(data) === '[object ArrayBuffer]') return new Uint8Array(data as ArrayBuffer);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return null;
}

export function safeB64(text: string): Uint8Array | null {
  try {
    return b64urlDecode(text);
  } catch {
    return null;
  }
}

/** "Chrome on Linux" and the like, from a user-agent string; the label the companion lists under Devices. */
export function deviceLabelFromUserAgent(ua: string): string {
  const browser = /Edg(e|A|iOS)?\//.test(ua)
    ? 'Edge'
    : /OPR\/|Opera/.test(ua)
      ? 'Opera'
      : /SamsungBrowser\//.test(ua)
        ? 'Samsung Internet'
        : /Firefox\/|FxiOS\//.test(ua)
          ? 'Firefox'
          : /Chrom(e|ium)\/|CriOS\//.test(ua)
            ? 'Chrome'
            : /Safari\//.test(ua)
              ? 'Safari'
              : 'Browser';
  const os = /Android/.test(ua)
    ? 'Android'
    : /iPhone|iPod/.test(ua)
      ? 'iOS'
      : /iPad/.test(ua)
        ? 'iPadOS'
        : /CrOS/.test(ua)
          ? 'ChromeOS'
          : /Windows/.test(ua)
            ? 'Windows'
            : /Mac OS X|Macintosh/.test(ua)
              ? 'macOS'
              : /Linux/.test(ua)
                ? 'Linux'
                : null;
  return os ? `${browser} on ${os}` : browser;
}
