import { networkInterfaces } from 'node:os';

export const isLoopbackHost = (host: string) => host === 'localhost' || host === '::1' || /^127\./.test(host);
const isWildcardHost = (host: string) => host === '0.0.0.0' || host === '::' || host === '';
const formatHost = (host: string) => (host.includes(':') ? `[${host}]` : host);

export function meshEndpoint(host: string, port: number): string {
  return `ws://${formatHost(host)}:${port}`;
}

/**
 * The mesh endpoints this node advertises in invites and handshakes. Bound to loopback it offers
 * loopback only (how every test runs); bound to all interfaces it offers each LAN IPv4 address;
 * bound to one address it offers that one.
 */
export function advertisedEndpoints(host: string, meshPort: number): string[] {
  if (isLoopbackHost(host)) return [meshEndpoint(host === 'localhost' ? '127.0.0.1' : host, meshPort)];
  if (!isWildcardHost(host)) return [meshEndpoint(host, meshPort)];
  const lan = Object.values(networkInterfaces())
    .flat()
    .filter((address) => address && address.family === 'IPv4' && !address.internal)
    .map((address) => meshEndpoint(address!.address, meshPort));
  return lan.length ? lan : [meshEndpoint('127.0.0.1', meshPort)];
}
