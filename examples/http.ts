/**
 * An HTTP/1.x response as the http-get examples read it: the head, and the
 * body framed by Content-Length, by chunks (with trailers) or by the end of the
 * connection, copied to a `write` of the caller's. A buffered reader over
 * anything with a `read(buf)` effect serves lines and bodies alike.
 * Both lines' http-get examples use this file
 * (effect3/examples links to it).
 */
import { Data, Effect } from "effect"

export class HttpError extends Data.TaggedError("HttpError")<{ readonly message: string }> {}

const decoder = new TextDecoder()

/** Longest status or header line accepted, as servers cap theirs. */
const MAX_LINE = 64 * 1024

/** Reads a stream through a buffer, so that lines and bodies can share reads. */
export const makeReader = <E>(stream: { readonly read: (buf: Uint8Array) => Effect.Effect<number, E> }) => {
  // Bytes read but not yet consumed; `start` is where the unconsumed part begins.
  let pending: Uint8Array = new Uint8Array(0)
  let start = 0
  const buf = new Uint8Array(64 * 1024)

  /** Reads more into `pending`; false at end of stream. */
  const fill = Effect.gen(function*() {
    const n = yield* stream.read(buf)
    if (n === 0) return false
    const rest = pending.subarray(start)
    const next = new Uint8Array(rest.length + n)
    next.set(rest)
    next.set(buf.subarray(0, n), rest.length)
    pending = next
    start = 0
    return true
  })

  /** The next line without its CRLF (a bare LF is accepted too). */
  const line = (what: string) =>
    Effect.gen(function*() {
      let searched = start
      while (true) {
        const lf = pending.indexOf(10, searched)
        if (lf >= 0) {
          const end = lf > start && pending[lf - 1] === 13 ? lf - 1 : lf
          const text = decoder.decode(pending.subarray(start, end))
          start = lf + 1
          return text
        }
        const scanned = pending.length - start
        if (scanned > MAX_LINE) return yield* new HttpError({ message: `${what} longer than ${MAX_LINE} bytes` })
        if (!(yield* fill)) return yield* new HttpError({ message: `the connection ended in the ${what}` })
        // `fill` moved the unconsumed bytes to the front; search only what is new.
        searched = start + scanned
      }
    })

  /** Up to `max` bytes (max > 0): what is buffered, else one read; empty at end of stream. */
  const some = (max: number) =>
    Effect.gen(function*() {
      if (start === pending.length && !(yield* fill)) return new Uint8Array(0)
      const end = Math.min(pending.length, start + max)
      const bytes = pending.subarray(start, end)
      start = end
      return bytes
    })

  return { line, some }
}

export type Reader<E = unknown> = ReturnType<typeof makeReader<E>>

export interface Head {
  readonly status: number
  readonly statusLine: string
  /** Raw header lines, as received. */
  readonly lines: ReadonlyArray<string>
  /** Lower-cased name to its values, in order. */
  readonly headers: ReadonlyMap<string, ReadonlyArray<string>>
}

/** Header lines up to the empty line; used for headers and for trailers alike. */
export const readFields = <E>(reader: Reader<E>, what: string) =>
  Effect.gen(function*() {
    const lines: Array<string> = []
    const fields = new Map<string, Array<string>>()
    while (true) {
      const line = yield* reader.line(what)
      if (line === "") return { lines, fields }
      const colon = line.indexOf(":")
      if (colon <= 0) return yield* new HttpError({ message: `malformed ${what} line ${JSON.stringify(line)}` })
      const name = line.slice(0, colon).trim().toLowerCase()
      fields.set(name, [...(fields.get(name) ?? []), line.slice(colon + 1).trim()])
      lines.push(line)
    }
  })

export const readHead = <E>(reader: Reader<E>) =>
  Effect.gen(function*() {
    while (true) {
      const statusLine = yield* reader.line("status line")
      const match = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(statusLine)
      if (match === null) return yield* new HttpError({ message: `not an HTTP/1.x status line: ${JSON.stringify(statusLine)}` })
      const status = Number(match[1])
      const { fields, lines } = yield* readFields(reader, "header")
      // Interim responses (100 Continue, 103 Early Hints) come before the real one.
      if (status >= 100 && status < 200 && status !== 101) continue
      const head: Head = { status, statusLine, lines, headers: fields }
      return head
    }
  })

/** Where a body goes. */
export type Write<E, R> = (bytes: Uint8Array) => Effect.Effect<void, E, R>

/** Copies exactly `length` bytes to `write`. */
export const copyExactly = <E, E2, R>(reader: Reader<E>, length: number, write: Write<E2, R>) =>
  Effect.gen(function*() {
    let left = length
    while (left > 0) {
      const bytes = yield* reader.some(left)
      if (bytes.length === 0) {
        return yield* new HttpError({ message: `the body ended after ${length - left} of ${length} bytes` })
      }
      yield* write(bytes)
      left -= bytes.length
    }
  })

/** Copies chunks to `write` until the last chunk, then reads the trailers. */
export const copyChunked = <E, E2, R>(reader: Reader<E>, write: Write<E2, R>) =>
  Effect.gen(function*() {
    let total = 0
    while (true) {
      const sizeLine = yield* reader.line("chunk size")
      // A chunk extension (`;name=value`) follows the size; nothing here needs one.
      const hex = sizeLine.split(";")[0]!.trim()
      if (!/^[0-9a-fA-F]{1,12}$/.test(hex)) return yield* new HttpError({ message: `bad chunk size line ${JSON.stringify(sizeLine)}` })
      const size = parseInt(hex, 16)
      if (size === 0) break
      yield* copyExactly(reader, size, write)
      total += size
      if ((yield* reader.line("chunk end")) !== "") return yield* new HttpError({ message: "a chunk did not end with CRLF" })
    }
    const trailers = yield* readFields(reader, "trailer")
    return { total, trailers: trailers.lines }
  })

/** Copies everything up to the end of the connection to `write`. */
export const copyToEnd = <E, E2, R>(reader: Reader<E>, write: Write<E2, R>) =>
  Effect.gen(function*() {
    let total = 0
    while (true) {
      const bytes = yield* reader.some(64 * 1024)
      if (bytes.length === 0) return total
      yield* write(bytes)
      total += bytes.length
    }
  })

/** The one length that `Content-Length` values agree on, or undefined. */
export const contentLength = (values: ReadonlyArray<string>) => {
  // `Content-Length: 5, 5` and repeated equal headers are one length; anything else is an error.
  const lengths = new Set(values.flatMap((value) => value.split(",").map((part) => part.trim())))
  const [only] = lengths
  if (lengths.size !== 1 || !/^\d{1,15}$/.test(only!)) return undefined
  return Number(only)
}
