// Link rules with real WebSockets on loopback: one link per peer however the dials race,
// and a dialer that expects one peer never accepts another.
import { afterEach, describe, expect, it } from 'vitest';
import { nodeCrypto } from '../../companion/crypto/node.ts';
import { createLogger } from '../../companion/logger.ts';
import { LinkManager } from '../../companion/mesh/link-manager.ts';
import { generateIdentity } from '../../protocol/identity.ts';
import { eventually } from '../helpers/api.ts';
import { freePortPair } from '../helpers/instance.ts';
import { rawHandshake } from '../helpers/raw-peer.ts';

const managers: LinkManager[] = [];

async function node(keepalive?: { intervalMs: number; timeoutMs: number }) {
  const identity = generateIdentity(nodeCrypto);
  const port = await freePortPair();
  const endpoint = `ws://127.0.0.1:${port}`;
  const manager = new LinkManager({
    crypto: nodeCrypto,
    identity,
    log: createLogger(null, { quiet: true }),
    advertisedEndpoints: () => [endpoint],
    keepalive,
  });
  await manager.listen('127.0.0.1', port);
  managers.push(manager);
  const downs: string[] = [];
  manager.on('down', (peerId) => downs.push(peerId));
  // The sync engine is not wired here; a link only reads once someone listens for its frames.
  manager.on('up', (link) => link.onFrame(() => {}));
  return { manager, identity, endpoint, downs };
}

afterEach(async () => {
  await Promise.all(managers.splice(0).map((m) => m.close()));
});

describe('LinkManager', () => {
  it('collapses simultaneous dials to one link that both sides agree on', async () => {
    for (let round = 0; round < 5; round++) {
      const [a, b] = await Promise.all([node(), node()]);
      await Promise.allSettled([a.manager.dial(b.endpoint, b.identity.peerId), b.manager.dial(a.endpoint, a.identity.peerId)]);
      // Settled means: one open link on each side, and it is the same connection seen from both
      // ends (one side dialled it, the other accepted it). Dialers finish their handshake first,
      // so for a moment each side may hold its own outbound link.
      await eventually('both sides to settle on one link', async () => {
        const [la, lb] = [a.manager.connected(), b.manager.connected()];
        return (
          la.length === 1 && lb.length === 1 && la[0]!.isOpen && lb[0]!.isOpen && la[0]!.info.direction !== lb[0]!.info.direction
        );
      });
      const linkA = a.manager.get(b.identity.peerId)!;
      const lower = [a.identity.peerId, b.identity.peerId].sort()[0];
      const initiator = linkA.info.direction === 'outbound' ? a.identity.peerId : b.identity.peerId;
      expect(initiator).toBe(lower);
      // Closing a duplicate must not look like the peer went away.
      await new Promise((r) => setTimeout(r, 2_500));
      expect(a.manager.get(b.identity.peerId)).toBe(linkA);
      expect(a.downs).toEqual([]);
      expect(b.downs).toEqual([]);
    }
  });

  it('replaces an older link when the same side dials again, without reporting the peer down', async () => {
    const [a, b] = await Promise.all([node(), node()]);
    const first = await a.manager.dial(b.endpoint, b.identity.peerId);
    const second = await a.manager.dial(b.endpoint, b.identity.peerId);
    await eventually('old link closed', async () => !first.isOpen);
    expect(second.isOpen).toBe(true);
    expect(a.manager.get(b.identity.peerId)).toBe(second);
    await eventually('B keeps only the new link', async () => b.manager.connected().length === 1);
    expect(a.downs).toEqual([]);
  });

  it('refuses a responder that proves a different peer ID than expected', async () => {
    const [a, b] = await Promise.all([node(), node()]);
    const someoneElse = generateIdentity(nodeCrypto).peerId;
    await expect(a.manager.dial(b.endpoint, someoneElse)).rejects.toThrow(/expected/);
    expect(a.manager.connected()).toHaveLength(0);
  });

  it('reports the peer down when its process goes away', async () => {
    const [a, b] = await Promise.all([node(), node()]);
    await a.manager.dial(b.endpoint, b.identity.peerId);
    await b.manager.close();
    await eventually('A to see B down', async () => a.downs.includes(b.identity.peerId));
    expect(a.manager.connected()).toHaveLength(0);
  });

  it('fails a dial to a closed port with a clear error', async () => {
    const a = await node();
    const port = await freePortPair();
    await expect(a.manager.dial(`ws://127.0.0.1:${port}`)).rejects.toThrow(/Could not reach ws:\/\/127\.0\.0\.1/);
  });

  it('keeps an idle link alive with pings, and closes one whose peer goes silent', async () => {
    const fast = { intervalMs: 100, timeoutMs: 400 };
    const [a, b] = await Promise.all([node(fast), node(fast)]);
    const link = await a.manager.dial(b.endpoint, b.identity.peerId);
    await new Promise((r) => setTimeout(r, 1_000)); // idle, but pings keep both ends fresh
    expect(link.isOpen).toBe(true);

    // A peer that completes the handshake and then never answers is dropped after the timeout.
    const silent = await rawHandshake(`${b.endpoint}/p2p`, generateIdentity(nodeCrypto));
    await eventually('silent link closed', async () => (await silent.closed).code === 4006, 5_000);
  });
});
