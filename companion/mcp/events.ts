import { EventSourceParserStream, type EventSourceMessage } from 'eventsource-parser/stream';
import type { RestClient } from './rest-client.ts';

/** Largest single event accepted from the stream, in characters: the largest post, fully escaped, fits. */
export const MAX_EVENT_CHARS = 1024 * 1024;

/**
 * The instance's event stream (GET /api/v1/events), parsed: every event in order until the server
 * ends the stream or `signal` aborts. `since` replays what came after that cursor first; without it
 * the stream starts now. Heartbeat comments are dropped by the parser.
 */
export async function* streamEvents(rest: RestClient, since: string | null, signal: AbortSignal): AsyncGenerator<EventSourceMessage> {
  const response = await rest.open('/events', { since: since ?? undefined }, signal, { Accept: 'text/event-stream' });
  if (!response.body) return;
  const reader = response.body
    .pipeThrough(new TextDecoderStream())
    .pipeThrough(new EventSourceParserStream({ maxBufferSize: MAX_EVENT_CHARS, onError: 'terminate' }))
    .getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    // Leaving early (a match, a timeout) must end the HTTP request, not leave it streaming.
    await reader.cancel().catch(() => {});
  }
}
