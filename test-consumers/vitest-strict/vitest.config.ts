import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Nest injects providers by their constructor parameter types: legacy decorators with metadata.
  oxc: {
    decorator: { legacy: true, emitDecoratorMetadata: true },
  },
  test: {
    include: ['test/**/*.spec.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
