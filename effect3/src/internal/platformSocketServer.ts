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

/** Logged at the fiber's unhandled-error level, so code that silences NodeSocketServer silences this too. */
const reportUnhandledError = <E>(cause: Cause.Cause<E>) =>
  Effect.withFiberRuntime<void>((fiber) => {
    const level = fiber.getFiberRef(FiberRef.unhandledErrorLogLevel)
    return level._tag === "Some" ? Effect.logWithLevel(level.value, cause, "Unhandled error in SocketServer") : Effect.void
  })

export const makeSocketServer = (
  address: SocketAddr.Input,
  options?: TcpListener.SocketServerOptions
): Effect.Effect<SocketServer.SocketServer["Type"], NetError.NetError, Netpoll.Netpoll | Scope.Scope> =>
  Effect.gen(function*() {
    const defect = tcpListener.socketServerDefect(options)
    if (defect !== undefined) return yield* Effect.die(defect)
    const listener = yield* tcpListener.bind(address, options)
    const local = yield* listener.localAddr
    const serveOptions = { maxConnections: options?.maxConnections }
    const run = <R, E, _>(
      handler: (socket: Socket.Socket) => Effect.Effect<_, E, R>
    ): Effect.Effect<never, SocketServer.SocketServerError, R> =>
      tcpListener.serve(
        listener,
        (stream) =>
          platformSocket.fromAccepted(stream).pipe(
            Effect.flatMap(handler),
            Effect.catchAllCause(reportUnhandledError)
          ),
        serveOptions
      ).pipe(Effect.mapError((cause) => new SocketServer.SocketServerError({ reason: "Unknown", cause })))
    return SocketServer.SocketServer.of({
      address: { _tag: "TcpAddress", hostname: local.address, port: local.port },
      run
    })
  })

export const layerSocketServer = (
  address: SocketAddr.Input,
  options?: TcpListener.SocketServerOptions
): Layer.Layer<SocketServer.SocketServer, NetError.NetError, Netpoll.Netpoll> =>
  Layer.scoped(SocketServer.SocketServer, makeSocketServer(address, options))
