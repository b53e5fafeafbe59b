/**
 * Runs the Effect 4 examples as a user would, each in a child process
 * (`node --import tsx examples/...` from the repository root), importing the
 * package by its name (the root dist/, built by `npm run build`).
 */
import { describe, expect, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Netpoll from "../src/Netpoll.js"
import * as TcpListener from "../src/TcpListener.js"
import * as TcpStream from "../src/TcpStream.js"
import { bound, text } from "./utils/peers.js"
import { type Child, interrupt, runExample, WAIT } from "./utils/processes.js"

const listeningPort = (child: Child) =>
  Effect.map(child.waitFor(/listening on 127\.0\.0\.1:(\d+)/), (match) => match[1]!)

// excludeTestServices: `it.effect` runs on the real clock, as child processes do.
layer(Netpoll.layer, { excludeTestServices: true })("examples", (it) => {
  describe("demo", () => {
    it.effect("runs every step, prints its summary and exits by itself with code 0", () =>
      Effect.gen(function*() {
        const demo = yield* runExample("demo.ts", [], { DEMO_CLIENTS: "200" })
        const closed = yield* demo.closed
        expect(closed, demo.output()).toEqual({ code: 0, signal: null })
        const output = demo.output()
        expect(output).toMatch(/^backend: epoll\n1\. echo server listening on 127\.0\.0\.1:\d+\n/)
        expect(output).toContain("\n2. 200/200 concurrent clients got their echo\n")
        expect(output).toMatch(/\n3\. fds \d+ \(original, writing\) and \d+ \(clone, reading\): 1048576 bytes echoed\n/)
        expect(output).toContain(
          "\n4. a read with a 200 ms timeout was interrupted (the server had nothing to say)\n" +
            "   then the same connection echoed \"still here\\n\"\n"
        )
        expect(output).toMatch(/\n5\. ConnectionRefused \(ECONNREFUSED\): connect 127\.0\.0\.1:\d+: connection refused\n/)
        expect(output).toContain(
          "\nsummary: 200/200 echoes verified, 1048576 bytes full duplex over tryClone, " +
            "timeout left the connection intact, ConnectionRefused caught by tag\ndemo finished\n"
        )
        expect(demo.stderr()).toBe("")
      }))
  })

  describe("frames", () => {
    it.effect("pipelines length-prefixed requests, checks every reply, and refuses a frame over the limit", () =>
      Effect.gen(function*() {
        const frames = yield* runExample("frames.ts", ["1000"])
        const closed = yield* frames.closed
        expect(closed, frames.output()).toEqual({ code: 0, signal: null })
        expect(frames.output()).toMatch(
          /^frame server listening on 127\.0\.0\.1:\d+\n1000 pipelined requests answered in order, 500 GETs saw their SET\n/
        )
        expect(frames.output()).toContain(
          "\na 100000-byte frame was refused: readFrame: more than the limit of 65536 bytes\n"
        )
        expect(frames.stderr()).toBe("")
      }))

    it.effect("exits with code 1 and a BadReply when the count is not a positive integer", () =>
      Effect.gen(function*() {
        const frames = yield* runExample("frames.ts", ["-3"])
        const closed = yield* frames.closed
        expect(closed.code).toBe(1)
        expect(frames.stderr()).toContain("requests must be a positive integer, not -3")
      }))
  })

  describe("echo-server and echo-client", () => {
    it.effect("the client's lines come back from the server, and SIGINT stops the server with code 0", () =>
      Effect.gen(function*() {
        const server = yield* runExample("echo-server.ts", ["127.0.0.1:0"])
        const port = yield* listeningPort(server)

        const client = yield* runExample("echo-client.ts", [`127.0.0.1:${port}`, "first line", "second"])
        const closed = yield* client.closed
        expect(closed, client.output()).toEqual({ code: 0, signal: null })
        expect(client.stdout().toString()).toMatch(new RegExp(
          `^connected to 127\\.0\\.0\\.1:${port} from 127\\.0\\.0\\.1:\\d+\n` +
            "> first line\n< first line\n> second\n< second\nserver closed the connection\n2 lines echoed\n$"
        ))
        expect(client.stderr()).toBe("")

        // "first line\n" + "second\n": the server saw the client's half-close and ended the handler.
        yield* server.waitFor(/closed 127\.0\.0\.1:\d+ after echoing 18 bytes/)
        expect(server.output()).toMatch(/accepted 127\.0\.0\.1:\d+\n/)
        expect(yield* interrupt(server)).toEqual({ code: 0, signal: null })
        // Printed once the listener and every connection are closed.
        expect(server.stdout().toString()).toMatch(/\nstopped\n$/)
        expect(server.stderr()).toBe("")
      }))

    it.effect("the client sends its default lines when given none, to $ECHO_ADDR", () =>
      Effect.gen(function*() {
        const server = yield* runExample("echo-server.ts", ["127.0.0.1:0"])
        const port = yield* listeningPort(server)
        const client = yield* runExample("echo-client.ts", [], { ECHO_ADDR: `127.0.0.1:${port}` })
        const closed = yield* client.closed
        expect(closed, client.output()).toEqual({ code: 0, signal: null })
        expect(client.output()).toContain(
          "> hello\n< hello\n> effect-netpoll\n< effect-netpoll\n> goodbye\n< goodbye\n" +
            "server closed the connection\n3 lines echoed\n"
        )
      }))

    it.effect("the server takes its address from $ECHO_ADDR", () =>
      Effect.gen(function*() {
        const server = yield* runExample("echo-server.ts", [], { ECHO_ADDR: "127.0.0.1:0" })
        const port = yield* listeningPort(server)
        const client = yield* runExample("echo-client.ts", [`127.0.0.1:${port}`, "via env"])
        expect(yield* client.closed, client.output()).toEqual({ code: 0, signal: null })
        expect(client.output()).toContain("> via env\n< via env\n")
      }))

    it.effect("the client exits with code 1 and the ConnectionRefused on stderr when nothing listens", () =>
      Effect.gen(function*() {
        // Bound by the example server and released when it exits: nothing listens there then.
        const server = yield* runExample("echo-server.ts", ["127.0.0.1:0"])
        const port = yield* listeningPort(server)
        expect(yield* interrupt(server)).toEqual({ code: 0, signal: null })

        const client = yield* runExample("echo-client.ts", [`127.0.0.1:${port}`, "nobody"])
        const closed = yield* client.closed
        expect(closed).toEqual({ code: 1, signal: null })
        expect(client.stderr()).toContain(`ConnectionRefused: connect 127.0.0.1:${port}: connection refused`)
        expect(client.stdout().length).toBe(0)
      }))

    it.effect("the server exits with code 1 and the AddressInUse on stderr when its port is taken", () =>
      Effect.gen(function*() {
        const listener = yield* TcpListener.bind("127.0.0.1:0")
        const { port } = yield* listener.localAddr
        const server = yield* runExample("echo-server.ts", [`127.0.0.1:${port}`])
        expect(yield* server.closed).toEqual({ code: 1, signal: null })
        expect(server.stderr()).toMatch(
          new RegExp(`^AddressInUse: bind 127\\.0\\.0\\.1:${port}: address already in use\n`)
        )
        expect(server.stdout().length).toBe(0)
      }))

    it.effect("SIGINT stops a client parked in read with code 1, `interrupted` on stderr, its connection closed", () =>
      Effect.gen(function*() {
        // A listener of our own that takes the line and never answers: the client waits in read.
        const listener = yield* TcpListener.bind("127.0.0.1:0")
        const { port } = yield* listener.localAddr
        const client = yield* runExample("echo-client.ts", [`127.0.0.1:${port}`, "anyone?"])
        const accepted = yield* bound(listener.accept, "the client's connect", WAIT)
        const line = new Uint8Array(8)
        yield* bound(accepted.readExact(line), "the client's line", WAIT)
        expect(text(line)).toBe("anyone?\n")
        yield* client.waitFor(/> anyone\?\n/)
        expect(yield* interrupt(client)).toEqual({ code: 1, signal: null })
        expect(client.stderr()).toBe("interrupted\n")
        expect(client.stdout().toString()).toMatch(
          new RegExp(`^connected to 127\\.0\\.0\\.1:${port} from 127\\.0\\.0\\.1:\\d+\n> anyone\\?\n$`)
        )
        expect(yield* bound(accepted.read(new Uint8Array(1)), "the client's close", WAIT)).toBe(0)
      }))
  })

  describe("proxy", () => {
    it.effect("forwards a client's bytes both ways and propagates its half-close to the upstream and back", () =>
      Effect.gen(function*() {
        const server = yield* runExample("echo-server.ts", ["127.0.0.1:0"])
        const serverPort = yield* listeningPort(server)
        const proxy = yield* runExample("proxy.ts", ["127.0.0.1:0", `127.0.0.1:${serverPort}`])
        const proxyPort = yield* listeningPort(proxy)

        const payload = new Uint8Array(256 * 1024).map((_, i) => (i * 7 + (i >> 8)) & 0xff)
        const stream = yield* TcpStream.connect(`127.0.0.1:${proxyPort}`)
        // Write everything, then shut our write side; meanwhile read until end of stream.
        const writer = Effect.andThen(stream.writeAll(payload), stream.shutdown("write"))
        const reader = Effect.gen(function*() {
          const received = new Uint8Array(payload.length + 1)
          let total = 0
          while (true) {
            const n = yield* stream.read(received.subarray(total))
            if (n === 0) return received.subarray(0, total)
            total += n
          }
        })
        const [, received] = yield* bound(Effect.all([writer, reader], { concurrency: 2 }), "the proxied echo", WAIT)
        expect(received.length).toBe(payload.length)
        expect(Buffer.from(received).equals(payload)).toBe(true)

        // The echo server ends a connection only on reading 0: the proxy passed our
        // shutdown on as a shutdown of its upstream write side, then relayed the
        // upstream's end of stream back to us, after the last echoed byte.
        yield* server.waitFor(new RegExp(`closed 127\\.0\\.0\\.1:\\d+ after echoing ${payload.length} bytes`))
        yield* proxy.waitFor(new RegExp(`#1 done: ${payload.length} bytes up, ${payload.length} bytes down`))
        expect(proxy.output()).toMatch(new RegExp(`#1 127\\.0\\.0\\.1:\\d+ -> 127\\.0\\.0\\.1:${serverPort}\n`))

        expect(yield* interrupt(proxy)).toEqual({ code: 0, signal: null })
        expect(yield* interrupt(server)).toEqual({ code: 0, signal: null })
        expect(proxy.stderr()).toBe("")
      }))

    it.effect("a client can still read what the upstream sends after shutting down its own write side", () =>
      Effect.gen(function*() {
        const server = yield* runExample("echo-server.ts", ["127.0.0.1:0"])
        const serverPort = yield* listeningPort(server)
        const proxy = yield* runExample("proxy.ts", [], {
          PROXY_LISTEN: "127.0.0.1:0",
          PROXY_UPSTREAM: `127.0.0.1:${serverPort}`
        })
        const proxyPort = yield* listeningPort(proxy)
        expect(proxy.output()).toContain(`upstream 127.0.0.1:${serverPort}\n`)

        const stream = yield* TcpStream.connect(`127.0.0.1:${proxyPort}`)
        yield* stream.writeAll(new TextEncoder().encode("ping"))
        yield* stream.shutdown("write")
        // Nothing read before the shutdown: the echo travels back over the half-open connection.
        const buf = new Uint8Array(4)
        yield* bound(stream.readExact(buf), "the echo", WAIT)
        expect(new TextDecoder().decode(buf)).toBe("ping")
        expect(yield* bound(stream.read(new Uint8Array(16)), "the end of stream", WAIT)).toBe(0)
        yield* proxy.waitFor(/#1 done: 4 bytes up, 4 bytes down/)
      }))

    it.effect("closes the client's connection when the upstream refuses, and goes on serving", () =>
      Effect.gen(function*() {
        const server = yield* runExample("echo-server.ts", ["127.0.0.1:0"])
        const serverPort = yield* listeningPort(server)
        expect(yield* interrupt(server)).toEqual({ code: 0, signal: null })

        const proxy = yield* runExample("proxy.ts", ["127.0.0.1:0", `127.0.0.1:${serverPort}`])
        const proxyPort = yield* listeningPort(proxy)
        for (let i = 0; i < 2; i++) {
          const stream = yield* TcpStream.connect(`127.0.0.1:${proxyPort}`)
          expect(yield* bound(stream.read(new Uint8Array(16)), "the proxy's close", WAIT)).toBe(0)
        }
        yield* proxy.waitFor(
          new RegExp(`(connection failed: connect 127\\.0\\.0\\.1:${serverPort}: connection refused\n){2}`)
        )
        expect(yield* interrupt(proxy)).toEqual({ code: 0, signal: null })
      }))
  })
})
