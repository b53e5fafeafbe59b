/**
 * An HTTP/1.1 GET over a TcpStream, printed as `curl -i` prints it.
 *
 *   npx tsx examples/http-get.ts http://127.0.0.1:8080/path
 *
 * stdout gets the status line, the headers, an empty line and the body, byte
 * for byte as the body arrives; stderr gets the connection, the body's framing
 * and any trailers. The body is framed by `Transfer-Encoding: chunked` (chunk
 * extensions ignored, trailers read), else `Content-Length`, else the end of
 * the connection. Any complete response exits 0, whatever its status, as curl
 * does; a malformed one fails with HttpError. http:// only: no TLS here.
 */
import * as NodeStdio from "@effect/platform-node/NodeStdio"
import { Console, Data, Effect, Stdio, Stream } from "effect"
import { Netpoll, TcpStream } from "effect-netpoll"
import { runMain } from "./runMain.js"

class HttpError extends Data.TaggedError("HttpError")<{ readonly message: string }> {}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** Longest status or header line accepted, as servers cap theirs. */
const MAX_LINE = 64 * 1024

/** Reads a stream through a buffer, so that lines and bodies can share reads. */
const makeReader = (stream: TcpStream.TcpStream) => {
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

type Reader = ReturnType<typeof makeReader>

interface Head {
  readonly status: number
  readonly statusLine: string
  /** Raw header lines, as received. */
  readonly lines: ReadonlyArray<string>
  /** Lower-cased name to its values, in order. */
  readonly headers: ReadonlyMap<string, ReadonlyArray<string>>
}

/** Header lines up to the empty line; used for headers and for trailers alike. */
const readFields = (reader: Reader, what: string) =>
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

const readHead = (reader: Reader) =>
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

// stdout through effect's Stdio: a slow reader of the pipe holds the download
// back, and a closed pipe (EPIPE) fails the effect instead of the process.
const write = (bytes: Uint8Array) => Stdio.Stdio.use((stdio) => Stream.run(Stream.succeed(bytes), stdio.stdout()))

/** Copies exactly `length` bytes to stdout. */
const copyExactly = (reader: Reader, length: number) =>
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

/** Copies chunks to stdout until the last chunk, then reads the trailers. */
const copyChunked = (reader: Reader) =>
  Effect.gen(function*() {
    let total = 0
    while (true) {
      const sizeLine = yield* reader.line("chunk size")
      // A chunk extension (`;name=value`) follows the size; nothing here needs one.
      const hex = sizeLine.split(";")[0]!.trim()
      if (!/^[0-9a-fA-F]{1,12}$/.test(hex)) return yield* new HttpError({ message: `bad chunk size line ${JSON.stringify(sizeLine)}` })
      const size = parseInt(hex, 16)
      if (size === 0) break
      yield* copyExactly(reader, size)
      total += size
      if ((yield* reader.line("chunk end")) !== "") return yield* new HttpError({ message: "a chunk did not end with CRLF" })
    }
    const trailers = yield* readFields(reader, "trailer")
    return { total, trailers: trailers.lines }
  })

/** Copies everything up to the end of the connection to stdout. */
const copyToEnd = (reader: Reader) =>
  Effect.gen(function*() {
    let total = 0
    while (true) {
      const bytes = yield* reader.some(64 * 1024)
      if (bytes.length === 0) return total
      yield* write(bytes)
      total += bytes.length
    }
  })

const contentLength = (values: ReadonlyArray<string>) => {
  // `Content-Length: 5, 5` and repeated equal headers are one length; anything else is an error.
  const lengths = new Set(values.flatMap((value) => value.split(",").map((part) => part.trim())))
  const [only] = lengths
  if (lengths.size !== 1 || !/^\d{1,15}$/.test(only!)) return undefined
  return Number(only)
}

const get = (url: URL) =>
  Effect.gen(function*() {
    const address = `${url.hostname}:${url.port === "" ? 80 : url.port}`
    const stream = yield* TcpStream.connect(address)
    yield* Console.error(`connected to ${yield* stream.peerAddr}`)

    yield* stream.writeAll(encoder.encode(
      `GET ${url.pathname}${url.search} HTTP/1.1\r\n` +
        `Host: ${url.host}\r\n` +
        "User-Agent: effect-netpoll-http-get\r\n" +
        "Accept: */*\r\n" +
        // The server closes after this response; no connection reuse to manage.
        "Connection: close\r\n" +
        "\r\n"
    ))

    const reader = makeReader(stream)
    const head = yield* readHead(reader)
    yield* write(encoder.encode(`${head.statusLine}\r\n${head.lines.map((line) => `${line}\r\n`).join("")}\r\n`))

    const transferEncoding = head.headers.get("transfer-encoding")
    const length = head.headers.get("content-length")
    if (head.status === 204 || head.status === 304) {
      yield* Console.error("no body")
    } else if (transferEncoding !== undefined) {
      const codings = transferEncoding.join(",").split(",").map((coding) => coding.trim().toLowerCase())
      if (codings.at(-1) === "chunked") {
        const { total, trailers } = yield* copyChunked(reader)
        yield* Console.error(`${total} bytes of body, chunked`)
        for (const trailer of trailers) yield* Console.error(`trailer ${trailer}`)
      } else {
        // A transfer coding that is not chunked last: the body runs to the end of the connection.
        yield* Console.error(`${yield* copyToEnd(reader)} bytes of body, until the connection closed`)
      }
    } else if (length !== undefined) {
      const n = contentLength(length)
      if (n === undefined) return yield* new HttpError({ message: `bad Content-Length ${length.join(", ")}` })
      yield* copyExactly(reader, n)
      yield* Console.error(`${n} bytes of body, content-length`)
    } else {
      yield* Console.error(`${yield* copyToEnd(reader)} bytes of body, until the connection closed`)
    }
    return head.status
  })

const main = Effect.gen(function*() {
  const arg = process.argv[2]
  if (arg === undefined) return yield* new HttpError({ message: "usage: http-get.ts http://host[:port]/path" })
  const url = yield* Effect.try({
    try: () => new URL(arg),
    catch: () => new HttpError({ message: `not a URL: ${arg}` })
  })
  if (url.protocol !== "http:") return yield* new HttpError({ message: `only http:// URLs are supported, not ${url.protocol}//` })
  return yield* get(url)
}).pipe(Effect.scoped, Effect.provide([Netpoll.layer, NodeStdio.layer]))

runMain(main, { interruptIsExit: false })
