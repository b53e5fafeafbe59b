/**
 * Listening Unix-domain stream sockets whose `accept` suspends the calling
 * fiber, and `serve`, which runs one fiber per connection, as TcpListener's do.
 *
 * @since 0.5.0
 */
import type * as SocketServer from "@effect/platform/SocketServer"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as platformSocketServer from "./internal/platformSocketServer.js"
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
  /** The listening socket's file descriptor. */
  readonly fd: number
  /**
   * Waits for the next connection; the stream belongs to the caller's Scope. An
   * accept interrupted while waiting leaves the pending connection to the next caller.
   */
  readonly accept: Effect.Effect<UnixStream.UnixStream, NetError.NetError, Scope.Scope>
  /** The bound address (getsockname). */
  readonly localAddr: Effect.Effect<SocketServer.UnixAddress, NetError.NetError>
  /** Stops listening and removes the socket file if it is still ours, now instead of when the Scope closes; idempotent. */
  readonly close: Effect.Effect<void>
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
 * import { Effect } from "effect"
 * import * as UnixListener from "effect-netpoll/effect3/UnixListener"
 *
 * const program = Effect.gen(function*() {
 *   const listener = yield* UnixListener.bind("/tmp/app.sock")
 *   console.log(`listening on ${(yield* listener.localAddr).path}`)
 * })
 * ```
 * @since 0.5.0
 * @category constructors
 */
export const bind: (
  address: UnixStream.AddressInput,
  options?: BindOptions
) => Effect.Effect<UnixListener, NetError.NetError, Netpoll.Netpoll | Scope.Scope> = internal.bind

/**
 * Accepts forever, running `handler` in a fiber of its own per connection,
 * exactly as `TcpListener.serve` does (failures logged per connection,
 * transient accept errors retried with backoff, `maxConnections`, interruption
 * closing every stream).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import * as UnixListener from "effect-netpoll/effect3/UnixListener"
 *
 * const echo = Effect.gen(function*() {
 *   const listener = yield* UnixListener.bind("/tmp/echo.sock")
 *   return yield* UnixListener.serve(listener, (stream) =>
 *     Effect.gen(function*() {
 *       const buf = new Uint8Array(16 * 1024)
 *       let n: number
 *       while ((n = yield* stream.read(buf)) > 0) yield* stream.writeAll(buf.subarray(0, n))
 *     }))
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
 * @since 0.5.0
 * @category models
 */
export interface SocketServerOptions extends BindOptions {
  /** At most this many connections are handled at once; see `serve`. */
  readonly maxConnections?: number | undefined
}

/**
 * An `@effect/platform` `SocketServer.SocketServer` listening on a Unix socket,
 * with `TcpListener.layerSocketServer`'s contract; its `address` is the bound
 * `SocketServer.UnixAddress` (`{ _tag: "UnixAddress", path }`). A bind failure
 * fails the layer with its `NetError`. The socket file is removed as `bind`
 * says when the layer's Scope closes.
 *
 * @example
 * ```ts
 * import { RpcSerialization, RpcServer } from "@effect/rpc"
 * import { Layer } from "effect"
 * import * as Netpoll from "effect-netpoll/effect3/Netpoll"
 * import * as UnixListener from "effect-netpoll/effect3/UnixListener"
 *
 * const Protocol = RpcServer.layerProtocolSocketServer.pipe(
 *   Layer.provide(UnixListener.layerSocketServer("/run/app.sock")),
 *   Layer.provide(RpcSerialization.layerNdjson),
 *   Layer.provide(Netpoll.layer)
 * )
 * ```
 * @since 0.5.0
 * @category layers
 */
export const layerSocketServer: (
  address: UnixStream.AddressInput,
  options?: SocketServerOptions
) => Layer.Layer<SocketServer.SocketServer, NetError.NetError, Netpoll.Netpoll> =
  platformSocketServer.layerUnixSocketServer
