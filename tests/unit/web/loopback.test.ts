// Issue 9, item 4: the invite card warns when every address of the invite is loopback.
import { describe, expect, it } from 'vitest';
import { isLoopbackEndpoint, onlyLoopback } from '../../../web/lib/ui/loopback.ts';

describe('loopback endpoints', () => {
  it('knows the addresses only this computer can dial', () => {
    for (const endpoint of ['ws://127.0.0.1:7771/p2p', 'ws://127.8.9.10:1', 'ws://[::1]:7771', 'ws://localhost:7771', 'wss://canopy.localhost', 'ws://[::ffff:127.0.0.1]:7771']) {
      expect(isLoopbackEndpoint(endpoint), endpoint).toBe(true);
    }
    for (const endpoint of ['ws://192.168.1.5:7771', 'ws://128.0.0.1:7771', 'ws://[::2]:7771', 'ws://localhost.example:7771', 'ws://10.0.0.1:7771', 'not a url']) {
      expect(isLoopbackEndpoint(endpoint), endpoint).toBe(false);
    }
  });

  it('calls an invite local-only when all its addresses are loopback, and only then', () => {
    expect(onlyLoopback(['ws://127.0.0.1:7771', 'ws://[::1]:7771'])).toBe(true);
    expect(onlyLoopback(['ws://127.0.0.1:7771', 'ws://192.168.1.5:7771'])).toBe(false);
    expect(onlyLoopback([])).toBe(false);
  });
});
