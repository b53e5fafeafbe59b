/**
 * What each worker thread of the scale bench's effect-netpoll server runs (./scaleServer.ts):
 * the `many` scenario's echo, as bench/impl/netpoll.ts serves it, under
 * `TcpListener.launchWorker`. Compiled to bench/dist/scaleWorker.js, which the thread loads.
 */
import { Effect } from "effect"
import { Netpoll, TcpListener, type TcpStream } from "effect-netpoll"

const echo = (stream: TcpStream.TcpStream) =>
  Effect.gen(function*() {
    const buf = new Uint8Array(16 * 1024)
    let n: number
    while ((n = yield* stream.read(buf)) > 0) yield* stream.writeAll(buf.subarray(0, n))
  })

Effect.runFork(TcpListener.launchWorker(echo).pipe(Effect.provide(Netpoll.layer)))
