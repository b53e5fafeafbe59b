import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import type * as NetAddress from "effect/net/NetAddress"
import * as References from "effect/References"
import * as Tracer from "effect/Tracer"
import * as attributes from "../core/attributes.js"
import type { Hooks } from "../core/poller.js"
import type * as NetError from "../NetError.js"
import type * as TcpStream from "../TcpStream.js"
import * as address from "./address.js"
import { bytesRead, bytesWritten, connectionsAccepted, connectionsOpened, socketsOpen } from "./metricDefs.js"

export { metrics } from "./metricDefs.js"

// The updates are plain synchronous calls, so that the read and write paths gain
// no Effect op; the empty context selects the global registry.
const global = Context.empty()

/** What the core's pollers count: sockets opened and closed, bytes moved. */
export const hooks: Hooks = {
  opened: () => socketsOpen.modifyUnsafe(1, global),
  closed: () => socketsOpen.modifyUnsafe(-1, global),
  transferred: (direction, n) => (direction === "read" ? bytesRead : bytesWritten).updateUnsafe(n, global)
}

export const accepted = (): void => connectionsAccepted.updateUnsafe(1, global)

export const connected = (): void => connectionsOpened.updateUnsafe(1, global)

// The spans capture no stack trace: it would point into this library, not at
// the caller. Nothing inside connect or accept opens spans or logs, so the span
// is not made the parent of the inner effect: that context update would cost
// more than the span itself. A span is only made when it can reach someone:
// with tracing disabled Effect makes a no-op span, and Effect's own native
// tracer (the default) records its spans nowhere.

/** Whether a span made by `fiber` now would reach a tracer that records it. */
export const isTraced = (fiber: Fiber.Fiber<unknown, unknown>): boolean =>
  fiber.getRef(References.TracerEnabled) && fiber.getRef(Tracer.Tracer) !== Tracer.nativeTracer

/** `server.address` and `server.port` as the caller named them (a host name stays a host name). */
const serverAttributes = (input: unknown): Record<string, unknown> =>
  address.isInetAddress(input)
    ? { "server.address": address.host(input), "server.port": input.port }
    : attributes.server(input)

/** Records the peer of a span's connection. */
export const peerAttributes = (span: Tracer.Span, peer: NetAddress.InetAddress): void => {
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
  Effect.withFiber((fiber) =>
    isTraced(fiber)
      ? Effect.useSpan(
        "effect-netpoll.connect",
        { kind: "client", attributes: { "network.transport": "tcp", ...serverAttributes(input) } },
        (span) =>
          Effect.tap(connect, (stream) =>
            !span.sampled ? Effect.void : Effect.match(stream.peerAddr, {
              onFailure: () => undefined,
              onSuccess: (peer) => peerAttributes(span, peer)
            }))
      )
      : connect
  )

/**
 * The span of one accept, from the wait for a connection to its arrival, made
 * only when `isTraced`. It covers the whole accept, so that a failed or
 * interrupted wait ends it too; `accept` records the peer (`peerAttributes`)
 * when the span is sampled.
 */
export const acceptSpan = <A, E, R>(
  local: string,
  accept: (span: Tracer.Span) => Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  Effect.useSpan(
    "effect-netpoll.accept",
    { kind: "server", attributes: { "network.transport": "tcp", ...serverAttributes(local) } },
    accept
  )
