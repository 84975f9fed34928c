import { describe, expect, it } from 'vitest';
import { socketLimitsFromEnv, DEFAULT_SOCKET_LIMITS } from '../../../companion/http-server.ts';
import { dialFirst } from '../../../companion/mesh/dial-race.ts';
import { addressKey, HandshakeSlots } from '../../../companion/transport/connection-limits.ts';

describe('HandshakeSlots', () => {
  it('caps one address, evicting its oldest silent connection for a newcomer', () => {
    const slots = new HandshakeSlots({ total: 10, perAddress: 2 });
    const evicted: string[] = [];
    const first = slots.take('a', () => evicted.push('first'))!;
    slots.take('a', () => evicted.push('second'));
    first.slot.started(); // `first` sent message 1: only `second` may go
    const third = slots.take('a', () => evicted.push('third'));
    expect(third?.evicted).toBe(true);
    expect(evicted).toEqual(['second']);
    third!.slot.started();
    expect(slots.take('a', () => {})).toBeNull(); // both slots are busy handshaking
    expect(slots.take('b', () => {})).not.toBeNull();
  });

  it('when the pool is full, a newcomer from anywhere takes the oldest silent slot', () => {
    const slots = new HandshakeSlots({ total: 2, perAddress: 2 });
    const evicted: string[] = [];
    slots.take('a', () => evicted.push('a'))!.slot.started();
    slots.take('b', () => evicted.push('b'));
    expect(slots.take('c', () => {})?.evicted).toBe(true);
    expect(evicted).toEqual(['b']);
    expect(slots.size).toBe(2);
  });

  it('gives a slot back once, and not at all after eviction', () => {
    const slots = new HandshakeSlots({ total: 1, perAddress: 1 });
    const first = slots.take('a', () => {})!;
    const second = slots.take('a', () => {})!; // evicts `first`
    first.slot.release();
    first.slot.release();
    expect(slots.size).toBe(1);
    second.slot.release();
    second.slot.release();
    expect(slots.size).toBe(0);
  });
});

describe('addressKey', () => {
  it('counts a mapped IPv4 address as IPv4, and an IPv6 host by its /64', () => {
    expect(addressKey('::ffff:10.0.0.2')).toBe('10.0.0.2');
    expect(addressKey('10.0.0.2')).toBe('10.0.0.2');
    expect(addressKey('2001:db8:1:2::5')).toBe(addressKey('2001:db8:1:2:aaaa:bbbb:cccc:dddd'));
    expect(addressKey('2001:db8:1:2::5')).not.toBe(addressKey('2001:db8:1:3::5'));
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey(undefined)).toBe('unknown');
  });
});

describe('socketLimitsFromEnv', () => {
  it('applies overrides and refuses what is not a positive integer', () => {
    expect(socketLimitsFromEnv({})).toEqual(DEFAULT_SOCKET_LIMITS);
    expect(socketLimitsFromEnv({ CANOPY_MAX_SOCKETS: '20', CANOPY_IDLE_TIMEOUT_MS: '500' })).toMatchObject({ maxSockets: 20, idleTimeoutMs: 500 });
    // The request timeout never falls below the headers timeout (Node refuses that).
    expect(socketLimitsFromEnv({ CANOPY_HEADERS_TIMEOUT_MS: '60000' }).requestTimeoutMs).toBe(60_000);
    expect(() => socketLimitsFromEnv({ CANOPY_MAX_SOCKETS: '0' })).toThrow(/CANOPY_MAX_SOCKETS/);
    expect(() => socketLimitsFromEnv({ CANOPY_HEADERS_TIMEOUT_MS: 'soon' })).toThrow(/CANOPY_HEADERS_TIMEOUT_MS/);
  });
});

/** A dial that never settles until cancelled, as an endpoint that accepts TCP and stays silent. */
const silent = (signal: AbortSignal) =>
  new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(new Error('cancelled'))));

describe('dialFirst', () => {
  it('returns the first endpoint to answer and cancels the others', async () => {
    const cancelled: string[] = [];
    const outcome = await dialFirst(
      ['slow', 'good', 'never'],
      (endpoint, signal) => {
        signal.addEventListener('abort', () => cancelled.push(endpoint));
        return endpoint === 'good' ? Promise.resolve(endpoint) : silent(signal);
      },
      { concurrency: 4, deadlineMs: 60_000 },
    );
    expect(outcome).toEqual({ status: 'connected', endpoint: 'good', value: 'good' });
    expect(cancelled.sort()).toEqual(['good', 'never', 'slow']); // the winner's signal is spent too; its link is kept
  });

  it('keeps at most `concurrency` dials in flight and reports every endpoint at the deadline', async () => {
    let inFlight = 0;
    let most = 0;
    const endpoints = Array.from({ length: 10 }, (_, i) => `e${i}`);
    const outcome = await dialFirst(
      endpoints,
      (endpoint, signal) => {
        most = Math.max(most, ++inFlight);
        // Odd endpoints fail at once (refused), even ones stay silent.
        if (Number(endpoint.slice(1)) % 2 === 1) {
          inFlight--;
          return Promise.reject(new Error('refused'));
        }
        return silent(signal).finally(() => inFlight--);
      },
      { concurrency: 3, deadlineMs: 50 },
    );
    expect(most).toBeLessThanOrEqual(3);
    expect(outcome.status).toBe('failed');
    if (outcome.status !== 'failed') return;
    expect(outcome.errors.map((e) => e.endpoint)).toEqual(endpoints);
    expect(outcome.errors[1]!.error).toBe('refused');
    expect(outcome.errors[0]!.error).toMatch(/deadline/);
    expect(outcome.errors[9]!.error).toMatch(/not tried/i);
  });

  it('stops early when the peer reached us another way', async () => {
    const outcome = await dialFirst(['a', 'b'], () => Promise.reject(new Error('refused')), {
      concurrency: 1,
      deadlineMs: 60_000,
      settledElsewhere: () => true,
    });
    expect(outcome).toEqual({ status: 'settled_elsewhere' });
  });
});
