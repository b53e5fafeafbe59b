/**
 * Peers, bounded waits and exit readers for tests, one file for both lines
 * (effect3/test/utils/peers.ts links here); what the lines spell differently
 * comes from ./line.js.
 */
import * as net from "node:net"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import type * as Scope from "effect/Scope"
import type * as Netpoll from "../../src/Netpoll.js"
import * as TcpListener from "../../src/TcpListener.js"
import * as TcpStream from "../../src/TcpStream.js"
import { async, failures, timeoutFail } from "./line.js"

export { defects, failures, interruptFork, isInterrupted, poll } from "./line.js"

export class TestTimeout extends Data.TaggedError("TestTimeout")<{ readonly message: string }> {}

/** Bounds a wait generously; hitting the bound fails the test loudly, with a TestTimeout naming the wait. */
export const bound = <A, E, R>(
  self: Effect.Effect<A, E, R>,
  what = "operation",
  duration: `${number} seconds` = "20 seconds"
): Effect.Effect<A, E | TestTimeout, R> =>
  timeoutFail(self, duration, () => new TestTimeout({ message: `${what} did not finish within ${duration}` }))

/** Waits (bounded) until `condition` holds, checking every millisecond. */
export const eventually = (condition: () => boolean, what = "condition", duration: `${number} seconds` = "20 seconds") =>
  bound(Effect.repeat(Effect.sleep("1 millis"), { until: condition }), what, duration)

/** Interrupts `fiber`, waits for it to finish and returns its exit. */
export const interruptAndAwait = <A, E>(fiber: Fiber.Fiber<A, E>): Effect.Effect<Exit.Exit<A, E>> =>
  Effect.andThen(Fiber.interrupt(fiber), Fiber.await(fiber))

/** The `_tag` of an exit's first typed failure, if it failed with one. */
export const failureTag = (exit: Exit.Exit<unknown, unknown> | undefined): string | undefined => {
  if (exit === undefined || Exit.isSuccess(exit)) return undefined
  const [error] = failures(exit.cause)
  return (error as { readonly _tag?: string } | undefined)?._tag
}

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
    async<{ server: net.Server; open: Set<S> }>((resume) => {
      const open = new Set<S>()
      const server = create((socket) => {
        open.add(socket)
        socket.on("close", () => open.delete(socket))
        onConnection(socket)
      })
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed({ server, open })))
    }),
    ({ open, server }) =>
      async<void>((resume) => {
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

/** Writes `message` on a stream and reads exactly its echo back, bounded. */
export const echoOf = (stream: TcpStream.TcpStream, message: string): Effect.Effect<string, unknown> =>
  Effect.gen(function*() {
    yield* stream.writeAll(bytes(message))
    const buf = new Uint8Array(bytes(message).length)
    yield* bound(stream.readExact(buf), `echo of ${message}`)
    return text(buf)
  })

/**
 * What a read gives once the peer's handler has ended: "end of stream", or
 * "ConnectionReset" if unread bytes were left; anything else as itself.
 */
export const readAfterPeerEnded = (stream: TcpStream.TcpStream): Effect.Effect<string, TestTimeout> =>
  bound(
    Effect.match(stream.read(new Uint8Array(16)), {
      onFailure: (error) => error._tag,
      onSuccess: (n) => n === 0 ? "end of stream" : `${n} bytes`
    }),
    "a read after the peer ended"
  )

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
