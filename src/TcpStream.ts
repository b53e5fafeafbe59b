/**
 * TCP connections whose reads and writes suspend the calling fiber, never the
 * event loop, in the manner of Go's `net.Conn` and Rust's `std::net::TcpStream`.
 *
 * @since 0.1.0
 */
import type * as Socket from "@effect/platform/Socket"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as platformSocket from "./internal/platformSocket.js"
import * as internal from "./internal/tcpStream.js"
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
 * A fiber interrupted while suspended in a call has consumed nothing.
 *
 * @since 0.1.0
 * @category models
 */
export interface TcpStream {
  readonly [TypeId]: TypeId
  /** The socket's file descriptor (`as_raw_fd`); it stays owned by the stream. */
  readonly fd: number
  /**
   * Reads what is available into `buf`, suspending until at least one byte is:
   * resolves with 1..buf.length, or 0 at end of stream (and at once for an empty buffer).
   */
  readonly read: (buf: Uint8Array) => Effect.Effect<number, NetError.NetError>
  /** Writes from `buf`, suspending while the send buffer is full; may write fewer than buf.length bytes. */
  readonly write: (buf: Uint8Array) => Effect.Effect<number, NetError.NetError>
  /** Fills `buf` entirely, or fails with `UnexpectedEof` carrying how many bytes it read. */
  readonly readExact: (buf: Uint8Array) => Effect.Effect<void, NetError.NetError>
  /** Writes all of `buf`; two concurrent `writeAll`s never interleave their bytes. */
  readonly writeAll: (buf: Uint8Array) => Effect.Effect<void, NetError.NetError>
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
 * import * as Netpoll from "effect-netpoll/Netpoll"
 * import * as TcpStream from "effect-netpoll/TcpStream"
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
 * import * as TcpStream from "effect-netpoll/TcpStream"
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
 * import * as Netpoll from "effect-netpoll/Netpoll"
 * import * as TcpStream from "effect-netpoll/TcpStream"
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
