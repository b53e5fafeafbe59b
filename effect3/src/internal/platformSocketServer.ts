import * as SocketServer from "@effect/platform/SocketServer"
import type * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type * as NetError from "../NetError.js"
import type * as Netpoll from "../Netpoll.js"
import type * as SocketAddr from "../SocketAddr.js"
import type * as TcpListener from "../TcpListener.js"
import * as platformSocket from "./platformSocket.js"
import * as tcpListener from "./tcpListener.js"
import type * as UnixListener from "../UnixListener.js"
import type * as address from "./address.js"
import * as unixListener from "./unixListener.js"

/** Logged at the fiber's unhandled-error level, so code that silences NodeSocketServer silences this too. */
const reportUnhandledError = <E>(cause: Cause.Cause<E>) =>
  Effect.withFiberRuntime<void>((fiber) => {
    const level = fiber.getFiberRef(FiberRef.unhandledErrorLogLevel)
    return level._tag === "Some" ? Effect.logWithLevel(level.value, cause, "Unhandled error in SocketServer") : Effect.void
  })

/** The bound listener of a SocketServer on this line: its address is @effect/platform's. */
type Bound = tcpListener.Bound<SocketServer.Address>

/** A SocketServer over what `bind` binds (see `tcpListener.socketServerOf`). */
export const fromBound = (
  defect: Error | undefined,
  bind: Effect.Effect<Bound, NetError.NetError, Netpoll.Netpoll | Scope.Scope>,
  options: { readonly maxConnections?: number | undefined } | undefined
): Effect.Effect<SocketServer.SocketServer["Type"], NetError.NetError, Netpoll.Netpoll | Scope.Scope> =>
  Effect.map(
    tcpListener.socketServerOf(
      defect,
      bind,
      options,
      platformSocket.fromAccepted,
      (effect) => Effect.asVoid(Effect.catchAllCause(effect, reportUnhandledError)),
      (cause) => new SocketServer.SocketServerError({ reason: "Unknown", cause })
    ),
    SocketServer.SocketServer.of
  )

export const makeSocketServer = (
  address: SocketAddr.Input,
  options?: TcpListener.SocketServerOptions
): Effect.Effect<SocketServer.SocketServer["Type"], NetError.NetError, Netpoll.Netpoll | Scope.Scope> =>
  Effect.suspend(() =>
    fromBound(
      tcpListener.socketServerDefect(options),
      Effect.flatMap(tcpListener.bind(address, options), (listener) =>
        Effect.map(listener.localAddr, (local): Bound => ({
          address: { _tag: "TcpAddress", hostname: local.address, port: local.port },
          serve: (handler, serveOptions) => tcpListener.serve(listener, handler, serveOptions)
        }))),
      options
    )
  )

export const layerSocketServer = (
  address: SocketAddr.Input,
  options?: TcpListener.SocketServerOptions
): Layer.Layer<SocketServer.SocketServer, NetError.NetError, Netpoll.Netpoll> =>
  Layer.scoped(SocketServer.SocketServer, makeSocketServer(address, options))

/** `UnixListener.layerSocketServer`: its `address` is the bound `SocketServer.UnixAddress`. */
export const layerUnixSocketServer = (
  input: address.UnixInput,
  options?: UnixListener.SocketServerOptions
): Layer.Layer<SocketServer.SocketServer, NetError.NetError, Netpoll.Netpoll> =>
  Layer.scoped(SocketServer.SocketServer, Effect.suspend(() => fromBound(...unixListener.socketServerArgs(input, options))))
