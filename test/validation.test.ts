/**
 * Bad arguments to the public functions: each is a defect whose message names
 * the public option and what it accepts, returned as an Effect (never thrown
 * at the call), and no fd is left open. Shared by both lines.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as Sink from "effect/Sink"
import * as Stream from "effect/Stream"
import * as ClusterSocket from "../src/ClusterSocket.js"
import * as NetError from "../src/NetError.js"
import * as Netpoll from "../src/Netpoll.js"
import * as TcpListener from "../src/TcpListener.js"
import * as TcpStream from "../src/TcpStream.js"
import * as UdpSocket from "../src/UdpSocket.js"
import * as UnixListener from "../src/UnixListener.js"
import * as UnixStream from "../src/UnixStream.js"
import { loopTurns, openFds } from "./utils/fds.js"
import { defects, dialSocket, failures, fork, root } from "./utils/line.js"
import { bytes, eventually, pair, text } from "./utils/peers.js"
import { hostile } from "./utils/hostile.js"
import { layer } from "./utils/runners.js"

/** The message of the error (a TypeError unless said) an effect dies with; fails the test otherwise. */
const defectMessage = (effect: Effect.Effect<unknown, unknown, any>, kind: new() => Error = TypeError) =>
  Effect.map(Effect.exit(effect), (exit) => {
    expect(Exit.isFailure(exit)).toBe(true)
    const [defect] = Exit.isFailure(exit) ? defects(exit.cause) : []
    expect(defect).toBeInstanceOf(kind)
    return (defect as Error).message
  })

const nullPrototype = Object.create(null) as never

layer(Netpoll.layer)("bad arguments", (it) => {
  it.effect("bind options of the wrong type or range die naming the option, before any fd exists", () =>
    Effect.gen(function*() {
      yield* loopTurns
      const before = openFds()
      const cases: ReadonlyArray<readonly [unknown, string]> = [
        [{ backlog: 1.5 }, "bind: backlog must be a whole number from 0 to 2147483647, got 1.5"],
        [{ backlog: -1 }, "bind: backlog must be a whole number from 0 to 2147483647, got -1"],
        [{ backlog: "x" }, "bind: backlog must be a whole number from 0 to 2147483647, got \"x\""],
        [{ backlog: Number.NaN }, "bind: backlog must be a whole number from 0 to 2147483647, got NaN"],
        [{ backlog: Infinity }, "bind: backlog must be a whole number from 0 to 2147483647, got Infinity"],
        [{ backlog: 2 ** 53 }, "bind: backlog must be a whole number from 0 to 2147483647, got 9007199254740992"],
        [{ backlog: 2 ** 31 }, "bind: backlog must be a whole number from 0 to 2147483647, got 2147483648"],
        [{ ipv6Only: null }, "bind: ipv6Only must be a boolean, got null"],
        [{ reusePort: 1 }, "bind: reusePort must be a boolean, got 1"],
        [{ noDelay: Symbol("x") }, "bind: noDelay must be a boolean, got Symbol(x)"],
        [42, "bind options must be an object, got 42"]
      ]
      for (const [options, message] of cases) {
        expect(yield* defectMessage(Effect.scoped(TcpListener.bind("[::1]:0", options as never)))).toBe(message)
      }
      expect(openFds()).toBe(before)
    }))

  it.effect("an option that passes the check and then reads differently leaves no fd and no socket file", () =>
    Effect.gen(function*() {
      yield* loopTurns
      const before = openFds()
      /** Options whose `name` reads `good` the first time and "x" after. */
      const changing = (name: string, good: number) => {
        let reads = 0
        return { get [name]() { return reads++ === 0 ? good : "x" } } as never
      }
      const path = `${os.tmpdir()}/netpoll-changing-${process.pid}.sock`
      const exits: Array<Exit.Exit<unknown, unknown>> = [
        yield* Effect.exit(Effect.scoped(TcpListener.bind("127.0.0.1:0", changing("backlog", 16)))),
        yield* Effect.exit(Effect.scoped(UdpSocket.bind("127.0.0.1:0", changing("ttl", 64)))),
        yield* Effect.exit(Effect.scoped(UnixListener.bind(path, changing("backlog", 16))))
      ]
      for (const exit of exits) expect(Exit.isFailure(exit)).toBe(true)
      expect(fs.existsSync(path)).toBe(false)
      yield* loopTurns
      expect(openFds()).toBe(before)
    }))

  it.effect("connect options of the wrong type or range die naming the option, before any fd exists", () =>
    Effect.gen(function*() {
      const listener = yield* TcpListener.bind("127.0.0.1:0")
      const { port } = yield* listener.localAddr
      yield* loopTurns
      const before = openFds()
      const cases: ReadonlyArray<readonly [unknown, string]> = [
        [{ noDelay: "x" }, "connect: noDelay must be a boolean, got \"x\""],
        [
          { keepAlive: Infinity },
          "connect: keepAlive must be a boolean or a delay in milliseconds (a finite number, 0 or more), got Infinity"
        ],
        [
          { keepAlive: -5 },
          "connect: keepAlive must be a boolean or a delay in milliseconds (a finite number, 0 or more), got -5"
        ]
      ]
      for (const [options, message] of cases) {
        const connect = TcpStream.connect({ host: "127.0.0.1", port }, options as never)
        expect(yield* defectMessage(Effect.scoped(connect))).toBe(message)
      }
      expect(openFds()).toBe(before)
    }))

  it.effect("read, write, readExact and writeAll return an Effect that dies for a buffer that is no Uint8Array", () =>
    Effect.gen(function*() {
      const { client } = yield* pair()
      const proxy = new Proxy(new Uint8Array(4), {})
      for (const buf of [null, undefined, {}, [1, 2], proxy, nullPrototype]) {
        // The calls themselves never throw: the defect is in the returned Effect.
        const calls = [client.read(buf as never), client.write(buf as never), client.readExact(buf as never), client.writeAll(buf as never)]
        const messages: Array<string> = []
        for (const call of calls) messages.push(yield* defectMessage(call))
        expect(messages.map((message) => message.split(":")[0])).toEqual(["read", "write", "readExact", "writeAll"])
        for (const message of messages) expect(message).toContain("buf must be a Uint8Array")
      }
    }))

  it.effect("shutdown, setNoDelay and setKeepAlive die naming the argument they refuse", () =>
    Effect.gen(function*() {
      const { client } = yield* pair()
      expect(yield* defectMessage(client.shutdown("sideways" as never))).toBe(
        "shutdown: how must be \"read\", \"write\" or \"both\", got \"sideways\""
      )
      expect(yield* defectMessage(client.setNoDelay("yes" as never))).toBe("setNoDelay: on must be a boolean, got \"yes\"")
      expect(yield* defectMessage(client.setKeepAlive(1 as never))).toBe("setKeepAlive: on must be a boolean, got 1")
      expect(yield* defectMessage(client.setKeepAlive(true, NaN))).toBe(
        "setKeepAlive: initialDelayMillis must be a delay in milliseconds (a finite number, 0 or more), got NaN"
      )
    }))

  it.effect("a buffer detached or shrunk while its read waits is a defect, not an end of stream, and loses no byte", () =>
    Effect.gen(function*() {
      const netpoll = yield* Netpoll.Netpoll
      const { client, server } = yield* pair()
      // Detached by a transfer while `read` waits: the wake-up must not read 0 bytes into it.
      const detached = new Uint8Array(16)
      const reading = yield* fork(client.read(detached))
      yield* eventually(() => netpoll.waiting >= 1, "read parking")
      structuredClone(detached, { transfer: [detached.buffer] })
      yield* server.writeAll(bytes("kept"))
      const defect = yield* defectMessage(Fiber.join(reading), Error)
      expect(defect).toBe("read: buf was detached or resized while the call waited; nothing more was moved")
      const fresh = new Uint8Array(16)
      const n = yield* client.read(fresh)
      expect(text(fresh.subarray(0, n))).toBe("kept")
      // Shrunk (a resizable ArrayBuffer) while `readExact` waits for the rest of its message.
      // ES2024's resizable ArrayBuffer (Node 20 has it; this project's lib is ES2022).
      const resizable = new (ArrayBuffer as unknown as new(n: number, o: { maxByteLength: number }) => ArrayBuffer)(8, {
        maxByteLength: 8
      })
      const exact = new Uint8Array(resizable)
      const exactly = yield* fork(client.readExact(exact))
      yield* server.writeAll(bytes("abc"))
      yield* eventually(() => exact[2] === 0x63 && netpoll.waiting >= 1, "readExact parking after reading \"abc\"")
      ;(resizable as ArrayBuffer & { resize: (n: number) => void }).resize(2)
      yield* server.writeAll(bytes("defgh"))
      expect(yield* defectMessage(Fiber.join(exactly), Error)).toBe(
        "read: buf was detached or resized while the call waited; nothing more was moved"
      )
      const rest = new Uint8Array(16)
      const m = yield* client.read(rest)
      expect(text(rest.subarray(0, m))).toBe("defgh")
    }))
})

/** connect and bind of one input. */
const connectAndBind = (input: unknown): ReadonlyArray<Effect.Effect<unknown, NetError.NetError, Netpoll.Netpoll | Scope.Scope>> => [
  TcpStream.connect(input as never),
  TcpListener.bind(input as never)
]

/** The InvalidAddress an effect fails with; fails the test otherwise. */
const invalidAddress = (effect: Effect.Effect<unknown, NetError.NetError, any>) =>
  Effect.map(Effect.flip(effect), (error) => {
    expect(error._tag).toBe("InvalidAddress")
    return error as NetError.InvalidAddress
  })

layer(Netpoll.layer)("address messages", (it) => {
  it.effect("say what is wrong: a port out of range, a port that is no integer, a URL, a host that is no string", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [unknown, string, string]> = [
        ["127.0.0.1:-1", "127.0.0.1:-1", "port -1 is out of range: a port is an integer from 0 to 65535"],
        ["[::1]:-80", "[::1]:-80", "port -80 is out of range: a port is an integer from 0 to 65535"],
        ["127.0.0.1:70000", "127.0.0.1:70000", "port 70000 is out of range: a port is an integer from 0 to 65535"],
        ["127.0.0.1:1.5", "127.0.0.1:1.5", "port 1.5 is not an integer: a port is an integer from 0 to 65535"],
        ["localhost:", "localhost:", "missing port"],
        [{ host: "127.0.0.1", port: 1.5 }, "127.0.0.1:1.5", "port 1.5 is not an integer: a port is an integer from 0 to 65535"],
        [{ host: "127.0.0.1", port: -1 }, "127.0.0.1:-1", "port -1 is out of range: a port is an integer from 0 to 65535"],
        [{ port: 1.5 }, "undefined:1.5", "missing host; port 1.5 is not an integer: a port is an integer from 0 to 65535"],
        [
          { host: "127.0.0.1", port: Object.create(null) },
          "127.0.0.1:[Object: null prototype] {}",
          "port must be a number (a port is an integer from 0 to 65535), got [Object: null prototype] {}"
        ],
        [
          { host: Object.create(null), port: 80 },
          "[Object: null prototype] {}:80",
          "host must be a string (an IP address or a name), got [Object: null prototype] {}"
        ],
        [{ host: Symbol("h"), port: 80 }, "Symbol(h):80", "host must be a string (an IP address or a name), got Symbol(h)"],
        ["http://host", "http://host", "a URL is not an address: expected \"host:port\" (no scheme, no path)"],
        ["http://host:80/path", "http://host:80/path", "a URL is not an address: expected \"host:port\" (no scheme, no path)"],
        ["tcp://127.0.0.1:80", "tcp://127.0.0.1:80", "a URL is not an address: expected \"host:port\" (no scheme, no path)"]
      ]
      for (const [input, shown, reason] of cases) {
        for (const call of connectAndBind(input)) {
          const error = yield* invalidAddress(Effect.scoped(call))
          expect([shown, error.address, error.reason]).toEqual([shown, shown, reason])
        }
      }
    }))

  it.effect("a record whose getters throw, or a huge string, is an InvalidAddress with a short text", () =>
    Effect.gen(function*() {
      const trap = () => {
        throw new Error("trap")
      }
      const record = Object.defineProperties({}, { host: { get: trap, enumerable: true }, port: { get: trap } })
      for (const call of connectAndBind(record)) {
        const error = yield* invalidAddress(Effect.scoped(call))
        expect(error.reason).toBe("its host and port cannot be read (a getter throws)")
      }
      const huge = "x".repeat(1 << 20)
      const error = yield* invalidAddress(Effect.scoped(TcpStream.connect(`${huge}:80`)))
      expect(error.address).toBe(`${"x".repeat(120)}… (${huge.length + 3} characters)`)
      expect(error.message.length).toBeLessThan(400)
    }))
})

layer(Netpoll.layer)("bad arguments to the adapters", (it) => {
  it.effect("toDuplex, toStream and toSink of a value that is no TcpStream die naming stream, and nothing crashes", () =>
    Effect.gen(function*() {
      for (const value of [null, undefined, 42, {}, Object.create(null)]) {
        const shown = value === null ? "null" : value === undefined ? "undefined" : value === 42 ? "42" : undefined
        const messages = [
          yield* defectMessage(TcpStream.toDuplex(value as never)),
          yield* defectMessage(Stream.runDrain(TcpStream.toStream(value as never))),
          yield* defectMessage(Stream.run(Stream.make(bytes("x")), TcpStream.toSink(value as never)))
        ]
        expect(messages.map((message) => message.split(":")[0])).toEqual(["toDuplex", "toStream", "toSink"])
        for (const message of messages) {
          expect(message).toContain("stream must be a TcpStream or UnixStream (from connect, a listener's accept or UnixStream.pair), got ")
          if (shown !== undefined) expect(message.endsWith(`got ${shown}`)).toBe(true)
        }
      }
    }))

  it.effect("adapter options of the wrong type die naming the option", () =>
    Effect.gen(function*() {
      const { client } = yield* pair()
      expect(yield* defectMessage(TcpStream.toDuplex(client, 7 as never))).toBe("toDuplex options must be an object, got 7")
      expect(yield* defectMessage(TcpStream.toDuplex(client, { allowHalfOpen: "no" } as never))).toBe(
        "toDuplex: allowHalfOpen must be a boolean, got \"no\""
      )
      expect(yield* defectMessage(TcpStream.toDuplex(client, { chunkSize: 0 }), RangeError)).toBe(
        "toDuplex: chunkSize must be a positive integer, got 0"
      )
      expect(yield* defectMessage(Stream.runDrain(TcpStream.toStream(client, { chunkSize: -1 })), RangeError)).toBe(
        "toStream: chunkSize must be a positive integer, got -1"
      )
      const open = TcpStream.connect("127.0.0.1:1")
      expect(yield* defectMessage(TcpStream.makeSocket(null as never))).toBe(
        "makeSocket: open must be an Effect that opens a TcpStream or UnixStream, got null"
      )
      expect(yield* defectMessage(TcpStream.makeSocket(open, { openTimeout: "soon" } as never))).toBe(
        "makeSocket: openTimeout must be a duration (milliseconds as a number, a string such as \"5 seconds\", or a Duration), got \"soon\""
      )
    }))

  it.effect("a makeSocket whose open yields no TcpStream dies naming open when it dials", () =>
    Effect.gen(function*() {
      for (const [opened, shown] of [[1, "1"], [undefined, "undefined"], [{ read: 1 }, "{ read: 1 }"]] as const) {
        const socket = yield* TcpStream.makeSocket(Effect.succeed(opened) as never)
        expect(yield* defectMessage(dialSocket(socket))).toBe(
          `makeSocket: open must yield a TcpStream or UnixStream (from connect or a listener's accept), got ${shown}`
        )
      }
    }))

  it.effect("the Socket layers check their options when built, naming the layer and the option, before any fd exists", () =>
    Effect.gen(function*() {
      yield* loopTurns
      const before = openFds()
      const build = <A, E, R>(layer: Layer.Layer<A, E, R>) => Effect.scoped(Layer.build(layer))
      expect(yield* defectMessage(build(TcpStream.layerSocket("127.0.0.1:1", { keepAlive: -1 })))).toBe(
        "layerSocket: keepAlive must be a boolean or a delay in milliseconds (a finite number, 0 or more), got -1"
      )
      expect(yield* defectMessage(build(TcpStream.layerSocket("127.0.0.1:1", null as never)))).toBe(
        "layerSocket options must be an object, got null"
      )
      expect(yield* defectMessage(build(TcpListener.layerSocketServer("127.0.0.1:0", { backlog: -1 })))).toBe(
        "layerSocketServer: backlog must be a whole number from 0 to 2147483647, got -1"
      )
      expect(yield* defectMessage(build(TcpListener.layerSocketServer("127.0.0.1:0", { maxConnections: 0 })), RangeError))
        .toBe("layerSocketServer: maxConnections must be a positive integer, got 0")
      expect(openFds()).toBe(before)
    }))

  it.effect("serve of a value that is no TcpListener, or of a handler that is no function, dies naming it", () =>
    Effect.gen(function*() {
      const listener = yield* TcpListener.bind("127.0.0.1:0")
      expect(yield* defectMessage(TcpListener.serve(null as never, () => Effect.void))).toBe(
        "serve: listener must be a TcpListener (from TcpListener.bind), got null"
      )
      expect(yield* defectMessage(TcpListener.serve({ fd: 3 } as never, () => Effect.void))).toBe(
        "serve: listener must be a TcpListener (from TcpListener.bind), got { fd: 3 }"
      )
      expect(yield* defectMessage(TcpListener.serve(listener, "echo" as never))).toBe(
        "serve: handler must be a function from a TcpStream to an Effect, got \"echo\""
      )
    }))
})

// The sweep: every public function, each argument in turn replaced by a hostile
// value (and each option of an options argument too), the others valid.

interface Fixture {
  /** A fresh handle on one connected stream, in the call's own Scope. */
  readonly stream: TcpStream.TcpStream
  readonly listener: TcpListener.TcpListener
  /** The listener's address, "127.0.0.1:<port>". */
  readonly address: string
  /** The same for a Unix socket: a fresh handle on a connected UnixStream, its listener and path. */
  readonly unixStream: UnixStream.UnixStream
  readonly unixListener: UnixListener.UnixListener
  readonly unixPath: string
  /** A fresh UDP socket on 127.0.0.1, in the call's own Scope. */
  readonly udp: UdpSocket.UdpSocket
}

interface PublicFunction {
  /** How the defect messages name the function. */
  readonly name: string
  /** How problems name it, when `name` is ambiguous (UnixStream.connect); `name` otherwise. */
  readonly label?: string
  /** Its public parameters and options: a defect's message names one of them. */
  readonly parameters: ReadonlyArray<string>
  /** Valid arguments; each position is replaced in turn. */
  readonly valid: (fixture: Fixture) => ReadonlyArray<unknown>
  /** Which argument is an options object, and its options, each replaced in turn too. */
  readonly options?: readonly [index: number, names: ReadonlyArray<string>]
  /** Makes the effect under test: the call itself happens here, and must not throw. */
  readonly call: (fixture: Fixture, args: ReadonlyArray<any>) => Effect.Effect<unknown, unknown, any>
}

const connectOptions = ["noDelay", "keepAlive"]
const bindOptions = ["backlog", "reusePort", "ipv6Only", "noDelay"]
const socketOptions = ["openTimeout", "chunkSize"]
const clusterOptions = ["serialization", "serializationMaxBufferSize", "clientOnly", "storage", "shardingConfig"]
const buf = () => new Uint8Array(4)
const servedWorker = path.join(root, "test", "fixtures", "servedWorker.mjs")

/** The functions TcpStream and TcpListener export, by name. */
const moduleFunctions: ReadonlyArray<PublicFunction> = [
  {
    name: "connect",
    parameters: ["address", "options", ...connectOptions],
    valid: ({ address }) => [address, undefined],
    options: [1, connectOptions],
    call: (_, [address, options]) => TcpStream.connect(address, options)
  },
  {
    name: "bind",
    parameters: ["address", "options", ...bindOptions],
    valid: () => ["127.0.0.1:0", undefined],
    options: [1, bindOptions],
    call: (_, [address, options]) => TcpListener.bind(address, options)
  },
  {
    name: "serve",
    parameters: ["listener", "handler", "options", "maxConnections"],
    valid: ({ listener }) => [listener, () => Effect.void, undefined],
    options: [2, ["maxConnections"]],
    call: (_, [listener, handler, options]) => TcpListener.serve(listener, handler, options)
  },
  {
    name: "toStream",
    parameters: ["stream", "options", "chunkSize"],
    valid: ({ stream }) => [stream, undefined],
    options: [1, ["chunkSize"]],
    call: (_, [stream, options]) => Stream.runDrain(TcpStream.toStream(stream, options))
  },
  {
    name: "toSink",
    parameters: ["stream"],
    valid: ({ stream }) => [stream],
    call: (_, [stream]) => Stream.run(Stream.make(bytes("x")), TcpStream.toSink(stream) as Sink.Sink<void, Uint8Array, never, unknown>)
  },
  {
    name: "toDuplex",
    parameters: ["stream", "options", "chunkSize", "allowHalfOpen"],
    valid: ({ stream }) => [stream, undefined],
    options: [1, ["chunkSize", "allowHalfOpen"]],
    call: (_, [stream, options]) => TcpStream.toDuplex(stream, options)
  },
  {
    name: "makeSocket",
    parameters: ["open", "options", ...socketOptions],
    valid: ({ address }) => [TcpStream.connect(address), undefined],
    options: [1, socketOptions],
    call: (_, [open, options]) => TcpStream.makeSocket(open, options)
  },
  {
    name: "layerSocket",
    parameters: ["address", "options", ...connectOptions, ...socketOptions],
    valid: ({ address }) => [address, undefined],
    options: [1, [...connectOptions, ...socketOptions]],
    call: (_, [address, options]) => Layer.build(TcpStream.layerSocket(address, options))
  },
  {
    name: "makeWorkers",
    parameters: ["address", "options", "worker", "threads", ...bindOptions, "maxConnections"],
    valid: () => ["127.0.0.1:0", { worker: servedWorker, threads: 1 }],
    options: [1, ["worker", "threads", ...bindOptions, "maxConnections"]],
    call: (_, [address, options]) => TcpListener.makeWorkers(address, options)
  },
  {
    name: "serveWorkers",
    parameters: ["address", "options", "worker", "threads", ...bindOptions, "maxConnections"],
    valid: () => ["127.0.0.1:0", { worker: servedWorker, threads: 1 }],
    options: [1, ["worker", "threads", ...bindOptions, "maxConnections"]],
    call: (_, [address, options]) => TcpListener.serveWorkers(address, options)
  },
  {
    name: "launchWorker",
    // Outside a worker of serveWorkers, a valid handler dies naming the workerData it lacks.
    parameters: ["handler", "workerData"],
    valid: () => [() => Effect.void],
    call: (_, [handler]) => TcpListener.launchWorker(handler)
  },
  {
    name: "ClusterSocket.layer",
    parameters: ["options", ...clusterOptions],
    valid: () => [{ clientOnly: true, storage: "local" }],
    options: [0, clusterOptions],
    // Options the checks accept build a whole runner, whose SQL storage needs a
    // SqlClient the sweep does not provide: that defect is no answer about the arguments.
    call: (_, [options]) =>
      Effect.flatMap(Effect.exit(Layer.build(ClusterSocket.layer(options))), (exit) =>
        Exit.isFailure(exit) && defects(exit.cause).length > 0 &&
          defects(exit.cause).every((defect) => /Service not found/.test(String(defect)))
          ? Effect.void
          : exit)
  },
  {
    name: "layerSocketServer",
    parameters: ["address", "options", ...bindOptions, "maxConnections"],
    valid: () => ["127.0.0.1:0", undefined],
    options: [1, [...bindOptions, "maxConnections"]],
    call: (_, [address, options]) => Layer.build(TcpListener.layerSocketServer(address, options))
  }
]

/** The functions UnixStream and UnixListener export, by name. */
const unixFunctions: ReadonlyArray<PublicFunction> = [
  {
    name: "connect",
    label: "UnixStream.connect",
    parameters: ["address"],
    valid: ({ unixPath }) => [unixPath],
    call: (_, [address]) => UnixStream.connect(address)
  },
  {
    name: "bind",
    label: "UnixListener.bind",
    parameters: ["address", "options", "backlog"],
    valid: () => [`\0netpoll-sweep-${process.pid}`, undefined],
    options: [1, ["backlog"]],
    call: (_, [address, options]) => UnixListener.bind(address, options)
  },
  {
    name: "serve",
    label: "UnixListener.serve",
    parameters: ["listener", "handler", "options", "maxConnections"],
    valid: ({ unixListener }) => [unixListener, () => Effect.void, undefined],
    options: [2, ["maxConnections"]],
    call: (_, [listener, handler, options]) => UnixListener.serve(listener, handler, options)
  },
  {
    name: "toStream",
    label: "UnixStream.toStream",
    parameters: ["stream", "options", "chunkSize"],
    valid: ({ unixStream }) => [unixStream, undefined],
    options: [1, ["chunkSize"]],
    call: (_, [stream, options]) => Stream.runDrain(UnixStream.toStream(stream, options))
  },
  {
    name: "toSink",
    label: "UnixStream.toSink",
    parameters: ["stream"],
    valid: ({ unixStream }) => [unixStream],
    call: (_, [stream]) =>
      Stream.run(Stream.make(bytes("x")), UnixStream.toSink(stream) as Sink.Sink<void, Uint8Array, never, unknown>)
  },
  {
    name: "toDuplex",
    label: "UnixStream.toDuplex",
    parameters: ["stream", "options", "chunkSize", "allowHalfOpen"],
    valid: ({ unixStream }) => [unixStream, undefined],
    options: [1, ["chunkSize", "allowHalfOpen"]],
    call: (_, [stream, options]) => UnixStream.toDuplex(stream, options)
  },
  {
    name: "makeSocket",
    label: "UnixStream.makeSocket",
    parameters: ["open", "options", ...socketOptions],
    valid: ({ unixPath }) => [UnixStream.connect(unixPath), undefined],
    options: [1, socketOptions],
    call: (_, [open, options]) => UnixStream.makeSocket(open, options)
  },
  {
    name: "layerSocket",
    label: "UnixStream.layerSocket",
    parameters: ["address", "options", ...socketOptions],
    valid: ({ unixPath }) => [unixPath, undefined],
    options: [1, socketOptions],
    call: (_, [address, options]) => Layer.build(UnixStream.layerSocket(address, options))
  },
  {
    name: "layerSocketServer",
    label: "UnixListener.layerSocketServer",
    parameters: ["address", "options", "backlog", "maxConnections"],
    valid: () => [`\0netpoll-sweep-server-${process.pid}`, undefined],
    options: [1, ["backlog", "maxConnections"]],
    call: (_, [address, options]) => Layer.build(UnixListener.layerSocketServer(address, options))
  }
]

const udpBindOptions = ["reuseAddr", "reusePort", "ipv6Only", "broadcast", "ttl", "recvBufferSize", "sendBufferSize"]
const datagramSocketOptions = [...udpBindOptions, "connect", "receiveBuffer", "onError"]

/**
 * The functions UdpSocket exports, by name; the DatagramSocket backend only
 * where the line has it (Effect 4).
 */
const udpFunctions: ReadonlyArray<PublicFunction> = ([
  {
    name: "bind",
    label: "UdpSocket.bind",
    parameters: ["address", "options", ...udpBindOptions],
    valid: () => ["127.0.0.1:0", undefined],
    options: [1, udpBindOptions],
    call: (_, [address, options]) => UdpSocket.bind(address, options)
  },
  {
    name: "isUdpSocket",
    label: "UdpSocket.isUdpSocket",
    parameters: ["u"],
    valid: ({ udp }) => [udp],
    call: (_, [u]) => Effect.sync(() => UdpSocket.isUdpSocket(u))
  },
  {
    name: "makeDatagramSocket",
    label: "UdpSocket.makeDatagramSocket",
    parameters: ["address", "options", ...datagramSocketOptions],
    valid: () => ["127.0.0.1:0", undefined],
    options: [1, datagramSocketOptions],
    call: (_, [address, options]) => {
      const make = (UdpSocket as Record<string, any>)["makeDatagramSocket"]
      return Effect.flatMap(make(address, options) as Effect.Effect<any, never, any>, (socket) => Effect.scoped(socket.reader))
    }
  },
  {
    name: "layerDatagramSocket",
    label: "UdpSocket.layerDatagramSocket",
    parameters: ["address", "options", ...datagramSocketOptions],
    valid: () => ["127.0.0.1:0", undefined],
    options: [1, datagramSocketOptions],
    call: (_, [address, options]) => Layer.build((UdpSocket as Record<string, any>)["layerDatagramSocket"](address, options))
  }
] satisfies ReadonlyArray<PublicFunction>).filter((fn) => fn.name in UdpSocket)

/** The methods of a UdpSocket, by name. */
const udpMethods: Readonly<Record<string, Method>> = {
  sendTo: { parameters: ["buf", "address"], valid: () => [buf(), "127.0.0.1:9"] },
  recvFrom: { parameters: ["buf"], valid: () => [buf()] },
  connect: { parameters: ["address"], valid: () => ["127.0.0.1:9"] },
  send: { parameters: ["buf"], valid: () => [buf()] },
  recv: { parameters: ["buf"], valid: () => [buf()] },
  sendMany: { parameters: ["datagrams", "payload"], valid: () => [[{ payload: buf(), address: "127.0.0.1:9" }]] },
  recvMany: { parameters: ["bufs"], valid: () => [[buf(), buf()]] },
  setBroadcast: { parameters: ["on"], valid: () => [true] },
  setTtl: { parameters: ["ttl"], valid: () => [64] },
  setMulticastTtl: { parameters: ["ttl"], valid: () => [1] },
  setMulticastLoop: { parameters: ["on"], valid: () => [true] },
  joinMulticast: { parameters: ["group", "interface"], valid: () => ["239.255.1.1", "127.0.0.1"] },
  leaveMulticast: { parameters: ["group", "interface"], valid: () => ["239.255.1.1", "127.0.0.1"] }
}

/** A method of a TcpStream: its parameters, valid arguments, and its options argument. */
interface Method {
  readonly parameters: ReadonlyArray<string>
  readonly valid: () => ReadonlyArray<unknown>
  readonly options?: readonly [index: number, names: ReadonlyArray<string>]
}

/** The methods of a TcpStream, by name (those a line does not have are left out of its sweep). */
const streamMethods: Readonly<Record<string, Method>> = {
  read: { parameters: ["buf"], valid: () => [buf()] },
  write: { parameters: ["buf"], valid: () => [buf()] },
  readExact: { parameters: ["buf"], valid: () => [buf()] },
  writeAll: { parameters: ["buf"], valid: () => [buf()] },
  readVectored: { parameters: ["bufs"], valid: () => [[buf(), buf()]] },
  writeVectored: { parameters: ["bufs"], valid: () => [[buf(), buf()]] },
  writeAllVectored: { parameters: ["bufs"], valid: () => [[buf(), buf()]] },
  readToEnd: { parameters: ["options", "maxBytes"], valid: () => [{ maxBytes: 16 }], options: [0, ["maxBytes"]] },
  readToString: { parameters: ["options", "maxBytes"], valid: () => [{ maxBytes: 16 }], options: [0, ["maxBytes"]] },
  shutdown: { parameters: ["how"], valid: () => ["write"] },
  setNoDelay: { parameters: ["on"], valid: () => [true] },
  setKeepAlive: { parameters: ["on", "initialDelayMillis"], valid: () => [true, 1000] }
}

/** The names of the methods of a stream or UdpSocket (not its getters), from its prototype chain (its class and the one it shares). */
const methodNames = (stream: object): Array<string> => {
  const names = new Set<string>()
  for (let proto = Object.getPrototypeOf(stream); proto !== null && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const [name, descriptor] of Object.entries(Object.getOwnPropertyDescriptors(proto))) {
      if (typeof descriptor.value === "function" && name !== "constructor" && name !== "toString") names.add(name)
    }
  }
  return Array.from(names)
}

/** The functions a public module exports (its classes, the service tags, are not calls to sweep). */
const exportedFunctions = (module: object): Array<string> =>
  Object.entries(module).filter(([, value]) => typeof value === "function" && !/^class\b/.test(String(value)) && !("key" in value))
    .map(([name]) => name)

/** Every argument list of the sweep for one function, each with a label, made from a call's fixture. */
const argumentLists = (fn: PublicFunction, arity: number): Array<readonly [string, (fixture: Fixture) => ReadonlyArray<unknown>]> => {
  const lists: Array<readonly [string, (fixture: Fixture) => ReadonlyArray<unknown>]> = []
  const replace = (index: number, value: unknown) => (fixture: Fixture) => fn.valid(fixture).map((v, i) => i === index ? value : v)
  for (let index = 0; index < arity; index++) {
    for (const [label, value] of hostile) lists.push([`argument ${index + 1} = ${label}`, replace(index, value)])
  }
  if (fn.options !== undefined) {
    const [index, names] = fn.options
    for (const name of names) {
      for (const [label, value] of hostile) lists.push([`${name}: ${label}`, replace(index, { [name]: value })])
    }
  }
  return lists
}

const internalNames = /\b(fd|idleSeconds|pollable|undefined is not|Cannot read properties|is not a function)\b/

/** A NetError, also as the cause of the Socket errors that wrap one (effect/socket's and @effect/platform's). */
const isNetErrorOrWrapped = (error: unknown): boolean => {
  if (NetError.isNetError(error)) return true
  const wrapped = error as { readonly cause?: unknown; readonly reason?: { readonly cause?: unknown } } | undefined
  return NetError.isNetError(wrapped?.cause) || NetError.isNetError(wrapped?.reason?.cause)
}

/** What is wrong with one call's outcome, or undefined. */
const problemOf = (fn: PublicFunction, exit: Exit.Exit<unknown, unknown>): string | undefined => {
  if (Exit.isSuccess(exit)) return undefined
  for (const error of failures(exit.cause)) {
    if (!isNetErrorOrWrapped(error)) return `failed with ${String(error)}, not a NetError`
  }
  for (const defect of defects(exit.cause)) {
    const message = defect instanceof Error ? defect.message : undefined
    if (typeof message !== "string") return `died with ${typeof defect}, not an Error`
    if (!message.startsWith(`${fn.name}: `) && !message.startsWith(`${fn.name} options `)) {
      return `died with a message that does not start with the function's name: ${message}`
    }
    if (!fn.parameters.some((name) => new RegExp(`\\b${name}\\b`).test(message))) {
      return `died with a message that names no public parameter: ${message}`
    }
    if (internalNames.test(message)) return `died with a message naming internals: ${message}`
    if (message.length > 400) return `died with a message of ${message.length} characters`
  }
  return undefined
}

layer(Netpoll.layer)("every public function, with hostile arguments", (it) => {
  it.effect(
    "never throws at the call; fails with a NetError or dies naming a public parameter; leaves no fd open",
    () =>
      Effect.gen(function*() {
        const { client, listener } = yield* pair()
        const { port } = yield* listener.localAddr
        const address = `127.0.0.1:${port}`
        // A path in the abstract namespace: nothing left in the filesystem, whatever the sweep binds.
        const unixPath = `\0netpoll-sweep-listener-${process.pid}`
        const unixListener = yield* UnixListener.bind(unixPath)
        const unix = yield* Effect.map(
          Effect.all([UnixStream.connect(unixPath), unixListener.accept], { concurrency: 2 }),
          ([client]) => ({ client })
        )
        const problems: Array<string> = []
        // Every export and method is swept: one added without an entry here shows up as a problem.
        const names = [
          ...exportedFunctions(TcpStream),
          ...exportedFunctions(TcpListener),
          ...exportedFunctions(ClusterSocket).map((name) => `ClusterSocket.${name}`)
        ]
        for (const name of names) {
          if (!moduleFunctions.some((fn) => fn.name === name)) problems.push(`${name}: exported, but not in the sweep`)
        }
        for (const fn of moduleFunctions) {
          if (!names.includes(fn.name)) problems.push(`${fn.name}: in the sweep, but not exported`)
        }
        const unixNames = [...exportedFunctions(UnixStream), ...exportedFunctions(UnixListener)]
        for (const name of unixNames) {
          if (!unixFunctions.some((fn) => fn.name === name)) problems.push(`Unix ${name}: exported, but not in the sweep`)
        }
        for (const fn of unixFunctions) {
          if (!unixNames.includes(fn.name)) problems.push(`${fn.label}: in the sweep, but not exported`)
        }
        const udpNames = exportedFunctions(UdpSocket)
        for (const name of udpNames) {
          if (!udpFunctions.some((fn) => fn.name === name)) problems.push(`UdpSocket.${name}: exported, but not in the sweep`)
        }
        const udpMethodNames = yield* Effect.scoped(Effect.map(UdpSocket.bind("127.0.0.1:0"), methodNames))
        for (const name of udpMethodNames) {
          if (udpMethods[name] === undefined) problems.push(`UdpSocket.${name}: a method, but not in the sweep`)
        }
        const methods = methodNames(client)
        expect(methods).toEqual(expect.arrayContaining(["read", "write", "readExact", "writeAll", "shutdown", "setKeepAlive"]))
        const unixMethods = methodNames(unix.client)
        expect(unixMethods).toEqual(expect.arrayContaining(["read", "write", "readExact", "writeAll", "shutdown"]))
        expect(unixMethods).not.toContain("setNoDelay")
        for (const [kind, names] of [["TcpStream", methods], ["UnixStream", unixMethods]] as const) {
          for (const name of names) {
            if (streamMethods[name] === undefined) problems.push(`${kind}.${name}: a method, but not in the sweep`)
          }
        }
        const methodsOf = (kind: "TcpStream" | "UnixStream", names: ReadonlyArray<string>) =>
          names.flatMap((name): Array<PublicFunction> => {
            const method = streamMethods[name]
            return method === undefined ? [] : [{
              name,
              label: `${kind}.${name}`,
              parameters: method.parameters,
              valid: method.valid,
              ...(method.options === undefined ? {} : { options: method.options }),
              call: ({ stream, unixStream }, args) =>
                ((kind === "TcpStream" ? stream : unixStream) as unknown as Record<
                  string,
                  (...args: ReadonlyArray<unknown>) => any
                >)[name]!(...args)
            }]
          })
        const functions = [
          ...moduleFunctions,
          ...unixFunctions,
          ...udpFunctions,
          ...methodsOf("TcpStream", methods),
          ...methodsOf("UnixStream", unixMethods),
          ...udpMethodNames.flatMap((name): Array<PublicFunction> => {
            const method = udpMethods[name]
            return method === undefined ? [] : [{
              name,
              label: `UdpSocket.${name}`,
              parameters: method.parameters,
              valid: method.valid,
              call: ({ udp }, args) => (udp as unknown as Record<string, (...args: ReadonlyArray<unknown>) => any>)[name]!(...args)
            }]
          })
        ]
        yield* loopTurns
        const before = openFds()
        let calls = 0
        for (const fn of functions) {
          const arity = fn.valid({ stream: client, listener, address, unixStream: unix.client, unixListener, unixPath, udp: undefined as never }).length
          for (const [label, args] of argumentLists(fn, arity)) {
            calls++
            yield* Effect.scoped(Effect.gen(function*() {
              const fixture: Fixture = {
                stream: yield* client.tryClone,
                listener,
                address,
                unixStream: yield* unix.client.tryClone,
                unixListener,
                unixPath,
                udp: yield* UdpSocket.bind("127.0.0.1:0")
              }
              let effect: Effect.Effect<unknown, unknown, any>
              try {
                effect = fn.call(fixture, args(fixture))
              } catch (thrown) {
                problems.push(`${fn.label ?? fn.name}, ${label}: threw ${String(thrown)}`)
                return
              }
              // A call that is still waiting (serve, a read) took its arguments: that is an answer too.
              const exit = yield* Effect.exit(Effect.timeoutOption(effect as Effect.Effect<unknown, unknown, Scope.Scope>, "30 millis"))
              const problem = problemOf(fn, exit)
              if (problem !== undefined) problems.push(`${fn.label ?? fn.name}, ${label}: ${problem}`)
            }))
          }
        }
        expect(problems).toEqual([])
        expect(calls).toBeGreaterThan(500)
        yield* loopTurns
        expect(openFds()).toBe(before)
      }),
    120_000
  )
})

describe("NetError, with hostile arguments", () => {
  /** Every error class the module exports. */
  const classes = (Object.values(NetError) as ReadonlyArray<unknown>).filter((
    value
  ): value is new(fields: unknown) => NetError.NetError => typeof value === "function" && value.prototype instanceof Error)

  it("every constructor takes any field value: the message is a string and yielding the error fails with it", () => {
    expect(classes.length).toBeGreaterThanOrEqual(14)
    const problems: Array<string> = []
    for (const make of classes) {
      for (const [label, value] of hostile) {
        const fieldSets: ReadonlyArray<readonly [string, unknown]> = [
          // As fields, an object's own `toString` would become the error's, and each character of
          // a string a field of its own, as Data's constructors copy whatever they are given; a
          // Proxy whose traps throw makes the constructor throw, as `new Error(proxy)` does.
          ...(label === "an object whose toString throws" || label === "a 1 MiB string" ||
              label === "a Proxy whose traps throw"
            ? []
            : [["fields", value] as const]),
          ...["syscall", "errno", "address", "reason", "bytesRead", "operation", "limit"].map((name) =>
            [name, { [name]: value }] as const
          )
        ]
        for (const [where, fields] of fieldSets) {
          try {
            const error = new make(fields)
            const exit = Effect.runSyncExit(Effect.flip(error as unknown as Effect.Effect<never, NetError.NetError>))
            if (typeof error.message !== "string" || typeof String(error) !== "string") {
              problems.push(`${error._tag}, ${where} = ${label}: message is no string`)
            }
            if (!Exit.isSuccess(exit) || exit.value !== error) problems.push(`${error._tag}, ${where} = ${label}: yield did not fail with it`)
          } catch (thrown) {
            problems.push(`${make.name}, ${where} = ${label}: threw ${String(thrown)}`)
          }
        }
      }
    }
    expect(problems).toEqual([])
  })

  it("isNetError is false for every hostile value, and never throws", () => {
    for (const [label, value] of hostile) expect([label, NetError.isNetError(value)]).toEqual([label, false])
  })
})
