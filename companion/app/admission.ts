// Who may occupy the app link before proving anything. A handshake costs the companion a socket and
// a timer (slots are shared with the mesh's logic: transport/connection-limits.ts, where a newcomer
// evicts the oldest silent socket); an unauthenticated session costs a socket, keepalive pings and
// a place in the queue for password checks. Both are capped in total and per remote address (an
// IPv6 host is its /64), so neither a flood from one host nor one from many can keep the owner's
// browsers out; logged-in browsers have their own cap.

import { FIRST_MESSAGE_TIMEOUT_MS } from '../transport/noise-exchange.ts';

export const APP_LINK_LIMITS = {
  /**
   * New app-link connections per remote address: a browser opens one and reconnects now and then;
   * a script opening hundreds a second (each a handshake) must not starve the web page and REST.
   */
  newConnectionsPerSecond: 10,
  newConnectionsBurst: 30,
  /** Handshakes in progress at once (WebSocket accepted, Noise not finished). */
  pendingHandshakes: 32,
  pendingHandshakesPerAddress: 8,
  /** A browser sends handshake message 1 as soon as the socket opens (FIRST_MESSAGE_TIMEOUT_MS). */
  firstMessageTimeoutMs: FIRST_MESSAGE_TIMEOUT_MS,
  /** The whole handshake (the browser may compute with pure-JS crypto on a slow phone). */
  handshakeTimeoutMs: 10_000,
  /** Sessions that completed the handshake but are not logged in (setup and login pages). */
  unauthenticatedSessions: 64,
  unauthenticatedPerAddress: 8,
  /** An unauthenticated session is closed this long after it opened (the web app reconnects when needed). */
  loginWindowMs: 30_000,
  /** Logged-in browsers connected at once. */
  loggedInSessions: 64,
};
