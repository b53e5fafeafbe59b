/**
 * The published package, end to end, for both Effect lines, from one tarball:
 *
 * - `npm pack` (whose `prepack` builds dist/, effect3/dist/ and the prebuilt
 *   addon) ships those, the native sources, binding.gyp, README.md and
 *   package.json, and nothing else;
 * - an Effect 4 consumer installs the tarball next to today's `effect` with no
 *   peer conflict or peer warning, and echoes bytes over loopback through
 *   `effect-netpoll`; the internal and core modules are not importable;
 * - an Effect 3 consumer installs it next to `effect@3` and `@effect/platform@0.97`
 *   and echoes through `effect-netpoll/effect3`;
 * - both install with `--ignore-scripts`, so nothing is compiled on install:
 *   the prebuild is what loads (no build/ in the installed package);
 * - each consumer type-checks a program against the published declarations
 *   with its own `effect`.
 *
 * The Effect 3 line needs no package.json of its own at run time: its files
 * are ES modules through the root package.json's `"type": "module"` (the
 * nearest one above `effect3/dist/`), they find `effect` and `@effect/platform`
 * in the consumer's node_modules, and the core through relative paths into
 * `dist/core/`. The Effect 3 consumer runs without `effect3/package.json`.
 *
 * Packing rebuilds build/, dist/ and effect3/dist/ in the directory it runs in,
 * so it runs in a copy of the repository, never under the running suite's own
 * addon and declarations.
 */
import { describe, expect, it } from "@effect/vitest"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"

const root = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..")
const { version } = JSON.parse(Fs.readFileSync(Path.join(root, "package.json"), "utf8")) as { readonly version: string }
const tsc = Path.join(root, "node_modules", "typescript", "bin", "tsc")
const typeRoots = Path.join(root, "node_modules", "@types")

/** Packing compiles the addon and the consumer installs may hit the registry: be generous. */
const WAIT = "280 seconds"

class CommandError extends Data.TaggedError("CommandError")<{ readonly message: string }> {}

/**
 * The environment of every command, without what `npm run test:asan` adds (the
 * override that points node-gyp-build at the sanitized addon, and the preloaded
 * sanitizer: the consumers load the plain prebuild), and without the `npm_*`
 * variables of an enclosing `npm run`/`npx` (its package, its workspace), which
 * npm would read as configuration of the consumers' installs. The cache and
 * registry settings stay.
 */
const env = Object.fromEntries(
  Object.entries(process.env).filter(([name]) =>
    !["ASAN_OPTIONS", "EFFECT_NETPOLL_PREBUILD", "LD_PRELOAD"].includes(name) &&
    (!/^npm_/i.test(name) || /^npm_config_(cache|registry|userconfig|globalconfig)$/i.test(name))
  )
)

interface Output {
  readonly stdout: string
  readonly stderr: string
}

/** Runs a command to completion; fails with its output unless it exits 0. Interruption kills it. */
const run = (command: string, args: ReadonlyArray<string>, cwd: string) =>
  Effect.callback<Output, CommandError>((resume) => {
    const options = { cwd, env, maxBuffer: 64 * 1024 * 1024 }
    const child = ChildProcess.execFile(command, args, options, (error, stdout, stderr) => {
      if (error === null) {
        resume(Effect.succeed({ stdout, stderr }))
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

/** What both consumers' scripts share: a loopback echo and the error code of a failed load. */
const probes = `
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
const addon = require("node-gyp-build").path(packageDir).slice(packageDir.length)
const effectVersion = require("effect/package.json").version

const echo = (TcpListener, TcpStream) => Effect.gen(function*() {
  const listener = yield* TcpListener.bind("127.0.0.1:0")
  const client = yield* TcpStream.connect(yield* listener.localAddr)
  const server = yield* listener.accept
  yield* client.writeAll(new TextEncoder().encode("ping"))
  const buf = new Uint8Array(4)
  yield* server.readExact(buf)
  yield* server.writeAll(buf)
  const back = new Uint8Array(4)
  yield* client.readExact(back)
  return new TextDecoder().decode(back)
})
`

/** The Effect 4 consumer: the root entry, a subpath, and the internal paths that must stay closed. */
const effect4Script = `
import { Effect } from "effect"
import { Netpoll, TcpListener, TcpStream } from "effect-netpoll"
import * as TcpStreamModule from "effect-netpoll/TcpStream"
${probes}
console.log(JSON.stringify({
  effect: effectVersion.split(".")[0],
  addon,
  internal: await code(() => import("effect-netpoll/internal/tcpStream.js")),
  requireInternal: await code(() => require.resolve("effect-netpoll/internal/tcpStream.js")),
  core: await code(() => import("effect-netpoll/core/native.js")),
  distCore: await code(() => import("effect-netpoll/dist/core/native.js")),
  effect3Internal: await code(() => import("effect-netpoll/effect3/internal/tcpStream.js")),
  subpathIsRoot: TcpStreamModule.connect === TcpStream.connect,
  echo: await Effect.runPromise(
    echo(TcpListener, TcpStreamModule).pipe(Effect.scoped, Effect.provide(Netpoll.layer), Effect.timeout("20 seconds"))
  )
}))
`

/** The Effect 3 consumer: the effect3 entry and subpath. */
const effect3Script = `
import { Effect } from "effect"
import { Netpoll, TcpListener, TcpStream } from "effect-netpoll/effect3"
import * as TcpStreamModule from "effect-netpoll/effect3/TcpStream"
${probes}
console.log(JSON.stringify({
  effect: effectVersion.split(".")[0],
  addon,
  effect3Internal: await code(() => import("effect-netpoll/effect3/internal/tcpStream.js")),
  requireInternal: await code(() => require.resolve("effect-netpoll/effect3/internal/tcpStream.js")),
  subpathIsRoot: TcpStreamModule.connect === TcpStream.connect,
  echo: await Effect.runPromise(
    echo(TcpListener, TcpStreamModule).pipe(Effect.scoped, Effect.provide(Netpoll.layer), Effect.timeout("20 seconds"))
  )
}))
`

/** Type-checked against the published declarations with Effect 4. */
const effect4Check = `
import type { Effect, Layer, Scope } from "effect"
import type { Socket } from "effect/socket"
import { NetError, Netpoll, TcpListener, TcpStream } from "effect-netpoll"

export const connect: Effect.Effect<TcpStream.TcpStream, NetError.NetError, Netpoll.Netpoll | Scope.Scope> =
  TcpStream.connect({ host: "127.0.0.1", port: 1 })
export const bind: Effect.Effect<TcpListener.TcpListener, NetError.NetError, Netpoll.Netpoll | Scope.Scope> =
  TcpListener.bind("127.0.0.1:0", { noDelay: true })
export const layer: Layer.Layer<Netpoll.Netpoll> = Netpoll.layer
export const socket: Layer.Layer<Socket.Socket, never, Netpoll.Netpoll> = TcpStream.layerSocket("127.0.0.1:1")
// @ts-expect-error an address needs a port
TcpStream.connect({ host: "127.0.0.1" })
`

/** Type-checked against the published declarations with Effect 3 and @effect/platform. */
const effect3Check = `
import type { Effect, Layer, Scope } from "effect"
import type * as Socket from "@effect/platform/Socket"
import { NetError, Netpoll, SocketAddr, TcpListener, TcpStream } from "effect-netpoll/effect3"

export const connect: Effect.Effect<TcpStream.TcpStream, NetError.NetError, Netpoll.Netpoll | Scope.Scope> =
  TcpStream.connect({ host: "127.0.0.1", port: 1 })
export const bind: Effect.Effect<TcpListener.TcpListener, NetError.NetError, Netpoll.Netpoll | Scope.Scope> =
  TcpListener.bind("127.0.0.1:0")
export const layer: Layer.Layer<Netpoll.Netpoll> = Netpoll.layer
export const socket: Layer.Layer<Socket.Socket, never, Netpoll.Netpoll> = TcpStream.layerSocket("127.0.0.1:1")
export const parse = SocketAddr.parse("127.0.0.1:1")
// @ts-expect-error an address needs a port
TcpStream.connect({ host: "127.0.0.1" })
`

const tsconfig = JSON.stringify({
  compilerOptions: {
    target: "ES2022",
    lib: ["ES2022"],
    module: "NodeNext",
    moduleResolution: "NodeNext",
    strict: true,
    exactOptionalPropertyTypes: true,
    noEmit: true,
    // Type-check our declarations too, not only the consumer's file.
    skipLibCheck: false,
    // Our declarations name node:stream; the consumers install no @types/node.
    typeRoots: [typeRoots],
    types: ["node"]
  },
  include: ["check.ts"]
})

/**
 * A fresh consumer project: installs the tarball and its Effect with
 * `--ignore-scripts`, type-checks `check` and runs `script`. Returns npm's
 * stderr and the script's JSON line.
 */
const consumer = (
  dir: string,
  tarball: string,
  effect: ReadonlyArray<string>,
  script: string,
  check: string
) =>
  Effect.gen(function*() {
    Fs.mkdirSync(dir)
    Fs.writeFileSync(
      Path.join(dir, "package.json"),
      JSON.stringify({ name: "consumer", version: "1.0.0", private: true, type: "module" })
    )
    const install = yield* run(
      "npm",
      ["install", "--ignore-scripts", "--prefer-offline", "--no-audit", "--no-fund", tarball, ...effect],
      dir
    )
    Fs.writeFileSync(Path.join(dir, "main.mjs"), script)
    Fs.writeFileSync(Path.join(dir, "check.ts"), check)
    Fs.writeFileSync(Path.join(dir, "tsconfig.json"), tsconfig)
    const [printed] = yield* Effect.all([
      run(process.execPath, ["main.mjs"], dir),
      run(process.execPath, [tsc, "-p", "tsconfig.json"], dir)
    ], { concurrency: "unbounded" })
    const installed = Path.join(dir, "node_modules", "effect-netpoll")
    return {
      npmStderr: install.stderr,
      result: JSON.parse(printed.stdout) as unknown,
      hasBuild: Fs.existsSync(Path.join(installed, "build")),
      hasEffect3PackageJson: Fs.existsSync(Path.join(installed, "effect3", "package.json")),
      hasPlatform: Fs.existsSync(Path.join(dir, "node_modules", "@effect", "platform"))
    }
  })

/** npm's lines about peer dependencies, and every ERESOLVE. */
const peerComplaints = (stderr: string) =>
  stderr.split("\n").filter((line) => /ERESOLVE|\bpeer\b|peerDep|conflicting/i.test(line))

describe("package", () => {
  it.live("one npm pack serves both lines: Effect 4 and Effect 3 consumers install it cleanly and load the prebuild", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const source = Path.join(dir, "source")
      const out = Path.join(dir, "out")

      // A copy without build outputs, at the root and in effect3/; both
      // node_modules (tsc, prebuildify, each line's effect) are shared read-only.
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

      // (1) What the tarball holds: dist/, effect3/dist/, and these files, nothing else.
      const entries = (yield* run("tar", ["tzf", tarball], dir)).stdout.split("\n").filter((line) => line !== "")
      const prebuild = `prebuilds/${process.platform}-${process.arch}/effect-netpoll.node`
      const nativeSources = Fs.readdirSync(Path.join(root, "native")).map((name) => `native/${name}`)
      expect(entries.filter((entry) => !/^package\/(effect3\/)?dist\//.test(entry)).sort()).toEqual(
        ["README.md", "binding.gyp", "package.json", prebuild, ...nativeSources].map((file) => `package/${file}`)
          .sort()
      )
      for (const module of ["index", "Netpoll", "TcpStream", "TcpListener", "UnixStream", "UnixListener", "NetError"]) {
        expect(entries).toContain(`package/dist/${module}.js`)
        expect(entries).toContain(`package/dist/${module}.d.ts`)
      }
      for (const module of ["index", "Netpoll", "TcpStream", "TcpListener", "UnixStream", "UnixListener", "SocketAddr", "NetError"]) {
        expect(entries).toContain(`package/effect3/dist/${module}.js`)
        expect(entries).toContain(`package/effect3/dist/${module}.d.ts`)
      }
      // The core both lines load, once.
      expect(entries).toContain("package/dist/core/native.js")
      expect(entries.filter((entry) => entry.startsWith("package/effect3/dist/core/"))).toEqual([])
      // No sources, tests or TypeScript sources anywhere in dist/.
      expect(entries.filter((entry) => /\.ts$/.test(entry) && !/\.d\.ts$/.test(entry))).toEqual([])

      // (2), (3), (4): the two consumers, installed side by side.
      const [effect4, effect3] = yield* Effect.all([
        consumer(Path.join(dir, "effect4"), tarball, ["effect"], effect4Script, effect4Check),
        consumer(Path.join(dir, "effect3"), tarball, ["effect@3", "@effect/platform@0.97"], effect3Script, effect3Check)
      ], { concurrency: "unbounded" })

      expect(peerComplaints(effect4.npmStderr)).toEqual([])
      expect(effect4.hasBuild).toBe(false)
      expect(effect4.hasEffect3PackageJson).toBe(false)
      // @effect/platform is an optional peer: the Effect 4 consumer does not get it.
      expect(effect4.hasPlatform).toBe(false)
      expect(effect4.result).toEqual({
        effect: "4",
        addon: prebuild,
        internal: "ERR_PACKAGE_PATH_NOT_EXPORTED",
        requireInternal: "ERR_PACKAGE_PATH_NOT_EXPORTED",
        core: "ERR_PACKAGE_PATH_NOT_EXPORTED",
        distCore: "ERR_MODULE_NOT_FOUND",
        effect3Internal: "ERR_PACKAGE_PATH_NOT_EXPORTED",
        subpathIsRoot: true,
        echo: "ping"
      })

      expect(peerComplaints(effect3.npmStderr)).toEqual([])
      expect(effect3.hasBuild).toBe(false)
      expect(effect3.hasEffect3PackageJson).toBe(false)
      expect(effect3.result).toEqual({
        effect: "3",
        addon: prebuild,
        effect3Internal: "ERR_PACKAGE_PATH_NOT_EXPORTED",
        requireInternal: "ERR_PACKAGE_PATH_NOT_EXPORTED",
        subpathIsRoot: true,
        echo: "ping"
      })
    }).pipe(
      Effect.timeoutOrElse({
        duration: WAIT,
        orElse: () => Effect.fail(new CommandError({ message: `packing and installing took longer than ${WAIT}` }))
      })
    ), 300_000)
})
