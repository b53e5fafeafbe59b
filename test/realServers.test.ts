/**
 * The examples that talk to real servers, run as a user runs them (a child
 * process importing the package by name from dist/): redis-ping against a
 * redis-server of our own, http-get against node:http, a raw socket and nginx,
 * and chat-server with TcpStream clients. Servers are processes started on free
 * loopback ports and stopped by the test's Scope; the system's services are
 * never used.
 */
import { describe, expect, it as vitestIt, layer } from "@effect/vitest"
import * as net from "node:net"
import * as Effect from "effect/Effect"
import { decodeReply, encodeCommand, ProtocolError, RedisError } from "../examples/resp.js"
import * as Netpoll from "../src/Netpoll.js"
import * as TcpStream from "../src/TcpStream.js"
import { bound, bytes, netServer, text } from "./utils/peers.js"
import { interrupt, runExample, startRedis, WAIT } from "./utils/processes.js"

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

describe("examples/resp.ts", () => {
  const cases: ReadonlyArray<readonly [string, unknown]> = [
    ["+PONG\r\n", "PONG"],
    ["-ERR unknown command 'FOO'\r\n", new RedisError({ message: "ERR unknown command 'FOO'" })],
    [":-42\r\n", -42n],
    [":9223372036854775807\r\n", 9223372036854775807n],
    ["$5\r\nhello\r\n", bytes("hello")],
    ["$0\r\n\r\n", bytes("")],
    ["$4\r\na\r\nb\r\n", bytes("a\r\nb")],
    ["$-1\r\n", null],
    ["*-1\r\n", null],
    ["*0\r\n", []],
    [
      "*4\r\n$3\r\none\r\n$-1\r\n*2\r\n:1\r\n-WRONGTYPE no\r\n+OK\r\n",
      [bytes("one"), null, [1n, new RedisError({ message: "WRONGTYPE no" })], "OK"]
    ]
  ]

  vitestIt("decodes each kind of reply, and nothing while any byte of it is missing", () => {
    for (const [wire, expected] of cases) {
      const encoded = bytes(wire)
      for (let cut = 0; cut < encoded.length; cut++) {
        expect(decodeReply(encoded.subarray(0, cut)), `${JSON.stringify(wire)} cut at ${cut}`).toBeUndefined()
      }
      expect(decodeReply(encoded)).toEqual({ value: expected, end: encoded.length })
    }
  })

  vitestIt("decodes pipelined replies one after another from one buffer", () => {
    const wire = bytes(cases.map(([reply]) => reply).join(""))
    const values: Array<unknown> = []
    let offset = 0
    while (offset < wire.length) {
      const decoded = decodeReply(wire, offset)!
      values.push(decoded.value)
      offset = decoded.end
    }
    expect(values).toEqual(cases.map(([, value]) => value))
  })

  vitestIt("rejects bytes that are not RESP2 with ProtocolError", () => {
    expect(() => decodeReply(bytes("?what\r\n"))).toThrow(ProtocolError)
    expect(() => decodeReply(bytes(":12x\r\n"))).toThrow("not an integer")
    expect(() => decodeReply(bytes("$3\r\nabcd\r\n"))).toThrow("not followed by CRLF")
    expect(() => decodeReply(bytes("+OK\rX"))).toThrow("a CR without LF")
  })

  vitestIt("encodes a command as an array of bulk strings, lengths in bytes", () => {
    expect(text(encodeCommand(["SET", "k", "héllo"]))).toBe("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$6\r\nhéllo\r\n")
  })
})

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
})
