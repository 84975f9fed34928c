// Dialling a peer's endpoints: an invite may list up to 16, some of which accept TCP and then
// never answer. One after the other that cost up to 16 × 5 s; here a few are tried at once, the
// first to complete wins, the others are cancelled (their sockets closed), and the whole attempt
// ends at a deadline whatever is still in flight.

export interface DialRaceOptions {
  /** Endpoints dialled at once. */
  concurrency: number;
  /** The whole attempt; what has not answered by then is cancelled. */
  deadlineMs: number;
  /** Asked after each failure: true ends the race early (the peer reached us another way). */
  settledElsewhere?: () => boolean;
}

export type DialRaceOutcome<T> =
  | { status: 'connected'; endpoint: string; value: T }
  | { status: 'settled_elsewhere' }
  | { status: 'failed'; errors: Array<{ endpoint: string; error: string }> };

export const DIAL_CONCURRENCY = 4;
export const DIAL_DEADLINE_MS = 10_000;

/** Dials `endpoints` (in their order, `concurrency` at a time) until one succeeds, all fail, or the deadline passes. */
export function dialFirst<T>(
  endpoints: readonly string[],
  dial: (endpoint: string, signal: AbortSignal) => Promise<T>,
  options: DialRaceOptions,
): Promise<DialRaceOutcome<T>> {
  const controller = new AbortController();
  const errors: Array<string | undefined> = endpoints.map(() => undefined);
  let started = 0;
  let running = 0;
  let done = false;

  return new Promise((resolve) => {
    const finish = (outcome: DialRaceOutcome<T>, cancelReason: string) => {
      if (done) return;
      done = true;
      clearTimeout(deadline);
      controller.abort(new Error(cancelReason));
      resolve(outcome);
    };
    const failed = (unanswered: string): DialRaceOutcome<T> => ({
      status: 'failed',
      errors: endpoints.map((endpoint, index) => ({
        endpoint,
        error: errors[index] ?? (index < started ? unanswered : 'Not tried: the deadline came first'),
      })),
    });
    const deadline = setTimeout(() => {
      const seconds = options.deadlineMs / 1000;
      finish(failed(`No answer within the ${seconds} s deadline`), `the ${seconds} s deadline passed`);
    }, options.deadlineMs);
    deadline.unref();

    const launch = () => {
      while (!done && running < options.concurrency && started < endpoints.length) {
        const index = started++;
        const endpoint = endpoints[index]!;
        running++;
        dial(endpoint, controller.signal).then(
          (value) => finish({ status: 'connected', endpoint, value }, `${endpoint} answered first`),
          (error: unknown) => {
            running--;
            errors[index] = error instanceof Error ? error.message : String(error);
            if (done) return;
            if (options.settledElsewhere?.()) finish({ status: 'settled_elsewhere' }, 'the peer is already connected');
            else if (started === endpoints.length && running === 0) finish(failed('No answer'), 'every endpoint failed');
            else launch();
          },
        );
      }
    };
    if (endpoints.length === 0) finish(failed('No answer'), 'no endpoints');
    else launch();
  });
}
