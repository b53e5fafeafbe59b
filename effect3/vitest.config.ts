import { defineConfig } from "vitest/config"

export default defineConfig({
  // src/NetError.ts and the shared bindings in src/internal, and the tests, utils and fixtures
  // in test/ that both lines share, are links to the root line's files: resolve their imports
  // (effect 3, this line's src/ and test/utils/line.ts) from here, not from where the links
  // point. Child processes that run sources under tsx pass --preserve-symlinks and
  // --preserve-symlinks-main for the same reason (test/utils/line.ts: tsxArgs).
  resolve: { preserveSymlinks: true },
  test: {
    include: ["test/**/*.test.ts"],
    // Each file in its own process, so /proc/self/fd counts only that file's sockets.
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 60_000
  }
})
