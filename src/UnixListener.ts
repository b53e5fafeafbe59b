/**
 * Listening Unix-domain stream sockets whose `accept` suspends the calling
 * fiber, and `serve`, which runs one fiber per connection, as TcpListener's do.
 *
 * This module is the same on both lines; only the SocketServer types are each line's own.
 *
 * @since 0.5.0
 */
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as sockets from "./internal/sockets.js"
import * as internal from "./internal/unixListener.js"
import type * as NetError from "./NetError.js"
import type * as Netpoll from "./Netpoll.js"
import type * as UnixStream from "./UnixStream.js"

/**
 * @since 0.5.0
 * @category type ids
 */
export const TypeId: unique symbol = internal.TypeId

/**
 * @since 0.5.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * A bound, listening Unix socket, owned by the Scope that bound it.
 *
 * @since 0.5.0
 * @category models
 */
export interface UnixListener {
  readonly [TypeId]: TypeId
  /** As `TcpListener.accept`: the next connection, in the caller's Scope; an interrupted accept takes none. */
  readonly accept: Effect.Effect<UnixStream.UnixStream, NetError.NetError, Scope.Scope>
  /** Closes the socket and removes its file if it is still ours (see `bind`), before the Scope would; idempotent. */
  readonly close: Effect.Effect<void>
  /** The bound path. */
  readonly localAddr: Effect.Effect<UnixStream.Address, NetError.NetError>
  readonly fd: number
}

/**
 * @since 0.5.0
 * @category models
 */
export interface BindOptions {
  /** The listen(2) backlog; 511 by default. */
  readonly backlog?: number | undefined
}

/**
 * Binds and listens on a Unix socket path; the socket closes when the Scope
 * closes.
 *
 * - A filesystem path: bind creates the socket file, and the listener removes
 *   it when it closes, but only if it is still the file its bind created (same
 *   device and inode): a file another process put there since stays.
 * - A file already at the path (a socket left by a server that crashed, or
 *   anything else) makes bind fail with `AddressInUse`: it is never removed
 *   for you. Remove a stale socket yourself when you know it is stale.
 * - An abstract name (Linux, a leading NUL: `"\0app"`) has no file: nothing to
 *   remove, and the name is free again once the socket closes.
 *
 * @example
 * ```ts
 * // A file at the path is never removed for us: say so instead.
 * const listening = UnixListener.bind("/tmp/app.sock", { backlog: 64 }).pipe(
 *   Effect.tapErrorTag("AddressInUse", () => Effect.logError("/tmp/app.sock exists: is another server running?"))
 * )
 * ```
 * @since 0.5.0
 * @category constructors
 */
export const bind: (
  address: UnixStream.AddressInput,
  options?: BindOptions
) => Effect.Effect<UnixListener, NetError.NetError, Netpoll.Netpoll | Scope.Scope> = internal.bind

/**
 * `TcpListener.serve` for a UnixListener: a fiber per connection, failures
 * logged per connection, transient accept errors retried with backoff, at most
 * `maxConnections` handlers at once, every stream closed when it is interrupted.
 *
 * @example
 * ```ts
 * // Tells each local client who it is, as the kernel saw it connect.
 * const whoami = Effect.gen(function*() {
 *   const listener = yield* UnixListener.bind("/tmp/whoami.sock")
 *   return yield* UnixListener.serve(listener, (stream) =>
 *     Effect.flatMap(stream.peerCred, ({ gid, pid, uid }) =>
 *       stream.writeAll(new TextEncoder().encode(`pid ${pid} uid ${uid} gid ${gid}\n`))))
 * })
 * ```
 * @since 0.5.0
 * @category combinators
 */
export const serve: <E, R>(
  listener: UnixListener,
  handler: (stream: UnixStream.UnixStream) => Effect.Effect<void, E, R>,
  options?: { readonly maxConnections?: number | undefined }
) => Effect.Effect<never, NetError.NetError, Exclude<R, Scope.Scope>> = internal.serve

/**
 * `bind`'s options, and `serve`'s `maxConnections`.
 *
 * @since 0.5.0
 * @category models
 */
export type SocketServerOptions = BindOptions & { readonly maxConnections?: number | undefined }

/**
 * The line's `SocketServer.SocketServer` (`effect/socket` on Effect 4,
 * `@effect/platform` on Effect 3) listening on a Unix socket, with
 * `TcpListener.layerSocketServer`'s contract; its `address` is the bound
 * `UnixStream.Address`. The socket file is removed as `bind` says when the
 * layer's Scope closes. A bind failure fails the layer as the TCP layer's does
 * on that line: a `SocketServerError` on Effect 4, the `NetError` on Effect 3.
 *
 * @example
 * ```ts
 * // Any server written against SocketServer, e.g. an RPC protocol, on a Unix socket.
 * const ServerLive = UnixListener.layerSocketServer("/run/app.sock", { maxConnections: 100 })
 * ```
 * @since 0.5.0
 * @category layers
 */
export const layerSocketServer: (
  address: UnixStream.AddressInput,
  options?: SocketServerOptions
) => Layer.Layer<sockets.LineSocketServer, sockets.LineSocketServerError, Netpoll.Netpoll> =
  sockets.layerUnixSocketServer
