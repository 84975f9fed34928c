// Issue 6, deliverable 7: no bad input yields a 5xx. Against one real companion, every REST route
// (tests/helpers/routes.ts) gets a fixed list of hostile bodies, query strings and path parameters
// with a key holding every permission, so each request reaches the route's own validation. Every
// answer must be below 500, a 4xx must be JSON `{"error": string}`, the instance must still answer
// afterwards, and the junk must not have created peers, requests or keys. The app link's methods
// get the same hostile values from a logged-in browser session.
//
// Requests go out through node:http, not fetch, so paths such as `/keys/..` reach the companion as
// written (fetch would resolve them) and bodies and Content-Types are sent byte for byte. Invites
// sent here are all invalid: no request makes the companion dial out.
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES } from '../../companion/api/body.ts';
import { METHODS } from '../../companion/app/methods.ts';
import { apiClient, createKey, type ApiClient } from '../helpers/api.ts';
import { connectApp, setUpAccount } from '../helpers/app-client.ts';
import { startInstance, type Instance } from '../helpers/instance.ts';
import { mountedRoutes } from '../helpers/routes.ts';

const JSON_TYPE = 'application/json';

/** The fields each route reads from its body or query, so each gets every hostile value in turn. */
const FIELDS: Record<string, string[]> = {
  'POST /api/v1/p2p/invite/import': ['invite_code'],
  'POST /api/v1/p2p/reconnect': ['peer_id'],
  'POST /api/v1/p2p/relay_policy': ['policy'],
  'POST /api/v1/p2p/send': ['content', 'broadcast', 'peer_id', 'metadata'],
  'POST /api/v1/keys': ['permissions', 'name', 'expires_days'],
  'POST /api/v1/device/profile': ['display_name', 'description', 'avatar_b64', 'avatar_mime'],
  'POST /api/v1/profile': ['display_name', 'bio'],
};
/**
 * Valid fields each hostile field joins, so the junk gets past "field X required" to the service
 * (a broadcast really is posted). Keys get an empty permission list: the service refuses it after
 * the schema has checked the other fields, so no key is ever made.
 */
const BASE: Record<string, Record<string, unknown>> = {
  'POST /api/v1/p2p/send': { broadcast: true, content: 'fuzz' },
  'POST /api/v1/keys': { permissions: [] },
};
const QUERY_FIELDS = ['limit', 'before', 'after', 'peer_id', 'public_host', 'public_port', 'since'];

const deeplyNested = (levels: number, open: string, close: string, leaf = '1') => open.repeat(levels) + leaf + close.repeat(levels);
const DEEP_OBJECT = deeplyNested(10_000, '{"a":', '}');
const DEEP_ARRAY = deeplyNested(10_000, '[', ']');
const HUGE_STRING = 'x'.repeat(200 * 1024);
/** Lone surrogates, a NUL, bidi overrides, combining marks, a non-character and an emoji. */
const UNICODE_JUNK = '\ud800\udfff\u0000\u202e\u0301\u0301\ufffe\uffff\ud83d\udca9\u200b';

/** Hostile values for one field, written as JSON text (so 1e309 and lone surrogates go out as is). */
const FIELD_VALUES: Array<[string, string]> = [
  ['a number', '1'],
  ['a boolean', 'true'],
  ['null', 'null'],
  ['an array', '[1,"two",{}]'],
  ['an object', '{"nested":{"deeper":[]}}'],
  ['a 200 KB string', JSON.stringify(HUGE_STRING)],
  ['unicode junk', JSON.stringify(UNICODE_JUNK)],
  ['an escaped lone surrogate', '"\\ud800 alone \\udc00"'],
  ['1e309 (Infinity)', '1e309'],
  ['-1', '-1'],
  ['"NaN" as text', '"NaN"'],
  ['2^53 + 1', '9007199254740993'],
  ['10,000 nested objects', DEEP_OBJECT],
  ['10,000 nested arrays', DEEP_ARRAY],
];

interface BodyCase {
  name: string;
  body: string | Buffer;
  contentType?: string;
  /** Sent chunked, without Content-Length, so only counting the bytes as they come can stop it. */
  chunked?: boolean;
}

/** Bodies whose shape is wrong whatever the route. */
const SHAPE_CASES: BodyCase[] = [
  { name: 'invalid JSON', body: '{"content": "unterminated', contentType: JSON_TYPE },
  { name: 'a JSON array', body: '[{"content":"hi"}]', contentType: JSON_TYPE },
  { name: 'a JSON string', body: '"just a string"', contentType: JSON_TYPE },
  { name: 'JSON null', body: 'null', contentType: JSON_TYPE },
  { name: 'a JSON number', body: '1e309', contentType: JSON_TYPE },
  { name: 'an empty body with Content-Type JSON', body: '', contentType: JSON_TYPE },
  { name: 'a body over the limit', body: `{"content":"${'y'.repeat(MAX_BODY_BYTES)}"}`, contentType: JSON_TYPE },
  { name: 'a chunked body over the limit', body: `{"content":"${'y'.repeat(MAX_BODY_BYTES)}"}`, contentType: JSON_TYPE, chunked: true },
  { name: '10,000 nested objects', body: DEEP_OBJECT, contentType: JSON_TYPE },
  { name: '10,000 nested arrays', body: DEEP_ARRAY, contentType: JSON_TYPE },
  { name: 'invalid UTF-8', body: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0xc0, 0x80, 0x22, 0x3a, 0x31, 0x7d]), contentType: JSON_TYPE },
  { name: 'a UTF-8 BOM before the JSON', body: '\ufeff{}', contentType: JSON_TYPE },
  {
    name: 'prototype-pollution keys',
    body: '{"__proto__":{"polluted":true,"permissions":["manage_keys"]},"constructor":{"prototype":{"polluted":true}},"prototype":{"polluted":true}}',
    contentType: JSON_TYPE,
  },
  { name: 'a form body', body: 'content=hi&broadcast=true', contentType: 'application/x-www-form-urlencoded' },
  { name: 'a wrong Content-Type', body: '{"unterminated":', contentType: 'text/plain' },
  { name: 'no Content-Type', body: '<xml/>' },
];

const NUMBER_JUNK = ['NaN', '1e309', '-1', '9007199254740993', '0x10'];
// Long values stay under Node's 16 KiB header limit, past which Node itself answers 431 before any route runs.
const TEXT_JUNK = ['%00', '%ED%A0%80' /* an encoded lone surrogate: not UTF-8 */, '%F0%9F%92%A9', 'x'.repeat(2_000)];

/** Every route gets each junk value in every query field at once (a route that ignores the query must not mind). */
const QUERY_CASES_ALL: string[] = [...NUMBER_JUNK, ...TEXT_JUNK].map((value) => QUERY_FIELDS.map((field) => `${field}=${value}`).join('&'));
/** Routes that read the query get each field alone too, so an earlier field's 400 hides no later one. */
const QUERY_CASES_EACH: string[] = [
  ...QUERY_FIELDS.flatMap((field) => [...NUMBER_JUNK, ...TEXT_JUNK].map((value) => `${field}=${value}`)),
  'limit=1&limit=2&peer_id=a&peer_id=b&public_host=a&public_host=b',
  'before=1&after=1',
  '__proto__[polluted]=1&constructor[prototype][polluted]=1',
  '%ZZ=%ZZ',
];
const READS_QUERY = new Set([
  'GET /api/v1/p2p/invite',
  'POST /api/v1/p2p/invite/regenerate',
  'GET /api/v1/channels/:id/messages',
  'GET /api/v1/messages',
  'GET /api/v1/events',
]);

/** Path parameters in place of `:peer_id` / `:id`, written as they go on the wire. */
const PATH_PARAMS: string[] = [
  'p'.repeat(8_000),
  '..',
  '%2e%2e',
  '..%2f..%2fetc%2fpasswd',
  '%00',
  '%ZZ',
  '%ED%A0%80', // an encoded lone surrogate: not UTF-8
  '%F0%9F%92%A9',
  encodeURIComponent('ünïcødé'),
  '__proto__',
  'constructor',
  '-1',
];

/** Every route the REST app mounts (so a new route is fuzzed without editing this file). */
const ROUTES = mountedRoutes();

let instance: Instance;
let admin: ApiClient;
let key: string;

beforeAll(async () => {
  // Discovery off: fuzzed values may switch auto-connect on, and other test files' instances on
  // loopback must not become this one's peers (the test checks that nothing was created).
  instance = await startInstance({ env: { CANOPY_DISCOVERY: 'off' } });
  key = await createKey(instance.dataDir, 'all');
  admin = apiClient(instance.url, key);
});
afterAll(async () => instance?.stop());

interface Answer {
  status: number;
  contentType: string;
  text: string;
}

function send(method: string, path: string, body?: BodyCase): Promise<Answer> {
  const headers: Record<string, string | number> = { 'X-API-Key': key };
  const payload = body === undefined ? undefined : typeof body.body === 'string' ? Buffer.from(body.body, 'utf8') : body.body;
  if (body?.contentType) headers['Content-Type'] = body.contentType;
  // Node's client frames a DELETE body only when told to: chunked is said explicitly.
  if (payload) Object.assign(headers, body?.chunked ? { 'Transfer-Encoding': 'chunked' } : { 'Content-Length': payload.length });
  const { hostname, port } = new URL(instance.url);
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: hostname, port, method, path, headers }, (response) => {
      // The event stream never ends by itself: its status and type are the answer.
      if ((response.headers['content-type'] ?? '').startsWith('text/event-stream')) {
        resolve({ status: response.statusCode ?? 0, contentType: response.headers['content-type']!, text: '' });
        request.destroy();
        return;
      }
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, contentType: response.headers['content-type'] ?? '', text: Buffer.concat(chunks).toString() }),
      );
      response.on('error', reject);
    });
    // An oversized body may be answered (413) and the socket closed before it is all written.
    request.on('error', reject);
    if (payload && body?.chunked) {
      // In pieces, as a slow client would: the companion must stop reading once past the limit.
      for (let at = 0; at < payload.length; at += 16 * 1024) request.write(payload.subarray(at, at + 16 * 1024));
      request.end();
    } else request.end(payload);
  });
}

/** Every failure found, so one run lists them all rather than stopping at the first. */
const problems: string[] = [];

async function probe(method: string, path: string, what: string, body?: BodyCase): Promise<void> {
  let answer: Answer;
  try {
    answer = await send(method, path, body);
  } catch (error) {
    problems.push(`${method} ${path.slice(0, 80)} with ${what}: no answer (${(error as Error).message})`);
    return;
  }
  const where = `${method} ${path.slice(0, 80)} with ${what}: ${answer.status} ${answer.text.slice(0, 200)}`;
  if (answer.status >= 500) problems.push(where);
  else if (answer.status >= 400) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(answer.text);
    } catch {
      parsed = undefined;
    }
    const error = (parsed as { error?: unknown } | undefined)?.error;
    if (!answer.contentType.startsWith(JSON_TYPE) || typeof error !== 'string' || error === '') {
      problems.push(`${where} (a 4xx must be JSON {"error": string})`);
    }
  }
}

/** A route's path with each `:param` replaced (by a harmless id unless given). */
const pathOf = (template: string, param = 'no-such-id') => template.replace(/:[a-z_]+/gi, param);

/** The route's base object with `field` given the hostile JSON text `value` (kept as written). */
function withField(route: string, field: string, value: string): BodyCase {
  const others = Object.entries(BASE[route] ?? {})
    .filter(([name]) => name !== field)
    .map(([name, valid]) => `${JSON.stringify(name)}:${JSON.stringify(valid)}`);
  return { name: field, body: `{${[...others, `${JSON.stringify(field)}:${value}`].join(',')}}`, contentType: JSON_TYPE };
}

async function counts() {
  const [peers, requests, keys] = await Promise.all([admin.get('/p2p/peers'), admin.get('/p2p/requests'), admin.get('/keys')]);
  expect([peers.status, requests.status, keys.status]).toEqual([200, 200, 200]);
  return { peers: peers.body.known_peers.length, requests: requests.body.requests.length, keys: keys.body.keys.length };
}

describe('REST fuzz: no bad input yields a 5xx', () => {
  it('knows the fields and query of routes the API really mounts', () => {
    for (const route of [...Object.keys(FIELDS), ...Object.keys(BASE), ...READS_QUERY]) expect(ROUTES).toContain(route);
  });

  it('answers hostile bodies, queries and path parameters below 500, 4xx as JSON errors, and creates nothing', async () => {
    problems.length = 0;
    const before = await counts();
    let sent = 0;
    const probeCounted = async (...args: Parameters<typeof probe>) => {
      sent++;
      await probe(...args);
    };

    for (const route of ROUTES) {
      const [method, template] = route.split(' ') as [string, string];
      const path = pathOf(template);
      const queries = READS_QUERY.has(route) ? [...QUERY_CASES_ALL, ...QUERY_CASES_EACH] : QUERY_CASES_ALL;
      for (const query of queries) await probeCounted(method, `${path}?${query}`, `query ${query.slice(0, 60)}`);
      if (template.includes(':')) {
        for (const param of PATH_PARAMS) await probeCounted(method, pathOf(template, param), `path parameter ${param.slice(0, 40)}`);
      }
      if (method === 'GET') continue;
      for (const shape of SHAPE_CASES) await probeCounted(method, path, shape.name, shape);
      for (const field of FIELDS[route] ?? []) {
        for (const [name, value] of FIELD_VALUES) await probeCounted(method, path, `${field} as ${name}`, withField(route, field, value));
      }
    }

    expect(problems, problems.join('\n')).toEqual([]);
    expect(sent).toBeGreaterThan(300);
    // Still up, and the junk made no peers, requests or keys.
    expect((await admin.get('/p2p/status')).status).toBe(200);
    expect(await counts()).toEqual(before);
    const status = await fetch(`${instance.url}/api/v1/p2p/status`);
    expect(await status.text()).not.toContain('polluted');
  }, 120_000);
});

/** Method names that are not methods, among them Object.prototype's. */
const NOT_METHODS = ['no.such', 'constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf', 'session', '.'];

describe('app link fuzz: no bad params yield a 5xx', () => {
  it('answers hostile params of every method and unknown method names with 4xx, and the session keeps working', async () => {
    problems.length = 0;
    const before = await counts();
    const app = await connectApp(instance.url);
    expect((await setUpAccount(app, instance.dataDir, 'fuzzer', 'a long enough password')).ok).toBe(true);
    const check = async (method: string, paramsJson: string, what: string) => {
      const reply = await app.callRaw(method, paramsJson);
      if (reply.ok) return;
      const { status, message } = reply.error!;
      if (status < 400 || status >= 500 || typeof message !== 'string' || message === '') {
        problems.push(`${method} with ${what}: ${status} ${String(message).slice(0, 200)}`);
      }
    };

    for (const name of NOT_METHODS) await check(name, '{}', 'no params');
    // Logging out would end the session the rest of the run needs; its params are `{}` anyway.
    const methods = Object.keys(METHODS).filter((method) => method !== 'session.logout');
    for (const method of methods) {
      const shape = (METHODS[method as keyof typeof METHODS].params as { shape?: Record<string, unknown> }).shape;
      const fields = shape ? Object.keys(shape) : ['display_name', 'bio', 'device_name'];
      for (const field of [...fields, '__proto__', 'constructor']) {
        for (const [name, json] of FIELD_VALUES) await check(method, `{${JSON.stringify(field)}:${json}}`, `${field} as ${name}`);
      }
    }

    expect(problems, problems.join('\n')).toEqual([]);
    const status = await app.call('session.status');
    expect(status.result).toMatchObject({ authenticated: true, username: 'fuzzer' });
    expect(await counts()).toEqual(before);
    app.close();
  }, 120_000);
});
