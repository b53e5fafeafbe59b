/**
 * Unix-domain stream sockets whose reads and writes suspend the calling fiber,
 * never the event loop, in the manner of Go's `net.UnixConn` and Rust's
 * `std::os::unix::net::UnixStream`. Every call is TcpStream's, with the same
 * semantics; the addresses are paths, and `peerCred` tells who is on the other side.
 *
 * This module is the same on both lines (`effect-netpoll/UnixStream`,
 * `effect-netpoll/effect3/UnixStream`); only the address and Socket types are
 * each line's own.
 *
 * @since 0.5.0
 */
import type { Duplex } from "node:stream"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type * as Sink from "effect/Sink"
import type * as Stream from "effect/Stream"
import type * as address from "./internal/address.js"
import * as sockets from "./internal/sockets.js"
import * as adapters from "./internal/tcpStreamAdapters.js"
import * as internal from "./internal/unixStream.js"
import type * as Io from "./Io.js"
import type * as NetError from "./NetError.js"
import type * as Netpoll from "./Netpoll.js"
import type * as TcpStream from "./TcpStream.js"

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
 * A Unix socket's address, as `localAddr` and `peerAddr` give it: on Effect 4
 * `effect/net`'s `NetAddress.UnixPathAddress`, on Effect 3 `@effect/platform`'s
 * `SocketServer.UnixAddress` (`{ _tag: "UnixAddress", path }`). Its `path` is
 * `""` for an unnamed socket, and starts with a NUL for an abstract name.
 *
 * @since 0.5.0
 * @category models
 */
export type Address = address.UnixAddress

/**
 * What `connect` and `UnixListener.bind` take: a path (`"/run/app.sock"`,
 * relative paths too), an abstract name on Linux (a leading NUL, `"\0app"`,
 * as in Node), or the line's address record (an `Address`; on Effect 3 any
 * `{ _tag: "UnixAddress", path }`). At most 107 bytes of UTF-8 besides an
 * abstract name's NUL, with no other NUL: anything else is an `InvalidAddress`.
 *
 * @since 0.5.0
 * @category models
 */
export type AddressInput = address.UnixInput

/**
 * The credentials of the process on the other side of a connection, as they
 * were when it connected (or made the pair): SO_PEERCRED.
 *
 * @since 0.5.0
 * @category models
 */
export interface Credentials {
  readonly pid: number
  readonly uid: number
  readonly gid: number
}

/**
 * A connected Unix-domain stream socket, owned by the Scope that opened it.
 *
 * Everything TcpStream promises holds: one reader and one writer at a time
 * (full duplex), whole calls for concurrent readers or writers, cancellation
 * safety, `close` waking parked fibers with `SocketClosed`. `BufReader` and
 * `BufWriter` take it.
 *
 * @since 0.5.0
 * @category models
 */
export interface UnixStream extends Io.Reader, Io.Writer {
  readonly [TypeId]: TypeId
  /** The peer process's pid, uid and gid when it connected (SO_PEERCRED), to authorize local clients. */
  readonly peerCred: Effect.Effect<Credentials, NetError.NetError>
  /** The listener's path, seen from a client; usually `""` (unnamed), seen from a server. */
  readonly peerAddr: Effect.Effect<Address, NetError.NetError>
  /** This end's path: the listener's for an accepted stream, `""` for a client. */
  readonly localAddr: Effect.Effect<Address, NetError.NetError>
  readonly fd: number
  /** As `TcpStream.tryClone`: dup(2) into the caller's Scope; the peer sees end of stream once every handle closed. */
  readonly tryClone: Effect.Effect<UnixStream, NetError.NetError, Scope.Scope>
  /** As `TcpStream.shutdown`; idempotent. */
  readonly shutdown: (how: "read" | "write" | "both") => Effect.Effect<void, NetError.NetError>
  /** As `TcpStream.close`: idempotent, waking parked fibers with `SocketClosed`. */
  readonly close: Effect.Effect<void>
}

/**
 * Connects to the listener at `address`. The stream closes with the Scope. A
 * Unix connect completes at once or fails: `SystemError` `ENOENT` when no
 * socket is at the path, `ConnectionRefused` when nobody listens on it,
 * `SystemError` `EAGAIN` when the listener's backlog is full.
 *
 * @example
 * ```ts
 * const ping = Effect.scoped(Effect.gen(function*() {
 *   const stream = yield* UnixStream.connect("/run/app.sock")
 *   yield* stream.writeAll(new TextEncoder().encode("ping\n"))
 *   const reply = new Uint8Array(5)
 *   yield* stream.readExact(reply)
 * }))
 * ```
 * @since 0.5.0
 * @category constructors
 */
export const connect: (
  address: AddressInput
) => Effect.Effect<UnixStream, NetError.NetError, Netpoll.Netpoll | Scope.Scope> = internal.connect

/**
 * Two streams connected to each other (socketpair(2)), both in the Scope: a
 * byte pipe in both directions, between fibers or to hand one end's fd to a
 * child process.
 *
 * @example
 * ```ts
 * const program = Effect.gen(function*() {
 *   const [left, right] = yield* UnixStream.pair
 *   yield* left.writeAll(new TextEncoder().encode("hi"))
 *   yield* right.readExact(new Uint8Array(2))
 * })
 * ```
 * @since 0.5.0
 * @category constructors
 */
export const pair: Effect.Effect<readonly [UnixStream, UnixStream], NetError.NetError, Netpoll.Netpoll | Scope.Scope> =
  internal.pair

/**
 * The bytes of a connection as an Effect `Stream`, pulled: see `TcpStream.toStream`.
 *
 * @since 0.5.0
 * @category adapters
 */
export const toStream: (
  stream: UnixStream,
  options?: TcpStream.StreamOptions
) => Stream.Stream<Uint8Array, NetError.NetError> = adapters.toStream

/**
 * A `Sink` that writes every element to the connection: see `TcpStream.toSink`.
 *
 * @since 0.5.0
 * @category adapters
 */
export const toSink: (stream: UnixStream) => Sink.Sink<void, Uint8Array, never, NetError.NetError> = adapters.toSink

/**
 * A Node `stream.Duplex` over the connection, backpressure both ways: see `TcpStream.toDuplex`.
 *
 * @since 0.5.0
 * @category adapters
 */
export const toDuplex: (
  stream: UnixStream,
  options?: TcpStream.DuplexOptions
) => Effect.Effect<Duplex, never, Scope.Scope> = adapters.toDuplex

/**
 * The line's `Socket.Socket` (`effect/socket` on Effect 4, `@effect/platform`
 * on Effect 3) over connections that `open` dials: see `TcpStream.makeSocket`,
 * whose contract it keeps.
 *
 * @since 0.5.0
 * @category adapters
 */
export const makeSocket: <R>(
  open: Effect.Effect<UnixStream, NetError.NetError, R>,
  options?: TcpStream.SocketOptions
) => Effect.Effect<sockets.LineSocket, never, Exclude<R, Scope.Scope>> = sockets.makeSocket

/**
 * A `Socket.Socket` layer that dials the Unix socket at `address` for each
 * connection it makes, as `TcpStream.layerSocket` does over TCP.
 *
 * @example
 * ```ts
 * // Any client written against Socket.Socket, e.g. an RPC protocol, over a Unix socket.
 * const SocketLive = UnixStream.layerSocket("/run/app.sock", { openTimeout: "5 seconds" })
 * ```
 * @since 0.5.0
 * @category layers
 */
export const layerSocket: (
  address: AddressInput,
  options?: TcpStream.SocketOptions
) => Layer.Layer<sockets.LineSocket, never, Netpoll.Netpoll> = sockets.layerUnixSocket
