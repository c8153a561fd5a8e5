// Tests import the package by its public name; it resolves to the built ESM entry.
import { fileURLToPath } from 'node:url';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { defineConfig } from 'vitest/config';

// Timing-sensitive files run first, before any test has made and deleted large files: on virtual
// machines that hand freed memory back to the host, busy threads stall for tens of milliseconds at a
// time for several seconds afterwards (seen after the 2.25 GiB streaming test, with or without this
// library in the process).
const TIMING_SENSITIVE = ['event-loop.test.ts'];

class TimingSensitiveFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const sensitive = (file: TestSpecification) => TIMING_SENSITIVE.some((name) => file.moduleId.endsWith(name));
    return [...sorted.filter(sensitive), ...sorted.filter((file) => !sensitive(file))];
  }
}

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
    sequence: { sequencer: TimingSensitiveFirst },
  },
});
