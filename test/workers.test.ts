/**
 * TcpListener.serveWorkers (issue 12): one address served from several worker
 * threads, each with its own Netpoll, connections spread by the kernel
 * (SO_REUSEPORT). The worker module is plain JS against the line's built
 * package (test/fixtures/servedWorker.mjs, effect3's twin): build it first.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { expect } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import * as Netpoll from "../src/Netpoll.js"
import * as TcpListener from "../src/TcpListener.js"
import * as TcpStream from "../src/TcpStream.js"
import { openFds } from "./utils/fds.js"
import { root } from "./utils/line.js"
import { bound, bytes, defects, eventually, failureTag, text } from "./utils/peers.js"
import { layer } from "./utils/runners.js"

const worker = path.join(root, "test", "fixtures", "servedWorker.mjs")
const silent = path.join(root, "test", "fixtures", "silentWorker.mjs")

/** The threads of this process: a worker thread that has ended is no longer among them. */
const threads = (): number => fs.readdirSync("/proc/self/task").length

/** The thread id the served worker tells a new connection, on a line of its own. */
const threadOf = (stream: TcpStream.TcpStream): Effect.Effect<number, unknown> =>
  Effect.gen(function*() {
    const buf = new Uint8Array(64)
    let line = ""
    while (!line.endsWith("\n")) {
      const n = yield* stream.read(buf)
      if (n === 0) throw new Error(`end of stream after ${JSON.stringify(line)}`)
      line += text(buf.subarray(0, n))
    }
    return Number(line.trim())
  })

/** One echo round trip; the stream's worker is alive. */
const echoed = (stream: TcpStream.TcpStream, message: string): Effect.Effect<string, unknown> =>
  Effect.gen(function*() {
    yield* stream.writeAll(bytes(message))
    const reply = new Uint8Array(message.length)
    yield* bound(stream.readExact(reply), `echo of ${message}`)
    return text(reply)
  })

/** Connects until both of `ids` have served at least `each` connections; the streams by thread. */
const spread = (address: Parameters<typeof TcpStream.connect>[0], ids: ReadonlyArray<number>, each: number) =>
  Effect.gen(function*() {
    const byThread = new Map<number, Array<TcpStream.TcpStream>>(ids.map((id) => [id, []]))
    for (let i = 0; i < 400 && [...byThread.values()].some((streams) => streams.length < each); i++) {
      const stream = yield* TcpStream.connect(address)
      const id = yield* bound(threadOf(stream), "the worker's greeting")
      const streams = byThread.get(id)
      if (streams === undefined) throw new Error(`thread ${id} is none of ${ids}`)
      streams.push(stream)
    }
    return byThread
  })

layer(Netpoll.layer)("serveWorkers", (it) => {
  it.effect("connections are served by every worker thread, and the Scope's close stops and joins them", () =>
    Effect.gen(function*() {
      const fdsBefore = openFds()
      const threadsBefore = threads()
      const scope = yield* Scope.make()
      const clients = yield* Scope.make()
      const workers = yield* bound(
        Effect.provideService(TcpListener.makeWorkers("127.0.0.1:0", { worker, threads: 2 }), Scope.Scope, scope),
        "two workers listening"
      )
      expect(workers.address.port).toBeGreaterThan(0)
      const ids = yield* workers.threadIds
      expect(new Set(ids).size).toBe(2)
      expect(threads()).toBeGreaterThan(threadsBefore)

      // The kernel hashes each connection to one listener: 400 tries to see 3 on each of two.
      const byThread = yield* Effect.provideService(spread(workers.address, ids, 3), Scope.Scope, clients)
      for (const [id, streams] of byThread) {
        expect(streams.length, `connections served by thread ${id}`).toBeGreaterThanOrEqual(3)
        for (const stream of streams) expect(yield* echoed(stream, `to ${id}`)).toBe(`to ${id}`)
      }

      // Closing the Scope ends every worker: their connections end, the port is free.
      const [open] = byThread.get(ids[0]!)!
      yield* bound(Scope.close(scope, Exit.void), "stopping the workers")
      const buf = new Uint8Array(16)
      expect(yield* bound(Effect.orElseSucceed(open!.read(buf), () => -1), "the end of a served connection")).toBe(0)
      yield* eventually(() => threads() === threadsBefore, "the worker threads ended")
      const refused = yield* Effect.exit(Effect.scoped(TcpStream.connect(workers.address)))
      expect(failureTag(refused)).toBe("ConnectionRefused")
      expect(yield* workers.threadIds).toEqual([])
      yield* Scope.close(clients, Exit.void)
      yield* eventually(() => openFds() === fdsBefore, "every fd closed")
    }))

  it.effect("a worker that dies loses only its own connections and is replaced", () =>
    Effect.gen(function*() {
      const workers = yield* bound(
        TcpListener.makeWorkers("127.0.0.1:0", { worker, threads: 2 }),
        "two workers listening"
      )
      const ids = yield* workers.threadIds
      const byThread = yield* spread(workers.address, ids, 3)
      const [dying, living] = ids as [number, number]
      const [killer, ...victims] = byThread.get(dying)!

      yield* killer!.writeAll(bytes("die"))
      const buf = new Uint8Array(16)
      for (const victim of victims) {
        // The thread's exit closes its sockets: end of stream, or a reset for unread bytes.
        const n = yield* bound(Effect.orElseSucceed(victim.read(buf), () => 0), "a dead worker's connection")
        expect(n).toBe(0)
      }
      for (const stream of byThread.get(living)!) expect(yield* echoed(stream, "still here")).toBe("still here")

      yield* bound(
        Effect.repeat(workers.threadIds, { until: (now) => now.length === 2 && !now.includes(dying) }),
        "a replacement worker"
      )
      expect(yield* workers.restarts).toBe(1)
      const now = yield* workers.threadIds
      const replacement = now.find((id) => id !== living)!
      const served = yield* spread(workers.address, now, 1)
      expect(served.get(replacement)!.length).toBeGreaterThanOrEqual(1)
    }))

  it.effect("a worker module that ends before it listens fails makeWorkers with a defect naming it", () =>
    Effect.gen(function*() {
      const fdsBefore = openFds()
      const exit = yield* Effect.exit(bound(
        Effect.scoped(TcpListener.makeWorkers("127.0.0.1:0", { worker: silent, threads: 2 })),
        "a silent worker"
      ))
      const [defect] = Exit.isFailure(exit) ? defects(exit.cause) : []
      expect(String(defect)).toContain("silentWorker.mjs\" exited with code 0 before it listened")
      const missing = yield* Effect.exit(bound(
        Effect.scoped(TcpListener.makeWorkers("127.0.0.1:0", { worker: path.join(root, "no-such-worker.mjs") })),
        "a missing worker"
      ))
      const [notFound] = Exit.isFailure(missing) ? defects(missing.cause) : []
      expect(String(notFound)).toContain("no-such-worker.mjs")
      // A URL that new Worker itself refuses: its slot dies at once, which must fail the start, not hang it.
      const refused = yield* Effect.exit(bound(
        Effect.scoped(TcpListener.makeWorkers("127.0.0.1:0", { worker: "file://otherhost/worker.mjs", threads: 2 })),
        "a worker that cannot be constructed"
      ))
      const [notStarted] = Exit.isFailure(refused) ? defects(refused.cause) : []
      expect(String(notStarted)).toContain("the worker module \"file://otherhost/worker.mjs\" could not start")
      yield* eventually(() => openFds() === fdsBefore, "every fd closed")
    }))

  it.effect("a bad option is a defect naming it, before any thread or fd", () =>
    Effect.gen(function*() {
      const fdsBefore = openFds()
      const messages: Array<string> = []
      for (
        const options of [
          { worker, threads: 0 },
          { worker, threads: 1.5 },
          { worker: 42 },
          { worker, backlog: -1 },
          { worker, maxConnections: 0 },
          null
        ]
      ) {
        const exit = yield* Effect.exit(
          Effect.scoped(TcpListener.makeWorkers("127.0.0.1:0", options as unknown as TcpListener.WorkersOptions))
        )
        const [defect] = Exit.isFailure(exit) ? defects(exit.cause) : []
        messages.push(String(defect))
      }
      expect(messages).toEqual([
        "TypeError: makeWorkers: threads must be a whole number from 1 to 1024, got 0",
        "TypeError: makeWorkers: threads must be a whole number from 1 to 1024, got 1.5",
        "TypeError: makeWorkers: worker must be the URL (or path) of the module each thread runs, got 42",
        "TypeError: makeWorkers: backlog must be a whole number from 0 to 2147483647, got -1",
        "TypeError: makeWorkers: maxConnections must be a positive integer, got 0",
        "TypeError: makeWorkers options must be an object with a worker module, got null"
      ])
      expect(openFds()).toBe(fdsBefore)
    }))

  it.effect("launchWorker outside a worker of serveWorkers is a defect saying so", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(TcpListener.launchWorker(() => Effect.void))
      const [defect] = Exit.isFailure(exit) ? defects(exit.cause) : []
      expect(String(defect)).toContain("launchWorker: runs only in a worker thread started by TcpListener.serveWorkers")
    }))
})
