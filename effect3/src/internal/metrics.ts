import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import { constVoid } from "effect/Function"
import type * as MetricLabel from "effect/MetricLabel"
import * as Tracer from "effect/Tracer"
import type * as NetError from "../NetError.js"
import type * as SocketAddr from "../SocketAddr.js"
import type * as TcpStream from "../TcpStream.js"
import * as socketAddr from "./address.js"
import { attributes, type poller } from "./core.js"
import { bytesRead, bytesWritten, connectionsAccepted, connectionsOpened, socketsOpen } from "./metricDefs.js"

export { metrics } from "./metricDefs.js"

// One shared empty label array: an untagged update then hits the metric's cached
// hook (a closure call and an addition), never the registry. These are plain
// synchronous calls so that the read and write paths gain no Effect op.
const untagged: ReadonlyArray<MetricLabel.MetricLabel> = []

/** What the core's pollers count: sockets opened and closed, bytes moved. */
export const hooks: poller.Hooks = {
  opened: () => socketsOpen.unsafeModify(1, untagged),
  closed: () => socketsOpen.unsafeModify(-1, untagged),
  transferred: (direction, n) => {
    if (direction === "read") bytesRead.unsafeUpdate(n, untagged)
    else bytesWritten.unsafeUpdate(n, untagged)
  }
}

export const accepted = (): void => connectionsAccepted.unsafeUpdate(1, untagged)

export const connected = (): void => connectionsOpened.unsafeUpdate(1, untagged)

/** `server.address` and `server.port` as the caller named them (a host name stays a host name). */
const serverAttributes = (input: SocketAddr.Input): Record<string, unknown> =>
  socketAddr.isSocketAddr(input)
    ? { "server.address": input.address, "server.port": input.port }
    : attributes.server(input)

// The spans capture no stack trace: it would point into this library, not at
// the caller, and each capture allocates an Error. Nothing inside connect or
// accept opens spans or logs, so the span is not made the parent of the inner
// effect: that context update would cost more than the span itself.
//
// For the same reason a span is only made when it can reach someone: with
// tracing disabled Effect makes a no-op span, and Effect's own native tracer
// (the default) records its spans nowhere, so a span that is nobody's parent is
// seen by no one. Skipping both spares every connect and accept the span's
// runtime ops, its clock reads and its allocations (about 15 µs each).

const nativeTracer = Context.get(DefaultServices.liveServices, Tracer.Tracer)

/** Whether a span made by `fiber` now would reach a tracer that records it. */
export const isTraced = (fiber: Fiber.RuntimeFiber<unknown, unknown>): boolean =>
  fiber.currentTracer !== nativeTracer && fiber.getFiberRef(FiberRef.currentTracerEnabled)

/**
 * The peer as seen from the connected socket; a peer already gone is left out.
 * The getpeername is spared when the span is not recorded (sampled out).
 */
const annotatePeer = (span: Tracer.Span, stream: TcpStream.TcpStream): Effect.Effect<void> =>
  !span.sampled ? Effect.void : Effect.match(stream.peerAddr, {
    onFailure: constVoid,
    onSuccess: (peer) => peerAttributes(span, peer)
  })

/** Records the peer of a span's connection. */
export const peerAttributes = (span: Tracer.Span, peer: SocketAddr.SocketAddr): void => {
  for (const [key, value] of Object.entries(attributes.peer(socketAddr.family(peer), peer.address, peer.port))) {
    span.attribute(key, value)
  }
}

/**
 * The span of one whole connect, from name resolution to the established
 * connection, ended with its exit: a failed connect records its error.
 */
export const connectSpan = <R>(
  input: SocketAddr.Input,
  connect: Effect.Effect<TcpStream.TcpStream, NetError.NetError, R>
): Effect.Effect<TcpStream.TcpStream, NetError.NetError, R> =>
  Effect.withFiberRuntime((fiber) =>
    isTraced(fiber)
      ? Effect.useSpan(
        "effect-netpoll.connect",
        { kind: "client", captureStackTrace: false, attributes: { "network.transport": "tcp", ...serverAttributes(input) } },
        (span) => Effect.tap(connect, (stream) => annotatePeer(span, stream))
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
    { kind: "server", captureStackTrace: false, attributes: { "network.transport": "tcp", ...serverAttributes(local) } },
    accept
  )
