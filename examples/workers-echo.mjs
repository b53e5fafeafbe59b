// The module each worker thread of ./workers.ts runs: it greets a connection
// with its thread's id, then echoes it. Plain JavaScript, as a worker thread
// loads it without a TypeScript loader: in a compiled project, point
// `worker` at the compiled module.
import { threadId } from "node:worker_threads"
import { Effect } from "effect"
import { Netpoll, TcpListener } from "effect-netpoll"

const echo = (stream) =>
  Effect.gen(function*() {
    yield* stream.writeAll(new TextEncoder().encode(`thread ${threadId}\n`))
    const buf = new Uint8Array(64 * 1024)
    let n
    while ((n = yield* stream.read(buf)) > 0) yield* stream.writeAll(buf.subarray(0, n))
  })

Effect.runFork(TcpListener.launchWorker(echo).pipe(Effect.provide(Netpoll.layer)))
