/**
 * A line-based chat server: one fiber per client, lines fanned out through a PubSub.
 *
 *   npx tsx examples/chat-server.ts [address]
 *   nc 127.0.0.1 7009        (from as many terminals as you like)
 *
 * The address comes from the first argument, else from $CHAT_ADDR, else
 * 127.0.0.1:7009; port 0 lets the kernel choose. Ctrl-C stops it.
 *
 * Every line a client sends reaches every other client as `nick: line`.
 * `/nick name` changes the sender's name; joins, leaves and renames are
 * announced as `* ...` lines. A new client is `guest<n>` until it picks a name.
 *
 * Slow clients: the room is a sliding PubSub that keeps the last 1024 lines.
 * Publishing never waits, and each client has a writer fiber of its own that
 * takes lines from its own subscription. A client that stops reading stalls
 * only its own writer, once the kernel's socket buffers are full; a client
 * more than 1024 lines behind loses its oldest unread lines and later reads
 * the newest, as with a chat's scrollback. A bounded PubSub would keep every
 * line, but then every sender would wait for the slowest reader.
 */
import { Console, Effect, HashSet, PubSub, Ref } from "effect"
import { Netpoll, TcpListener, type TcpStream } from "effect-netpoll"
import { runMain } from "./runMain.js"

const address = process.argv[2] ?? process.env.CHAT_ADDR ?? "127.0.0.1:7009"

/** How many lines a client may fall behind before it loses the oldest. */
const BACKLOG = 1024
/** Longest line a client may send; a longer one ends its session. */
const MAX_LINE = 4096

/** A line for every client but the one that caused it. */
interface Event {
  readonly from: number
  readonly text: string
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

const sendLine = (stream: TcpStream.TcpStream, text: string) => stream.writeAll(encoder.encode(`${text}\n`))

/**
 * Calls `onLine` for every line the client sends, without its line ending,
 * until the client's end of stream. Waits for `onLine` before reading on.
 */
const readLines = <E, R>(
  stream: TcpStream.TcpStream,
  onLine: (line: string) => Effect.Effect<void, E, R>
) =>
  Effect.gen(function*() {
    const buf = new Uint8Array(16 * 1024)
    // The start of a line whose newline has not arrived yet.
    let partial: Uint8Array = new Uint8Array(0)
    while (true) {
      const n = yield* stream.read(buf)
      if (n === 0) return "eof" as const
      let data: Uint8Array = buf.subarray(0, n)
      if (partial.length > 0) {
        const joined = new Uint8Array(partial.length + n)
        joined.set(partial)
        joined.set(data, partial.length)
        data = joined
      }
      let start = 0
      let newline: number
      while ((newline = data.indexOf(10, start)) >= 0) {
        const end = newline > start && data[newline - 1] === 13 ? newline - 1 : newline
        if (end - start > MAX_LINE) return "too long" as const
        yield* onLine(decoder.decode(data.subarray(start, end)))
        start = newline + 1
      }
      if (data.length - start > MAX_LINE) return "too long" as const
      partial = data.slice(start)
    }
  })

const validNick = /^[A-Za-z0-9_-]{1,24}$/
// Reserved, so that a rename never takes the name a later client will be given.
const guestNick = /^guest\d+$/i

let nextId = 1

const session = (room: PubSub.PubSub<Event>, nicks: Ref.Ref<HashSet.HashSet<string>>) =>
  Effect.fn("session")(
    function*(stream: TcpStream.TcpStream) {
      const id = nextId++
      const peer = String(yield* stream.peerAddr)
      // Subscribed before the join is announced: the client misses nothing said after it.
      const lines = yield* PubSub.subscribe(room)
      let nick = `guest${id}`
      const others = yield* Ref.modify(nicks, (taken) => [Array.from(taken).sort(), HashSet.add(taken, nick)])
      // Runs when the session ends, however it ends; `nick` is read then, not now.
      yield* Effect.addFinalizer(() =>
        Effect.suspend(() =>
          Effect.all([
            Console.log(`${nick} left`),
            Ref.update(nicks, HashSet.remove(nick)),
            PubSub.publish(room, { from: id, text: `* ${nick} left` })
          ], { discard: true })
        )
      )
      yield* sendLine(
        stream,
        `* welcome, you are ${nick}; ${others.length === 0 ? "nobody else is here" : `here: ${others.join(", ")}`}`
      )
      yield* PubSub.publish(room, { from: id, text: `* ${nick} joined` })
      yield* Console.log(`${nick} joined from ${peer}`)

      const rename = (name: string) =>
        Effect.gen(function*() {
          if (!validNick.test(name)) {
            return yield* sendLine(stream, `* ${JSON.stringify(name)} is not a nick: use 1 to 24 of A-Z a-z 0-9 _ -`)
          }
          if (guestNick.test(name)) return yield* sendLine(stream, `* guest names are given, not taken`)
          const old = nick
          const free = yield* Ref.modify(nicks, (taken) =>
            HashSet.has(taken, name) ? [false, taken] : [true, HashSet.add(HashSet.remove(taken, old), name)])
          if (!free) return yield* sendLine(stream, `* ${name} is taken`)
          nick = name
          yield* Console.log(`${old} is now ${name}`)
          yield* PubSub.publish(room, { from: id, text: `* ${old} is now ${name}` })
          yield* sendLine(stream, `* you are now ${name}`)
        })

      // Replies to the client itself are written from this fiber while the writer
      // fiber below writes too: each writeAll goes out whole, never interleaved.
      const onLine = (line: string) => {
        if (line === "") return Effect.void
        if (line === "/nick" || line.startsWith("/nick ")) return rename(line.slice(5).trim())
        if (line.startsWith("/")) return sendLine(stream, `* unknown command ${line.split(" ")[0]}; try /nick name`)
        return PubSub.publish(room, { from: id, text: `${nick}: ${line}` })
      }

      // Takes whatever lines are waiting, up to 256, and writes them at once.
      const writer = Effect.forever(Effect.gen(function*() {
        const batch = yield* PubSub.takeBetween(lines, 1, 256)
        const text = batch.filter((event) => event.from !== id).map((event) => `${event.text}\n`)
        if (text.length > 0) yield* stream.writeAll(encoder.encode(text.join("")))
      }))

      // The session ends when the client closes its side or a write to it fails.
      const ended = yield* Effect.raceFirst(readLines(stream, onLine), writer)
      if (ended === "too long") yield* sendLine(stream, `* lines are limited to ${MAX_LINE} bytes; bye`)
    },
    // A failed write or read ends only this session; its finalizer still says goodbye.
    Effect.catch((error) => Console.log(`connection failed: ${error.message}`))
  )

const main = Effect.gen(function*() {
  const room = yield* PubSub.sliding<Event>(BACKLOG)
  const nicks = yield* Ref.make(HashSet.empty<string>())
  const listener = yield* TcpListener.bind(address)
  yield* Console.log(`chat server listening on ${yield* listener.localAddr}`)
  return yield* TcpListener.serve(listener, session(room, nicks))
}).pipe(Effect.scoped, Effect.provide(Netpoll.layer))

runMain(main, { interruptIsExit: true })
