import { defineConfig } from "vitest/config"

export default defineConfig({
  // src/NetError.ts and the shared bindings in src/internal are links to the root line's files:
  // resolve their imports (effect 3) from here, not from where the links point (child
  // processes that run sources under tsx pass --preserve-symlinks for the same reason).
  resolve: { preserveSymlinks: true },
  test: {
    include: ["test/**/*.test.ts"],
    // Each file in its own process, so /proc/self/fd counts only that file's sockets.
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 60_000
  }
})
