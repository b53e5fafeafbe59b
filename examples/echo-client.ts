/**
 * An echo client: sends lines, prints what comes back, and exits.
 *
 *   npx tsx examples/echo-client.ts [address] [line ...]
 *
 * The address comes from the first argument, else from $ECHO_ADDR, else
 * 127.0.0.1:7007. Without lines it sends a default set.
 */
import { Console, Data, Effect } from "effect"
import { Netpoll, TcpStream } from "effect-netpoll"
import { runMain } from "./runMain.js"

const address = process.argv[2] ?? process.env.ECHO_ADDR ?? "127.0.0.1:7007"
const lines = process.argv.length > 3 ? process.argv.slice(3) : ["hello", "effect-netpoll", "goodbye"]

class EchoError extends Data.TaggedError("EchoError")<{ readonly message: string }> {}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

const main = Effect.gen(function*() {
  const stream = yield* TcpStream.connect(address)
  yield* Console.log(`connected to ${yield* stream.peerAddr} from ${yield* stream.localAddr}`)

  // Whatever arrived after the last newline waits here for the next line.
  let pending = new Uint8Array(0)
  const buf = new Uint8Array(64 * 1024)
  const readLine = Effect.gen(function*() {
    while (true) {
      const newline = pending.indexOf(10)
      if (newline >= 0) {
        const line = decoder.decode(pending.subarray(0, newline))
        pending = pending.slice(newline + 1)
        return line
      }
      const n = yield* stream.read(buf)
      if (n === 0) return yield* new EchoError({ message: "the server closed the connection mid-line" })
      const next = new Uint8Array(pending.length + n)
      next.set(pending)
      next.set(buf.subarray(0, n), pending.length)
      pending = next
    }
  })

  for (const line of lines) {
    yield* Console.log(`> ${line}`)
    yield* stream.writeAll(encoder.encode(`${line}\n`))
    const echoed = yield* readLine
    yield* Console.log(`< ${echoed}`)
    if (echoed !== line) return yield* new EchoError({ message: `expected "${line}", got "${echoed}"` })
  }

  // Half-close: the server reads 0, ends its handler and closes; we then read 0.
  yield* stream.shutdown("write")
  const rest = yield* stream.read(buf)
  yield* Console.log(rest === 0 ? "server closed the connection" : `unexpected ${rest} more bytes`)
  yield* Console.log(`${lines.length} lines echoed`)
}).pipe(Effect.scoped, Effect.provide(Netpoll.layer))

runMain(main, { interruptIsExit: false })
