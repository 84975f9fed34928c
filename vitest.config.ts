import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/unit/**/*.test.ts', 'tests/integration/**/*.test.ts'],
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration tests start real companion processes; two cores do not like many at once.
    maxWorkers: 2,
    // A forgotten `.only` silently skips the rest of the suite; Vitest allows it unless CI is set.
    allowOnly: false,
  },
});
