import * as fs from "node:fs"
import type { Duplex } from "node:stream"
import * as tls from "node:tls"
import { describe, expect } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import type * as Scope from "effect/Scope"
import * as Netpoll from "../src/Netpoll.js"
import * as TcpListener from "../src/TcpListener.js"
import * as TcpStream from "../src/TcpStream.js"
import { isOpen, loopTurns } from "./utils/fds.js"
import { async, doneUnsafe, fork } from "./utils/line.js"
import { bound, listening } from "./utils/peers.js"
import { layer } from "./utils/runners.js"

const key = fs.readFileSync(new URL("./fixtures/tls/key.pem", import.meta.url))
const cert = fs.readFileSync(new URL("./fixtures/tls/cert.pem", import.meta.url))
const secureContext = tls.createSecureContext({ key, cert })

/** Bytes whose value depends on their position, so that lost, doubled or reordered bytes show. */
const pattern = (size: number, seed = 0): Buffer => {
  const data = Buffer.alloc(size)
  for (let i = 0; i < size; i++) data[i] = (i * 7 + (i >> 13) + seed) & 0xff
  return data
}

/** A TLS socket destroyed when the Scope closes; the finalizer waits for its 'close'. */
const scopedTls = <S extends tls.TLSSocket>(make: () => S): Effect.Effect<S, never, Scope.Scope> =>
  Effect.acquireRelease(Effect.sync(make), (socket) =>
    async<void>((resume) => {
      if (socket.closed) return resume(Effect.void)
      socket.once("close", () => resume(Effect.void))
      socket.destroy()
    }))

/**
 * Resolves with the first `event`, fails with the first 'error', bounded. Called
 * right after the socket is made (in the same run of the fiber), so no event is missed.
 */
const onceEvent = (emitter: NodeJS.EventEmitter, event: string) =>
  bound(
    async<void, Error>((resume) => {
      emitter.once(event, () => resume(Effect.void))
      emitter.once("error", (error: Error) => resume(Effect.fail(error)))
    }),
    `'${event}'`
  )

/** Writes `data` in pieces and ends, while collecting everything the socket yields until its end. */
const exchange = (socket: Duplex, data: Buffer) =>
  bound(
    async<Buffer, Error>((resume) => {
      const chunks: Array<Buffer> = []
      socket.on("data", (chunk: Buffer) => chunks.push(chunk))
      socket.once("end", () => resume(Effect.succeed(Buffer.concat(chunks))))
      socket.once("error", (error) => resume(Effect.fail(error)))
      for (let offset = 0; offset < data.length; offset += 100_000) {
        socket.write(data.subarray(offset, offset + 100_000))
      }
      socket.end()
    }),
    "the exchange"
  )

/** A `node:tls` server on 127.0.0.1:0 with the fixture certificate; yields its port. */
const tlsServer = (onSecure: (socket: tls.TLSSocket) => void): Effect.Effect<number, never, Scope.Scope> =>
  listening<tls.TLSSocket>((listener) => tls.createServer({ key, cert }, listener), onSecure)

/** A TLS client over an effect-netpoll connection, verifying the server against the fixture CA. */
const netpollClient = (port: number, options: tls.ConnectionOptions = { ca: cert }) =>
  Effect.gen(function*() {
    const stream = yield* TcpStream.connect({ host: "127.0.0.1", port })
    const duplex = yield* TcpStream.toDuplex(stream)
    const socket = yield* scopedTls(() => tls.connect({ socket: duplex, servername: "localhost", ...options }))
    return { stream, duplex, socket }
  })

/** A TLS server over effect-netpoll's accepted streams, each connection handled by `onSecure`. */
const netpollServer = (onSecure: (socket: tls.TLSSocket) => void) =>
  Effect.gen(function*() {
    const listener = yield* TcpListener.bind("127.0.0.1:0")
    yield* Effect.forkScoped(TcpListener.serve(listener, (stream) =>
      Effect.gen(function*() {
        const duplex = yield* TcpStream.toDuplex(stream)
        const socket = yield* scopedTls(() => new tls.TLSSocket(duplex, { isServer: true, secureContext }))
        socket.once("secure", () => onSecure(socket))
        // The connection lives as long as its TLS socket.
        yield* async<void>((resume) => {
          if (socket.closed) return resume(Effect.void)
          socket.once("close", () => resume(Effect.void))
        })
      })))
    return (yield* listener.localAddr).port
  })

/** The Node client side: a plain `tls.connect` to the port, verifying against the fixture CA. */
const nodeClient = (port: number) =>
  scopedTls(() => tls.connect({ host: "127.0.0.1", port, servername: "localhost", ca: cert }))

const echoTls = (socket: tls.TLSSocket) => void socket.pipe(socket)

/**
 * The README's helper, as the README writes it: a TLS socket for the life of
 * the Scope; `closed` fails with its first 'error' and succeeds at its 'close';
 * closing the Scope destroys it.
 */
const readmeScopedTls = (make: () => tls.TLSSocket) =>
  Effect.gen(function*() {
    const done = yield* Deferred.make<void, Error>()
    const socket = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const socket = make()
        socket.on("error", (error) => doneUnsafe(done, Effect.fail(error)))
        socket.once("close", () => doneUnsafe(done, Effect.void))
        return socket
      }),
      (socket) => Effect.sync(() => socket.destroy())
    )
    return { socket, closed: Deferred.await(done) }
  })

/** Records the process's uncaught exceptions and unhandled rejections while the Scope is open. */
const uncaughtErrors = Effect.acquireRelease(
  Effect.sync(() => {
    const errors: Array<unknown> = []
    const record = (error: unknown) => void errors.push(error)
    process.on("uncaughtException", record)
    process.on("unhandledRejection", record)
    return { errors, record }
  }),
  ({ record }) =>
    Effect.sync(() => {
      process.off("uncaughtException", record)
      process.off("unhandledRejection", record)
    })
)

layer(Netpoll.layer)("TLS through toDuplex", (it) => {
  describe("client over effect-netpoll", () => {
    it.effect("verifies a node:tls server against the fixture CA and round-trips 4 MiB", () =>
      Effect.gen(function*() {
        const port = yield* tlsServer(echoTls)
        const { socket } = yield* netpollClient(port)
        yield* onceEvent(socket, "secureConnect")
        expect(socket.authorized).toBe(true)
        expect(socket.getPeerCertificate().subject.CN).toBe("localhost")
        const data = pattern(4 * 1024 * 1024)
        const received = yield* exchange(socket, data)
        expect(received.length).toBe(data.length)
        expect(Buffer.compare(received, data)).toBe(0)
      }))

    it.effect("rejects a server whose certificate it cannot verify", () =>
      Effect.gen(function*() {
        const port = yield* tlsServer(echoTls)
        const { socket, stream, duplex } = yield* netpollClient(port, {})
        const error = yield* Effect.flip(onceEvent(socket, "secureConnect"))
        expect((error as NodeJS.ErrnoException).code).toBe("DEPTH_ZERO_SELF_SIGNED_CERT")
        // The failed TLS socket tears the duplex down with it, and the duplex closes the stream.
        yield* bound(
          async<void>((resume) => {
            if (duplex.closed) return resume(Effect.void)
            duplex.once("close", () => resume(Effect.void))
          }),
          "the duplex's 'close'"
        )
        expect(isOpen(stream.fd)).toBe(false)
      }))

    it.effect("the README's client helper fails in the error channel for an untrusted certificate; nothing is unhandled", () =>
      Effect.gen(function*() {
        const { errors } = yield* uncaughtErrors
        const port = yield* tlsServer(echoTls)
        // The README's client, verifying as tls.connect always does: the fixture's self-signed certificate fails.
        const get = Effect.gen(function*() {
          const stream = yield* TcpStream.connect({ host: "127.0.0.1", port })
          const duplex = yield* TcpStream.toDuplex(stream)
          const { closed, socket } = yield* readmeScopedTls(() => tls.connect({ socket: duplex, servername: "localhost" }))
          const chunks: Array<Buffer> = []
          socket.on("data", (chunk: Buffer) => chunks.push(chunk))
          socket.end("GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
          yield* closed
          return Buffer.concat(chunks).toString("latin1")
        }).pipe(Effect.scoped)
        const error = yield* Effect.flip(bound(get, "the README's TLS client"))
        expect(error).toBeInstanceOf(Error)
        expect((error as NodeJS.ErrnoException).code).toBe("DEPTH_ZERO_SELF_SIGNED_CERT")
        // Whatever the torn-down TLS socket and Duplex emit later is handled too.
        yield* loopTurns
        yield* Effect.sleep("20 millis")
        yield* loopTurns
        expect(errors).toEqual([])
      }))

    it.effect("rejects a server whose certificate names another host", () =>
      Effect.gen(function*() {
        const port = yield* tlsServer(echoTls)
        const { socket } = yield* netpollClient(port, { ca: cert, servername: "example.com" })
        const error = yield* Effect.flip(onceEvent(socket, "secureConnect"))
        expect((error as NodeJS.ErrnoException).code).toBe("ERR_TLS_CERT_ALTNAME_INVALID")
      }))
  })

  describe("server over effect-netpoll", () => {
    it.effect("serves a verifying node:tls client and round-trips 4 MiB", () =>
      Effect.gen(function*() {
        const port = yield* netpollServer(echoTls)
        const socket = yield* nodeClient(port)
        yield* onceEvent(socket, "secureConnect")
        expect(socket.authorized).toBe(true)
        const data = pattern(4 * 1024 * 1024, 1)
        const received = yield* exchange(socket, data)
        expect(received.length).toBe(data.length)
        expect(Buffer.compare(received, data)).toBe(0)
      }))

    it.effect("serves several clients at once", () =>
      Effect.gen(function*() {
        const port = yield* netpollServer(echoTls)
        const results = yield* Effect.forEach([0, 1, 2, 3], (seed) =>
          Effect.gen(function*() {
            const socket = yield* nodeClient(port)
            const data = pattern(256 * 1024 + seed, seed)
            const received = yield* exchange(socket, data)
            return Buffer.compare(received, data)
          }), { concurrency: "unbounded" })
        expect(results).toEqual([0, 0, 0, 0])
      }))
  })

  describe("both ends over effect-netpoll", () => {
    it.effect("2 MiB each way at the same time, both TLS ends on netpoll streams", () =>
      Effect.gen(function*() {
        const toClient = pattern(2 * 1024 * 1024 + 5, 3)
        const toServer = pattern(2 * 1024 * 1024 + 11, 4)
        let fromClient: Effect.Effect<Buffer, unknown> = Effect.never
        const served = yield* Deferred.make<void>()
        const port = yield* netpollServer((socket) => {
          // Started here, in the 'secure' callback, so the server's listeners are in place at once.
          const fiber = Effect.runFork(exchange(socket, toClient))
          fromClient = Fiber.join(fiber)
          Effect.runSync(Deferred.succeed(served, undefined))
        })
        const { socket } = yield* netpollClient(port)
        const fromServer = yield* fork(exchange(socket, toServer))
        yield* bound(Deferred.await(served), "the server's handshake")
        const [atServer, atClient] = yield* Effect.all([fromClient, Fiber.join(fromServer)], { concurrency: 2 })
        expect(Buffer.compare(atServer, toServer)).toBe(0)
        expect(Buffer.compare(atClient, toClient)).toBe(0)
      }))
  })
})
