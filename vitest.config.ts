import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests start child processes and servers; two cores are shared.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    maxWorkers: 2,
    env: {
      // The AWS SDK's documented switch for its Node 20 NodeVersionSupportWarning, printed once per
      // process that creates a client (each test file, and each child that inherits this
      // environment); the CLI sets it for users (src/cli.ts).
      // test/integration/node-version-warning.test.ts runs without it.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
  },
});
