/**
 * The published package, end to end: `npm pack` (whose `prepack` builds dist/
 * and the prebuilt addon), then a fresh consumer project that installs the
 * tarball with `--ignore-scripts`, so nothing is compiled on install, and runs
 * a script that imports `effect-netpoll` by name and echoes bytes over loopback.
 *
 * Packing rebuilds build/ and dist/ in the directory it runs in, so it runs in a
 * copy of the repository, never under the running test suite's own addon.
 */
import { describe, expect, it } from "@effect/vitest"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"

const root = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "../..")
const { version } = JSON.parse(Fs.readFileSync(Path.join(root, "package.json"), "utf8")) as { readonly version: string }

/** Packing compiles the addon and the consumer install may hit the registry: be generous. */
const WAIT = "280 seconds"

class CommandError extends Data.TaggedError("CommandError")<{ readonly message: string }> {}

/**
 * The environment of every command, without what `npm run test:asan` adds: the
 * override that points node-gyp-build at the sanitized addon, and the preloaded
 * sanitizer (the consumer loads the plain prebuild; npm, make and gcc need no ASan).
 */
const { ASAN_OPTIONS: _asanOptions, EFFECT_NETPOLL_PREBUILD: _prebuild, LD_PRELOAD: _preload, ...env } = process.env

/** Runs a command to completion; fails with its output unless it exits 0. Interruption kills it. */
const run = (command: string, args: ReadonlyArray<string>, cwd: string) =>
  Effect.async<string, CommandError>((resume) => {
    const options = { cwd, env, maxBuffer: 64 * 1024 * 1024 }
    const child = ChildProcess.execFile(command, args, options, (error, stdout, stderr) => {
      if (error === null) {
        resume(Effect.succeed(stdout))
      } else {
        resume(Effect.fail(
          new CommandError({
            message: `${command} ${args.join(" ")} (in ${cwd}) failed: ${error.message}\n${stdout}\n${stderr}`
          })
        ))
      }
    })
    return Effect.sync(() => child.kill("SIGKILL"))
  })

/** A temporary directory, removed with the Scope. */
const tempDir = Effect.acquireRelease(
  Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-netpoll-pack-"))),
  (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
)

/** What the consumer runs; prints one JSON line of findings. */
const consumerScript = `
import { Effect } from "effect"
import { Netpoll, TcpListener, TcpStream } from "effect-netpoll/effect3"
import * as TcpStreamModule from "effect-netpoll/effect3/TcpStream"
import { createRequire } from "node:module"

const require = createRequire(import.meta.url)
const code = async (load) => {
  try {
    await load()
    return "loaded"
  } catch (error) {
    return error.code
  }
}
const packageDir = require.resolve("effect-netpoll/package.json").replace(/package\\.json$/, "")

const echo = Effect.gen(function*() {
  const listener = yield* TcpListener.bind("127.0.0.1:0")
  const client = yield* TcpStreamModule.connect(yield* listener.localAddr)
  const server = yield* listener.accept
  yield* client.writeAll(new TextEncoder().encode("ping"))
  const buf = new Uint8Array(4)
  yield* server.readExact(buf)
  yield* server.writeAll(buf)
  const back = new Uint8Array(4)
  yield* client.readExact(back)
  return new TextDecoder().decode(back)
}).pipe(Effect.scoped, Effect.provide(Netpoll.layer), Effect.timeout("20 seconds"))

console.log(JSON.stringify({
  addon: require("node-gyp-build").path(packageDir).slice(packageDir.length),
  requireInternal: await code(() => require.resolve("effect-netpoll/effect3/internal/native")),
  importInternal: await code(() => import("effect-netpoll/effect3/internal/native.js")),
  subpathIsRoot: TcpStreamModule.connect === TcpStream.connect,
  echo: await Effect.runPromise(echo)
}))
`

describe("package", () => {
  it.scopedLive("npm pack ships dist, native sources and a prebuild that a consumer loads without compiling", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const source = Path.join(dir, "source")
      const out = Path.join(dir, "out")
      const consumer = Path.join(dir, "consumer")

      // A copy without build outputs; node_modules (tsc, prebuildify) is shared read-only.
      const skip = new Set(["node_modules", "build", "dist", "prebuilds", ".git"])
      const lines = [root, Path.join(root, "effect3")]
      Fs.cpSync(root, source, {
        recursive: true,
        filter: (from) => !lines.includes(Path.dirname(from)) || !skip.has(Path.basename(from))
      })
      for (const line of ["", "effect3"]) {
        Fs.symlinkSync(Path.join(root, line, "node_modules"), Path.join(source, line, "node_modules"), "dir")
      }
      Fs.mkdirSync(out)

      yield* run("npm", ["pack", "--pack-destination", out], source)
      const tarballs = Fs.readdirSync(out).filter((name) => name.endsWith(".tgz"))
      expect(tarballs).toEqual([`effect-netpoll-${version}.tgz`])
      const tarball = Path.join(out, tarballs[0]!)

      const entries = (yield* run("tar", ["tzf", tarball], dir)).split("\n").filter((line) => line !== "")
      const prebuild = `prebuilds/${process.platform}-${process.arch}/effect-netpoll.node`
      const nativeSources = Fs.readdirSync(Path.join(root, "native")).map((name) => `native/${name}`)
      expect(entries.filter((entry) => !/^package\/(effect3\/)?dist\//.test(entry)).sort()).toEqual(
        ["README.md", "binding.gyp", "package.json", prebuild, ...nativeSources].map((file) => `package/${file}`)
          .sort()
      )
      for (const module of ["index", "Netpoll", "TcpStream", "TcpListener", "SocketAddr", "NetError"]) {
        expect(entries).toContain(`package/effect3/dist/${module}.js`)
        expect(entries).toContain(`package/effect3/dist/${module}.d.ts`)
      }

      Fs.mkdirSync(consumer)
      Fs.writeFileSync(
        Path.join(consumer, "package.json"),
        JSON.stringify({ name: "consumer", version: "1.0.0", private: true, type: "module" })
      )
      yield* run(
        "npm",
        ["install", "--ignore-scripts", "--prefer-offline", "--no-audit", "--no-fund", tarball, "effect@3", "@effect/platform@0.97"],
        consumer
      )
      expect(Fs.existsSync(Path.join(consumer, "node_modules", "effect-netpoll", "build"))).toBe(false)

      Fs.writeFileSync(Path.join(consumer, "main.mjs"), consumerScript)
      const printed = yield* run(process.execPath, ["main.mjs"], consumer)
      expect(JSON.parse(printed)).toEqual({
        addon: prebuild,
        requireInternal: "ERR_PACKAGE_PATH_NOT_EXPORTED",
        importInternal: "ERR_PACKAGE_PATH_NOT_EXPORTED",
        subpathIsRoot: true,
        echo: "ping"
      })
    }).pipe(
      Effect.timeoutFail({
        duration: WAIT,
        onTimeout: () => new CommandError({ message: `packing and installing took longer than ${WAIT}` })
      })
    ), 300_000)
})
