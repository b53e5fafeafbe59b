/**
 * Listening TCP sockets whose `accept` suspends the calling fiber, and `serve`,
 * which runs one fiber per connection.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as NetAddress from "effect/net/NetAddress"
import type * as Scope from "effect/Scope"
import type * as SocketServer from "effect/socket/SocketServer"
import * as socketServer from "./internal/socketServer.js"
import * as internal from "./internal/tcpListener.js"
import type * as NetError from "./NetError.js"
import type * as Netpoll from "./Netpoll.js"
import type * as TcpStream from "./TcpStream.js"

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
 * A bound, listening socket, owned by the Scope that bound it.
 *
 * @since 0.1.0
 * @category models
 */
export interface TcpListener {
  readonly [TypeId]: TypeId
  /** The listening socket's file descriptor. */
  readonly fd: number
  /**
   * Waits for the next connection; the stream belongs to the caller's Scope. An
   * accept interrupted while waiting leaves the pending connection to the next caller.
   */
  readonly accept: Effect.Effect<TcpStream.TcpStream, NetError.NetError, Scope.Scope>
  /** The bound address, with the port the kernel chose for port 0. */
  readonly localAddr: Effect.Effect<NetAddress.InetAddress, NetError.NetError>
  /** Stops listening now instead of when the Scope closes; idempotent. */
  readonly close: Effect.Effect<void>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface BindOptions {
  /** The listen(2) backlog; 511 by default. */
  readonly backlog?: number | undefined
  /** SO_REUSEPORT, so that several listeners share one port. */
  readonly reusePort?: boolean | undefined
  /** IPV6_V6ONLY for IPv6 addresses; the system default when left out. */
  readonly ipv6Only?: boolean | undefined
  /** TCP_NODELAY on every accepted stream; true by default, as `connect` does and as in Go. */
  readonly noDelay?: boolean | undefined
}

/**
 * Binds and listens, with SO_REUSEADDR so a port can be bound again at once
 * after its listener closed. Host names are resolved and tried in turn. The
 * socket closes when the Scope closes.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { TcpListener } from "effect-netpoll"
 *
 * const program = Effect.gen(function*() {
 *   const listener = yield* TcpListener.bind("127.0.0.1:0")
 *   console.log(`listening on ${yield* listener.localAddr}`)
 * })
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const bind: (
  address: TcpStream.AddressInput,
  options?: BindOptions
) => Effect.Effect<TcpListener, NetError.NetError, Netpoll.Netpoll | Scope.Scope> = internal.bind

/**
 * Accepts forever, running `handler` in a fiber of its own per connection with
 * the stream in a Scope of its own, closed with the handler's exit when the
 * handler ends; the stream closes right after the Scope's finalizers.
 *
 * - A handler's failure or defect is logged and ends only its connection.
 * - Transient accept errors (EMFILE, ENFILE, ENOBUFS, ENOMEM, ECONNABORTED) are
 *   logged and retried after 5 ms doubling to 1 s; any other accept error fails `serve`.
 * - With `maxConnections` (a positive integer; anything else is a defect), at
 *   most that many handlers run at once; further connections wait in the
 *   kernel's backlog.
 * - Interrupting `serve` interrupts every handler and closes every stream.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { TcpListener } from "effect-netpoll"
 *
 * const echo = Effect.gen(function*() {
 *   const listener = yield* TcpListener.bind("127.0.0.1:7000")
 *   return yield* TcpListener.serve(listener, (stream) =>
 *     Effect.gen(function*() {
 *       const buf = new Uint8Array(16 * 1024)
 *       let n: number
 *       while ((n = yield* stream.read(buf)) > 0) yield* stream.writeAll(buf.subarray(0, n))
 *     }))
 * })
 * ```
 * @since 0.1.0
 * @category combinators
 */
export const serve: <E, R>(
  listener: TcpListener,
  handler: (stream: TcpStream.TcpStream) => Effect.Effect<void, E, R>,
  options?: { readonly maxConnections?: number | undefined }
) => Effect.Effect<never, NetError.NetError, Exclude<R, Scope.Scope>> = internal.serve

/**
 * @since 0.2.0
 * @category models
 */
export interface SocketServerOptions extends BindOptions {
  /** At most this many connections are handled at once; see `serve`. */
  readonly maxConnections?: number | undefined
}

/**
 * An `effect/socket` `SocketServer.SocketServer` listening on `address`, so
 * code written against it (such as `RpcServer.layerProtocolSocketServer`) runs
 * unchanged, as on `@effect/platform-node`'s `NodeSocketServer.layer`.
 *
 * - `address` is the bound `NetAddress.InetAddress`, with the port the kernel
 *   chose for port 0.
 * - `run(handler)` accepts as `serve` does: each connection is a `Socket.Socket`
 *   handled in a fiber of its own. Its first `reader` acquisition takes the
 *   connection, which closes when that acquisition's Scope closes, or at the
 *   latest when the handler ends; a later acquisition fails with a
 *   `SocketCloseError`: code 1000 after a clean end of stream, 1006 otherwise. A handler's failure is logged at the unhandled-error
 *   log level and ends only its connection; an accept error `serve` does not
 *   retry fails `run` with a `SocketServerError` (reason `SocketServerUnknownError`).
 * - Connections that arrive before `run` wait in the kernel's backlog.
 * - Interrupting `run` closes its connections; closing the layer's Scope closes
 *   the listener. A bind failure fails the layer with a `SocketServerError`
 *   (reason `SocketServerOpenError`, the `NetError` as `cause`).
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { RpcSerialization, RpcServer } from "effect/rpc"
 * import { Netpoll, TcpListener } from "effect-netpoll"
 *
 * const Protocol = RpcServer.layerProtocolSocketServer.pipe(
 *   Layer.provide(TcpListener.layerSocketServer("127.0.0.1:9000")),
 *   Layer.provide(RpcSerialization.layerNdjson),
 *   Layer.provide(Netpoll.layer)
 * )
 * ```
 * @since 0.3.0
 * @category layers
 */
export const layerSocketServer: (
  address: TcpStream.AddressInput,
  options?: SocketServerOptions
) => Layer.Layer<SocketServer.SocketServer, SocketServer.SocketServerError, Netpoll.Netpoll> =
  socketServer.layerSocketServer
