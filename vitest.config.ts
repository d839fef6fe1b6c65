import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Nest injects providers by the constructor's parameter types: keep legacy decorators and
  // their design:paramtypes metadata, exactly as tsc emits them for the build.
  oxc: {
    decorator: { legacy: true, emitDecoratorMetadata: true },
  },
  resolve: {
    alias: {
      // Before 'nestjs-events', which would otherwise take it as a prefix.
      'nestjs-events/broadcast-client': fileURLToPath(
        new URL('./lib/broadcasting/client/broadcast.client.ts', import.meta.url),
      ),
      'nestjs-events': fileURLToPath(new URL('./lib/index.ts', import.meta.url)),
    },
  },
  test: {
    include: ['test/**/*.spec.ts', 'test/**/*.e2e-spec.ts', 'sample/**/*.spec.ts'],
    setupFiles: ['./test/support/setup.ts'],
    // Only a guard against a hang, never a timing assertion: generous, so that a loaded 2-core
    // machine (Nest apps and child processes starting side by side) does not fail a healthy test.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Spec files share their worker processes instead of importing Nest, ioredis and the library
    // afresh each (the suite ran in 5 min instead of 9 here). The setup file fails a file that
    // leaves an application running, so nothing of one file reaches the next.
    isolate: false,
    // Most suites wait on Redis, PostgreSQL and child processes, not on the CPU: three files at
    // once keep the 2-core CI machine busy (one at a time took twice as long).
    maxWorkers: 3,
  },
});
