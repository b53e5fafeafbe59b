/**
 * TCP connections whose reads and writes suspend the calling fiber, never the
 * event loop, in the manner of Go's `net.Conn` and Rust's `std::net::TcpStream`.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
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
