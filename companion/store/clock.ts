/** Milliseconds since the epoch; injected so tests can move time (key expiry, rate limits). */
export type Clock = () => number;
export const systemClock: Clock = () => Date.now();
