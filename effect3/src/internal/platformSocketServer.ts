import type * as Socket from "@effect/platform/Socket"
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
import { validate } from "./core.js"
import * as unixListener from "./unixListener.js"
import type { AnyStream } from "./tcpStream.js"

/** Logged at the fiber's unhandled-error level, so code that silences NodeSocketServer silences this too. */
const reportUnhandledError = <E>(cause: Cause.Cause<E>) =>
  Effect.withFiberRuntime<void>((fiber) => {
    const level = fiber.getFiberRef(FiberRef.unhandledErrorLogLevel)
    return level._tag === "Some" ? Effect.logWithLevel(level.value, cause, "Unhandled error in SocketServer") : Effect.void
  })

/** A bound listener, TCP or Unix, as a SocketServer needs it: its address and its `serve`. */
export interface Bound {
  readonly address: SocketServer.Address
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
): Effect.Effect<SocketServer.SocketServer["Type"], NetError.NetError, Netpoll.Netpoll | Scope.Scope> =>
  Effect.gen(function*() {
    if (defect !== undefined) return yield* Effect.die(defect)
    const bound = yield* bind
    const serveOptions = { maxConnections: options?.maxConnections }
    const run = <R, E, _>(
      handler: (socket: Socket.Socket) => Effect.Effect<_, E, R>
    ): Effect.Effect<never, SocketServer.SocketServerError, R> =>
      bound.serve(
        (stream) =>
          platformSocket.fromAccepted(stream).pipe(
            Effect.flatMap(handler),
            Effect.catchAllCause(reportUnhandledError)
          ),
        serveOptions
      ).pipe(Effect.mapError((cause) => new SocketServer.SocketServerError({ reason: "Unknown", cause })))
    return SocketServer.SocketServer.of({ address: bound.address, run })
  })

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
  Layer.scoped(
    SocketServer.SocketServer,
    Effect.suspend(() =>
      fromBound(
        tcpListener.socketServerDefect(options, validate.unixBindOptions),
        unixListener.bound(input, options),
        options
      )
    )
  )
