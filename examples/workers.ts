/**
 * One echo server on several cores: worker threads share one address
 * (SO_REUSEPORT), each with its own event loop and Netpoll, and the kernel
 * spreads the connections over them. Each thread runs ./workers-echo.mjs.
 *
 *   npx tsx examples/workers.ts [address] [threads] [clients]
 *
 * Defaults: 127.0.0.1:7008, one thread per core. With a number of clients, it
 * connects that many times to itself, prints how many connections each thread
 * served, and exits; without, it serves until Ctrl-C, which stops and joins the
 * threads.
 */
import { Console, Effect } from "effect"
import { Netpoll, TcpListener, TcpStream } from "effect-netpoll"
import { runMain } from "./runMain.js"

const [address = "127.0.0.1:7008", threads, clients] = process.argv.slice(2)

/** Connects, reads the serving thread's greeting ("thread <id>\n"), and checks one echo. */
const visit = Effect.fn("visit")(function*(workers: TcpListener.Workers) {
  const stream = yield* TcpStream.connect(workers.address)
  const buf = new Uint8Array(64)
  let greeting = ""
  while (!greeting.endsWith("\n")) {
    const n = yield* stream.read(buf)
    if (n === 0) return yield* Effect.die(new Error("the server closed before its greeting"))
    greeting += new TextDecoder().decode(buf.subarray(0, n))
  }
  yield* stream.writeAll(new TextEncoder().encode("ping"))
  yield* stream.readExact(buf.subarray(0, 4))
  return greeting.trim()
}, Effect.scoped)

const main = Effect.gen(function*() {
  const workers = yield* TcpListener.makeWorkers(address, {
    worker: new URL("./workers-echo.mjs", import.meta.url),
    ...(threads === undefined ? {} : { threads: Number(threads) })
  })
  const ids = yield* workers.threadIds
  yield* Console.log(`listening on ${workers.address} with ${ids.length} threads`)
  if (clients === undefined) return yield* Effect.never
  const served = yield* Effect.forEach(Array.from({ length: Number(clients) }), () => visit(workers), {
    concurrency: 50
  })
  const counts = new Map<string, number>()
  for (const thread of served) counts.set(thread, (counts.get(thread) ?? 0) + 1)
  const byThread = [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([thread, n]) => `${thread}: ${n}`)
  yield* Console.log(`${served.length} connections served by ${counts.size} threads (${byThread.join(", ")})`)
}).pipe(Effect.scoped, Effect.provide(Netpoll.layer))

runMain(main, { interruptIsExit: true })
