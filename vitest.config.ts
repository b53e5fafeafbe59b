import { createRequire } from "node:module"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

// Node 20: vitest 5 (which declares Node >= 22) prints failures with Map.groupBy and
// uses Object.groupBy and Promise.withResolvers, which Node 20 lacks. The polyfill
// must be in place in two processes:
// - the vitest main process, where the reporter runs: this config is evaluated there
//   before any test runs or any failure is printed, so it loads the polyfill itself
//   (through require, which runs the file whatever vite does when it bundles this config);
// - each forked worker (pool "forks"), which starts from a fresh `node`: execArgv hands
//   it `--require <polyfill>`, so it is defined before vitest's worker code loads.
// `npm run test:effect4` sets NODE_OPTIONS="--require ./test/utils/polyfill.cjs" as
// well; defining an existing function again is a no-op, and on Node >= 22 nothing happens.
const root = path.dirname(fileURLToPath(import.meta.url))
const polyfill = path.join(root, "test", "utils", "polyfill.cjs")
createRequire(import.meta.url)(polyfill)

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Each file in its own process, so /proc/self/fd counts only that file's sockets,
    // and the global metric registry only that file's connections.
    pool: "forks",
    execArgv: ["--require", polyfill],
    testTimeout: 60_000,
    hookTimeout: 60_000
  }
})
