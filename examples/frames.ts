/**
 * A length-prefixed protocol, both ends in one program: a key-value server and
 * a client that pipelines requests to it.
 *
 *   npx tsx examples/frames.ts [requests]
 *
 * Every message is a frame: a 4-byte big-endian length, then that many bytes
 * of JSON. The server reads requests with `BufReader.frames` (a Stream that
 * reads only when pulled) and answers each with `BufWriter.writeFrame`,
 * flushing once no request is left in its buffer, so a pipeline of requests
 * gets its replies in a few writes. The client writes `requests` SETs and GETs
 * (500 by default) with one flush, then reads the replies, checks them, and
 * says what it saw. A frame over the limit fails with LimitExceeded.
 */
import { Console, Data, Effect, Option, Stream } from "effect"
import { BufReader, BufWriter, Netpoll, TcpListener, TcpStream } from "effect-netpoll"
import { runMain } from "./runMain.js"

const requests = Number(process.argv[2] ?? 500)

/** Frames are 4-byte big-endian lengths, then JSON; none larger than 64 KiB. */
const framing = { prefix: 4, maxLength: 64 * 1024 } as const

type Request = { readonly op: "set"; readonly key: string; readonly value: string } | {
  readonly op: "get"
  readonly key: string
}
type Reply = { readonly ok: true; readonly value?: string | null } | { readonly ok: false; readonly error: string }

class BadReply extends Data.TaggedError("BadReply")<{ readonly message: string }> {}

const encoder = new TextEncoder()
const decoder = new TextDecoder()
const encode = (message: Request | Reply) => encoder.encode(JSON.stringify(message))

/** One connection: each request frame in, one reply frame out. */
const serveConnection = (store: Map<string, string>) => (stream: TcpStream.TcpStream) =>
  Effect.gen(function*() {
    const reader = yield* BufReader.make(stream)
    const writer = yield* BufWriter.make(stream)
    yield* BufReader.frames(reader, framing).pipe(
      Stream.runForEach((frame) =>
        Effect.gen(function*() {
          const request = JSON.parse(decoder.decode(frame)) as Request
          const reply: Reply = request.op === "set"
            ? (store.set(request.key, request.value), { ok: true })
            : { ok: true, value: store.get(request.key) ?? null }
          yield* writer.writeFrame(encode(reply), framing)
          // More requests already here: answer them first, then send the replies together.
          if (reader.buffered === 0) yield* writer.flush
        })
      ),
      // Too large to read: say so, then skip what the client still sends until it is done.
      Effect.catchTag("LimitExceeded", (error) =>
        writer.writeFrame(encode({ ok: false, error: error.message }), framing).pipe(
          Effect.andThen(writer.flush),
          Effect.andThen(reader.takeBuffered),
          Effect.andThen(stream.readToEnd({ maxBytes: 1 << 20 }))
        ))
    )
  }).pipe(Effect.scoped)

const client = (address: string) =>
  Effect.gen(function*() {
    const stream = yield* TcpStream.connect(address)
    const reader = yield* BufReader.make(stream)
    const writer = yield* BufWriter.make(stream)
    const sent: Array<Request> = []
    for (let i = 0; i < requests; i++) {
      const key = `key:${Math.floor(i / 2) % 50}`
      sent.push(i % 2 === 0 ? { op: "set", key, value: `value ${i}` } : { op: "get", key })
    }
    for (const request of sent) yield* writer.writeFrame(encode(request), framing)
    yield* writer.flush
    let gets = 0
    for (const [i, request] of sent.entries()) {
      const frame = yield* reader.readFrame(framing)
      if (Option.isNone(frame)) return yield* new BadReply({ message: `the server closed after ${i} replies` })
      const reply = JSON.parse(decoder.decode(frame.value)) as Reply
      // Each GET follows the SET of the same key: it must see that value.
      const expected = request.op === "get" ? `value ${i - 1}` : undefined
      if (!reply.ok || (request.op === "get" && reply.value !== expected)) {
        return yield* new BadReply({ message: `request ${i}: ${JSON.stringify(reply)}` })
      }
      if (request.op === "get") gets++
    }
    yield* Console.log(`${requests} pipelined requests answered in order, ${gets} GETs saw their SET`)

    // A frame larger than the limit is refused before its payload is read.
    yield* writer.writeFrame(new Uint8Array(100_000), framing)
    yield* writer.flush
    const refusal = yield* reader.readFrame(framing)
    const reply = Option.map(refusal, (frame) => JSON.parse(decoder.decode(frame)) as Reply)
    if (Option.isNone(reply) || reply.value.ok) return yield* new BadReply({ message: "the large frame was not refused" })
    yield* Console.log(`a 100000-byte frame was refused: ${reply.value.error}`)
    yield* stream.shutdown("write")
  }).pipe(Effect.scoped)

const main = Effect.gen(function*() {
  if (!Number.isSafeInteger(requests) || requests < 1) {
    return yield* new BadReply({ message: `requests must be a positive integer, not ${process.argv[2]}` })
  }
  const listener = yield* TcpListener.bind("127.0.0.1:0")
  const address = String(yield* listener.localAddr)
  yield* Console.log(`frame server listening on ${address}`)
  yield* Effect.forkScoped(TcpListener.serve(listener, serveConnection(new Map())))
  yield* client(address)
}).pipe(Effect.scoped, Effect.provide(Netpoll.layer))

runMain(main, { interruptIsExit: false })
