// A client of GET /api/v1/events over a real HTTP connection, parsed with eventsource-parser:
// collects events and heartbeat comments, and can stop reading (a slow client) and start again.
import { request, type IncomingMessage } from 'node:http';
import { createParser } from 'eventsource-parser';

export interface StreamEvent {
  event: string;
  id: string | undefined;
  data: any;
}

export interface EventStreamClient {
  status: number;
  contentType: string;
  /** The JSON body of a refused stream (status ≠ 200). */
  body: any;
  /** Every event received so far, in order. */
  events: StreamEvent[];
  /** Heartbeat comment lines received so far. */
  comments: number;
  /** The server ended the response. */
  ended(): boolean;
  /** The first event at or after index `from` matching `match` (waits for it). */
  next(match: (event: StreamEvent) => boolean, options?: { from?: number; timeoutMs?: number }): Promise<StreamEvent>;
  /** Stops reading from the socket (the server's writes back up), and starts again. */
  pause(): void;
  resume(): void;
  close(): void;
}

export interface OpenOptions {
  since?: string;
  lastEventId?: string;
}

export function openEventStream(baseUrl: string, key: string | undefined, options: OpenOptions = {}): Promise<EventStreamClient> {
  const url = new URL('/api/v1/events', baseUrl);
  if (options.since !== undefined) url.searchParams.set('since', options.since);
  const headers: Record<string, string> = { Accept: 'text/event-stream' };
  if (key) headers['X-API-Key'] = key;
  if (options.lastEventId !== undefined) headers['Last-Event-ID'] = options.lastEventId;
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (response: IncomingMessage) => {
      const contentType = response.headers['content-type'] ?? '';
      if (response.statusCode !== 200) {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve(refused(response.statusCode ?? 0, contentType, text)));
        return;
      }
      const events: StreamEvent[] = [];
      let comments = 0;
      let ended = false;
      const waiters = new Set<() => void>();
      const notify = () => waiters.forEach((waiter) => waiter());
      const parser = createParser({
        onEvent: (message) => {
          events.push({ event: message.event ?? 'message', id: message.id, data: JSON.parse(message.data) });
          notify();
        },
        onComment: () => {
          comments++;
          notify();
        },
      });
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => parser.feed(chunk));
      const finish = () => {
        ended = true;
        notify();
      };
      response.on('end', finish);
      response.on('close', finish);
      resolve({
        status: 200,
        contentType,
        body: undefined,
        events,
        get comments() {
          return comments;
        },
        ended: () => ended,
        next(match, { from = 0, timeoutMs = 20_000 } = {}) {
          return new Promise((resolveEvent, rejectEvent) => {
            const check = () => {
              const found = events.slice(from).find(match);
              if (found) {
                done();
                resolveEvent(found);
              } else if (ended) {
                done();
                rejectEvent(new Error(`stream ended without the awaited event; got: ${events.map((e) => e.event).join(', ')}`));
              }
            };
            const timer = setTimeout(() => {
              done();
              rejectEvent(new Error(`timed out waiting for an event; got: ${events.map((e) => e.event).join(', ')}`));
            }, timeoutMs);
            const done = () => {
              clearTimeout(timer);
              waiters.delete(check);
            };
            waiters.add(check);
            check();
          });
        },
        pause: () => response.pause(),
        resume: () => response.resume(),
        close: () => req.destroy(),
      } as EventStreamClient);
    });
    req.on('error', reject);
    req.end();
  });
}

function refused(status: number, contentType: string, text: string): EventStreamClient {
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // keep the text for the failure message
  }
  const nothing = () => Promise.reject(new Error(`stream refused: ${status} ${text}`));
  return { status, contentType, body, events: [], comments: 0, ended: () => true, next: nothing, pause() {}, resume() {}, close() {} };
}
