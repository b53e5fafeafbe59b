/**
 * The socket adapters' contracts differ between the lines (effect/socket here,
 * @effect/platform's Socket on Effect 3): how the fuzz dials a Socket and
 * recognises its errors. effect3/test/stress/socketLine.ts is the other side.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as Socket from "effect/socket/Socket"
import * as SocketServer from "effect/socket/SocketServer"

/** Acquires a reader (which dials) and pulls once; the connection closes with the Scope. */
export const dialSocket = (socket: unknown): Effect.Effect<unknown, unknown> =>
  Effect.scoped(Effect.flatMap((socket as Socket.Socket).reader, (reader) => reader.pull))

/** Whether `error` is one of the adapters' typed errors. */
export const isSocketError = (error: unknown): boolean =>
  Socket.isSocketError(error) || error instanceof SocketServer.SocketServerError

/** Builds a Socket layer (in the caller's Scope) and dials the Socket it gives. */
export const dialLayer = <R>(layer: Layer.Layer<Socket.Socket, unknown, R>): Effect.Effect<unknown, unknown, R | Scope.Scope> =>
  Effect.flatMap(Layer.build(layer), (context) => dialSocket(Context.get(context, Socket.Socket)))
