import * as Socket from "@effect/platform/Socket"
import * as SocketServer from "@effect/platform/SocketServer"
import { describe, expect, layer } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Netpoll from "../src/Netpoll.js"
import * as TcpListener from "../src/TcpListener.js"
import * as TcpStream from "../src/TcpStream.js"
import { loopTurns, openFds } from "./utils/fds.js"
import { bound, bytes, echoOf, netServer, readToEnd, text } from "./utils/peers.js"

class Boom extends Data.TaggedError("Boom")<{ readonly chunk: string }> {}

const concat = (chunks: ReadonlyArray<Uint8Array>): string => text(Buffer.concat(chunks))

/** A listener on a loopback port and the Socket that dials it. */
const listening = (host = "127.0.0.1") =>
  Effect.gen(function*() {
    const listener = yield* TcpListener.bind({ host, port: 0 })
    const addr = yield* listener.localAddr
    const socket = yield* TcpStream.makeSocket(TcpStream.connect(addr))
    return { listener, addr, socket }
  })

/** A port nothing listens on: bound, then closed. */
const refusedPort = Effect.scoped(
  Effect.flatMap(TcpListener.bind("127.0.0.1:0"), (listener) => Effect.map(listener.localAddr, (addr) => addr.port))
)

/** Runs `socket`, collecting every chunk; yields the chunks once the run has succeeded. */
const collect = (socket: Socket.Socket) =>
  Effect.gen(function*() {
    const chunks: Array<Uint8Array> = []
    yield* socket.run((chunk) => {
      chunks.push(chunk)
    })
    return chunks
  })

/** A SocketServer handler that echoes each chunk back until the client's end of stream. */
const echoHandler = (socket: Socket.Socket) =>
  Effect.scoped(Effect.gen(function*() {
    const write = yield* socket.writer
    yield* socket.run((chunk) => write(chunk))
  }))

const buildServer = (address: string, options?: TcpListener.SocketServerOptions) =>
  Effect.map(Layer.build(TcpListener.layerSocketServer(address, options)), Context.get(SocketServer.SocketServer))

const portOf = (address: SocketServer.Address): number => {
  if (address._tag !== "TcpAddress") throw new Error(`expected a TcpAddress, got ${address._tag}`)
  return address.port
}

layer(Netpoll.layer, { excludeTestServices: true })("TcpStream.makeSocket", (it) => {
  it.scoped("run hands the handler the bytes read and succeeds at end of stream", () =>
    Effect.gen(function*() {
      const { listener, socket } = yield* listening()
      yield* Effect.fork(Effect.scoped(Effect.gen(function*() {
        const peer = yield* listener.accept
        yield* peer.writeAll(bytes("hello "))
        yield* peer.writeAll(bytes("wörld"))
      })))
      const chunks = yield* bound(collect(socket), "run")
      expect(concat(chunks)).toBe("hello wörld")
      expect(chunks.every((chunk) => chunk instanceof Uint8Array && chunk.length > 0)).toBe(true)
    }))

  it.scoped("each chunk is the handler's to keep: a later read never overwrites it", () =>
    Effect.gen(function*() {
      const { listener, socket } = yield* listening()
      const write = yield* socket.writer
      yield* Effect.fork(Effect.scoped(Effect.gen(function*() {
        const peer = yield* listener.accept
        yield* peer.writeAll(bytes("first"))
        // The acknowledgement proves "first" was handled before "second" is sent, so they are two reads.
        yield* peer.readExact(new Uint8Array(3))
        yield* peer.writeAll(bytes("second"))
      })))
      const chunks: Array<Uint8Array> = []
      yield* bound(socket.run((chunk) => {
        chunks.push(chunk)
        return chunks.length === 1 ? write("ack") : Effect.void
      }))
      expect(chunks.map(text)).toEqual(["first", "second"])
    }))

  it.scoped("runRaw hands the handler bytes, as run does", () =>
    Effect.gen(function*() {
      const { listener, socket } = yield* listening()
      yield* Effect.fork(Effect.scoped(Effect.flatMap(listener.accept, (peer) => peer.writeAll(bytes("raw")))))
      const received: Array<string | Uint8Array> = []
      yield* bound(socket.runRaw((data) => {
        received.push(data)
      }))
      expect(received.every((data) => data instanceof Uint8Array)).toBe(true)
      expect(concat(received as Array<Uint8Array>)).toBe("raw")
    }))

  it.scoped("writer writes strings as UTF-8 and bytes in order; releasing it half-closes", () =>
    Effect.gen(function*() {
      const { listener, socket } = yield* listening()
      const peer = yield* Effect.fork(Effect.scoped(Effect.gen(function*() {
        const stream = yield* listener.accept
        const got = yield* readToEnd(stream)
        // Our side only shut its writes: this reply still reaches the run.
        yield* stream.writeAll(bytes("bye"))
        return text(got)
      })))
      const run = yield* Effect.fork(collect(socket))
      yield* Effect.scoped(Effect.gen(function*() {
        const write = yield* socket.writer
        yield* write("héllo ")
        yield* write(bytes("wörld"))
        yield* write(new Uint8Array(0))
      }))
      expect(yield* bound(Fiber.join(peer), "peer")).toBe("héllo wörld")
      expect(concat(yield* bound(Fiber.join(run), "run"))).toBe("bye")
    }))

  it.scoped("a write made before any run waits for the run to connect", () =>
    Effect.gen(function*() {
      const { listener, socket } = yield* listening()
      const write = yield* socket.writer
      const early = yield* Effect.fork(write("early"))
      const peer = yield* Effect.fork(Effect.scoped(Effect.gen(function*() {
        const stream = yield* listener.accept
        const buf = new Uint8Array(5)
        yield* stream.readExact(buf)
        return text(buf)
      })))
      const run = yield* Effect.fork(socket.run(() => {}))
      yield* bound(Fiber.join(early), "early write")
      expect(yield* bound(Fiber.join(peer), "peer")).toBe("early")
      yield* Fiber.interrupt(run)
    }))

  it.scoped("concurrent writes go out whole, never interleaved, while the run reads", () =>
    Effect.gen(function*() {
      const { listener, socket } = yield* listening()
      const letters = "abcdefghijklmnop".split("")
      const size = 64 * 1024
      const peer = yield* Effect.fork(Effect.scoped(Effect.gen(function*() {
        const stream = yield* listener.accept
        const got = new Uint8Array(letters.length * size)
        yield* stream.readExact(got)
        yield* stream.writeAll(bytes("done"))
        return text(got)
      })))
      const write = yield* socket.writer
      const run = yield* Effect.fork(collect(socket))
      yield* bound(
        Effect.forEach(letters, (letter) => write(letter.repeat(size)), { concurrency: "unbounded", discard: true }),
        "writes"
      )
      const got = yield* bound(Fiber.join(peer), "peer")
      const blocks = Array.from({ length: letters.length }, (_, i) => got.slice(i * size, (i + 1) * size))
      expect(blocks.every((block) => block === block[0].repeat(size))).toBe(true)
      expect(blocks.map((block) => block[0]).sort()).toEqual(letters)
      expect(concat(yield* bound(Fiber.join(run), "run"))).toBe("done")
    }))

  it.scoped("writing a CloseEvent closes the connection and fails the run with a clean close", () =>
    Effect.gen(function*() {
      const { listener, socket } = yield* listening()
      const peer = yield* Effect.fork(Effect.scoped(Effect.flatMap(listener.accept, readToEnd)))
      const write = yield* socket.writer
      const run = yield* Effect.fork(socket.run(() => {}))
      yield* write("last")
      yield* write(new Socket.CloseEvent(1000, "done"))
      const error = yield* bound(Effect.flip(Fiber.join(run)), "run")
      expect(error).toBeInstanceOf(Socket.SocketCloseError)
      expect(error).toMatchObject({ _tag: "SocketError", reason: "Close", code: 1000 })
      expect(text(yield* bound(Fiber.join(peer), "peer"))).toBe("last")
    }))

  it.scoped("a CloseEvent with an error code fails the run with reason Read", () =>
    Effect.gen(function*() {
      const { listener, socket } = yield* listening()
      const peer = yield* Effect.fork(Effect.scoped(Effect.flatMap(listener.accept, readToEnd)))
      const write = yield* socket.writer
      const run = yield* Effect.fork(socket.run(() => {}))
      yield* write(new Socket.CloseEvent(4000, "bad"))
      const error = yield* bound(Effect.flip(Fiber.join(run)), "run")
      expect(error).toBeInstanceOf(Socket.SocketGenericError)
      expect(error).toMatchObject({ _tag: "SocketError", reason: "Read" })
      expect((error as Socket.SocketGenericError).cause).toEqual(new Error("closed with code 4000"))
      expect(text(yield* bound(Fiber.join(peer), "peer"))).toBe("")
    }))

  it.scoped("a refused connection fails the run with reason Open and ConnectionRefused as cause", () =>
    Effect.gen(function*() {
      const port = yield* refusedPort
      const socket = yield* TcpStream.makeSocket(TcpStream.connect({ host: "127.0.0.1", port }))
      const error = yield* bound(Effect.flip(socket.run(() => {})), "run")
      expect(error).toBeInstanceOf(Socket.SocketGenericError)
      expect(error.reason).toBe("Open")
      expect((error as Socket.SocketGenericError).cause).toMatchObject({
        _tag: "ConnectionRefused",
        syscall: "connect",
        errno: "ECONNREFUSED"
      })
    }))

  it.scoped("a peer that resets the connection fails the run with reason Read and ConnectionReset as cause", () =>
    Effect.gen(function*() {
      const port = yield* netServer((peer) => peer.once("data", () => peer.resetAndDestroy()))
      const socket = yield* TcpStream.makeSocket(TcpStream.connect({ host: "127.0.0.1", port }))
      const write = yield* socket.writer
      const error = yield* bound(Effect.flip(socket.run(() => {}, { onOpen: Effect.orDie(write("x")) })), "run")
      expect(error).toBeInstanceOf(Socket.SocketGenericError)
      expect(error.reason).toBe("Read")
      expect((error as Socket.SocketGenericError).cause).toMatchObject({ _tag: "ConnectionReset", errno: "ECONNRESET" })
    }))

  it.scoped("a write the connection refuses fails with reason Write and the NetError as cause", () =>
    Effect.gen(function*() {
      const { listener, socket } = yield* listening()
      yield* Effect.fork(Effect.scoped(Effect.flatMap(listener.accept, readToEnd)))
      const run = yield* Effect.fork(socket.run(() => {}))
      const error = yield* Effect.scoped(Effect.gen(function*() {
        const write = yield* socket.writer
        yield* write("x")
        // A second writer's release shut our write side; writing on is a broken pipe.
        yield* Effect.scoped(socket.writer)
        return yield* Effect.flip(write("after shutdown"))
      }))
      expect(error).toBeInstanceOf(Socket.SocketGenericError)
      expect(error.reason).toBe("Write")
      expect((error as Socket.SocketGenericError).cause).toMatchObject({ _tag: "BrokenPipe" })
      yield* Fiber.interrupt(run)
    }))

  it.scoped("a handler's failure fails the run and closes the connection", () =>
    Effect.gen(function*() {
      const { listener, socket } = yield* listening()
      const peer = yield* Effect.fork(Effect.scoped(Effect.gen(function*() {
        const stream = yield* listener.accept
        yield* stream.writeAll(bytes("boom"))
        return yield* readToEnd(stream)
      })))
      const error = yield* bound(Effect.flip(socket.run((chunk) => new Boom({ chunk: text(chunk) }))), "run")
      expect(error).toEqual(new Boom({ chunk: "boom" }))
      expect(text(yield* bound(Fiber.join(peer), "peer"))).toBe("")
    }))

  it.scoped("each run dials a connection of its own; onOpen runs once it is open", () =>
    Effect.gen(function*() {
      const { listener, socket } = yield* listening()
      const write = yield* socket.writer
      const peer = yield* Effect.fork(Effect.forEach(["one", "two"], (reply) =>
        Effect.scoped(Effect.gen(function*() {
          const stream = yield* listener.accept
          const greeting = new Uint8Array(5)
          yield* stream.readExact(greeting)
          yield* stream.writeAll(bytes(`${text(greeting)}:${reply}`))
        }))))
      const replies = yield* Effect.forEach(["hello", "again"], (greeting) =>
        Effect.gen(function*() {
          const chunks: Array<Uint8Array> = []
          yield* bound(socket.run((chunk) => {
            chunks.push(chunk)
          }, { onOpen: Effect.orDie(write(greeting)) }), `run ${greeting}`)
          return concat(chunks)
        }))
      expect(replies).toEqual(["hello:one", "again:two"])
      yield* bound(Fiber.join(peer), "peer")
    }))

  it.scoped("openTimeout fails a run whose connection does not open in time with reason Open", () =>
    Effect.gen(function*() {
      const socket = yield* TcpStream.makeSocket(Effect.never, { openTimeout: "20 millis" })
      const error = yield* bound(Effect.flip(socket.run(() => {})), "run")
      expect(error).toBeInstanceOf(Socket.SocketGenericError)
      expect(error.reason).toBe("Open")
      expect((error as Socket.SocketGenericError).cause).toEqual(new Error("Connection timed out"))
    }))

  it.scoped("interrupting a run closes its connection", () =>
    Effect.gen(function*() {
      const { listener, socket } = yield* listening()
      const accepted = yield* Deferred.make<void>()
      const peer = yield* Effect.fork(Effect.scoped(Effect.gen(function*() {
        const stream = yield* listener.accept
        yield* Deferred.succeed(accepted, undefined)
        return yield* readToEnd(stream)
      })))
      const run = yield* Effect.fork(socket.run(() => {}))
      yield* bound(Deferred.await(accepted), "accept")
      yield* Fiber.interrupt(run)
      expect(text(yield* bound(Fiber.join(peer), "peer"))).toBe("")
    }))

  it.scoped("layerSocket provides a Socket.Socket that dials the address, over IPv6 too", () =>
    Effect.gen(function*() {
      const listener = yield* TcpListener.bind("[::1]:0")
      const addr = yield* listener.localAddr
      yield* Effect.fork(Effect.scoped(Effect.flatMap(listener.accept, (peer) => peer.writeAll(bytes("v6")))))
      const chunks = yield* bound(Effect.flatMap(Socket.Socket, collect), "run").pipe(
        Effect.provide(TcpStream.layerSocket(addr, { noDelay: true, openTimeout: "10 seconds" }))
      )
      expect(concat(chunks)).toBe("v6")
    }))
})

layer(Netpoll.layer, { excludeTestServices: true })("TcpListener.layerSocketServer", (it) => {
  it.scoped("address is the bound TcpAddress, with the port the kernel chose", () =>
    Effect.gen(function*() {
      const v4 = yield* buildServer("127.0.0.1:0")
      expect(v4.address).toMatchObject({ _tag: "TcpAddress", hostname: "127.0.0.1" })
      expect(portOf(v4.address)).toBeGreaterThan(0)
      const v6 = yield* buildServer("[::1]:0")
      expect(v6.address).toMatchObject({ _tag: "TcpAddress", hostname: "::1" })
      expect(portOf(v6.address)).toBeGreaterThan(0)
    }))

  it.scoped("a bind failure fails the layer with its NetError", () =>
    Effect.gen(function*() {
      const taken = yield* buildServer("127.0.0.1:0")
      const error = yield* Effect.flip(buildServer(`127.0.0.1:${portOf(taken.address)}`))
      expect(error._tag).toBe("AddressInUse")
    }))

  it.scoped("serves several clients at once, each connection a Socket", () =>
    Effect.gen(function*() {
      const server = yield* buildServer("127.0.0.1:0")
      yield* Effect.forkScoped(server.run(echoHandler))
      const port = portOf(server.address)
      const clients = yield* Effect.forEach([0, 1, 2, 3, 4], () => TcpStream.connect({ host: "127.0.0.1", port }))
      // Every client is open and answered in reverse order: a server handling one at a time would hang here.
      const answers = yield* Effect.forEach([...clients.keys()].reverse(), (i) => echoOf(clients[i], `client ${i}`))
      expect(answers).toEqual(["client 4", "client 3", "client 2", "client 1", "client 0"])
      for (const client of clients) yield* client.shutdown("write")
      const rest = yield* Effect.forEach(clients, (client) => bound(readToEnd(client), "end of stream"))
      expect(rest.map((data) => data.length)).toEqual([0, 0, 0, 0, 0])
    }))

  it.scoped("a handler's failure ends only its own connection", () =>
    Effect.gen(function*() {
      const server = yield* buildServer("127.0.0.1:0")
      yield* Effect.forkScoped(server.run((socket) =>
        Effect.scoped(Effect.gen(function*() {
          const write = yield* socket.writer
          yield* socket.run((chunk): Effect.Effect<void, Boom | Socket.SocketError> =>
            text(chunk) === "fail" ? new Boom({ chunk: "fail" }) : write(chunk)
          )
        }))
      ))
      const port = portOf(server.address)
      const healthy = yield* TcpStream.connect({ host: "127.0.0.1", port })
      const failing = yield* TcpStream.connect({ host: "127.0.0.1", port })
      expect(yield* echoOf(healthy, "before")).toBe("before")
      yield* failing.writeAll(bytes("fail"))
      expect((yield* bound(readToEnd(failing), "closed connection")).length).toBe(0)
      expect(yield* echoOf(healthy, "after")).toBe("after")
    }))

  it.scoped("a connection closes when its handler ends, even one that never runs the Socket", () =>
    Effect.gen(function*() {
      const server = yield* buildServer("127.0.0.1:0")
      yield* Effect.forkScoped(server.run(() => Effect.void))
      const client = yield* TcpStream.connect({ host: "127.0.0.1", port: portOf(server.address) })
      expect((yield* bound(readToEnd(client), "closed connection")).length).toBe(0)
    }))

  it.scoped("a handler's failure is logged at the unhandled-error log level", () =>
    Effect.gen(function*() {
      const server = yield* buildServer("127.0.0.1:0")
      const logged = yield* Deferred.make<{ readonly message: unknown; readonly cause: Cause.Cause<unknown> }>()
      const logger = Logger.make(({ cause, logLevel, message }) => {
        if (logLevel._tag === "Warning") Deferred.unsafeDone(logged, Exit.succeed({ message, cause }))
      })
      yield* Effect.forkScoped(
        server.run(() => new Boom({ chunk: "handler" })).pipe(
          Effect.withUnhandledErrorLogLevel(Option.some(LogLevel.Warning)),
          Effect.provide(Logger.replace(Logger.defaultLogger, logger))
        )
      )
      yield* TcpStream.connect({ host: "127.0.0.1", port: portOf(server.address) })
      const entry = yield* bound(Deferred.await(logged), "log entry")
      expect(entry.message).toEqual(["Unhandled error in SocketServer"])
      expect(Cause.failures(entry.cause)).toEqual(Chunk.of(new Boom({ chunk: "handler" })))
    }))

  it.scoped("a connection runs once: a second run fails with a clean close", () =>
    Effect.gen(function*() {
      const server = yield* buildServer("127.0.0.1:0")
      const second = yield* Deferred.make<Socket.SocketError>()
      yield* Effect.forkScoped(server.run((socket) =>
        Effect.gen(function*() {
          yield* socket.run(() => {})
          yield* Deferred.succeed(second, yield* Effect.flip(socket.run(() => {})))
        })
      ))
      const client = yield* TcpStream.connect({ host: "127.0.0.1", port: portOf(server.address) })
      yield* client.shutdown("write")
      const error = yield* bound(Deferred.await(second), "second run")
      expect(error).toBeInstanceOf(Socket.SocketCloseError)
      expect(error).toMatchObject({ reason: "Close", code: 1000 })
      expect((yield* bound(readToEnd(client), "closed connection")).length).toBe(0)
    }))

  it.scoped("connections wait in the backlog until run; interrupting run closes its connections", () =>
    Effect.gen(function*() {
      const server = yield* buildServer("127.0.0.1:0")
      const port = portOf(server.address)
      const early = yield* TcpStream.connect({ host: "127.0.0.1", port })
      yield* early.writeAll(bytes("early"))
      const first = yield* Effect.fork(server.run(echoHandler))
      const buf = new Uint8Array(5)
      yield* bound(early.readExact(buf), "echo of early")
      expect(text(buf)).toBe("early")
      yield* Fiber.interrupt(first)
      expect((yield* bound(readToEnd(early), "closed connection")).length).toBe(0)
      // The listener outlives the run: a later run serves a later client.
      yield* Effect.forkScoped(server.run(echoHandler))
      const late = yield* TcpStream.connect({ host: "127.0.0.1", port })
      expect(yield* echoOf(late, "late")).toBe("late")
    }))
})

describe("resources", () => {
  layer(Netpoll.layer, { excludeTestServices: true })("platform layers", (it) => {
    it.effect("closing the layers closes every socket: fds return to their count before", () =>
      Effect.gen(function*() {
        yield* loopTurns
        const before = openFds()
        const scope = yield* Scope.make()
        const server = yield* Scope.extend(buildServer("127.0.0.1:0"), scope)
        yield* Effect.forkIn(server.run(echoHandler), scope)
        const port = portOf(server.address)
        const context = yield* Layer.buildWithScope(TcpStream.layerSocket({ host: "127.0.0.1", port }), scope)
        const socket = Context.get(context, Socket.Socket)
        const echoed = yield* Deferred.make<string>()
        const write = yield* Scope.extend(socket.writer, scope)
        yield* Effect.forkIn(
          socket.run((chunk) => Deferred.succeed(echoed, text(chunk)), { onOpen: Effect.orDie(write("ping")) }),
          scope
        )
        const raw = yield* Scope.extend(TcpStream.connect({ host: "127.0.0.1", port }), scope)
        expect(yield* echoOf(raw, "raw")).toBe("raw")
        expect(yield* bound(Deferred.await(echoed), "echo")).toBe("ping")
        expect(openFds()).toBeGreaterThanOrEqual(before + 5)
        yield* Scope.close(scope, Exit.void)
        yield* loopTurns
        expect(openFds()).toBe(before)
      }))
  })
})
