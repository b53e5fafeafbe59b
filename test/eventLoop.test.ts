import { type ChildProcess, spawn } from "node:child_process"
import * as net from "node:net"
import * as path from "node:path"
import { describe, expect } from "@effect/vitest"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import { async, root, tsxArgs } from "./utils/line.js"
import { live } from "./utils/runners.js"
import { bound } from "./utils/peers.js"

/** How long a child may take; tsx's first transform of the sources is the slow part. */
const CHILD_BOUND_MILLIS = 20_000

class ChildFailed extends Data.TaggedError("ChildFailed")<{ readonly message: string }> {}

interface ChildResult {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly lines: ReadonlyArray<string>
  readonly stderr: string
}

/**
 * Runs `node <tsxArgs> test/fixtures/<fixture> ...args` from the line's root. A child still
 * running after the bound is killed and the test fails. `onLine` sees each
 * stdout line as it arrives, with the child.
 */
const runFixture = (
  fixture: string,
  args: ReadonlyArray<string>,
  onLine: (line: string, child: ChildProcess) => void = () => {}
) =>
  async<ChildResult, ChildFailed>((resume) => {
    const lines: Array<string> = []
    let pending = ""
    let stderr = ""
    let done = false
    const child = spawn(process.execPath, [...tsxArgs, path.join(root, "test", "fixtures", fixture), ...args], {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"]
    })
    child.stdout.on("data", (chunk) => {
      pending += String(chunk)
      let newline: number
      while ((newline = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, newline)
        pending = pending.slice(newline + 1)
        lines.push(line)
        onLine(line, child)
      }
    })
    child.stderr.on("data", (chunk) => stderr += String(chunk))
    const timer = setTimeout(() => {
      done = true
      child.kill("SIGKILL")
      resume(Effect.fail(
        new ChildFailed({
          message: `${fixture} ${args.join(" ")} was still running after ${CHILD_BOUND_MILLIS} ms and was killed; ` +
            `stdout: ${JSON.stringify(lines)}, stderr: ${stderr}`
        })
      ))
    }, CHILD_BOUND_MILLIS)
    child.on("error", (error) => {
      if (done) return
      done = true
      clearTimeout(timer)
      resume(Effect.fail(new ChildFailed({ message: String(error) })))
    })
    child.on("close", (code, signal) => {
      if (done) return
      done = true
      clearTimeout(timer)
      if (pending !== "") lines.push(pending)
      resume(Effect.succeed({ code, signal, lines, stderr }))
    })
    return Effect.sync(() => {
      done = true
      clearTimeout(timer)
      child.kill("SIGKILL")
    })
  })

/** A Node `net` server on 127.0.0.1:0, closed with the Scope; `onConnection` gets each socket. */
const netServer = (onConnection: (socket: net.Socket) => void) =>
  Effect.acquireRelease(
    async<net.Server>((resume) => {
      const server = net.createServer(onConnection)
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
    }),
    (server) =>
      async<void>((resume) => {
        server.close(() => resume(Effect.void))
      })
  )

const backends = ["epoll", "uv_poll"] as const

for (const backend of backends) {
  describe(`event loop (${backend})`, () => {
    live("a program that connects, exchanges a message and finishes exits by itself", () =>
      Effect.gen(function*() {
        const result = yield* runFixture("exchange.ts", [backend])
        expect(result.stderr).toBe("")
        expect(result.lines).toEqual([`backend: ${backend}`, "exchanged: hello"])
        expect(result.signal).toBe(null)
        expect(result.code).toBe(0)
      }))

    live("a fiber parked in read keeps the program alive until its peer writes, 500 ms later", () =>
      Effect.gen(function*() {
        let socket: net.Socket | undefined
        const server = yield* netServer((s) => {
          socket = s
        })
        const { port } = server.address() as net.AddressInfo
        let childAliveAtWrite: boolean | undefined
        const result = yield* runFixture("parkedRead.ts", [String(port), backend], (line, child) => {
          if (line !== "parked") return
          setTimeout(() => {
            childAliveAtWrite = child.exitCode === null && child.signalCode === null
            socket?.end("late bytes")
          }, 500)
        })
        expect(result.stderr).toBe("")
        expect(childAliveAtWrite).toBe(true)
        expect(result.lines).toEqual(["parked", "read: late bytes"])
        expect(result.signal).toBe(null)
        expect(result.code).toBe(0)
      }))

    live("a fiber woken by half its message and parked again keeps the program alive for the rest, 500 ms later", () =>
      Effect.gen(function*() {
        let socket: net.Socket | undefined
        const server = yield* netServer((s) => {
          socket = s
        })
        const { port } = server.address() as net.AddressInfo
        let childAliveAtSecondWrite: boolean | undefined
        const result = yield* runFixture("parkedRead.ts", [String(port), backend], (line, child) => {
          if (line !== "parked") return
          // The second park happens inside the poller's callback, which must leave the loop referenced.
          socket?.write("late ")
          setTimeout(() => {
            childAliveAtSecondWrite = child.exitCode === null && child.signalCode === null
            socket?.end("bytes")
          }, 500)
        })
        expect(result.stderr).toBe("")
        expect(childAliveAtSecondWrite).toBe(true)
        expect(result.lines).toEqual(["parked", "read: late bytes"])
        expect(result.signal).toBe(null)
        expect(result.code).toBe(0)
      }))

    live("a fiber parked in write keeps the program alive until its peer reads, 500 ms later", () =>
      Effect.gen(function*() {
        let socket: net.Socket | undefined
        let received = 0
        const server = yield* netServer((s) => {
          socket = s
          s.pause()
          s.on("data", (chunk) => received += chunk.length)
        })
        const { port } = server.address() as net.AddressInfo
        let childAliveAtRead: boolean | undefined
        const result = yield* runFixture("parkedWrite.ts", [String(port), backend], (line, child) => {
          if (line !== "parked") return
          setTimeout(() => {
            childAliveAtRead = child.exitCode === null && child.signalCode === null
            socket?.resume()
          }, 500)
        })
        expect(result.stderr).toBe("")
        expect(childAliveAtRead).toBe(true)
        expect(result.lines).toEqual(["parked", `wrote: ${64 * 1024 * 1024}`])
        expect(result.signal).toBe(null)
        expect(result.code).toBe(0)
        // Everything written before exit reached the peer.
        yield* bound(
          async<void>((resume) => {
            if (socket?.readableEnded) resume(Effect.void)
            else socket?.on("end", () => resume(Effect.void))
          }),
          "the peer's end of stream"
        )
        expect(received).toBe(64 * 1024 * 1024)
      }))

    live("a program that leaves idle connections and its Netpoll open, with no fiber waiting, exits", () =>
      Effect.gen(function*() {
        const result = yield* runFixture("idleOpen.ts", [backend])
        expect(result.stderr).toBe("")
        expect(result.lines).toEqual(["read: idle", "open: 3, waiting: 0"])
        expect(result.signal).toBe(null)
        expect(result.code).toBe(0)
      }))

    live("a program whose parked accept is interrupted when main finishes exits, though its listener stays open", () =>
      Effect.gen(function*() {
        const result = yield* runFixture("parkedAccept.ts", [backend, "open"])
        expect(result.stderr).toBe("")
        expect(result.lines[0]).toBe("parked")
        expect([...result.lines].sort()).toEqual(["accept interrupted", "main done", "parked"])
        expect(result.signal).toBe(null)
        expect(result.code).toBe(0)
      }))

    live("a program whose parked accept ends with main and its listener's Scope exits", () =>
      Effect.gen(function*() {
        const result = yield* runFixture("parkedAccept.ts", [backend, "scoped"])
        expect(result.stderr).toBe("")
        expect(result.lines[0]).toBe("parked")
        expect(result.lines).toContain("main done")
        expect(result.signal).toBe(null)
        expect(result.code).toBe(0)
      }))
  })
}
