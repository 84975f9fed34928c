import type { LogFields, Logger } from './logger.ts';

const INTERVAL_MS = 60_000;

/**
 * A warning for a limit that was hit: the first time it is logged at once, then at most once a
 * minute with how many were left out — a flood must not turn into a flood of log lines.
 */
export function limitWarning(log: Logger, area: string, message: string, now: () => number = Date.now): (fields?: LogFields) => void {
  let lastAt = -Infinity;
  let suppressed = 0;
  return (fields) => {
    const at = now();
    if (at - lastAt < INTERVAL_MS) {
      suppressed++;
      return;
    }
    log.warn(area, message, { ...fields, ...(suppressed > 0 ? { not_logged_since_last: suppressed } : {}) });
    lastAt = at;
    suppressed = 0;
  };
}
