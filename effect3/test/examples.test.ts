/**
 * Runs the examples as a user would, each in a child process
 * (`node --import tsx examples/...`), importing the package by its name (dist/,
 * built by `npm run build`, which `npm test` runs first).
 */
import { describe, expect, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Netpoll from "../src/Netpoll.js"
import * as TcpStream from "../src/TcpStream.js"
import { type Child, ChildError, interrupt, runExample, WAIT } from "./utils/processes.js"

const bound = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.timeoutFail(effect, {
    duration: WAIT,
    onTimeout: () => new ChildError({ message: `a socket wait did not end within ${WAIT}` })
  })

const listeningPort = (child: Child) =>
  Effect.map(child.waitFor(/listening on 127\.0\.0\.1:(\d+)/), (match) => match[1]!)

layer(Netpoll.layer, { excludeTestServices: true })("examples", (it) => {
  describe("demo", () => {
    it.scoped("runs every step, prints its summary and exits by itself with code 0", () =>
      Effect.gen(function*() {
        const demo = yield* runExample("demo.ts", [], { DEMO_CLIENTS: "200" })
        const closed = yield* demo.closed
        expect(closed, demo.output()).toEqual({ code: 0, signal: null })
        const output = demo.output()
        expect(output).toContain("2. 200/200 concurrent clients got their echo")
        expect(output).toContain("bytes echoed")
        expect(output).toContain("then the same connection echoed \"still here\\n\"")
        expect(output).toContain("5. ConnectionRefused (ECONNREFUSED)")
        expect(output).toContain(
          "summary: 200/200 echoes verified, 1048576 bytes full duplex over tryClone, " +
            "timeout left the connection intact, ConnectionRefused caught by tag"
        )
        expect(output).toContain("demo finished")
      }))
  })

  describe("echo-server and echo-client", () => {
    it.scoped("the client's lines come back from the server, and SIGINT stops the server with code 0", () =>
      Effect.gen(function*() {
        const server = yield* runExample("echo-server.ts", ["127.0.0.1:0"])
        const port = yield* listeningPort(server)

        const client = yield* runExample("echo-client.ts", [`127.0.0.1:${port}`, "first line", "second"])
        const closed = yield* client.closed
        expect(closed, client.output()).toEqual({ code: 0, signal: null })
        expect(client.output()).toMatch(new RegExp(`connected to 127\\.0\\.0\\.1:${port} from 127\\.0\\.0\\.1:\\d+`))
        const lines = client.output().split("\n")
        expect(lines).toContain("> first line")
        expect(lines).toContain("< first line")
        expect(lines).toContain("> second")
        expect(lines).toContain("< second")
        expect(lines).toContain("server closed the connection")
        expect(lines).toContain("2 lines echoed")

        // "first line\n" + "second\n": the server saw the client's half-close and ended the handler.
        yield* server.waitFor(/closed 127\.0\.0\.1:\d+ after echoing 18 bytes/)
        expect(yield* interrupt(server)).toEqual({ code: 0, signal: null })
        expect(server.output()).toContain("shutting down")
      }))

    it.scoped("the client sends its default lines when given none", () =>
      Effect.gen(function*() {
        const server = yield* runExample("echo-server.ts", ["127.0.0.1:0"])
        const port = yield* listeningPort(server)
        const client = yield* runExample("echo-client.ts", [], { ECHO_ADDR: `127.0.0.1:${port}` })
        const closed = yield* client.closed
        expect(closed, client.output()).toEqual({ code: 0, signal: null })
        expect(client.output()).toContain("< hello\n> effect-netpoll\n< effect-netpoll\n> goodbye\n< goodbye\n")
        expect(client.output()).toContain("3 lines echoed")
      }))

    it.scoped("the client exits with code 1 when nothing listens", () =>
      Effect.gen(function*() {
        // Bound by the example server and released when it exits: nothing listens there then.
        const server = yield* runExample("echo-server.ts", ["127.0.0.1:0"])
        const port = yield* listeningPort(server)
        expect(yield* interrupt(server)).toEqual({ code: 0, signal: null })

        const client = yield* runExample("echo-client.ts", [`127.0.0.1:${port}`, "nobody"])
        const closed = yield* client.closed
        expect(closed).toEqual({ code: 1, signal: null })
        expect(client.output()).toContain(`connect 127.0.0.1:${port}: connection refused`)
      }))
  })

  describe("proxy", () => {
    it.scoped("forwards a client's bytes both ways and propagates its half-close to the upstream and back", () =>
      Effect.gen(function*() {
        const server = yield* runExample("echo-server.ts", ["127.0.0.1:0"])
        const serverPort = yield* listeningPort(server)
        const proxy = yield* runExample("proxy.ts", ["127.0.0.1:0", `127.0.0.1:${serverPort}`])
        const proxyPort = yield* listeningPort(proxy)

        const payload = new Uint8Array(256 * 1024).map((_, i) => (i * 7 + (i >> 8)) & 0xff)
        const stream = yield* TcpStream.connect(`127.0.0.1:${proxyPort}`)
        // Write everything, then shut our write side; meanwhile read until end of stream.
        const writer = Effect.zipRight(stream.writeAll(payload), stream.shutdown("write"))
        const reader = Effect.gen(function*() {
          const received = new Uint8Array(payload.length + 1)
          let total = 0
          while (true) {
            const n = yield* stream.read(received.subarray(total))
            if (n === 0) return received.subarray(0, total)
            total += n
          }
        })
        const [, received] = yield* bound(Effect.all([writer, reader], { concurrency: 2 }))
        expect(received.length).toBe(payload.length)
        expect(Buffer.from(received).equals(payload)).toBe(true)

        // The echo server ends a connection only on reading 0: the proxy passed our
        // shutdown on as a shutdown of its upstream write side, then relayed the
        // upstream's end of stream back to us, after the last echoed byte.
        yield* server.waitFor(new RegExp(`closed 127\\.0\\.0\\.1:\\d+ after echoing ${payload.length} bytes`))
        yield* proxy.waitFor(new RegExp(`#1 done: ${payload.length} bytes up, ${payload.length} bytes down`))
        expect(proxy.output()).toMatch(new RegExp(`#1 127\\.0\\.0\\.1:\\d+ -> 127\\.0\\.0\\.1:${serverPort}`))

        expect(yield* interrupt(proxy)).toEqual({ code: 0, signal: null })
        expect(yield* interrupt(server)).toEqual({ code: 0, signal: null })
      }))

    it.scoped("a client can still read what the upstream sends after shutting down its own write side", () =>
      Effect.gen(function*() {
        const server = yield* runExample("echo-server.ts", ["127.0.0.1:0"])
        const serverPort = yield* listeningPort(server)
        const proxy = yield* runExample("proxy.ts", ["127.0.0.1:0", `127.0.0.1:${serverPort}`])
        const proxyPort = yield* listeningPort(proxy)

        const stream = yield* TcpStream.connect(`127.0.0.1:${proxyPort}`)
        yield* stream.writeAll(new TextEncoder().encode("ping"))
        yield* stream.shutdown("write")
        // Nothing read before the shutdown: the echo travels back over the half-open connection.
        const buf = new Uint8Array(4)
        yield* bound(stream.readExact(buf))
        expect(new TextDecoder().decode(buf)).toBe("ping")
        expect(yield* bound(stream.read(new Uint8Array(16)))).toBe(0)
        yield* proxy.waitFor(/#1 done: 4 bytes up, 4 bytes down/)
      }))

    it.scoped("closes the client's connection when the upstream refuses", () =>
      Effect.gen(function*() {
        const server = yield* runExample("echo-server.ts", ["127.0.0.1:0"])
        const serverPort = yield* listeningPort(server)
        expect(yield* interrupt(server)).toEqual({ code: 0, signal: null })

        const proxy = yield* runExample("proxy.ts", ["127.0.0.1:0", `127.0.0.1:${serverPort}`])
        const proxyPort = yield* listeningPort(proxy)
        const stream = yield* TcpStream.connect(`127.0.0.1:${proxyPort}`)
        expect(yield* bound(stream.read(new Uint8Array(16)))).toBe(0)
        yield* proxy.waitFor(new RegExp(`connection failed: connect 127\\.0\\.0\\.1:${serverPort}: connection refused`))
      }))
  })
})
