import { createRequire } from "node:module"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

// `npm run test:stress` (scripts/test-stress.sh): the full stress parts, test/stress/*.stress.ts,
// one file at a time (each in its own process, for fd counts, heap and CPU measurements that
// are its own) with --expose-gc. The root config's polyfill note applies here as well.
// The reduced parts run in `npm test` through test/stress/reduced.test.ts and the root config.
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")
const polyfill = path.join(root, "test", "utils", "polyfill.cjs")
createRequire(import.meta.url)(polyfill)

export default defineConfig({
  root,
  test: {
    include: ["test/stress/**/*.stress.ts"],
    pool: "forks",
    execArgv: ["--require", polyfill, "--expose-gc"],
    fileParallelism: false,
    testTimeout: 600_000,
    hookTimeout: 60_000
  }
})
