/**
 * A TCP proxy: accepts connections and relays each one to an upstream server.
 *
 *   npx tsx examples/proxy.ts [listen-address] [upstream-address]
 *
 * Addresses come from the arguments, else from $PROXY_LISTEN and
 * $PROXY_UPSTREAM, else 127.0.0.1:7008 and 127.0.0.1:7007 (the echo server's
 * default). Port 0 lets the kernel choose. Ctrl-C stops it.
 *
 * Each direction is one fiber that reads one handle and writes a `tryClone` of
 * the other; at end of stream it shuts down the far side's write half, so a
 * half-close travels through the proxy as it would over a direct connection.
 */
import { Console, Effect } from "effect"
import { Netpoll, TcpListener, TcpStream } from "effect-netpoll"
import { runMain } from "./runMain.js"

const listenAddress = process.argv[2] ?? process.env.PROXY_LISTEN ?? "127.0.0.1:7008"
const upstreamAddress = process.argv[3] ?? process.env.PROXY_UPSTREAM ?? "127.0.0.1:7007"

/** Copies `from` into `to` until end of stream, then shuts `to`'s write side. */
const copy = Effect.fn("copy")(function*(from: TcpStream.TcpStream, to: TcpStream.TcpStream) {
  const buf = new Uint8Array(64 * 1024)
  let total = 0
  let n: number
  while ((n = yield* from.read(buf)) > 0) {
    yield* to.writeAll(buf.subarray(0, n))
    total += n
  }
  yield* to.shutdown("write")
  return total
})

let nextId = 1

const relay = Effect.fn("relay")(
  function*(client: TcpStream.TcpStream) {
    const id = nextId++
    const peer = String(yield* client.peerAddr)
    // In this handler's Scope: the upstream closes when the client's session ends.
    const upstream = yield* TcpStream.connect(upstreamAddress)
    yield* Console.log(`#${id} ${peer} -> ${yield* upstream.peerAddr}`)
    // Second handles on both connections, so that each direction has a reader
    // and a writer of its own; closed with this handler's Scope as well.
    const clientWriter = yield* client.tryClone
    const upstreamWriter = yield* upstream.tryClone
    // If one direction fails, the other is interrupted.
    const [sent, received] = yield* Effect.all([copy(client, upstreamWriter), copy(upstream, clientWriter)], {
      concurrency: 2
    })
    yield* Console.log(`#${id} done: ${sent} bytes up, ${received} bytes down`)
  },
  // The client's connection closes with the handler either way; this says why.
  Effect.catch((error) => Console.log(`connection failed: ${error.message}`))
)

const main = Effect.gen(function*() {
  const listener = yield* TcpListener.bind(listenAddress)
  yield* Console.log(`proxy listening on ${yield* listener.localAddr}, upstream ${upstreamAddress}`)
  return yield* TcpListener.serve(listener, relay)
}).pipe(Effect.scoped, Effect.provide(Netpoll.layer))

runMain(main, { interruptIsExit: true })
