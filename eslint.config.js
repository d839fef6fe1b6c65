import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules', 'dist', 'dist-sample', 'coverage', '.generated'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', setTimeout: 'readonly' },
    },
    rules: {
      // Class references (decorator targets, event classes) are typed Function, as in Nest itself.
      '@typescript-eslint/no-unsafe-function-type': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
    },
  },
  {
    // ioredis stays behind the transport boundary (STYLE.md).
    files: ['lib/**/*.ts'],
    ignores: ['lib/redis/**', 'lib/queue/redis/**', 'lib/store/redis/**', 'lib/microservices/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: [{ name: 'ioredis', message: 'Only the Redis layer imports ioredis.' }] },
      ],
      'no-console': 'error',
    },
  },
  {
    // The dashboard page's own script runs in the browser.
    files: ['lib/dashboard/page/**/*.js'],
    languageOptions: {
      globals: {
        document: 'readonly',
        location: 'readonly',
        fetch: 'readonly',
        EventSource: 'readonly',
        URL: 'readonly',
      },
    },
  },
);
