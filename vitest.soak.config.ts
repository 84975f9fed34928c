import { defineConfig } from 'vitest/config';
import base from './vitest.config.ts';

// The soak (tests/soak/) runs alone after the other tests, so nothing else competes for the CPU
// while it measures how responsive the instances stay under abuse.
export default defineConfig({
  test: { ...base.test, include: ['tests/soak/**/*.test.ts'], maxWorkers: 1 },
});
