/**
 * Stress part 5: worker threads that end in the middle of traffic (DESIGN
 * §4.10: the end of a thread closes every fd its pollers own). Each worker
 * (test/fixtures/trafficWorker.mjs) runs a Netpoll of its own with an echo
 * `serve` and clients talking to this thread's server, while this thread's
 * clients talk to the worker's server. Then every worker is ended, with
 * `worker.terminate()` or with `process.exit()` inside it. Within a bound,
 * every handler of this thread's server sees its connection end (read 0 or a
 * NetError), every client of this thread sees the worker's side end, and the
 * process's open fds are back to their baseline.
 */
import * as path from "node:path"
import { Worker } from "node:worker_threads"
import { expect } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Netpoll from "../../src/Netpoll.js"
import * as TcpListener from "../../src/TcpListener.js"
import * as TcpStream from "../../src/TcpStream.js"
import { openFds } from "../utils/fds.js"
import { async, root } from "../utils/line.js"
import { bound, eventually } from "../utils/peers.js"
import { layer } from "../utils/runners.js"
import { labelOf, outcomeOf, settlesTo, snapshot, Tally } from "./harness.js"
import type { Scale } from "./scale.js"

/** Connections of this thread's clients to each worker's server. */
const CLIENTS_TO_WORKER = 2
/** How long every connection must take to see its peer's end once the workers are gone. */
const END_BOUND = 10_000

type Ending = "terminate()" | "process.exit()"

interface Running {
  readonly worker: Worker
  readonly port: number
  readonly exited: Promise<number>
  readonly errors: Array<string>
}

/** Starts a traffic worker; yields once it serves and every one of its clients has made a round trip. */
const startWorker = (mainPort: number, clients: number) =>
  async<Running, Error>((resume) => {
    const fixture = path.join(root, "test", "fixtures", "trafficWorker.mjs")
    const worker = new Worker(fixture, { workerData: { mainPort, clients } })
    const errors: Array<string> = []
    let port: number | undefined
    let flowing = 0
    let started = false
    const exited = new Promise<number>((resolve) => worker.once("exit", resolve))
    const check = () => {
      if (!started && port !== undefined && flowing >= clients) {
        started = true
        resume(Effect.succeed({ worker, port, exited, errors }))
      }
    }
    worker.on("message", (message: { event: string; port?: number; error?: string }) => {
      if (message.event === "ready") port = message.port
      else if (message.event === "flowing") flowing++
      else if (message.event === "failed") errors.push(message.error ?? "")
      check()
    })
    worker.on("error", (error) => {
      errors.push(String(error))
      if (!started) {
        started = true
        resume(Effect.fail(error))
      }
    })
    void exited.then((code) => {
      if (!started) {
        started = true
        resume(Effect.fail(new Error(`the worker exited (${code}) before its traffic flowed: ${errors.join("; ")}`)))
      }
    })
  })

/** Writes and reads its echo in a loop until the connection fails; yields how it ended. */
const pingPong = (stream: TcpStream.TcpStream, size: number) =>
  Effect.gen(function*() {
    const message = new Uint8Array(size).fill(size & 0xff)
    const reply = new Uint8Array(size)
    while (true) {
      yield* stream.writeAll(message)
      yield* stream.readExact(reply)
    }
  })

/** Registers part 5 at `scale`. */
export const workersSuite = (scale: Scale): void => {
  const { clients, count, trafficMillis } = scale.workers
  layer(Netpoll.layer)("stress: worker threads ended mid-traffic", (it) => {
    for (const ending of ["terminate()", "process.exit()"] as const satisfies ReadonlyArray<Ending>) {
      it.effect(
        `${count} workers ended with ${ending} while traffic flows: every peer sees its connection end, ` +
          "and the process's fds are back to their baseline",
        () =>
          Effect.gen(function*() {
            const before = yield* snapshot
            const handlers = { running: 0, ended: new Tally() }
            const mine = { running: 0, ended: new Tally() }

            yield* Effect.scoped(Effect.gen(function*() {
              const listener = yield* TcpListener.bind("127.0.0.1:0")
              const { port } = yield* listener.localAddr
              // This thread's server: echoes until the worker's side ends, and counts how it ended.
              const handler = (stream: TcpStream.TcpStream) =>
                Effect.gen(function*() {
                  handlers.running++
                  const buf = new Uint8Array(16 * 1024)
                  const exit = yield* Effect.exit(Effect.gen(function*() {
                    while (true) {
                      const n = yield* stream.read(buf)
                      if (n === 0) return "end of stream"
                      yield* stream.writeAll(buf.subarray(0, n))
                    }
                  }))
                  handlers.running--
                  const outcome = outcomeOf(exit)
                  handlers.ended.add(outcome._tag === "Done" ? outcome.value : labelOf(outcome))
                })
              yield* Effect.forkScoped(TcpListener.serve(listener, handler))

              const workers = yield* bound(
                Effect.forEach(Array.from({ length: count }), () => startWorker(port, clients), { concurrency: "unbounded" }),
                "the workers' traffic starting",
                "60 seconds"
              )
              expect(handlers.running).toBe(count * clients)
              // This thread's clients of each worker's server.
              for (const w of workers) {
                for (let i = 0; i < CLIENTS_TO_WORKER; i++) {
                  const stream = yield* bound(TcpStream.connect({ host: "127.0.0.1", port: w.port }))
                  mine.running++
                  yield* Effect.forkScoped(Effect.gen(function*() {
                    const outcome = outcomeOf(yield* Effect.exit(pingPong(stream, 2048 + i)))
                    mine.running--
                    mine.ended.add(labelOf(outcome))
                  }))
                }
              }
              yield* Effect.sleep(`${trafficMillis} millis`)
              const fdsWithWorkers = openFds()

              for (const w of workers) {
                if (ending === "terminate()") void w.worker.terminate()
                else w.worker.postMessage("exit")
              }
              const codes = yield* bound(
                Effect.promise(() => Promise.all(workers.map((w) => w.exited))),
                "the workers' exit"
              )
              const ended = yield* Effect.exit(
                eventually(() => handlers.running === 0 && mine.running === 0, "every connection's end", `${END_BOUND / 1000} seconds`)
              )
              const summary = `${ending}: exit codes ${codes.join(",")}; fds ${before.fds} before, ${fdsWithWorkers} with the ` +
                `workers, ${openFds()} now; this thread's handlers still running ${handlers.running} of ${count * clients} ` +
                `(ended: ${handlers.ended}); its clients still running ${mine.running} of ${count * CLIENTS_TO_WORKER} ` +
                `(ended: ${mine.ended}); worker errors: ${workers.flatMap((w) => w.errors).join("; ") || "none"}`
              console.log(`[stress ${scale.name}, workers] ${summary}`)
              expect(workers.flatMap((w) => w.errors), summary).toEqual([])
              expect(ended._tag, summary).toBe("Success")
              for (const label of handlers.ended.counts.keys()) {
                expect(["end of stream", "ConnectionReset", "BrokenPipe"], summary).toContain(label)
              }
              for (const label of mine.ended.counts.keys()) {
                expect(["UnexpectedEof", "ConnectionReset", "BrokenPipe"], summary).toContain(label)
              }
            }))
            const after = yield* settlesTo(before, END_BOUND)
            expect(after, "fds and Netpoll after the workers ended and this thread closed its own").toEqual(before)
          }),
        scale.name === "full" ? 120_000 : 60_000
      )
    }
  })
}
