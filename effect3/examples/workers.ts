/**
 * An echo server on several cores: worker threads share one address
 * (SO_REUSEPORT), each with its own event loop and Netpoll, and the kernel
 * spreads the connections over them. Each thread runs ./workers-echo.mjs.
 *
 *   npx tsx examples/workers.ts [address] [threads]
 *
 * Defaults: 127.0.0.1:7008, one thread per core. Ctrl-C stops and joins the
 * threads; a thread that dies meanwhile is replaced.
 */
import { Effect } from "effect"
import { Netpoll, TcpListener } from "effect-netpoll/effect3"
import { runMain } from "./runMain.js"

const [address = "127.0.0.1:7008", threads] = process.argv.slice(2)

const main = Effect.gen(function*() {
  const workers = yield* TcpListener.makeWorkers(address, {
    worker: new URL("./workers-echo.mjs", import.meta.url),
    threads: threads === undefined ? undefined : Number(threads)
  })
  const ids = yield* workers.threadIds
  console.log(`listening on ${workers.address} with threads ${ids.join(", ")}`)
  return yield* Effect.never
}).pipe(Effect.scoped, Effect.provide(Netpoll.layer))

runMain(main, { interruptIsExit: true })
