import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

// `npm run test:stress` on the Effect 3 line (scripts/test-stress.sh): the full stress parts,
// test/stress/*.stress.ts here (links to the root's, compiled against Effect 3), one file at a
// time, each in its own process, with --expose-gc. Links resolve their imports from here, as in
// ../../vitest.config.ts. The reduced parts run in `npm test` through test/stress/reduced.test.ts.
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")

export default defineConfig({
  root,
  resolve: { preserveSymlinks: true },
  test: {
    include: ["test/stress/**/*.stress.ts"],
    pool: "forks",
    poolOptions: { forks: { execArgv: ["--expose-gc"] } },
    fileParallelism: false,
    testTimeout: 600_000,
    hookTimeout: 60_000
  }
})
