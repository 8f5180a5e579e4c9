import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // Docs and examples import the package by its public name, as users do.
    alias: [
      { find: /^flowstate$/, replacement: fileURLToPath(new URL('./src/index.ts', import.meta.url)) },
      { find: /^flowstate\/json$/, replacement: fileURLToPath(new URL('./src/json.ts', import.meta.url)) },
      { find: /^flowstate\/db$/, replacement: fileURLToPath(new URL('./src/db/index.ts', import.meta.url)) },
      {
        find: /^flowstate\/store$/,
        replacement: fileURLToPath(new URL('./src/persistence/index.ts', import.meta.url)),
      },
      { find: /^flowstate\/ai$/, replacement: fileURLToPath(new URL('./src/ai/index.ts', import.meta.url)) },
      {
        find: /^flowstate\/templates$/,
        replacement: fileURLToPath(new URL('./machines/templates.ts', import.meta.url)),
      },
      {
        find: /^flowstate\/testing$/,
        replacement: fileURLToPath(new URL('./src/testing/index.ts', import.meta.url)),
      },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 20_000,
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts'],
      exclude: ['src/cli/**'],
      reporter: ['text-summary', 'json-summary'],
      thresholds: {
        'src/dsl/**': { lines: 90 },
        'src/machine/**': { lines: 90 },
        'src/runtime/**': { lines: 90 },
      },
    },
  },
});
