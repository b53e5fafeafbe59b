/**
 * A tour of effect-netpoll that needs nothing but this process: an echo server
 * on 127.0.0.1 and its clients, all fibers of one program.
 *
 *   npx tsx examples/demo.ts
 *
 * $DEMO_CLIENTS sets how many clients run at once (200 by default).
 * It exits by itself when done, with code 0 if every check passed.
 */
import { Console, Data, Effect, Option } from "effect"
import { Netpoll, TcpListener, TcpStream } from "effect-netpoll"
import { runMain } from "./runMain.js"

const clients = Number(process.env.DEMO_CLIENTS ?? 200)

class CheckFailed extends Data.TaggedError("CheckFailed")<{ readonly message: string }> {}

const check = (ok: boolean, message: string) => ok ? Effect.void : Effect.fail(new CheckFailed({ message }))

const encoder = new TextEncoder()
const decoder = new TextDecoder()

const equalBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((byte, i) => byte === b[i])

/** The echo handler: one fiber per connection, until the client shuts down its side. */
const echo = Effect.fn("echo")(function*(stream: TcpStream.TcpStream) {
  const buf = new Uint8Array(64 * 1024)
  let n: number
  while ((n = yield* stream.read(buf)) > 0) yield* stream.writeAll(buf.subarray(0, n))
})

const main = Effect.gen(function*() {
  const netpoll = yield* Netpoll.Netpoll
  yield* Console.log(`backend: ${netpoll.backend}`)

  // 1. An echo server in this process, in a fiber of its own. It stops when the
  //    program's Scope closes: interrupting `serve` closes every connection.
  const listener = yield* TcpListener.bind("127.0.0.1:0")
  const server = yield* listener.localAddr
  yield* Effect.forkScoped(TcpListener.serve(listener, echo))
  yield* Console.log(`1. echo server listening on ${server}`)

  // 2. Many clients at once, each a fiber suspended on its own socket; each
  //    connection closes with the Scope of its own client.
  const verified = yield* Effect.forEach(
    Array.from({ length: clients }, (_, i) => i),
    (i) =>
      Effect.scoped(Effect.gen(function*() {
        const stream = yield* TcpStream.connect(server)
        const message = encoder.encode(`client ${i} says hello ${"*".repeat(i % 100)}\n`)
        yield* stream.writeAll(message)
        const reply = new Uint8Array(message.length)
        yield* stream.readExact(reply)
        yield* check(equalBytes(reply, message), `client ${i} got back something else`)
      })),
    { concurrency: "unbounded", discard: true }
  ).pipe(Effect.as(clients))
  yield* Console.log(`2. ${verified}/${clients} concurrent clients got their echo`)

  // 3. tryClone: a second handle on one connection. A writer fiber on the
  //    original and a reader fiber on the clone run full duplex: 1 MiB goes
  //    out while its echo comes back, more than the socket buffers hold, so
  //    neither side could finish without the other running alongside.
  const duplexBytes = yield* Effect.scoped(Effect.gen(function*() {
    const stream = yield* TcpStream.connect(server)
    const clone = yield* stream.tryClone
    const payload = new Uint8Array(1024 * 1024).map((_, i) => (i * 31) & 0xff)
    const writer = Effect.gen(function*() {
      for (let offset = 0; offset < payload.length; offset += 16 * 1024) {
        yield* stream.writeAll(payload.subarray(offset, offset + 16 * 1024))
      }
    })
    const received = new Uint8Array(payload.length)
    yield* Effect.all([writer, clone.readExact(received)], { concurrency: 2, discard: true })
    yield* check(equalBytes(received, payload), "the clone read something other than what the original wrote")
    yield* Console.log(
      `3. fds ${stream.fd} (original, writing) and ${clone.fd} (clone, reading): ${received.length} bytes echoed`
    )
    return received.length
  }))

  // 4. Interruption as a deadline: a read that times out has consumed nothing,
  //    and the connection goes on working.
  yield* Effect.scoped(Effect.gen(function*() {
    const stream = yield* TcpStream.connect(server)
    const read = yield* stream.read(new Uint8Array(64)).pipe(Effect.timeoutOption("200 millis"))
    yield* check(Option.isNone(read), "a read with nothing to read did not time out")
    yield* Console.log("4. a read with a 200 ms timeout was interrupted (the server had nothing to say)")
    yield* stream.writeAll(encoder.encode("still here\n"))
    const reply = new Uint8Array(11)
    yield* stream.readExact(reply)
    yield* check(decoder.decode(reply) === "still here\n", "the connection lost bytes after the timeout")
    yield* Console.log(`   then the same connection echoed ${JSON.stringify(decoder.decode(reply))}`)
  }))

  // 5. Typed errors: connecting to a port nobody listens on (we bind one and
  //    close it) fails with ConnectionRefused, handled by its tag.
  const closedPort = yield* Effect.scoped(Effect.flatMap(TcpListener.bind("127.0.0.1:0"), (spare) => spare.localAddr))
  const refused = yield* Effect.scoped(TcpStream.connect(closedPort)).pipe(
    Effect.as("connected"),
    Effect.catchTag("ConnectionRefused", (error) => Effect.succeed(`${error._tag} (${error.errno}): ${error.message}`))
  )
  yield* check(refused.startsWith("ConnectionRefused"), `connect to a closed port gave ${refused}`)
  yield* Console.log(`5. ${refused}`)

  yield* Console.log(
    `summary: ${verified}/${clients} echoes verified, ${duplexBytes} bytes full duplex over tryClone, ` +
      `timeout left the connection intact, ConnectionRefused caught by tag`
  )
  yield* Console.log("demo finished")
}).pipe(Effect.scoped, Effect.provide(Netpoll.layer))

runMain(main, { interruptIsExit: false })
