// A Node stand-in for the browser's side of the app link, built from the same protocol code:
// Noise XX as initiator with a device key, then requests and pushes inside the session.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { nodeCrypto } from '../../companion/crypto/node.ts';
import { APP_LINK_PROLOGUE_TEXT, type AppMethod, type CompanionHello } from '../../protocol/app/contract.ts';
import { decodeServerFrame, encodeAppFrame } from '../../protocol/app/frames.ts';
import { fromUtf8, utf8 } from '../../protocol/bytes.ts';
import { generateKeyPair, type KeyPair } from '../../protocol/crypto/types.ts';
import { SecureTransport, XXHandshake } from '../../protocol/noise/index.ts';
import { WebSocket } from 'ws';
import { openRaw } from './raw-peer.ts';

export interface AppReply {
  ok: boolean;
  result?: any;
  error?: { status: number; message: string; details?: Record<string, unknown> };
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);

/** The instance's one-time setup code, as the owner reads it: `canopy setup-code`, alone on stdout. */
export async function readSetupCode(dataDir: string): Promise<string> {
  const { stdout } = await run(process.execPath, [join(ROOT, 'bin', 'canopy.js'), 'setup-code', '--data-dir', dataDir], { cwd: ROOT });
  return stdout.trim();
}

/** Creates the account over `app` with the instance's setup code (what the Setup page does). */
export async function setUpAccount(app: AppClient, dataDir: string, username: string, password: string): Promise<AppReply> {
  return app.call('session.setup', { username, password, setup_code: await readSetupCode(dataDir) });
}

export const newDeviceKey = (): KeyPair => generateKeyPair(nodeCrypto, 'x25519');

/** A browser's app link; `from` dials from another loopback address, as another host would. */
export async function connectApp(baseUrl: string, deviceKey: KeyPair = newDeviceKey(), label = 'Test browser', from?: string) {
  const connection = await openRaw(`${baseUrl.replace(/^http/, 'ws')}/api/v1/app`, from);
  const noise = new XXHandshake(nodeCrypto, { initiator: true, staticKey: deviceKey, prologue: utf8(APP_LINK_PROLOGUE_TEXT) });
  connection.ws.send(noise.writeMessage(new Uint8Array(0)));
  // A companion at its limits closes the socket instead of answering: fail instead of waiting forever.
  const message2 = await Promise.race([
    connection.next(),
    connection.closed.then(({ code, reason }) => Promise.reject(new Error(`app link closed during the handshake (${code}): ${reason}`))),
  ]);
  const hello = JSON.parse(fromUtf8(noise.readMessage(message2))) as CompanionHello;
  const companionKey = noise.remoteStaticKey!;
  connection.ws.send(noise.writeMessage(utf8(JSON.stringify({ label }))));
  const transport = SecureTransport.fromHandshake(noise);

  const pending = new Map<number, (reply: AppReply) => void>();
  const pushes: Array<{ topic: string; data: any }> = [];
  // Called as each push is decoded, for callers that must time its arrival (the mesh bench).
  const pushListeners = new Set<(push: { topic: string; data: any }) => void>();
  let nextId = 1;
  void (async () => {
    for (;;) {
      let bytes: Uint8Array;
      try {
        bytes = await connection.next();
      } catch {
        return;
      }
      const decoded = decodeServerFrame(transport.open(bytes));
      if (!decoded.ok) throw new Error(decoded.error);
      const frame = decoded.frame;
      if (frame.t === 'res') pending.get(frame.id)?.(frame.ok ? { ok: true, result: frame.result } : { ok: false, error: frame.error });
      else if (frame.t === 'push') {
        const push = { topic: frame.topic, data: frame.data };
        pushes.push(push);
        for (const listener of pushListeners) listener(push);
      } else if (frame.t === 'ping') connection.ws.send(transport.seal(encodeAppFrame({ t: 'pong', n: frame.n })));
    }
  })();

  // A link the companion closes (caps, login window) answers every waiting and later call with status 0.
  let closedBy: { code: number; reason: string } | undefined;
  void connection.closed.then((closed) => {
    closedBy = closed;
    for (const resolve of pending.values()) resolve(linkClosed(closed));
    pending.clear();
  });

  const request = (frame: (id: number) => Uint8Array): Promise<AppReply> => {
    if (closedBy) return Promise.resolve(linkClosed(closedBy));
    const id = nextId++;
    const reply = new Promise<AppReply>((resolve) => pending.set(id, resolve));
    connection.ws.send(transport.seal(frame(id)));
    return reply;
  };
  const call = (method: AppMethod | string, params: Record<string, unknown> = {}): Promise<AppReply> =>
    request((id) => encodeAppFrame({ t: 'req', id, method: method as AppMethod, params }));
  /** A request whose params go out as this JSON text, byte for byte (values JSON.stringify cannot write, or too deep for it). */
  const callRaw = (method: string, paramsJson: string): Promise<AppReply> =>
    request((id) => utf8(`{"t":"req","id":${id},"method":${JSON.stringify(method)},"params":${paramsJson}}`));
  const onPush = (listener: (push: { topic: string; data: any }) => void) => pushListeners.add(listener);
  return { hello, companionKey, deviceKey, call, callRaw, pushes, onPush, closed: connection.closed, close: () => connection.ws.close() };
}

function linkClosed({ code, reason }: { code: number; reason: string }): AppReply {
  return { ok: false, error: { status: 0, message: `link closed (${code}): ${reason}`, details: { code } } };
}

/**
 * Asks for the app-link upgrade with these headers (a browser's Origin, a rebinding Host) and
 * reports what came back: 101 with the open socket, or the refusal's status and body.
 */
export function tryUpgrade(baseUrl: string, headers: Record<string, string> = {}, from?: string): Promise<{ status: number; body: string; ws?: WebSocket }> {
  const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/api/v1/app`, { headers, ...(from ? { localAddress: from } : {}) });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ status: 101, body: '', ws }));
    ws.once('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    ws.once('error', (error) => reject(error));
  });
}

export type AppClient = Awaited<ReturnType<typeof connectApp>>;
