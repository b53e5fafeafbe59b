/**
 * Listening TCP sockets whose `accept` suspends the calling fiber, and `serve`,
 * which runs one fiber per connection.
 *
 * @since 0.1.0
 */
import type * as SocketServer from "@effect/platform/SocketServer"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as platformSocketServer from "./internal/platformSocketServer.js"
import * as internal from "./internal/tcpListener.js"
import * as workers from "./internal/tcpWorkers.js"
import type * as NetError from "./NetError.js"
import type * as Netpoll from "./Netpoll.js"
import type * as SocketAddr from "./SocketAddr.js"
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
  readonly localAddr: Effect.Effect<SocketAddr.SocketAddr, NetError.NetError>
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
 * import * as TcpListener from "effect-netpoll/effect3/TcpListener"
 * import { Effect } from "effect"
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
  address: SocketAddr.Input,
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
 * import * as TcpListener from "effect-netpoll/effect3/TcpListener"
 * import { Effect } from "effect"
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
 * An `@effect/platform` `SocketServer.SocketServer` listening on `address`, so
 * code written against it (such as `RpcServer.layerProtocolSocketServer`) runs
 * unchanged, as on `@effect/platform-node`'s `NodeSocketServer`.
 *
 * - `address` is the bound `TcpAddress`, with the port the kernel chose for port 0.
 * - `run(handler)` accepts as `serve` does: each connection is a `Socket.Socket`
 *   handled in a fiber of its own; the connection closes when its first run
 *   ends, or at the latest when its handler does (a later run fails with
 *   `SocketCloseError` code 1000). A handler's failure is logged at the
 *   unhandled-error log level and ends only its connection; an accept error
 *   `serve` does not retry fails `run` with `SocketServerError` reason `"Unknown"`.
 * - Connections that arrive before `run` wait in the kernel's backlog.
 * - Interrupting `run` closes its connections; closing the layer's Scope closes
 *   the listener. A bind failure fails the layer with its `NetError`.
 *
 * @example
 * ```ts
 * import { RpcSerialization, RpcServer } from "@effect/rpc"
 * import * as Netpoll from "effect-netpoll/effect3/Netpoll"
 * import * as TcpListener from "effect-netpoll/effect3/TcpListener"
 * import { Layer } from "effect"
 *
 * const Protocol = RpcServer.layerProtocolSocketServer.pipe(
 *   Layer.provide(TcpListener.layerSocketServer("127.0.0.1:9000")),
 *   Layer.provide(RpcSerialization.layerNdjson),
 *   Layer.provide(Netpoll.layer)
 * )
 * ```
 * @since 0.2.0
 * @category layers
 */
export const layerSocketServer: (
  address: SocketAddr.Input,
  options?: SocketServerOptions
) => Layer.Layer<SocketServer.SocketServer, NetError.NetError, Netpoll.Netpoll> =
  platformSocketServer.layerSocketServer

/**
 * @since 0.5.0
 * @category models
 */
export interface WorkersOptions extends BindOptions {
  /**
   * The module each worker thread runs (a URL, usually
   * `new URL("./worker.js", import.meta.url)`, or a path). It serves by running
   * `launchWorker` with its handler and a `Netpoll` layer.
   */
  readonly worker: URL | string
  /** How many worker threads; by default one per core (`os.availableParallelism()`). */
  readonly threads?: number | undefined
  /** At most this many connections are handled at once by each thread; see `serve`. */
  readonly maxConnections?: number | undefined
}

/**
 * The worker threads of `makeWorkers`, serving one address.
 *
 * @since 0.5.0
 * @category models
 */
export interface Workers {
  /** The address every worker listens on, with the port the kernel chose for port 0. */
  readonly address: SocketAddr.SocketAddr
  /** The `threadId` of each worker that listens now. */
  readonly threadIds: Effect.Effect<ReadonlyArray<number>>
  /** How many workers were started again after theirs ended. */
  readonly restarts: Effect.Effect<number>
}

/**
 * Serves one address from `threads` worker threads, each with its own event
 * loop, `Netpoll` and Effect runtime, each listening on the address with
 * SO_REUSEPORT, so that the kernel spreads the connections over them.
 *
 * - The main thread binds the address first (without listening: it never gets
 *   a connection) and holds it until the Scope closes: a port 0 becomes one
 *   port for every worker, and a bind error fails here, as `bind` does.
 * - Each worker runs the `worker` module, which calls `launchWorker` with its
 *   handler. `makeWorkers` succeeds once every worker listens; a worker that
 *   ends before (its module failed, or never called `launchWorker`) fails it
 *   with a defect naming the module.
 * - A worker that ends later (a crash, `process.exit` in a handler) is logged
 *   and replaced; its connections end with it, the others go on. A worker that
 *   keeps dying within a second of its start is replaced after a backoff of
 *   5 ms doubling to 1 s.
 * - Closing the Scope asks every worker to stop (its `launchWorker` closes its
 *   listener and connections and returns) and waits for each thread to end;
 *   one still running 5 seconds later is terminated. A worker's sockets close
 *   with its thread however it ends.
 *
 * @example
 * ```ts
 * // main.ts
 * import { Effect } from "effect"
 * import * as Netpoll from "effect-netpoll/effect3/Netpoll"
 * import * as TcpListener from "effect-netpoll/effect3/TcpListener"
 * import type * as TcpStream from "effect-netpoll/effect3/TcpStream"
 *
 * const main = Effect.gen(function*() {
 *   const workers = yield* TcpListener.makeWorkers("127.0.0.1:7000", {
 *     worker: new URL("./echo-worker.js", import.meta.url),
 *     threads: 4
 *   })
 *   console.log(`4 threads listen on ${workers.address}`)
 *   return yield* Effect.never
 * })
 * Effect.runFork(Effect.scoped(main).pipe(Effect.provide(Netpoll.layer)))
 *
 * // echo-worker.ts
 * const echo = (stream: TcpStream.TcpStream) =>
 *   Effect.gen(function*() {
 *     const buf = new Uint8Array(16 * 1024)
 *     let n: number
 *     while ((n = yield* stream.read(buf)) > 0) yield* stream.writeAll(buf.subarray(0, n))
 *   })
 * Effect.runFork(TcpListener.launchWorker(echo).pipe(Effect.provide(Netpoll.layer)))
 * ```
 * @since 0.5.0
 * @category constructors
 */
export const makeWorkers: (
  address: SocketAddr.Input,
  options: WorkersOptions
) => Effect.Effect<Workers, NetError.NetError, Netpoll.Netpoll | Scope.Scope> = (address, options) =>
  workers.makeWorkers(address, options)

/**
 * `makeWorkers` for as long as it runs: interrupting it stops and joins the
 * workers and frees the address.
 *
 * @since 0.5.0
 * @category combinators
 */
export const serveWorkers: (
  address: SocketAddr.Input,
  options: WorkersOptions
) => Effect.Effect<never, NetError.NetError, Netpoll.Netpoll> = workers.serveWorkers

/**
 * What the `worker` module of `serveWorkers` runs: binds the workers' address
 * with SO_REUSEPORT, tells the main thread it listens, and serves as `serve`
 * does (with the `maxConnections` of `serveWorkers`) until the main thread
 * stops it; then it closes the listener and every connection and returns, so
 * the thread can end. Run anywhere else, it dies with a defect saying so.
 *
 * @since 0.5.0
 * @category combinators
 */
export const launchWorker: <E, R>(
  handler: (stream: TcpStream.TcpStream) => Effect.Effect<void, E, R>
) => Effect.Effect<void, NetError.NetError, Netpoll.Netpoll | Exclude<R, Scope.Scope>> = workers.launchWorker
