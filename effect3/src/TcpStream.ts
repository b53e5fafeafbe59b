/**
 * TCP connections whose reads and writes suspend the calling fiber, never the
 * event loop, in the manner of Go's `net.Conn` and Rust's `std::net::TcpStream`.
 *
 * @since 0.1.0
 */
import type { Duplex } from "node:stream"
import type * as Socket from "@effect/platform/Socket"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type * as Sink from "effect/Sink"
import type * as Stream from "effect/Stream"
import * as platformSocket from "./internal/platformSocket.js"
import * as internal from "./internal/tcpStream.js"
import * as adapters from "./internal/tcpStreamAdapters.js"
import type * as Io from "./Io.js"
import type * as NetError from "./NetError.js"
import type * as Netpoll from "./Netpoll.js"
import type * as SocketAddr from "./SocketAddr.js"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId: unique symbol = internal.TypeId

/**
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * A connected TCP socket, owned by the Scope that opened it.
 *
 * One reader and one writer may use it at the same time (full duplex);
 * concurrent readers, or concurrent writers, are served one whole call at a time.
 * A fiber interrupted while suspended in a call has consumed nothing. Its
 * reads and writes are `Io.Reader`'s and `Io.Writer`'s, so `BufReader` and
 * `BufWriter` take it.
 *
 * @since 0.1.0
 * @category models
 */
export interface TcpStream extends Io.Reader, Io.Writer {
  readonly [TypeId]: TypeId
  /** The socket's file descriptor (`as_raw_fd`); it stays owned by the stream. */
  readonly fd: number
  /**
   * A second handle on the same connection (dup(2)), closed with the caller's
   * Scope. Closing one handle never closes the other; the peer sees end of
   * stream once every handle is closed.
   */
  readonly tryClone: Effect.Effect<TcpStream, NetError.NetError, Scope.Scope>
  readonly peerAddr: Effect.Effect<SocketAddr.SocketAddr, NetError.NetError>
  readonly localAddr: Effect.Effect<SocketAddr.SocketAddr, NetError.NetError>
  /**
   * Shuts down one or both directions for every handle on the connection.
   * Idempotent; a connection that is already gone counts as shut.
   */
  readonly shutdown: (how: "read" | "write" | "both") => Effect.Effect<void, NetError.NetError>
  readonly setNoDelay: (on: boolean) => Effect.Effect<void, NetError.NetError>
  readonly setKeepAlive: (on: boolean, initialDelayMillis?: number) => Effect.Effect<void, NetError.NetError>
  /**
   * Closes this handle now instead of when its Scope closes. Idempotent; fibers
   * suspended on the handle wake with `SocketClosed`, as do all later calls.
   */
  readonly close: Effect.Effect<void>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ConnectOptions {
  /** TCP_NODELAY; `true` by default, as in Go. */
  readonly noDelay?: boolean | undefined
  /** SO_KEEPALIVE; a number turns it on with that initial delay in milliseconds. */
  readonly keepAlive?: boolean | number | undefined
}

/**
 * Opens a connection. Host names are resolved with DNS and each address is
 * tried in turn; the error is the last one met. The stream closes with the
 * Scope; an interrupted connect closes its half-open socket at once.
 *
 * @example
 * ```ts
 * import * as Netpoll from "effect-netpoll/effect3/Netpoll"
 * import * as TcpStream from "effect-netpoll/effect3/TcpStream"
 * import { Effect } from "effect"
 *
 * const ping = Effect.scoped(Effect.gen(function*() {
 *   const stream = yield* TcpStream.connect("localhost:6379")
 *   yield* stream.writeAll(new TextEncoder().encode("PING\r\n"))
 *   const reply = new Uint8Array(7)
 *   yield* stream.readExact(reply) // "+PONG\r\n"
 * }))
 *
 * Effect.runPromise(Effect.provide(ping, Netpoll.layer))
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const connect: (
  address: SocketAddr.Input,
  options?: ConnectOptions
) => Effect.Effect<TcpStream, NetError.NetError, Netpoll.Netpoll | Scope.Scope> = internal.connect

/**
 * @since 0.2.0
 * @category models
 */
export interface StreamOptions {
  /** The most bytes one read takes, and so the largest element; 64 KiB by default. */
  readonly chunkSize?: number | undefined
}

/**
 * The bytes of a connection as an Effect `Stream`, ending at end of stream.
 *
 * Reads are pulled: `read` runs only when the consumer asks for the next
 * element, so a slow consumer leaves the bytes in the kernel and the peer's
 * writes wait, as TCP flow control intends. Each element is a fresh copy of
 * what one read returned (1..`chunkSize` bytes), safe to keep. A consumer
 * interrupted while it waits for bytes has consumed none of them, so the
 * stream stays usable. Read errors fail the Stream with the `NetError`.
 *
 * @example
 * ```ts
 * import * as TcpStream from "effect-netpoll/effect3/TcpStream"
 * import { Effect, Stream } from "effect"
 *
 * const lines = Effect.scoped(Effect.gen(function*() {
 *   const stream = yield* TcpStream.connect("127.0.0.1:7000")
 *   return yield* TcpStream.toStream(stream).pipe(
 *     Stream.decodeText(),
 *     Stream.splitLines,
 *     Stream.runCollect
 *   )
 * }))
 * ```
 * @since 0.2.0
 * @category adapters
 */
export const toStream: (
  stream: TcpStream,
  options?: StreamOptions
) => Stream.Stream<Uint8Array, NetError.NetError> = adapters.toStream

/**
 * A `Sink` that writes every element to the connection, in order, with
 * `writeAll`; it suspends while the send buffer is full. Small elements that
 * arrive together are joined into one write. The sink never shuts the
 * connection down: call `shutdown("write")` when the peer should see the end.
 *
 * @example
 * ```ts
 * import * as TcpStream from "effect-netpoll/effect3/TcpStream"
 * import { Effect, Stream } from "effect"
 *
 * const send = (stream: TcpStream.TcpStream) =>
 *   Stream.make("hello ", "world\n").pipe(
 *     Stream.encodeText,
 *     Stream.run(TcpStream.toSink(stream)),
 *     Effect.zipRight(stream.shutdown("write"))
 *   )
 * ```
 * @since 0.2.0
 * @category adapters
 */
export const toSink: (stream: TcpStream) => Sink.Sink<void, Uint8Array, never, NetError.NetError> = adapters.toSink

/**
 * @since 0.2.0
 * @category models
 */
export interface DuplexOptions {
  /** The most bytes one read takes, and so the largest chunk pushed; 64 KiB by default. */
  readonly chunkSize?: number | undefined
  /**
   * Whether the writable side stays open after the readable side ended, as
   * Node's `allowHalfOpen`; `true` by default, so the peer's `shutdown("write")`
   * does not end our writes.
   */
  readonly allowHalfOpen?: boolean | undefined
}

/**
 * A Node `stream.Duplex` over the connection, for libraries that speak Node
 * streams: `node:tls`, `stream.pipeline`, parsers.
 *
 * Backpressure runs both ways: `_read` reads once per request from Node, so
 * nothing is read while the readable buffer is full; `_write` calls back once
 * `writeAll` is done, so `write()` returns `false` while the kernel's send
 * buffer is full. `end()` shuts down the write direction (the peer reads end of
 * stream); the peer's end of stream pushes `null`. A failed read or write
 * destroys the Duplex with the `NetError` itself (an `Error` instance).
 *
 * The Duplex runs its Effects on the runtime of the fiber that made it. It
 * owns the connection from then on: `destroy()` (or Node's auto-destroy once
 * both sides ended) interrupts the pending read and write, which consume
 * nothing, and closes the `TcpStream`. Closing is idempotent, so the Scope that
 * owns the stream never closes it twice. When the Scope given to `toDuplex`
 * closes, the Duplex is destroyed and the finalizer waits for its `close`.
 * To keep using the connection after the Duplex, give it a `tryClone`.
 *
 * @example
 * ```ts
 * import * as TcpStream from "effect-netpoll/effect3/TcpStream"
 * import { Effect } from "effect"
 * import * as tls from "node:tls"
 *
 * const secure = Effect.scoped(Effect.gen(function*() {
 *   const stream = yield* TcpStream.connect("example.com:443")
 *   const duplex = yield* TcpStream.toDuplex(stream)
 *   const socket = tls.connect({ socket: duplex, servername: "example.com" })
 *   // ... use `socket` like any TLS socket
 * }))
 * ```
 * @since 0.2.0
 * @category adapters
 */
export const toDuplex: (
  stream: TcpStream,
  options?: DuplexOptions
) => Effect.Effect<Duplex, never, Scope.Scope> = adapters.toDuplex

/**
 * @since 0.2.0
 * @category models
 */
export interface SocketOptions {
  /** Fails a run whose connection is not open in time with `SocketGenericError` reason `"Open"`, as NodeSocket's `openTimeout` does. */
  readonly openTimeout?: Duration.DurationInput | undefined
}

/**
 * An `@effect/platform` `Socket.Socket` that opens a connection with `open`
 * on every `run` (and `runRaw`) and closes it when that run ends, as
 * `@effect/platform-node`'s `NodeSocket.makeNet` does, so code written against
 * `Socket.Socket` runs unchanged.
 *
 * - `run` hands the handler each chunk read (a fresh `Uint8Array`); an effect
 *   it returns runs in a fiber of its own, and its failure fails the run.
 *   `runRaw` is the same, since TCP carries only bytes.
 * - End of stream ends the run successfully, interrupting handlers still running.
 * - A `NetError` fails the run with `SocketGenericError`, reason `"Open"` from
 *   `open` and `"Read"` from reading, with the `NetError` as `cause`; a write's
 *   fails the write with reason `"Write"`.
 * - `writer` writes strings (UTF-8) and bytes whole, in order, waiting until a
 *   run has connected. Writing a `CloseEvent` closes the connection: the run
 *   fails with `SocketCloseError` code 1000, or with a `"Read"` error for a code
 *   above 1000. Releasing the writer's Scope half-closes (the peer reads end of
 *   stream) after the writes before it.
 *
 * @example
 * ```ts
 * import * as TcpStream from "effect-netpoll/effect3/TcpStream"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const socket = yield* TcpStream.makeSocket(TcpStream.connect("127.0.0.1:6379"))
 *   const write = yield* socket.writer
 *   yield* socket.run((chunk) => Effect.log(chunk.length), { onOpen: Effect.orDie(write("PING\r\n")) })
 * })
 * ```
 * @since 0.2.0
 * @category adapters
 */
export const makeSocket: <R>(
  open: Effect.Effect<TcpStream, NetError.NetError, R>,
  options?: SocketOptions
) => Effect.Effect<Socket.Socket, never, Exclude<R, Scope.Scope>> = platformSocket.makeSocket

/**
 * A `Socket.Socket` layer that connects to `address` on every run; see `makeSocket`.
 *
 * @example
 * ```ts
 * import { RpcClient, RpcSerialization } from "@effect/rpc"
 * import * as Netpoll from "effect-netpoll/effect3/Netpoll"
 * import * as TcpStream from "effect-netpoll/effect3/TcpStream"
 * import { Layer } from "effect"
 *
 * const Protocol = RpcClient.layerProtocolSocket().pipe(
 *   Layer.provide(TcpStream.layerSocket("127.0.0.1:9000")),
 *   Layer.provide(RpcSerialization.layerNdjson),
 *   Layer.provide(Netpoll.layer)
 * )
 * ```
 * @since 0.2.0
 * @category layers
 */
export const layerSocket: (
  address: SocketAddr.Input,
  options?: ConnectOptions & SocketOptions
) => Layer.Layer<Socket.Socket, never, Netpoll.Netpoll> = platformSocket.layerSocket
