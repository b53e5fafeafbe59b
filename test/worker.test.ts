import * as path from "node:path"
import { Worker } from "node:worker_threads"
import { expect } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Netpoll from "../src/Netpoll.js"
import * as TcpListener from "../src/TcpListener.js"
import { fdTargets } from "./utils/fds.js"
import { async, fork, root } from "./utils/line.js"
import { bound, bytes, echo, eventually, pair, text } from "./utils/peers.js"
import { layer } from "./utils/runners.js"

// Each line has its own fixture, plain JS that imports the line's built package by name
// ("effect-netpoll" or "effect-netpoll/effect3", from dist/): build it first (npm run build).
const fixture = path.join(root, "test", "fixtures", "workerEcho.mjs")
const traffic = path.join(root, "test", "fixtures", "trafficWorker.mjs")

/** Runs the fixture in a worker thread; resolves with its message and exit code. */
const runWorker = async<{ readonly message: unknown; readonly code: number }, Error>((resume) => {
  const worker = new Worker(fixture)
  let message: unknown = undefined
  worker.on("message", (m) => {
    message = m
  })
  worker.on("error", (error) => resume(Effect.fail(error)))
  worker.on("exit", (code) => resume(Effect.succeed({ message, code })))
  return Effect.promise(() => worker.terminate())
})

layer(Netpoll.layer)("worker threads", (it) => {
  it.effect("each worker thread runs a Netpoll of its own beside the main thread's", () =>
    Effect.gen(function*() {
      // The main thread keeps a connection busy while the workers run theirs.
      const { client, server } = yield* pair()
      yield* Effect.forkScoped(echo(server))
      const workers = yield* fork(bound(Effect.all([runWorker, runWorker], { concurrency: 2 }), "workers"))
      yield* client.writeAll(bytes("main"))
      const buf = new Uint8Array(4)
      yield* bound(client.readExact(buf))
      expect(text(buf)).toBe("main")
      const results = yield* Fiber.join(workers)
      for (const result of results) {
        expect(result).toEqual({ message: { reply: "worker", backend: "epoll" }, code: 0 })
      }
    }))
})

/**
 * Starts the traffic fixture against `port`; once all its clients are
 * flowing, ends it the way `how` says. Resolves with what its sockets were
 * (their /proc/self/fd targets, "socket:[inode]", read while the worker ran),
 * since their numbers may be reused once it has gone.
 */
const endBusyWorker = (port: number, clients: number, how: "terminate" | "exit") =>
  async<ReadonlyArray<string>, Error>((resume) => {
    const worker = new Worker(traffic, { workerData: { mainPort: port, clients } })
    const fds: Array<number> = []
    let sockets: ReadonlyArray<string> = []
    worker.on("message", (message: { readonly event: string; readonly fd?: number; readonly error?: string }) => {
      if (message.event === "failed") return resume(Effect.fail(new Error(message.error)))
      if (message.fd !== undefined) fds.push(message.fd)
      if (message.event !== "flowing" || fds.length < clients + 1) return
      const targets = fdTargets()
      sockets = fds.map((fd) => targets.get(fd) ?? `closed fd ${fd}`)
      if (how === "terminate") void worker.terminate()
      else worker.postMessage("exit")
    })
    worker.on("error", (error) => resume(Effect.fail(error)))
    worker.on("exit", () => resume(Effect.succeed(sockets)))
    return Effect.promise(() => worker.terminate())
  })

layer(Netpoll.layer)("the end of a worker thread", (it) => {
  for (const how of ["terminate", "exit"] as const) {
    it.effect(`${how === "terminate" ? "worker.terminate()" : "process.exit() in the worker"} mid-traffic closes every socket its Netpoll owned`, () =>
      Effect.gen(function*() {
        const count = 8
        const listener = yield* TcpListener.bind("127.0.0.1:0")
        const port = (yield* listener.localAddr).port
        let ended = 0
        yield* Effect.forkScoped(TcpListener.serve(listener, (stream) =>
          echo(stream).pipe(Effect.ignore, Effect.ensuring(Effect.sync(() => ended++)))))
        const sockets = yield* bound(endBusyWorker(port, count, how), "the worker's end")
        expect(sockets.length).toBe(count + 1)
        // Its peers see each connection end, so every handler returns and closes its side.
        yield* eventually(() => ended === count, `${count} handlers ended`)
        yield* eventually(() => {
          const open = new Set(fdTargets().values())
          return sockets.every((socket) => !open.has(socket))
        }, "the worker's sockets closed")
      }))
  }
})
