/**
 * Child processes for tests: the examples, run as a user runs them, and real
 * servers (redis-server, nginx) started on free loopback ports. Every wait is
 * bounded; a Scope's finalizer stops what it started.
 */
import * as ChildProcess from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as TcpStream from "../../src/TcpStream.js"
import { async, root, timeoutFail, tsxArgs } from "./line.js"

export { root }

/** The bound on every wait: generous, as the box is small and tsx compiles on start. */
export const WAIT = "30 seconds"

export class ChildError extends Data.TaggedError("ChildError")<{ readonly message: string }> {}

export interface Closed {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

export interface Child {
  readonly process: ChildProcess.ChildProcess
  /** What the child wrote to stdout so far, as bytes. */
  readonly stdout: () => Buffer
  /** What the child wrote to stderr so far. */
  readonly stderr: () => string
  /** Everything the child printed so far, stdout and stderr, as text. */
  readonly output: () => string
  /** Waits until the output matches `pattern`; fails if the child ends first. */
  readonly waitFor: (pattern: RegExp) => Effect.Effect<RegExpMatchArray, ChildError>
  /** Waits until the child has exited and its output is closed. */
  readonly closed: Effect.Effect<Closed, ChildError>
}

/**
 * Starts `command`; the Scope's finalizer sends `stopSignal` if it still runs,
 * then SIGKILL if it has not gone within the bound, and waits for it to go.
 */
export const spawn = (
  command: string,
  args: ReadonlyArray<string>,
  options: {
    readonly name: string
    readonly cwd?: string
    readonly env?: Record<string, string>
    readonly stopSignal?: NodeJS.Signals
    /** Runs the child as this user (a root test starting a server that refuses root, as postgres does). */
    readonly user?: { readonly uid: number; readonly gid: number } | undefined
  }
): Effect.Effect<Child, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.gen(function*() {
      const child = ChildProcess.spawn(command, args, {
        cwd: options.cwd ?? root,
        env: { ...process.env, ...options.env },
        stdio: ["ignore", "pipe", "pipe"],
        ...options.user
      })
      const done = yield* Deferred.make<Closed>()
      const close = (closed: Closed) => Effect.runSync(Deferred.succeed(done, closed))
      const stdout: Array<Buffer> = []
      let stderr = ""
      let output = ""
      child.stdout.on("data", (chunk: Buffer) => {
        stdout.push(chunk)
        output += chunk.toString("utf8")
      })
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
        stderr += chunk
        output += chunk
      })
      child.on("close", (code, signal) => close({ code, signal }))
      // A failed spawn (no such binary) is reported as an exit without code, its reason in the output.
      child.on("error", (error) => {
        output += `\n[spawn error] ${error.message}`
        close({ code: null, signal: null })
      })
      const describe = (what: string) => new ChildError({ message: `${options.name}: ${what}; output:\n${output}` })

      const waitFor = (pattern: RegExp) =>
        async<RegExpMatchArray, ChildError>((resume) => {
          const check = () => {
            const match = output.match(pattern)
            if (match !== null) resume(Effect.succeed(match))
            return match !== null
          }
          const onData = () => {
            if (check()) unlisten()
          }
          const onClose = () => {
            if (!check()) resume(Effect.fail(describe(`exited before printing ${pattern}`)))
            unlisten()
          }
          const unlisten = () => {
            child.stdout.off("data", onData)
            child.stderr.off("data", onData)
            child.off("close", onClose)
          }
          if (check()) return
          // Listeners added after the collecting ones above: `output` is already up to date.
          child.stdout.on("data", onData)
          child.stderr.on("data", onData)
          child.on("close", onClose)
          return Effect.sync(unlisten)
        }).pipe((waiting) => timeoutFail(waiting, WAIT, () => describe(`did not print ${pattern} within ${WAIT}`)))

      const closed = timeoutFail(Deferred.await(done), WAIT, () => describe(`did not exit within ${WAIT}`))

      return {
        process: child,
        stdout: () => Buffer.concat(stdout),
        stderr: () => stderr,
        output: () => output,
        waitFor,
        closed
      } satisfies Child
    }),
    (child) =>
      Effect.gen(function*() {
        const running = () => child.process.exitCode === null && child.process.signalCode === null
        if (!running()) return yield* Effect.ignore(child.closed)
        child.process.kill(options.stopSignal ?? "SIGKILL")
        const stopped = yield* Effect.exit(child.closed)
        if (Exit.isFailure(stopped) && running()) {
          child.process.kill("SIGKILL")
          yield* Effect.ignore(child.closed)
        }
      })
  )

/** Runs the line's `examples/<name>` as `node --import tsx examples/<name> ...args`, from the line's root. */
export const runExample = (name: string, args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  spawn(process.execPath, [...tsxArgs, path.join("examples", name), ...args], { name, env })

/** Sends SIGINT and waits for the child to exit. */
export const interrupt = (child: Child) =>
  Effect.suspend(() => {
    child.process.kill("SIGINT")
    return child.closed
  })

/**
 * A loopback port that was free a moment ago: bound to port 0, then released
 * for the server about to take it.
 */
export const freePort: Effect.Effect<number, ChildError> = async<number, ChildError>((resume) => {
  const server = net.createServer()
  server.once("error", (error) => resume(Effect.fail(new ChildError({ message: `no free port: ${error.message}` }))))
  server.listen(0, "127.0.0.1", () => {
    const { port } = server.address() as net.AddressInfo
    server.close(() => resume(Effect.succeed(port)))
  })
})

/** A server process ended before it accepted a connection (its port may have been taken meanwhile). */
export class ServerExited extends Data.TaggedError("ServerExited")<{ readonly message: string }> {}

/**
 * Waits until something accepts connections on 127.0.0.1:`port`, retrying a
 * refused connect every 50 ms; fails at once with ServerExited if `child` exits first.
 */
export const waitUntilAccepting = (child: Child, port: number) =>
  Effect.scoped(Effect.asVoid(TcpStream.connect(`127.0.0.1:${port}`))).pipe(
    Effect.retry({ schedule: Schedule.spaced("50 millis"), while: (error) => error._tag === "ConnectionRefused" }),
    Effect.raceFirst(Effect.flatMap(child.closed, (closed) =>
      Effect.fail(
        new ServerExited({
          message: `${child.process.spawnfile} exited (${JSON.stringify(closed)}) before accepting on ${port}:\n` +
            child.output()
        })
      ))),
    (accepting) =>
      timeoutFail(
        accepting,
        WAIT,
        () => new ChildError({ message: `nothing accepted on ${port} within ${WAIT}:\n${child.output()}` })
      )
  )

/**
 * Starts a server on a free loopback port and waits until it accepts. A
 * port is free only until the server binds it, and other processes bind ports
 * too: a server that exits before accepting is started again on another
 * port, twice at most.
 */
export const startServer = (start: (port: number) => Effect.Effect<Child, never, Scope.Scope>) =>
  Effect.gen(function*() {
    const port = yield* freePort
    const server = yield* start(port)
    yield* waitUntilAccepting(server, port)
    return { port, server }
  }).pipe(Effect.retry({ times: 2, while: (error) => error._tag === "ServerExited" }))

/** A temporary directory, removed with everything in it when the Scope closes. */
export const tempDir = (prefix: string): Effect.Effect<string, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), prefix))),
    (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
  )

/** Where `name` is on $PATH or in the sbin directories, else undefined. */
export const findBinary = (name: string): string | undefined =>
  [...(process.env.PATH ?? "").split(":"), "/usr/local/sbin", "/usr/sbin", "/sbin"]
    .filter((dir) => dir !== "")
    .map((dir) => path.join(dir, name))
    .find((file) => {
      try {
        fs.accessSync(file, fs.constants.X_OK)
        return fs.statSync(file).isFile()
      } catch {
        return false
      }
    })

/** The path of an installed server binary; a missing one fails the test (scripts/test-servers.sh installs them). */
export const requireBinary = (name: string): Effect.Effect<string, ChildError> =>
  Effect.suspend(() => {
    const binary = findBinary(name)
    return binary === undefined
      ? Effect.fail(new ChildError({ message: `${name} is not installed (scripts/test-servers.sh installs it)` }))
      : Effect.succeed(binary)
  })

/**
 * A redis-server of our own on a free loopback port, no persistence, in a
 * temporary directory; stopped (SIGTERM) when the Scope closes.
 */
export const startRedis = Effect.gen(function*() {
  const binary = yield* requireBinary("redis-server")
  const dir = yield* tempDir("effect-netpoll-redis-")
  return yield* startServer((port) =>
    spawn(binary, [
      "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no"
    ], { name: "redis-server", cwd: dir, stopSignal: "SIGTERM" })
  )
})

/**
 * nginx of our own serving `www` on a free loopback port: one process
 * (`master_process off`, `daemon off`), every path it writes inside a
 * temporary directory; stopped (SIGTERM) when the Scope closes.
 */
export const startNginx = (www: Record<string, Uint8Array | string>) =>
  Effect.gen(function*() {
    const binary = yield* requireBinary("nginx")
    const dir = yield* tempDir("effect-netpoll-nginx-")
    fs.mkdirSync(path.join(dir, "www"))
    for (const [name, content] of Object.entries(www)) fs.writeFileSync(path.join(dir, "www", name), content)
    const conf = path.join(dir, "nginx.conf")
    return yield* startServer((port) => {
      fs.writeFileSync(conf, `daemon off;
master_process off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  types { text/plain txt; application/octet-stream bin; }
  server {
    listen 127.0.0.1:${port};
    root ${dir}/www;
  }
}
`)
      return spawn(binary, ["-p", dir, "-c", conf, "-e", path.join(dir, "error.log")], {
        name: "nginx",
        cwd: dir,
        stopSignal: "SIGTERM"
      })
    })
  })

/**
 * dnsmasq of our own on a free loopback port (UDP and TCP), answering only
 * from `records` (`--host-record`: name to IPv4) and NXDOMAIN for every name
 * under `.invalid`, with no upstream, no hosts
 * file and no configuration file; it stays in the foreground as the current
 * user. Stopped (SIGTERM) when the Scope closes.
 */
export const startDnsmasq = (records: Record<string, string>) =>
  Effect.gen(function*() {
    const binary = yield* requireBinary("dnsmasq")
    const user = os.userInfo().username
    return yield* startServer((port) =>
      spawn(binary, [
        "--no-daemon", `--port=${port}`, "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv", "--no-hosts",
        "-C", "/dev/null", "--pid-file=", `--user=${user}`, "--address=/invalid/",
        ...Object.entries(records).map(([name, ip]) => `--host-record=${name},${ip}`)
      ], { name: "dnsmasq", stopSignal: "SIGTERM" })
    )
  })
