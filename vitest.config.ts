// Component tests of the dashboard (renderer/dashboard/**/*.test.tsx) in jsdom. Node's own test
// runner runs every *.test.ts; `node scripts/test.mjs` runs both.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  esbuild: { jsx: 'automatic' },
  test: {
    environment: 'jsdom',
    include: ['renderer/dashboard/**/*.test.tsx'],
    setupFiles: ['renderer/dashboard/test-setup.ts'],
    css: false,
    // Typing through user-event is slow on a busy 2-core machine; no test waits on a clock.
    testTimeout: 30_000,
    pool: 'threads',
    poolOptions: { threads: { maxThreads: 2, minThreads: 1 } },
  },
});
