/**
 * RESP2, the Redis protocol, as the redis-ping example speaks it: commands are
 * encoded as arrays of bulk strings and sent through a BufWriter; replies are
 * read from a BufReader, a line at a time, so a reply split across reads, or
 * several replies in one, need no handling here. Both lines' redis-ping
 * examples use this file (effect3/examples links to it).
 */
import { Data, Effect, Option } from "effect"

/** An error reply (`-ERR ...`): the server refused a command. */
export class RedisError extends Data.TaggedError("RedisError")<{ readonly message: string }> {}

/** The server sent something that is not RESP2. */
export class ProtocolError extends Data.TaggedError("ProtocolError")<{ readonly message: string }> {}

/**
 * A decoded reply: a simple string (`+OK`) is a string, an integer (`:1`) a
 * bigint (RESP integers are 64-bit), a bulk string its bytes (bulk strings are
 * binary-safe), a null bulk string or null array `null`, and an array its
 * elements, where an error reply stays a value (a failed command inside EXEC).
 */
export type Reply = string | bigint | Uint8Array | null | ReadonlyArray<Reply | RedisError>

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** Encodes a command as RESP: `*<n>\r\n` then `$<len>\r\n<bytes>\r\n` per argument. */
export const encodeCommand = (args: ReadonlyArray<string | Uint8Array>): Uint8Array => {
  const parts: Array<Uint8Array> = [encoder.encode(`*${args.length}\r\n`)]
  for (const arg of args) {
    const bytes = typeof arg === "string" ? encoder.encode(arg) : arg
    parts.push(encoder.encode(`$${bytes.length}\r\n`), bytes, encoder.encode("\r\n"))
  }
  return concat(parts)
}

/** Joins byte arrays into one. */
export const concat = (parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0))
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}

/**
 * What the decoder reads from: a BufReader (of either Effect line, which is
 * why it is named by shape here).
 */
export interface Reader<E> {
  readonly readLine: () => Effect.Effect<Option.Option<string>, E>
  readonly readExact: (buf: Uint8Array) => Effect.Effect<void, E>
}

/** What commands are written to: a BufWriter. */
export interface Writer<E> {
  readonly writeAll: (buf: Uint8Array) => Effect.Effect<void, E>
  readonly flush: Effect.Effect<void, E>
}

const integer = (text: string): Effect.Effect<bigint, ProtocolError> =>
  /^-?\d+$/.test(text)
    ? Effect.succeed(BigInt(text))
    : Effect.fail(new ProtocolError({ message: `not an integer: ${JSON.stringify(text)}` }))

/** A length prefix: -1 (null) or a non-negative length that fits in memory. */
const length = (text: string): Effect.Effect<number, ProtocolError> =>
  Effect.flatMap(integer(text), (n) =>
    n < -1n || n > 512n * 1024n * 1024n
      ? Effect.fail(new ProtocolError({ message: `bad length ${text}` }))
      : Effect.succeed(Number(n)))

const CR = 13
const LF = 10

/**
 * The next reply, read with the reader's `readLine` (each header line, at
 * most the reader's capacity) and `readExact` (a bulk string's bytes and their CRLF). An
 * error reply inside an array stays a value; the caller decides what a
 * top-level one means.
 */
export const readReply = <E>(reader: Reader<E>): Effect.Effect<Reply | RedisError, E | ProtocolError> =>
  Effect.gen(function*() {
    const next = yield* reader.readLine()
    if (Option.isNone(next)) return yield* Effect.fail(new ProtocolError({ message: "the server closed the connection" }))
    const header = next.value.slice(1)
    switch (next.value[0]) {
      case "+":
        return header
      case "-":
        return new RedisError({ message: header })
      case ":":
        return yield* integer(header)
      case "$": {
        const n = yield* length(header)
        if (n === -1) return null
        const payload = new Uint8Array(n + 2)
        yield* reader.readExact(payload)
        if (payload[n] !== CR || payload[n + 1] !== LF) {
          return yield* Effect.fail(new ProtocolError({ message: `bulk string of ${n} bytes not followed by CRLF` }))
        }
        return payload.subarray(0, n)
      }
      case "*": {
        const n = yield* length(header)
        if (n === -1) return null
        const elements: Array<Reply | RedisError> = []
        for (let i = 0; i < n; i++) elements.push(yield* readReply(reader))
        return elements
      }
      default:
        return yield* Effect.fail(new ProtocolError({ message: `unknown reply type ${JSON.stringify(next.value[0])}` }))
    }
  })

/**
 * A connection's commands and replies: `send` buffers commands in the writer
 * and flushes them with one write (a pipeline when there are several); each
 * `readReply` takes the next reply in order, an error reply as a RedisError
 * failure.
 */
export const makeClient = <E>(reader: Reader<E>, writer: Writer<E>) => {
  const reply = Effect.flatMap(readReply(reader), (value) =>
    value instanceof RedisError ? Effect.fail(value) : Effect.succeed(value))
  const send = (commands: ReadonlyArray<ReadonlyArray<string>>) =>
    Effect.andThen(Effect.forEach(commands, (command) => writer.writeAll(encodeCommand(command)), { discard: true }), writer.flush)
  return {
    send,
    readReply: reply,
    command: (...args: ReadonlyArray<string>) => Effect.andThen(send([args]), reply)
  }
}

/** Formats a reply as redis-cli does, on one line. */
export const show = (reply: Reply | RedisError): string => {
  if (reply === null) return "(nil)"
  if (typeof reply === "string") return reply
  if (typeof reply === "bigint") return `(integer) ${reply}`
  if (reply instanceof Uint8Array) return JSON.stringify(decoder.decode(reply))
  if (reply instanceof RedisError) return `(error) ${reply.message}`
  return `[${reply.map(show).join(", ")}]`
}
