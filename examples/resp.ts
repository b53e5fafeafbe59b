/**
 * RESP2, the Redis protocol, as the redis-ping example speaks it: commands are
 * encoded as arrays of bulk strings; replies are decoded from whatever bytes
 * have arrived so far, so a reply split across reads simply waits for more.
 * Both lines' redis-ping examples use this file (effect3/examples links to it).
 */
import { Data } from "effect"

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

/** A reply and the offset just past it. */
export interface Decoded<A> {
  readonly value: A
  readonly end: number
}

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

const CR = 13
const LF = 10

/** The line starting at `start` up to its CRLF, or undefined while the CRLF has not arrived. */
const line = (buf: Uint8Array, start: number): Decoded<string> | undefined => {
  const cr = buf.indexOf(CR, start)
  if (cr < 0 || cr + 1 >= buf.length) return undefined
  if (buf[cr + 1] !== LF) throw new ProtocolError({ message: `a CR without LF at offset ${cr}` })
  return { value: decoder.decode(buf.subarray(start, cr)), end: cr + 2 }
}

const integer = (text: string): bigint => {
  if (!/^-?\d+$/.test(text)) throw new ProtocolError({ message: `not an integer: ${JSON.stringify(text)}` })
  return BigInt(text)
}

/** A length prefix: -1 (null) or a non-negative length that fits in memory. */
const length = (text: string): number => {
  const n = Number(integer(text))
  if (n < -1 || n > 512 * 1024 * 1024) throw new ProtocolError({ message: `bad length ${text}` })
  return n
}

const decodeValue = (buf: Uint8Array, start: number): Decoded<Reply | RedisError> | undefined => {
  if (start >= buf.length) return undefined
  const header = line(buf, start + 1)
  if (header === undefined) return undefined
  switch (buf[start]) {
    case 0x2b: // '+'
      return header
    case 0x2d: // '-'
      return { value: new RedisError({ message: header.value }), end: header.end }
    case 0x3a: // ':'
      return { value: integer(header.value), end: header.end }
    case 0x24: { // '$'
      const n = length(header.value)
      if (n === -1) return { value: null, end: header.end }
      // Wait for the payload and its CRLF before copying anything.
      if (header.end + n + 2 > buf.length) return undefined
      if (buf[header.end + n] !== CR || buf[header.end + n + 1] !== LF) {
        throw new ProtocolError({ message: `bulk string of ${n} bytes not followed by CRLF` })
      }
      return { value: buf.slice(header.end, header.end + n), end: header.end + n + 2 }
    }
    case 0x2a: { // '*'
      const n = length(header.value)
      if (n === -1) return { value: null, end: header.end }
      const elements: Array<Reply | RedisError> = []
      let end = header.end
      for (let i = 0; i < n; i++) {
        const element = decodeValue(buf, end)
        if (element === undefined) return undefined
        elements.push(element.value)
        end = element.end
      }
      return { value: elements, end }
    }
    default:
      throw new ProtocolError({ message: `unknown reply type byte 0x${buf[start]!.toString(16)}` })
  }
}

/**
 * Decodes the reply starting at `start`: undefined while it is incomplete (the
 * caller reads more and tries again from the same offset), a ProtocolError
 * thrown for bytes that are not RESP2. An incomplete array is decoded again
 * from its start on the next try; replies are small enough for that.
 */
export const decodeReply = (buf: Uint8Array, start = 0): Decoded<Reply | RedisError> | undefined =>
  decodeValue(buf, start)

/** Formats a reply as redis-cli does, on one line. */
export const show = (reply: Reply | RedisError): string => {
  if (reply === null) return "(nil)"
  if (typeof reply === "string") return reply
  if (typeof reply === "bigint") return `(integer) ${reply}`
  if (reply instanceof Uint8Array) return JSON.stringify(decoder.decode(reply))
  if (reply instanceof RedisError) return `(error) ${reply.message}`
  return `[${reply.map(show).join(", ")}]`
}
