import { describe, expect, it } from 'vitest';
import { isLocalHostName, OriginPolicy, parseAllowedOrigins } from '../../../companion/api/origin.ts';

describe('OriginPolicy', () => {
  const policy = new OriginPolicy(['https://canopy.example.com'], 'mybox');

  it('lets requests without Origin through (curl, agents)', () => {
    expect(policy.refusal({ host: 'evil.example' })).toBeNull();
  });

  it('accepts the companion\'s own origin on local names only', () => {
    for (const host of ['127.0.0.1:7770', 'localhost:7770', '[::1]:7770', '192.168.1.5:7770', 'mybox:7770', 'mybox.local:7770', 'pi.local:7770']) {
      expect(policy.refusal({ origin: `http://${host}`, host }), host).toBeNull();
    }
  });

  it('refuses another origin, a rebound DNS name, a null origin and a missing Host', () => {
    expect(policy.refusal({ origin: 'https://evil.example', host: '127.0.0.1:7770' })).toMatch(/other web pages/);
    expect(policy.refusal({ origin: 'http://evil.example:7770', host: 'evil.example:7770' })).toMatch(/host name "evil.example"/);
    expect(policy.refusal({ origin: 'null', host: '127.0.0.1:7770' })).toMatch(/other web pages/);
    expect(policy.refusal({ origin: 'http://127.0.0.1:7770' })).toMatch(/Host/);
    expect(policy.refusal({ origin: 'https://127.0.0.1:7770', host: '127.0.0.1:7770' })).toMatch(/other web pages/);
  });

  it('accepts listed origins whatever the Host', () => {
    expect(policy.refusal({ origin: 'https://canopy.example.com', host: '127.0.0.1:7770' })).toBeNull();
  });
});

describe('isLocalHostName', () => {
  it('knows which names an outsider cannot point here', () => {
    expect(isLocalHostName('10.0.0.2', 'box')).toBe(true);
    expect(isLocalHostName('app.localhost', 'box')).toBe(true);
    expect(isLocalHostName('BOX', 'box')).toBe(true);
    expect(isLocalHostName('box.example.com', 'box')).toBe(false);
    expect(isLocalHostName('localhost.evil.example', 'box')).toBe(false);
  });
});

describe('parseAllowedOrigins', () => {
  it('reads a comma-separated list and refuses what is not an origin', () => {
    expect(parseAllowedOrigins(' http://a.example:5173 , https://B.example/ ')).toEqual(['http://a.example:5173', 'https://b.example']);
    expect(parseAllowedOrigins(undefined)).toEqual([]);
    expect(() => parseAllowedOrigins('canopy.example')).toThrow(/not an origin/);
    expect(() => parseAllowedOrigins('https://a.example/path')).toThrow(/not an origin/);
  });
});
