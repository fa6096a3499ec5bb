import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Tests create network namespaces and veth pairs and open capture devices: one file at a
    // time keeps them from competing for the machine's two cores and its interfaces.
    fileParallelism: false,
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
