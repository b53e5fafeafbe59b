import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type * as Socket from "effect/socket/Socket"
import * as SocketServer from "effect/socket/SocketServer"
import type * as Netpoll from "../Netpoll.js"
import type * as TcpListener from "../TcpListener.js"
import type * as address from "./address.js"
import * as socket from "./socket.js"
import * as tcpListener from "./tcpListener.js"

export const makeSocketServer = (
  input: address.Input,
  options?: TcpListener.SocketServerOptions
): Effect.Effect<SocketServer.SocketServer["Service"], SocketServer.SocketServerError, Netpoll.Netpoll | Scope.Scope> =>
  Effect.gen(function*() {
    const defect = tcpListener.socketServerDefect(options)
    if (defect !== undefined) return yield* Effect.die(defect)
    const listener = yield* tcpListener.bind(input, options)
    const local = yield* listener.localAddr
    const serveOptions = { maxConnections: options?.maxConnections }
    const run = <R, E, _>(
      handler: (socket: Socket.Socket) => Effect.Effect<_, E, R>
    ): Effect.Effect<never, SocketServer.SocketServerError, R> =>
      tcpListener.serve(
        listener,
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
    return SocketServer.SocketServer.of({ address: local, run })
  }).pipe(
    Effect.mapError((cause) =>
      new SocketServer.SocketServerError({ reason: new SocketServer.SocketServerOpenError({ cause }) })
    )
  )

export const layerSocketServer = (
  input: address.Input,
  options?: TcpListener.SocketServerOptions
): Layer.Layer<SocketServer.SocketServer, SocketServer.SocketServerError, Netpoll.Netpoll> =>
  Layer.effect(SocketServer.SocketServer, makeSocketServer(input, options))
