/**
 * The scale bench's effect-netpoll server: `node bench/dist/scaleServer.js <threads>` serves the
 * `many` echo on 127.0.0.1:0 from that many worker threads (`TcpListener.makeWorkers`, each
 * running ./scaleWorker.ts), prints `{"port":N}` once every thread listens, and stops (joining
 * its threads) when its stdin closes.
 */
import { Effect } from "effect"
import { Netpoll, TcpListener } from "effect-netpoll"
import { BACKLOG } from "./protocol.js"

const threads = Number(process.argv[2])

const stdinClosed = Effect.callback<void>((resume) => {
  process.stdin.resume()
  process.stdin.once("end", () => resume(Effect.void))
})

const main = Effect.gen(function*() {
  const workers = yield* TcpListener.makeWorkers("127.0.0.1:0", {
    worker: new URL("./scaleWorker.js", import.meta.url),
    threads,
    backlog: BACKLOG
  })
  process.stdout.write(`${JSON.stringify({ port: workers.address.port })}\n`)
  yield* stdinClosed
}).pipe(Effect.scoped, Effect.provide(Netpoll.layer))

Effect.runPromise(main).then(() => process.exit(0), (error) => {
  process.stderr.write(`scaleServer: ${error}\n`)
  process.exit(1)
})
