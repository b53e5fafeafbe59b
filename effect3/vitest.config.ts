import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Each file in its own process, so /proc/self/fd counts only that file's sockets.
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 60_000
  }
})
