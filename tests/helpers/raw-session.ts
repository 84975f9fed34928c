// A trusted raw mesh peer for sync tests: it proves the victim's invite in its handshake, then
// sends frames of its own making and reads what comes back, decoded.
import { nodeCrypto } from '../../companion/crypto/node.ts';
import { b58encode } from '../../protocol/bytes.ts';
import { signEvent, type SignedEvent } from '../../protocol/events.ts';
import { decodeFrame, encodeFrame, type DecodeFrameResult, type Frame } from '../../protocol/frames.ts';
import { generateIdentity, type Identity } from '../../protocol/identity.ts';
import type { ApiClient } from './api.ts';
import type { Instance } from './instance.ts';
import { rawHandshake } from './raw-peer.ts';

type Decoded = Extract<DecodeFrameResult, { ok: true }>['frame'];

export interface RawSession {
  identity: Identity;
  send(frame: Frame): void;
  /** Sends bytes as one sealed frame (for frames no encoder would make). */
  sendRaw(plaintext: Uint8Array): void;
  /** The next frame matching `match`, skipping others (every frame is opened in order). */
  waitFor<T extends Decoded>(match: (frame: Decoded) => frame is T, timeoutMs?: number): Promise<T>;
  waitFor(match: (frame: Decoded) => boolean, timeoutMs?: number): Promise<Decoded>;
  /** Stops reading from the socket: the victim's sends pile up as a peer that never reads would make them. */
  stopReading(): void;
  closed: Promise<{ code: number; reason: string }>;
  isOpen(): boolean;
  close(): void;
}

/**
 * Connects a new identity to `instance`'s mesh port, trusted through `api`'s invite code; `from`
 * is the loopback address to dial from (see openRaw).
 */
export async function trustedRawSession(
  instance: Instance,
  api: ApiClient,
  identity = generateIdentity(nodeCrypto),
  options: { from?: string; capabilities?: string[] } = {},
): Promise<RawSession> {
  const invite = await api.get('/p2p/invite');
  if (invite.status !== 200) throw new Error(`GET /p2p/invite answered ${invite.status}`);
  const connection = await rawHandshake(`ws://127.0.0.1:${instance.meshPort}/p2p`, identity, {
    inviteCode: invite.body.invite_code,
    from: options.from,
    capabilities: options.capabilities,
  });
  const { transport } = connection;
  let open = true;
  void connection.closed.then(() => (open = false));
  // Every frame is opened as it arrives (the transport must open them in order) and queued.
  const frames: Decoded[] = [];
  let wake: () => void = () => {};
  let failure: string | undefined;
  void (async () => {
    for (;;) {
      const decoded = decodeFrame(transport.open(await connection.next()));
      if (!decoded.ok) {
        failure = `undecodable frame from the companion: ${decoded.error}`;
        return;
      }
      frames.push(decoded.frame);
      wake();
    }
  })();
  async function waitFor(match: (frame: Decoded) => boolean, timeoutMs = 20_000): Promise<Decoded> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (frames.length > 0) {
        const frame = frames.shift()!;
        if (match(frame)) return frame;
      }
      if (failure) throw new Error(failure);
      if (!open) throw new Error('link closed while waiting for a frame');
      if (Date.now() > deadline) throw new Error('timed out waiting for a frame');
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 100);
      });
    }
  }
  return {
    identity,
    send: (frame) => connection.ws.send(transport.seal(encodeFrame(frame))),
    sendRaw: (plaintext) => connection.ws.send(transport.seal(plaintext)),
    waitFor: waitFor as RawSession['waitFor'],
    stopReading: () => (connection.ws as unknown as { _socket: { pause(): void } })._socket.pause(),
    closed: connection.closed,
    isOpen: () => open,
    close: () => connection.ws.close(),
  };
}

/** A signed post by `identity`. */
export function rawPost(identity: Identity, channel: string, seq: number, content: string): SignedEvent {
  return signEvent(nodeCrypto, identity, {
    v: 1,
    author: identity.peerId,
    author_key: b58encode(identity.ed25519.publicKey),
    channel,
    seq,
    kind: 'post',
    ts: Date.now(),
    body: { content },
  });
}

/** The process's resident memory in MiB, from /proc (Linux). */
export async function rssMiB(pid: number): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1]);
  if (!Number.isFinite(kb)) throw new Error(`no VmRSS for ${pid}`);
  return kb / 1024;
}
