// The module each worker thread of ./workers.ts runs: an echo handler for
// TcpListener.launchWorker. Plain JavaScript, as a worker thread loads it
// without a TypeScript loader: in a compiled project, point `worker` at the
// compiled module.
import { Effect } from "effect"
import { Netpoll, TcpListener } from "effect-netpoll/effect3"

const echo = (stream) =>
  Effect.gen(function*() {
    const buf = new Uint8Array(64 * 1024)
    for (let n = yield* stream.read(buf); n > 0; n = yield* stream.read(buf)) {
      yield* stream.writeAll(buf.subarray(0, n))
    }
  })

Effect.runFork(TcpListener.launchWorker(echo).pipe(Effect.provide(Netpoll.layer)))
