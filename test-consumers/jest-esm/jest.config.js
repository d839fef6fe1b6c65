// The Jest setup of the README's "Setting up a project", as a user copies it: ESM through Node's
// VM modules, ts-jest in ESM mode with the tsconfig of this folder (isolatedModules: per-file
// compilation keeps the decorator metadata), `.js` specifiers mapped back to the `.ts` files.
/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.spec.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true }] },
  testTimeout: 30_000,
};
