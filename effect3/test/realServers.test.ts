/**
 * The examples that talk to real servers, run as a user runs them (a child
 * process importing the package by name from dist/): redis-ping against a
 * redis-server of our own, http-get against node:http, a raw socket and nginx,
 * and chat-server with TcpStream clients. Servers are processes started on free
 * loopback ports and stopped by the test's Scope; the system's services are
 * never used.
 */
import { describe, expect, layer } from "@effect/vitest"
import * as fs from "node:fs"
import * as http from "node:http"
import * as net from "node:net"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as Netpoll from "../src/Netpoll.js"
import { encodeCommand } from "../examples/resp.js"
import * as TcpStream from "../src/TcpStream.js"
import { bound, bytes, netServer, text } from "./utils/peers.js"
import { type Child, findBinary, interrupt, runExample, startNginx, startRedis, WAIT } from "./utils/processes.js"

const waitFor = <A, E, R>(self: Effect.Effect<A, E, R>, what: string) => bound(self, what, WAIT)

/** Runs an example to its end and expects exit code 0. */
const runToEnd = (name: string, args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  Effect.gen(function*() {
    const child = yield* runExample(name, args, env)
    const closed = yield* child.closed
    expect(closed, child.output()).toEqual({ code: 0, signal: null })
    return child
  })

const redisTranscript = (port: number, count: number) =>
  [
    `connected to 127.0.0.1:${port}`,
    "PING -> PONG",
    `SET effect-netpoll:example:greeting "hello from effect-netpoll" -> OK`,
    `GET effect-netpoll:example:greeting -> "hello from effect-netpoll"`,
    "GET effect-netpoll:example:missing -> (nil)",
    "INCR effect-netpoll:example:greeting -> RedisError: ERR value is not an integer or out of range",
    "SET effect-netpoll:example:counter 0 -> OK",
    `${count} pipelined INCR effect-netpoll:example:counter -> (integer) 1 .. (integer) ${count}, in order`,
    "MGET effect-netpoll:example:greeting effect-netpoll:example:counter effect-netpoll:example:missing -> " +
    `["hello from effect-netpoll", "${count}", (nil)]`,
    "DEL effect-netpoll:example:greeting effect-netpoll:example:counter -> (integer) 2",
    ""
  ].join("\n")

/**
 * A relay in front of `port` that passes requests on at once and replies one
 * byte per turn of the event loop, so that replies reach the client split at
 * every point.
 */
const tricklingRelay = (port: number) =>
  Effect.gen(function*() {
    const upstreams = new Set<net.Socket>()
    yield* Effect.addFinalizer(() => Effect.sync(() => upstreams.forEach((socket) => socket.destroy())))
    return yield* netServer((client) => {
      client.setNoDelay(true)
      const upstream = net.connect(port, "127.0.0.1")
      upstreams.add(upstream)
      client.pipe(upstream)
      let queue: Array<number> = []
      let ended = false
      let pumping = false
      const pump = () => {
        const byte = queue.shift()
        if (byte === undefined) {
          pumping = false
          if (ended) client.end()
          return
        }
        client.write(Uint8Array.of(byte), () => setImmediate(pump))
      }
      upstream.on("data", (chunk: Buffer) => {
        queue = queue.concat(Array.from(chunk))
        if (!pumping) {
          pumping = true
          pump()
        }
      })
      upstream.on("end", () => {
        ended = true
        if (!pumping) client.end()
      })
      upstream.on("error", () => client.destroy())
      client.on("error", () => upstream.destroy())
    })
  })

/** A node:http server on port 0 of `host`, closed with every connection when the Scope closes; yields its port. */
const httpServer = (handler: http.RequestListener, host = "127.0.0.1") =>
  Effect.acquireRelease(
    Effect.async<http.Server>((resume) => {
      const server = http.createServer(handler)
      server.listen(0, host, () => resume(Effect.succeed(server)))
    }),
    (server) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map((server) => (server.address() as net.AddressInfo).port))

/** `size` bytes that differ from one offset to the next, so a lost or moved chunk shows. */
const pattern = (size: number) => Buffer.from(Uint8Array.from({ length: size }, (_, i) => (i * 31 + (i >> 12)) & 0xff))

/** Splits what http-get printed into its status line, headers (lower-cased names) and body. */
const parseResponse = (stdout: Buffer) => {
  const split = stdout.indexOf("\r\n\r\n")
  expect(split, stdout.subarray(0, 200).toString()).toBeGreaterThan(0)
  const [statusLine, ...lines] = stdout.subarray(0, split).toString("latin1").split("\r\n")
  const headers = new Map(lines.map((line) => {
    const colon = line.indexOf(":")
    return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()] as const
  }))
  return { statusLine, headers, body: stdout.subarray(split + 4) }
}

/** Writes `data` a byte per turn of the event loop, then ends the socket. */
const trickle = (socket: net.Socket, data: Uint8Array) => {
  socket.setNoDelay(true)
  let i = 0
  const next = () => {
    if (i === data.length) socket.end()
    else socket.write(data.subarray(i, ++i), () => setImmediate(next))
  }
  next()
}

/**
 * A raw TCP server that reads one request head, records it, and answers with
 * `respond`; yields its port and the heads it has read.
 */
const rawHttpServer = (respond: (socket: net.Socket) => void) =>
  Effect.gen(function*() {
    const requests: Array<string> = []
    const port = yield* netServer((socket) => {
      let head = ""
      socket.setEncoding("latin1")
      socket.on("data", (chunk: string) => {
        head += chunk
        if (!head.endsWith("\r\n\r\n")) return
        requests.push(head)
        respond(socket)
      })
      socket.on("error", () => socket.destroy())
    })
    return { port, requests }
  })

/** A chat client on a TcpStream: lines out, lines in, null at end of stream. */
const chatClient = (port: number) =>
  Effect.gen(function*() {
    const stream = yield* TcpStream.connect(`127.0.0.1:${port}`)
    const buf = new Uint8Array(64 * 1024)
    let pending = Buffer.alloc(0)
    const readLine = Effect.gen(function*() {
      while (true) {
        const newline = pending.indexOf(10)
        if (newline >= 0) {
          const line = pending.subarray(0, newline).toString("utf8")
          pending = pending.subarray(newline + 1)
          return line
        }
        const n = yield* stream.read(buf)
        if (n === 0) return null
        pending = Buffer.concat([pending, buf.subarray(0, n)])
      }
    })
    return {
      stream,
      send: (...lines: ReadonlyArray<string>) => stream.writeAll(bytes(lines.map((line) => `${line}\n`).join(""))),
      readLine: waitFor(readLine, "a chat line"),
      /** The next `n` lines. */
      readLines: (n: number) => waitFor(Effect.replicateEffect(readLine, n), `${n} chat lines`)
    }
  })

type ChatClient = Effect.Effect.Success<ReturnType<typeof chatClient>>

const expectLine = (client: ChatClient, line: string) =>
  Effect.map(client.readLine, (got) => expect(got).toBe(line))

const startChat = Effect.gen(function*() {
  const server = yield* runExample("chat-server.ts", ["127.0.0.1:0"])
  const match = yield* server.waitFor(/listening on 127\.0\.0\.1:(\d+)/)
  return { server, port: Number(match[1]) }
})

/** Open fds of a child process, from /proc/<pid>/fd. */
const childFds = (child: Child) => fs.readdirSync(`/proc/${child.process.pid}/fd`).length

layer(Netpoll.layer, { excludeTestServices: true })("examples against real servers", (it) => {
  describe("redis-ping", () => {
    it.scoped("speaks RESP2 to redis-server: PING, SET, GET, a refused INCR as RedisError, 1000 pipelined INCRs", () =>
      Effect.gen(function*() {
        const { port } = yield* startRedis
        const client = yield* runToEnd("redis-ping.ts", [`127.0.0.1:${port}`])
        expect(client.stdout().toString("utf8")).toBe(redisTranscript(port, 1000))
        expect(client.stderr()).toBe("")
      }))

    it.scoped("reads replies that arrive a byte at a time, taking the address from $REDIS_ADDR", () =>
      Effect.gen(function*() {
        const { port } = yield* startRedis
        const relay = yield* tricklingRelay(port)
        const client = yield* runToEnd("redis-ping.ts", [], { REDIS_ADDR: `127.0.0.1:${relay}` })
        expect(client.stdout().toString("utf8")).toBe(redisTranscript(relay, 1000))
      }))

    it.scoped("pipelines as many INCRs as asked, and leaves no keys behind", () =>
      Effect.gen(function*() {
        const { port } = yield* startRedis
        const first = yield* runToEnd("redis-ping.ts", [`127.0.0.1:${port}`, "5000"])
        expect(first.stdout().toString("utf8")).toBe(redisTranscript(port, 5000))
        // Counted by the server itself: the example's DEL removed both keys.
        const stream = yield* TcpStream.connect(`127.0.0.1:${port}`)
        yield* stream.writeAll(encodeCommand(["DBSIZE"]))
        const reply = new Uint8Array(4)
        yield* waitFor(stream.readExact(reply), "DBSIZE reply")
        expect(text(reply)).toBe(":0\r\n")
      }))

    it.scoped("exits with code 1 and the connect error when nothing listens", () =>
      Effect.gen(function*() {
        const { port, server } = yield* startRedis
        expect(yield* interrupt(server)).toEqual({ code: 0, signal: null })
        const client = yield* runExample("redis-ping.ts", [`127.0.0.1:${port}`])
        expect(yield* client.closed).toEqual({ code: 1, signal: null })
        expect(client.output()).toContain(`connect 127.0.0.1:${port}: connection refused`)
      }))
  })
  describe("http-get", () => {
    const large = pattern(4 * 1024 * 1024)
    const seen: Array<http.IncomingHttpHeaders & { readonly url?: string; readonly method?: string }> = []
    const routes: http.RequestListener = (req, res) => {
      seen.push({ ...req.headers, url: req.url!, method: req.method! })
      const url = new URL(req.url!, "http://x")
      if (url.pathname === "/hello") {
        res.setHeader("Content-Type", "text/plain")
        res.end("hello over Content-Length\n")
      } else if (url.pathname === "/chunked") {
        res.setHeader("Trailer", "X-Checksum")
        res.write("first\n")
        // Later chunks after a pause, so they come in separate reads.
        setTimeout(() => {
          res.write("second\n")
          res.write("third\n")
          res.addTrailers({ "X-Checksum": "f1rst-2nd-3rd" })
          res.end()
        }, 20)
      } else if (url.pathname === "/large") {
        res.setHeader("Content-Length", large.length)
        res.end(large)
      } else if (url.pathname === "/large-chunked") {
        // No Content-Length: node:http sends these 64 writes as 64 chunks.
        const piece = large.length / 64
        for (let i = 0; i < 64; i++) res.write(large.subarray(i * piece, (i + 1) * piece))
        res.end()
      } else {
        res.statusCode = 404
        res.end(`no route for ${url.pathname}\n`)
      }
    }

    it.scoped("GETs a Content-Length body, sending Host and Connection: close", () =>
      Effect.gen(function*() {
        const port = yield* httpServer(routes)
        seen.length = 0
        const client = yield* runToEnd("http-get.ts", [`http://127.0.0.1:${port}/hello?lang=en`])
        const { body, headers, statusLine } = parseResponse(client.stdout())
        expect(statusLine).toBe("HTTP/1.1 200 OK")
        expect(headers.get("content-type")).toBe("text/plain")
        expect(headers.get("content-length")).toBe("26")
        expect(body.toString()).toBe("hello over Content-Length\n")
        expect(client.stderr()).toBe(`connected to 127.0.0.1:${port}\n26 bytes of body, content-length\n`)
        expect(seen).toHaveLength(1)
        expect(seen[0]).toMatchObject({ method: "GET", url: "/hello?lang=en", host: `127.0.0.1:${port}`, connection: "close" })
      }))

    it.scoped("GETs from an IPv6 literal, with the brackets and port in Host", () =>
      Effect.gen(function*() {
        const port = yield* httpServer(routes, "::1")
        seen.length = 0
        const client = yield* runToEnd("http-get.ts", [`http://[::1]:${port}/hello`])
        expect(parseResponse(client.stdout()).body.toString()).toBe("hello over Content-Length\n")
        expect(client.stderr()).toBe(`connected to [::1]:${port}\n26 bytes of body, content-length\n`)
        expect(seen[0]).toMatchObject({ url: "/hello", host: `[::1]:${port}` })
      }))

    it.scoped("GETs a chunked body and prints its trailers", () =>
      Effect.gen(function*() {
        const port = yield* httpServer(routes)
        const client = yield* runToEnd("http-get.ts", [`http://127.0.0.1:${port}/chunked`])
        const { body, headers, statusLine } = parseResponse(client.stdout())
        expect(statusLine).toBe("HTTP/1.1 200 OK")
        expect(headers.get("transfer-encoding")).toBe("chunked")
        expect(body.toString()).toBe("first\nsecond\nthird\n")
        expect(client.stderr()).toBe(
          `connected to 127.0.0.1:${port}\n19 bytes of body, chunked\ntrailer X-Checksum: f1rst-2nd-3rd\n`
        )
      }))

    it.scoped("GETs a 4 MiB body intact, framed by Content-Length and by chunks", () =>
      Effect.gen(function*() {
        const port = yield* httpServer(routes)
        for (const [route, framing] of [["large", "content-length"], ["large-chunked", "chunked"]] as const) {
          const client = yield* runToEnd("http-get.ts", [`http://127.0.0.1:${port}/${route}`])
          const { body, statusLine } = parseResponse(client.stdout())
          expect(statusLine).toBe("HTTP/1.1 200 OK")
          expect(body.length).toBe(large.length)
          expect(body.equals(large)).toBe(true)
          expect(client.stderr()).toContain(`${large.length} bytes of body, ${framing}\n`)
        }
      }))

    it.scoped("prints a 404 with its body and exits 0, as curl does", () =>
      Effect.gen(function*() {
        const port = yield* httpServer(routes)
        const client = yield* runToEnd("http-get.ts", [`http://127.0.0.1:${port}/nowhere`])
        const { body, statusLine } = parseResponse(client.stdout())
        expect(statusLine).toBe("HTTP/1.1 404 Not Found")
        expect(body.toString()).toBe("no route for /nowhere\n")
      }))

    it.scoped("skips chunk extensions and reads trailers when every byte arrives on its own", () =>
      Effect.gen(function*() {
        const response = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum, X-Note\r\n\r\n" +
          "5;name=value\r\nhello\r\n" +
          "7 ; a=b;c=\"q;d\"\r\n, world\r\n" +
          "0;last\r\nX-Sum: 12\r\nX-Note: done\r\n\r\n"
        const { port, requests } = yield* rawHttpServer((socket) => trickle(socket, bytes(response)))
        const client = yield* runToEnd("http-get.ts", [`http://127.0.0.1:${port}/ext`])
        const { body, statusLine } = parseResponse(client.stdout())
        expect(statusLine).toBe("HTTP/1.1 200 OK")
        expect(body.toString()).toBe("hello, world")
        expect(client.stderr()).toBe(
          `connected to 127.0.0.1:${port}\n12 bytes of body, chunked\ntrailer X-Sum: 12\ntrailer X-Note: done\n`
        )
        expect(requests).toEqual([
          "GET /ext HTTP/1.1\r\n" +
          `Host: 127.0.0.1:${port}\r\n` +
          "User-Agent: effect-netpoll-http-get\r\nAccept: */*\r\nConnection: close\r\n\r\n"
        ])
      }))

    it.scoped("reads a body with neither length nor chunks up to the end of the connection", () =>
      Effect.gen(function*() {
        const { port } = yield* rawHttpServer((socket) =>
          socket.end("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the server closes\n")
        )
        const client = yield* runToEnd("http-get.ts", [`http://127.0.0.1:${port}/`])
        expect(parseResponse(client.stdout()).body.toString()).toBe("until the server closes\n")
        expect(client.stderr()).toContain("24 bytes of body, until the connection closed\n")
      }))

    it.scoped("fails with HttpError and exit code 1 on a body cut short of its Content-Length", () =>
      Effect.gen(function*() {
        const { port } = yield* rawHttpServer((socket) => socket.end("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"))
        const client = yield* runExample("http-get.ts", [`http://127.0.0.1:${port}/`])
        expect(yield* client.closed).toEqual({ code: 1, signal: null })
        expect(client.stderr()).toContain("HttpError: the body ended after 5 of 10 bytes")
      }))

    it.scoped("refuses an https:// URL with HttpError and exit code 1", () =>
      Effect.gen(function*() {
        const client = yield* runExample("http-get.ts", ["https://127.0.0.1/"])
        expect(yield* client.closed).toEqual({ code: 1, signal: null })
        expect(client.stderr()).toContain("HttpError: only http:// URLs are supported, not https://")
        expect(client.stdout().length).toBe(0)
      }))

    const nginx = findBinary("nginx")
    it.scoped.skipIf(nginx === undefined)("GETs a static file and a 404 from nginx", () =>
      Effect.gen(function*() {
        const file = pattern(2 * 1024 * 1024 + 17)
        const { port } = yield* startNginx({ "data.bin": file, "hello.txt": "hello from nginx\n" })

        const hello = yield* runToEnd("http-get.ts", [`http://127.0.0.1:${port}/hello.txt`])
        const small = parseResponse(hello.stdout())
        expect(small.statusLine).toBe("HTTP/1.1 200 OK")
        expect(small.headers.get("server")).toMatch(/^nginx/)
        expect(small.headers.get("content-type")).toBe("text/plain")
        expect(small.body.toString()).toBe("hello from nginx\n")

        const data = yield* runToEnd("http-get.ts", [`http://localhost:${port}/data.bin`])
        const big = parseResponse(data.stdout())
        expect(big.statusLine).toBe("HTTP/1.1 200 OK")
        expect(big.headers.get("content-length")).toBe(String(file.length))
        expect(big.body.equals(file)).toBe(true)

        const missing = yield* runToEnd("http-get.ts", [`http://127.0.0.1:${port}/missing.txt`])
        const notFound = parseResponse(missing.stdout())
        expect(notFound.statusLine).toBe("HTTP/1.1 404 Not Found")
        expect(notFound.body.toString()).toContain("<title>404 Not Found</title>")
        expect(missing.stderr()).toContain(`${notFound.body.length} bytes of body, `)
      }))
  })
  describe("chat-server", () => {
    it.scoped("fans every line out to every other client in order, with join, nick and leave notices", () =>
      Effect.gen(function*() {
        const { port, server } = yield* startChat
        const baseline = childFds(server)

        const a = yield* chatClient(port)
        yield* expectLine(a, "* welcome, you are guest1; nobody else is here")
        const b = yield* chatClient(port)
        yield* expectLine(b, "* welcome, you are guest2; here: guest1")
        yield* expectLine(a, "* guest2 joined")
        const c = yield* chatClient(port)
        yield* expectLine(c, "* welcome, you are guest3; here: guest1, guest2")
        yield* expectLine(a, "* guest3 joined")
        yield* expectLine(b, "* guest3 joined")

        yield* a.send("/nick alice")
        yield* expectLine(a, "* you are now alice")
        yield* expectLine(b, "* guest1 is now alice")
        yield* expectLine(c, "* guest1 is now alice")
        yield* b.send("/nick alice", "/nick guest7", "/nick no spaces", "/shout hi", "/nick bob")
        yield* expectLine(b, "* alice is taken")
        yield* expectLine(b, "* guest names are given, not taken")
        yield* expectLine(b, `* "no spaces" is not a nick: use 1 to 24 of A-Z a-z 0-9 _ -`)
        yield* expectLine(b, "* unknown command /shout; try /nick name")
        yield* expectLine(b, "* you are now bob")
        yield* expectLine(a, "* guest2 is now bob")
        yield* expectLine(c, "* guest2 is now bob")

        // Everyone talks at once, 50 lines each, some written in one piece, some line by line.
        const said = (who: string) => Array.from({ length: 50 }, (_, i) => `${who} says ${i + 1}`)
        yield* Effect.all([
          a.send(...said("alice")),
          Effect.forEach(said("bob"), (line) => b.send(line), { discard: true }),
          c.send(...said("guest3"))
        ], { concurrency: 3 })
        const [seenByA, seenByB, seenByC] = yield* Effect.all([a.readLines(100), b.readLines(100), c.readLines(100)], {
          concurrency: 3
        })
        const from = (lines: ReadonlyArray<string | null>, who: string) =>
          lines.filter((line) => line?.startsWith(`${who}: `)).map((line) => line!.slice(who.length + 2))
        expect(from(seenByA, "bob")).toEqual(said("bob"))
        expect(from(seenByA, "guest3")).toEqual(said("guest3"))
        expect(from(seenByB, "alice")).toEqual(said("alice"))
        expect(from(seenByB, "guest3")).toEqual(said("guest3"))
        expect(from(seenByC, "alice")).toEqual(said("alice"))
        expect(from(seenByC, "bob")).toEqual(said("bob"))

        yield* c.stream.close
        yield* expectLine(a, "* guest3 left")
        yield* expectLine(b, "* guest3 left")
        yield* b.stream.close
        yield* expectLine(a, "* bob left")
        yield* a.stream.close
        yield* server.waitFor(/alice left/)
        expect(server.output()).toMatch(
          /guest1 joined from 127\.0\.0\.1:\d+\nguest2 joined from 127\.0\.0\.1:\d+\nguest3 joined from 127\.0\.0\.1:\d+\n/
        )
        expect(server.output()).toContain("guest1 is now alice\nguest2 is now bob\nguest3 left\nbob left\nalice left\n")
        // Every client's socket and subscription went with its session.
        yield* waitFor(
          Effect.retry(
            Effect.suspend(() => childFds(server) === baseline ? Effect.void : Effect.fail(childFds(server))),
            Schedule.spaced("50 millis")
          ),
          `the server's fds back at ${baseline}`
        )
        expect(yield* interrupt(server)).toEqual({ code: 0, signal: null })
        expect(server.output()).toContain("shutting down")
      }))

    it.scoped("SIGINT stops the server with code 0 and ends every client's connection", () =>
      Effect.gen(function*() {
        const { port, server } = yield* startChat
        const a = yield* chatClient(port)
        yield* expectLine(a, "* welcome, you are guest1; nobody else is here")
        const b = yield* chatClient(port)
        yield* expectLine(b, "* welcome, you are guest2; here: guest1")
        expect(yield* interrupt(server)).toEqual({ code: 0, signal: null })
        // A leave notice may still get out before the connection ends.
        const rest = (client: ChatClient) =>
          Effect.iterate([] as Array<string | null>, {
            while: (lines) => lines.at(-1) !== null,
            body: (lines) => Effect.map(client.readLine, (line) => [...lines, line])
          })
        expect((yield* rest(a)).at(-1)).toBeNull()
        expect((yield* rest(b)).at(-1)).toBeNull()
      }))

    it.scoped("a client that stops reading loses its oldest lines and holds up nobody else", () =>
      Effect.gen(function*() {
        const { port } = yield* startChat
        const slow = yield* chatClient(port)
        yield* expectLine(slow, "* welcome, you are guest1; nobody else is here")
        const sender = yield* chatClient(port)
        yield* expectLine(sender, "* welcome, you are guest2; here: guest1")
        const reader = yield* chatClient(port)
        yield* expectLine(reader, "* welcome, you are guest3; here: guest1, guest2")
        yield* expectLine(sender, "* guest3 joined")

        // More than the slow client's socket buffers and its 1024-line backlog
        // can hold, twice over: were the sender held up by the slow client, the
        // reader would never get the last line.
        const [, receiveDefault] = fs.readFileSync("/proc/sys/net/ipv4/tcp_rmem", "utf8").trim().split(/\s+/).map(Number)
        const [, , sendMax] = fs.readFileSync("/proc/sys/net/ipv4/tcp_wmem", "utf8").trim().split(/\s+/).map(Number)
        const lineLength = 1000
        const round = 256
        const rounds = Math.ceil(2 * ((receiveDefault! + sendMax!) / lineLength + 1024 + 256) / round)
        const total = rounds * round
        const line = (i: number) => `line ${i} `.padEnd(lineLength - "guest2: ".length - 1, "x")

        // A round at a time, so that the reader, which reads as fast as it can,
        // is never more than a round behind and so never loses a line itself.
        for (let r = 0; r < rounds; r++) {
          const lines = Array.from({ length: round }, (_, i) => line(r * round + i + 1))
          yield* sender.send(...lines)
          expect(yield* reader.readLines(round)).toEqual(lines.map((text) => `guest2: ${text}`))
        }

        // The slow client gets the first lines, a gap, then the newest, in order.
        const got: Array<number> = []
        while (got.at(-1) !== total) {
          const next = yield* slow.readLine
          expect(next).not.toBeNull()
          const match = /^guest2: line (\d+) x+$/.exec(next!)
          if (match !== null) got.push(Number(match[1]))
        }
        expect(got[0]).toBe(1)
        expect(got.every((n, i) => i === 0 || n > got[i - 1]!)).toBe(true)
        expect(got.length).toBeLessThan(total)
        expect(got.length).toBeGreaterThanOrEqual(1024)

        // Caught up, it hears what is said next like everyone else.
        yield* sender.send("anyone there?")
        yield* expectLine(slow, "guest2: anyone there?")
        yield* expectLine(reader, "guest2: anyone there?")
      }))
  })
})
