import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CANOPY_VERSION } from '../../../protocol/version.ts';

describe('version', () => {
  it('matches package.json', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(CANOPY_VERSION).toBe(pkg.version);
  });
});
