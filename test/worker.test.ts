import * as path from "node:path"
import { Worker } from "node:worker_threads"
import { expect } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Netpoll from "../src/Netpoll.js"
import { async, fork, root } from "./utils/line.js"
import { bound, bytes, echo, pair, text } from "./utils/peers.js"
import { layer } from "./utils/runners.js"

// Each line has its own fixture, plain JS that imports the line's built package by name
// ("effect-netpoll" or "effect-netpoll/effect3", from dist/): build it first (npm run build).
const fixture = path.join(root, "test", "fixtures", "workerEcho.mjs")

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
