import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as NetAddress from "effect/net/NetAddress"
import type * as Scope from "effect/Scope"
import * as SocketServer from "effect/socket/SocketServer"
import type * as NetError from "../NetError.js"
import type * as Netpoll from "../Netpoll.js"
import type * as TcpListener from "../TcpListener.js"
import type * as address from "./address.js"
import * as socket from "./socket.js"
import * as tcpListener from "./tcpListener.js"
import type * as UnixListener from "../UnixListener.js"
import * as unixListener from "./unixListener.js"

/** The bound listener of a SocketServer on this line: its address is an effect/net SocketAddress. */
type Bound = tcpListener.Bound<NetAddress.SocketAddress>

/** A SocketServer over what `bind` binds (see `tcpListener.socketServerOf`). */
export const fromBound = (
  defect: Error | undefined,
  bind: Effect.Effect<Bound, NetError.NetError, Netpoll.Netpoll | Scope.Scope>,
  options: { readonly maxConnections?: number | undefined } | undefined
): Effect.Effect<SocketServer.SocketServer["Service"], SocketServer.SocketServerError, Netpoll.Netpoll | Scope.Scope> =>
  tcpListener.socketServerOf(
    defect,
    bind,
    options,
    socket.fromAccepted,
    Effect.ignoreCause({ log: "Unhandled", message: "Unhandled error in SocketServer" }),
    (cause) => new SocketServer.SocketServerError({ reason: new SocketServer.SocketServerUnknownError({ cause }) })
  ).pipe(
    Effect.map(SocketServer.SocketServer.of),
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
  Layer.effect(SocketServer.SocketServer, Effect.suspend(() => fromBound(...unixListener.socketServerArgs(input, options))))
