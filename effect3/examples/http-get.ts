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
import { Effect } from "effect"
import { Netpoll, TcpStream } from "effect-netpoll/effect3"
import { contentLength, copyChunked, copyExactly, copyToEnd, HttpError, makeReader, readHead } from "./http.js"
import { runMain } from "./runMain.js"

const encoder = new TextEncoder()

// Writes to files and pipes are synchronous on Linux: no backpressure to wait for.
const write = (bytes: Uint8Array) => Effect.sync(() => process.stdout.write(bytes))

const get = (url: URL) =>
  Effect.gen(function*() {
    const address = `${url.hostname}:${url.port === "" ? 80 : url.port}`
    const stream = yield* TcpStream.connect(address)
    console.error(`connected to ${yield* stream.peerAddr}`)

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
      console.error("no body")
    } else if (transferEncoding !== undefined) {
      const codings = transferEncoding.join(",").split(",").map((coding) => coding.trim().toLowerCase())
      if (codings.at(-1) === "chunked") {
        const { total, trailers } = yield* copyChunked(reader, write)
        console.error(`${total} bytes of body, chunked`)
        for (const trailer of trailers) console.error(`trailer ${trailer}`)
      } else {
        // A transfer coding that is not chunked last: the body runs to the end of the connection.
        console.error(`${yield* copyToEnd(reader, write)} bytes of body, until the connection closed`)
      }
    } else if (length !== undefined) {
      const n = contentLength(length)
      if (n === undefined) return yield* new HttpError({ message: `bad Content-Length ${length.join(", ")}` })
      yield* copyExactly(reader, n, write)
      console.error(`${n} bytes of body, content-length`)
    } else {
      console.error(`${yield* copyToEnd(reader, write)} bytes of body, until the connection closed`)
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
}).pipe(Effect.scoped, Effect.provide(Netpoll.layer))

runMain(main, { interruptIsExit: false })
