import * as net from "node:net"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import type * as Scope from "effect/Scope"
import type * as Netpoll from "../../src/Netpoll.js"
import * as TcpListener from "../../src/TcpListener.js"
import * as TcpStream from "../../src/TcpStream.js"

export { defects, failures, failureTag, isInterrupted } from "./exits.js"

export class TestTimeout extends Data.TaggedError("TestTimeout")<{ readonly message: string }> {}

/** Bounds a wait generously; hitting the bound fails the test loudly, with a TestTimeout naming the wait. */
export const bound = <A, E, R>(
  self: Effect.Effect<A, E, R>,
  what = "operation",
  duration: `${number} seconds` = "20 seconds"
): Effect.Effect<A, E | TestTimeout, R> =>
  Effect.timeoutOrElse(self, {
    duration,
    orElse: () => Effect.fail(new TestTimeout({ message: `${what} did not finish within ${duration}` }))
  })

/** Waits (bounded) until `condition` holds, checking every millisecond. */
export const eventually = (condition: () => boolean, what = "condition", duration: `${number} seconds` = "20 seconds") =>
  bound(Effect.repeat(Effect.sleep("1 millis"), { until: condition }), what, duration)

/** The fiber's exit if it has finished, `undefined` while it runs. */
export const poll = <A, E>(fiber: Fiber.Fiber<A, E>) => Effect.sync(() => fiber.pollUnsafe())

/**
 * Interrupts `fiber` from a detached fiber and goes on at once, without waiting
 * for it to finish (Effect 3's `Fiber.interruptFork`).
 */
export const interruptFork = <A, E>(fiber: Fiber.Fiber<A, E>): Effect.Effect<void> =>
  Effect.asVoid(Effect.forkDetach(Fiber.interrupt(fiber)))

/** Interrupts `fiber`, waits for it to finish and returns its exit. */
export const interruptAndAwait = <A, E>(fiber: Fiber.Fiber<A, E>): Effect.Effect<Exit.Exit<A, E>> =>
  Effect.andThen(Fiber.interrupt(fiber), Fiber.await(fiber))

/** A connected pair on loopback: `client` from connect, `server` from accept. */
export const pair = (host = "127.0.0.1"): Effect.Effect<
  { readonly client: TcpStream.TcpStream; readonly server: TcpStream.TcpStream; readonly listener: TcpListener.TcpListener },
  unknown,
  Netpoll.Netpoll | Scope.Scope
> =>
  Effect.gen(function*() {
    const listener = yield* TcpListener.bind({ host, port: 0 })
    const { port } = yield* listener.localAddr
    const [client, server] = yield* bound(
      Effect.all([TcpStream.connect({ host, port }), listener.accept], { concurrency: 2 }),
      "connect and accept"
    )
    return { client, server, listener }
  })

/**
 * A server made by `create` (given the connection listener) on 127.0.0.1:0;
 * yields its port. Its connections are destroyed when the Scope closes.
 */
export const listening = <S extends net.Socket>(
  create: (onConnection: (socket: S) => void) => net.Server,
  onConnection: (socket: S) => void
): Effect.Effect<number, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.callback<{ server: net.Server; open: Set<S> }>((resume) => {
      const open = new Set<S>()
      const server = create((socket) => {
        open.add(socket)
        socket.on("close", () => open.delete(socket))
        onConnection(socket)
      })
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed({ server, open })))
    }),
    ({ open, server }) =>
      Effect.callback<void>((resume) => {
        for (const socket of open) socket.destroy()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ server }) => (server.address() as net.AddressInfo).port))

/** A Node `net` server on 127.0.0.1:0 whose connections go to `onConnection`; yields its port. */
export const netServer = (onConnection: (socket: net.Socket) => void): Effect.Effect<number, never, Scope.Scope> =>
  listening((listener) => net.createServer(listener), onConnection)

/** Echoes every byte back until the peer's end of stream. */
export const echo = (stream: TcpStream.TcpStream): Effect.Effect<void, unknown> =>
  Effect.gen(function*() {
    const buf = new Uint8Array(16 * 1024)
    while (true) {
      const n = yield* stream.read(buf)
      if (n === 0) return
      yield* stream.writeAll(buf.subarray(0, n))
    }
  })

/** Reads until EOF, returning everything read. */
export const readToEnd = (stream: TcpStream.TcpStream): Effect.Effect<Uint8Array, unknown> =>
  Effect.gen(function*() {
    const chunks: Array<Uint8Array> = []
    const buf = new Uint8Array(64 * 1024)
    while (true) {
      const n = yield* stream.read(buf)
      if (n === 0) break
      chunks.push(buf.slice(0, n))
    }
    return Buffer.concat(chunks)
  })

export const bytes = (text: string): Uint8Array => new TextEncoder().encode(text)

export const text = (data: Uint8Array): string => new TextDecoder().decode(data)
