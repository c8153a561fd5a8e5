// Tests import the package by its public name; it resolves to the built ESM entry.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    alias: { 'native-autoencoder': fileURLToPath(new URL('./dist/esm/index.mjs', import.meta.url)) },
  },
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Timing-sensitive tests (event-loop delay) need the cores to themselves.
    fileParallelism: false,
  },
});
