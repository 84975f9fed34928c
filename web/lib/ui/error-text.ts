/**
 * Every failure the web app shows, in words for a person. The companion's errors are precise and
 * meant for scripts too (`Invalid public_host…`, `not valid base64url-encoded JSON`,
 * `connect ECONNREFUSED 127.0.0.1:7771`); the REST API keeps them as they are, and the pages say
 * what happened and what to do, with the precise words kept for a "Details" disclosure.
 */
import { AppError, NOT_CONNECTED_MESSAGE } from '../link/app-link.ts';
import { endpointErrors, type EndpointError } from './endpoints.ts';

export interface ErrorDescription {
  /** What happened and what to do about it. */
  text: string;
  /** The companion's own words (and each address that failed), for Details; null when `text` is them. */
  detail: string | null;
}

/** Invite decoding failures by the companion's `code`: only these few need different advice. */
const INVITE_ADVICE: Record<string, string> = {
  peer_id_mismatch: 'This invite code has been altered: its peer ID does not belong to its key. Ask your friend for a fresh code.',
  bad_binding: 'This invite code has been altered: its keys do not belong together. Ask your friend for a fresh code.',
  unsupported_version: 'This invite code comes from a newer version of Canopy. Update Canopy, then import it again.',
  own_invite: "That is your own invite code. Paste your friend's code instead.",
};
const DAMAGED_INVITE = 'This invite code is damaged or incomplete — copy it again.';
const INVITE_CODES = new Set(['bad_encoding', 'missing_field', 'bad_key', 'bad_secret', 'bad_endpoint', 'too_long', ...Object.keys(INVITE_ADVICE)]);

/** The companion's words that name a field or a protocol detail, by how they start. */
const BY_MESSAGE: Array<[prefix: string, text: string]> = [
  ['Invalid public_host', 'The public IP or host must be a host name or an IP address, such as 198.51.100.1 or canopy.example.org.'],
  ['public_port needs public_host', 'A port needs a public IP or host with it: fill in both, or leave both empty.'],
  ['Not logged in', 'You are logged out. Log in again to continue.'],
];

export function describeError(error: unknown): ErrorDescription {
  if (!(error instanceof AppError)) return { text: error instanceof Error ? error.message : String(error), detail: null };
  const precise = error.message;
  const said = (text: string): ErrorDescription => ({ text, detail: text === precise ? null : precise });
  const code = typeof error.details?.code === 'string' ? error.details.code : null;

  if (precise === NOT_CONNECTED_MESSAGE) return said("Your Canopy companion is not reachable right now. Try again once it's back.");
  if (code && INVITE_CODES.has(code)) return said(INVITE_ADVICE[code] ?? DAMAGED_INVITE);
  const known = BY_MESSAGE.find(([prefix]) => precise.startsWith(prefix));
  if (known) return said(known[1]);
  const failures = endpointErrors(error.details?.errors);
  if (error.status === 502) return { text: unreachableText(failures), detail: withFailures(precise, failures) };
  if (error.status === 429) return said('Too many tries in a row. Wait a moment, then try again.');
  if (error.status === 503) return said('Your Canopy companion is busy right now. Try again in a moment.');
  if (error.status >= 500) return said('Something went wrong in your Canopy companion. Try again; if it keeps happening, its log says more.');
  return said(precise);
}

/** `describeError(error).text`: the one line a page shows. */
export function errorText(error: unknown): string {
  return describeError(error).text;
}

/** "Couldn't reach that peer at 192.168.1.5:7771 — is it running and reachable from here?" */
export function unreachableText(failures: readonly EndpointError[]): string {
  const question = 'is it running and reachable from here?';
  const [first, ...others] = failures.map((failure) => hostAndPort(failure.endpoint));
  if (!first) return `Couldn't reach that peer — ${question}`;
  const more = others.length === 0 ? '' : ` or its ${others.length === 1 ? 'other address' : `${others.length} other addresses`}`;
  return `Couldn't reach that peer at ${first}${more} — ${question}`;
}

/** One address's failure as the dialler reported it, in plain words (`ECONNREFUSED` → nothing is listening). */
export function endpointProblem(error: string): string {
  const rules: Array<[RegExp, string]> = [
    [/ECONNREFUSED/, 'nothing is listening there (Canopy not running, or another port)'],
    [/ETIMEDOUT|deadline|No answer within|timed? ?out/i, 'no answer in time (offline, or a firewall in the way)'],
    [/ENOTFOUND|EAI_AGAIN/, 'this host name could not be found'],
    [/EHOSTUNREACH|ENETUNREACH/, 'this network cannot be reached from here'],
    [/ECONNRESET|closed/i, 'the connection was cut off'],
    [/answered as/, 'a different Canopy answered there'],
    [/Handshake failed|handshake/i, 'something answered, but not as Canopy'],
  ];
  return rules.find(([pattern]) => pattern.test(error))?.[1] ?? error;
}

/** "ws://192.168.1.5:7771/p2p" → "192.168.1.5:7771" (the part a person recognises). */
export function hostAndPort(endpoint: string): string {
  try {
    return new URL(endpoint).host || endpoint;
  } catch {
    return endpoint;
  }
}

function withFailures(precise: string, failures: readonly EndpointError[]): string {
  return [precise, ...failures.map((failure) => `${failure.endpoint}: ${failure.error}`)].join('\n');
}
