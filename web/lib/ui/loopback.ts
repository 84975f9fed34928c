/**
 * Addresses only this computer can dial. A companion started on its default host (127.0.0.1)
 * advertises such addresses alone, and an invite made of them is useless on another device.
 */
export function isLoopbackEndpoint(endpoint: string): boolean {
  let host: string;
  try {
    host = new URL(endpoint).hostname.toLowerCase();
  } catch {
    return false;
  }
  return (
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) ||
    host === '[::1]' ||
    // IPv4-mapped 127.x, as URL writes it (::ffff:127.0.0.1 → [::ffff:7f00:1]).
    /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(host)
  );
}

/** An invite that works on this computer only: it has addresses, and every one is loopback. */
export function onlyLoopback(endpoints: readonly string[]): boolean {
  return endpoints.length > 0 && endpoints.every(isLoopbackEndpoint);
}
