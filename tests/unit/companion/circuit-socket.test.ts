// One end of a relay circuit (companion/mesh/circuit-socket.ts): messages cut into chunks and put
// back together, sending paced under the relay's rate, and the ways a circuit ends. The relay link
// is a recorder of the frames the socket sends; the frames are real, only the wire is left out.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CircuitClosedError, CircuitSocket } from '../../../companion/mesh/circuit-socket.ts';
import type { Link } from '../../../companion/mesh/link.ts';
import { TokenBucket } from '../../../companion/token-bucket.ts';
import { limitsFromEnv } from '../../../companion/env-limits.ts';
import { DEFAULT_RELAY_LIMITS, relayLimitsFromEnv } from '../../../companion/mesh/relay-circuits.ts';
import { b64urlDecode } from '../../../protocol/bytes.ts';
import { CIRCUIT_CHUNK_BYTES, CIRCUIT_PACE, CIRCUIT_RATE, relayFrameSchemas, type CircuitFrame } from '../../../protocol/mesh/relay.ts';

type Sent = Extract<CircuitFrame, { t: 'circuit_data' | 'circuit_close' }>;

function recordingRelay() {
  const sent: Sent[] = [];
  const relay = { peerId: 'RelayPeer1234567', bufferedAmount: 0, send: (frame: Sent) => sent.push(frame) } as unknown as Link;
  return { relay, sent };
}

const dataBytes = (frames: Sent[]) =>
  frames.filter((f): f is Extract<Sent, { t: 'circuit_data' }> => f.t === 'circuit_data').reduce((sum, f) => sum + b64urlDecode(f.data).length, 0);

afterEach(() => {
  vi.useRealTimers();
});

describe('CircuitSocket', () => {
  it('cuts a message into chunks the relay accepts and the other end puts back together', () => {
    const { relay, sent } = recordingRelay();
    const sender = new CircuitSocket(relay, 1, () => {});
    const message = new Uint8Array(CIRCUIT_CHUNK_BYTES * 2 + 5).map((_, i) => i % 251);
    sender.send(message);
    const chunks = sent.filter((f) => f.t === 'circuit_data');
    expect(chunks).toHaveLength(3);
    expect(chunks.map((f) => f.t === 'circuit_data' && f.more === true)).toEqual([true, true, false]);
    // Every chunk passes the relay's own frame schema (size cap included).
    for (const chunk of chunks) expect(relayFrameSchemas.circuit_data.safeParse(chunk).success).toBe(true);

    const receiver = new CircuitSocket(recordingRelay().relay, 2, () => {});
    const received: Buffer[] = [];
    receiver.on('message', (data: Buffer) => received.push(data));
    for (const chunk of chunks) receiver.receive({ ...(chunk as Extract<Sent, { t: 'circuit_data' }>), id: 2 });
    expect(received).toHaveLength(1);
    expect(new Uint8Array(received[0]!)).toEqual(message);
  });

  it('sends an empty message as one chunk', () => {
    const { relay, sent } = recordingRelay();
    new CircuitSocket(relay, 1, () => {}).send(new Uint8Array(0));
    expect(sent).toEqual([{ t: 'circuit_data', id: 1, data: '' }]);
  });

  it('paces what it sends under the relay rate and counts the rest as buffered', () => {
    vi.useFakeTimers();
    const { relay, sent } = recordingRelay();
    const socket = new CircuitSocket(relay, 1, () => {});
    const messages = 40;
    const total = messages * CIRCUIT_CHUNK_BYTES;
    for (let i = 0; i < messages; i++) socket.send(new Uint8Array(CIRCUIT_CHUNK_BYTES));
    // At once: the pace's burst, below the relay's burst; the rest waits.
    expect(dataBytes(sent)).toBeLessThanOrEqual(CIRCUIT_PACE.burstBytes);
    expect(CIRCUIT_PACE.burstBytes).toBeLessThan(CIRCUIT_RATE.burstBytes);
    expect(socket.bufferedAmount).toBe(total - dataBytes(sent));
    vi.advanceTimersByTime(1_000);
    expect(dataBytes(sent)).toBeLessThanOrEqual(CIRCUIT_PACE.burstBytes + CIRCUIT_PACE.bytesPerSecond + CIRCUIT_CHUNK_BYTES);
    vi.advanceTimersByTime(5_000);
    expect(dataBytes(sent)).toBe(total);
    expect(socket.bufferedAmount).toBe(0);
  });

  it('closes itself on a message larger than a link frame', () => {
    const socket = new CircuitSocket(recordingRelay().relay, 1, () => {});
    const closes: number[] = [];
    socket.on('close', (code: number) => closes.push(code));
    const chunk = Buffer.alloc(CIRCUIT_CHUNK_BYTES).toString('base64url');
    for (let i = 0; i < 7; i++) socket.receive({ t: 'circuit_data', id: 1, data: chunk, more: true });
    expect(closes).toEqual([4000]);
    expect(socket.isOpen).toBe(false);
  });

  it('rejects the wait for accept with the relay’s refusal code, and finishes once', async () => {
    let finished = 0;
    const socket = new CircuitSocket(recordingRelay().relay, 1, () => finished++);
    const accepted = socket.accepted(10_000);
    socket.receive({ t: 'circuit_close', id: 1, code: 'peer_circuit_limit', reason: 'at most 8 circuits per peer' });
    await expect(accepted).rejects.toEqual(new CircuitClosedError('peer_circuit_limit', 'at most 8 circuits per peer'));
    socket.linkClosed();
    socket.close();
    expect(finished).toBe(1);
  });

  it('passes the inner link’s close code end to end', () => {
    const { relay, sent } = recordingRelay();
    const socket = new CircuitSocket(relay, 1, () => {});
    socket.close(4003, 'duplicate');
    expect(sent).toEqual([{ t: 'circuit_close', id: 1, code: 'closed', reason: 'duplicate', link_code: 4003 }]);
    const other = new CircuitSocket(recordingRelay().relay, 2, () => {});
    const closes: Array<[number, string]> = [];
    other.on('close', (code: number, reason: Buffer) => closes.push([code, reason.toString()]));
    other.receive({ ...sent[0]!, id: 2 } as Extract<Sent, { t: 'circuit_close' }>);
    expect(closes).toEqual([[4003, 'duplicate']]);
  });
});

describe('TokenBucket', () => {
  it('allows a burst, then the rate, and says how long to wait', () => {
    let now = 0;
    const bucket = new TokenBucket(4, 2, () => now);
    expect([1, 2, 3, 4, 5].map(() => bucket.take())).toEqual([true, true, true, true, false]);
    expect(bucket.waitMs()).toBe(500);
    now = 500;
    expect(bucket.take()).toBe(true);
    expect(bucket.take()).toBe(false);
    now = 100_000;
    expect(bucket.take(3)).toBe(true);
    expect(bucket.waitMs(4)).toBe(1_500);
  });

  it('lets a cost above the burst through only when full', () => {
    let now = 0;
    const bucket = new TokenBucket(10, 10, () => now);
    expect(bucket.take(25)).toBe(true);
    expect(bucket.take(1)).toBe(false);
    now = 4_000;
    expect(bucket.take(25)).toBe(true);
  });
});

describe('limits from the environment', () => {
  it('overrides the named relay limits and keeps the others', () => {
    const limits = relayLimitsFromEnv({ CANOPY_RELAY_MAX_CIRCUITS: '10', CANOPY_RELAY_MAX_CIRCUITS_PER_PEER: '' });
    expect(limits).toEqual({ ...DEFAULT_RELAY_LIMITS, maxCircuits: 10 });
  });

  it('refuses a value that is not a positive integer, naming the variable', () => {
    for (const bad of ['0', '-1', '1.5', 'ten', '1e400']) {
      expect(() => relayLimitsFromEnv({ CANOPY_RELAY_MAX_CIRCUIT_BYTES: bad })).toThrow(`Invalid CANOPY_RELAY_MAX_CIRCUIT_BYTES: ${bad}`);
    }
    expect(() => limitsFromEnv({ X: '3' }, { a: 1 }, { a: 'X' })).not.toThrow();
  });
});
