// Jest in ESM mode, the way a Nest ESM project runs it: ts-jest compiles with the project's
// tsconfig (decorator metadata included), and relative `.js` specifiers map to the `.ts` sources.
/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.spec.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': [
      'ts-jest',
      {
        useESM: true,
        tsconfig: '<rootDir>/tsconfig.json',
        // NodeNext with full type information (isolatedModules off, for decorator metadata).
        diagnostics: { ignoreCodes: [151002] },
      },
    ],
  },
  testTimeout: 30_000,
};
