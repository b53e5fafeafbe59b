/**
 * The connect and accept spans. Shared by both Effect lines: the Effect 3 line
 * compiles this same file against its own `effect`.
 *
 * The spans capture no stack trace: it would point into this library, not at
 * the caller. Nothing inside connect or accept opens spans or logs, so the span
 * is not made the parent of the inner effect: that context update would cost
 * more than the span itself. For the same reason a span is only made when it
 * can reach someone (`runtime.isTraced`): with tracing disabled Effect makes a
 * no-op span, and Effect's own native tracer records its spans nowhere.
 */
import * as Effect from "effect/Effect"
import type * as Tracer from "effect/Tracer"
import type * as NetError from "../NetError.js"
import type * as TcpStream from "../TcpStream.js"
import * as address from "./address.js"
import { attributes } from "./core.js"
import * as runtime from "./runtime.js"

/** `server.address` and `server.port` as the caller named them (a host name stays a host name). */
const serverAttributes = (input: unknown): Record<string, unknown> => ({
  "network.transport": "tcp",
  ...(address.isAddress(input)
    ? { "server.address": address.host(input), "server.port": input.port }
    : attributes.server(input))
})

/** Records the peer of a span's connection. */
export const peerAttributes = (span: Tracer.Span, peer: address.Address): void => {
  for (const [key, value] of Object.entries(attributes.peer(address.family(peer), address.host(peer), peer.port))) {
    span.attribute(key, value)
  }
}

/**
 * The span of one whole connect, from name resolution to the established
 * connection, ended with its exit: a failed connect records its error. The
 * getpeername is spared when the span is not recorded (sampled out).
 */
export const connectSpan = <R>(
  input: unknown,
  connect: Effect.Effect<TcpStream.TcpStream, NetError.NetError, R>
): Effect.Effect<TcpStream.TcpStream, NetError.NetError, R> =>
  runtime.withCaptured((_, fiber) =>
    runtime.isTraced(fiber)
      ? Effect.useSpan(
        "effect-netpoll.connect",
        runtime.spanOptions("client", serverAttributes(input)),
        (span) =>
          Effect.tap(connect, (stream) =>
            !span.sampled ? Effect.void : Effect.match(stream.peerAddr, {
              onFailure: () => undefined,
              onSuccess: (peer) => peerAttributes(span, peer)
            }))
      )
      : connect
  )

/** The span of one Unix connect, to `path`: the path is the whole of what it records. */
export const unixConnectSpan = <A, R>(
  path: string,
  connect: Effect.Effect<A, NetError.NetError, R>
): Effect.Effect<A, NetError.NetError, R> =>
  runtime.withCaptured((_, fiber) =>
    runtime.isTraced(fiber)
      ? Effect.useSpan("effect-netpoll.connect", runtime.spanOptions("client", unixAttributes(path)), () => connect)
      : connect
  )

/**
 * The span of one accept, from the wait for a connection to its arrival, made
 * only when `runtime.isTraced`. It covers the whole accept, so that a failed or
 * interrupted wait ends it too; `accept` records the peer (`peerAttributes`)
 * when the span is sampled.
 */
export const acceptSpan = <A, E, R>(
  local: string,
  accept: (span: Tracer.Span) => Effect.Effect<A, E, R>,
  attributes: Record<string, unknown> = serverAttributes(local)
): Effect.Effect<A, E, R> => Effect.useSpan("effect-netpoll.accept", runtime.spanOptions("server", attributes), accept)

/** A Unix socket's span attributes: its path as `server.address`. */
export const unixAttributes = (path: string): Record<string, unknown> => ({
  "network.transport": "unix",
  "server.address": path
})
