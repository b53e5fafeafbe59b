import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as NetAddress from "effect/net/NetAddress"
import type * as Scope from "effect/Scope"
import type * as Socket from "effect/socket/Socket"
import * as SocketServer from "effect/socket/SocketServer"
import type * as NetError from "../NetError.js"
import type * as Netpoll from "../Netpoll.js"
import type * as TcpListener from "../TcpListener.js"
import type * as address from "./address.js"
import * as socket from "./socket.js"
import * as tcpListener from "./tcpListener.js"
import type * as UnixListener from "../UnixListener.js"
import { validate } from "./core.js"
import * as unixListener from "./unixListener.js"
import type { AnyStream } from "./tcpStream.js"

/** A bound listener, TCP or Unix, as a SocketServer needs it: its address and its `serve`. */
export interface Bound {
  readonly address: NetAddress.SocketAddress
  readonly serve: <E, R>(
    handler: (stream: AnyStream) => Effect.Effect<void, E, R>,
    options: { readonly maxConnections?: number | undefined }
  ) => Effect.Effect<never, NetError.NetError, Exclude<R, Scope.Scope>>
}

/**
 * A SocketServer over what `bind` binds; `defect` is the check of `options`,
 * run before any fd exists (and before `options` is read).
 */
export const fromBound = (
  defect: Error | undefined,
  bind: Effect.Effect<Bound, NetError.NetError, Netpoll.Netpoll | Scope.Scope>,
  options: { readonly maxConnections?: number | undefined } | undefined
): Effect.Effect<SocketServer.SocketServer["Service"], SocketServer.SocketServerError, Netpoll.Netpoll | Scope.Scope> =>
  Effect.gen(function*() {
    if (defect !== undefined) return yield* Effect.die(defect)
    const bound = yield* bind
    const serveOptions = { maxConnections: options?.maxConnections }
    const run = <R, E, _>(
      handler: (socket: Socket.Socket) => Effect.Effect<_, E, R>
    ): Effect.Effect<never, SocketServer.SocketServerError, R> =>
      bound.serve(
        (stream) =>
          socket.fromAccepted(stream).pipe(
            Effect.flatMap(handler),
            Effect.ignoreCause({ log: "Unhandled", message: "Unhandled error in SocketServer" })
          ),
        serveOptions
      ).pipe(
        Effect.mapError((cause) =>
          new SocketServer.SocketServerError({ reason: new SocketServer.SocketServerUnknownError({ cause }) })
        )
      )
    return SocketServer.SocketServer.of({ address: bound.address, run })
  }).pipe(
    Effect.mapError((cause) =>
      new SocketServer.SocketServerError({ reason: new SocketServer.SocketServerOpenError({ cause }) })
    )
  )

export const makeSocketServer = (
  input: address.Input,
  options?: TcpListener.SocketServerOptions
): Effect.Effect<SocketServer.SocketServer["Service"], SocketServer.SocketServerError, Netpoll.Netpoll | Scope.Scope> =>
  Effect.suspend(() =>
    fromBound(
      tcpListener.socketServerDefect(options),
      Effect.flatMap(tcpListener.bind(input, options), (listener) =>
        Effect.map(listener.localAddr, (local): Bound => ({
          address: local,
          serve: (handler, serveOptions) => tcpListener.serve(listener, handler, serveOptions)
        }))),
      options
    )
  )

export const layerSocketServer = (
  input: address.Input,
  options?: TcpListener.SocketServerOptions
): Layer.Layer<SocketServer.SocketServer, SocketServer.SocketServerError, Netpoll.Netpoll> =>
  Layer.effect(SocketServer.SocketServer, makeSocketServer(input, options))

/** `UnixListener.layerSocketServer`: its `address` is the bound UnixPathAddress. */
export const layerUnixSocketServer = (
  input: address.UnixInput,
  options?: UnixListener.SocketServerOptions
): Layer.Layer<SocketServer.SocketServer, SocketServer.SocketServerError, Netpoll.Netpoll> =>
  Layer.effect(
    SocketServer.SocketServer,
    Effect.suspend(() =>
      fromBound(
        tcpListener.socketServerDefect(options, validate.unixBindOptions),
        unixListener.bound(input, options),
        options
      )
    )
  )
