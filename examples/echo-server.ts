/**
 * An echo server: every byte a client sends comes back to it.
 *
 *   npx tsx examples/echo-server.ts [address]
 *
 * The address comes from the first argument, else from $ECHO_ADDR, else
 * 127.0.0.1:7007; port 0 lets the kernel choose. Ctrl-C stops it: interrupting
 * `serve` interrupts every handler and closes every connection.
 */
import { Console, Effect } from "effect"
import { Netpoll, TcpListener, type TcpStream } from "effect-netpoll"
import { runMain } from "./runMain.js"

const address = process.argv[2] ?? process.env.ECHO_ADDR ?? "127.0.0.1:7007"

// One fiber per connection: read what is there, write it all back, until the
// client shuts its side down (read returns 0). The stream closes with its Scope
// when this handler returns.
const echo = Effect.fn("echo")(
  function*(stream: TcpStream.TcpStream) {
    const peer = String(yield* stream.peerAddr)
    yield* Console.log(`accepted ${peer}`)
    const buf = new Uint8Array(64 * 1024)
    let total = 0
    let n: number
    while ((n = yield* stream.read(buf)) > 0) {
      yield* stream.writeAll(buf.subarray(0, n))
      total += n
    }
    yield* Console.log(`closed ${peer} after echoing ${total} bytes`)
  },
  // `serve` would log a failed handler too; this says which error in one line.
  Effect.catch((error) => Console.log(`connection failed: ${error.message}`))
)

const main = Effect.gen(function*() {
  const listener = yield* TcpListener.bind(address)
  yield* Console.log(`echo server listening on ${yield* listener.localAddr}`)
  return yield* TcpListener.serve(listener, echo)
}).pipe(Effect.scoped, Effect.provide(Netpoll.layer))

runMain(main, { interruptIsExit: true })
