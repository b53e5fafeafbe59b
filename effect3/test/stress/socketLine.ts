/**
 * The socket adapters' contracts differ between the lines (@effect/platform's
 * Socket here, effect/socket on Effect 4): how the fuzz dials a Socket and
 * recognises its errors. test/stress/socketLine.ts is the other side.
 */
import * as Socket from "@effect/platform/Socket"
import * as SocketServer from "@effect/platform/SocketServer"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"

/** Runs the socket (which dials) until the connection ends. */
export const dialSocket = (socket: unknown): Effect.Effect<unknown, unknown> =>
  (socket as Socket.Socket).run(() => {})

/** Whether `error` is one of the adapters' typed errors. */
export const isSocketError = (error: unknown): boolean =>
  Socket.isSocketError(error) || error instanceof SocketServer.SocketServerError

/** Builds a Socket layer (in the caller's Scope) and dials the Socket it gives. */
export const dialLayer = <R>(layer: Layer.Layer<Socket.Socket, unknown, R>): Effect.Effect<unknown, unknown, R | Scope.Scope> =>
  Effect.flatMap(Layer.build(layer), (context) => dialSocket(Context.get(context, Socket.Socket)))
