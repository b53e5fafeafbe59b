/**
 * The Netpoll service: owns nonblocking socket fds and parks the fibers that
 * wait on them, with readiness from libuv's poller on Node's own event loop.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Layer from "effect/Layer"
import type * as Metric from "effect/Metric"
import type * as Scheduler from "effect/Scheduler"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import { addon } from "./internal/core.js"
import * as internalMetrics from "./internal/metrics.js"
import * as internal from "./internal/netpoll.js"
import * as internalScheduler from "./internal/scheduler.js"

/**
 * Provide it once, with `Netpoll.layer`, to every program that opens
 * connections or listeners.
 *
 * @example
 * ```ts
 * import * as Netpoll from "effect-netpoll/effect3/Netpoll"
 * import * as TcpStream from "effect-netpoll/effect3/TcpStream"
 * import { Effect } from "effect"
 *
 * const program = Effect.scoped(TcpStream.connect("127.0.0.1:6379"))
 * Effect.runPromise(Effect.provide(program, Netpoll.layer))
 * ```
 * @since 0.1.0
 * @category tags
 */
export class Netpoll extends Context.Tag("effect-netpoll/Netpoll")<Netpoll, Netpoll.Service>() {}

/**
 * @since 0.1.0
 * @category models
 */
export declare namespace Netpoll {
  /**
   * @since 0.1.0
   * @category models
   */
  export interface Service {
    /** `"epoll"`: one edge-triggered epoll fd behind a single uv_poll_t; `"uv_poll"`: one uv_poll_t per fd. */
    readonly backend: "epoll" | "uv_poll"
    /** How many fds this Netpoll owns right now (streams, clones, listeners). */
    readonly size: number
    /**
     * How many fibers are parked on a socket right now: waiting for readiness, or
     * for their turn behind a `readExact` or `writeAll` that holds the direction.
     */
    readonly waiting: number
  }
}

/**
 * The scheduler that `layer` and `layerUvPoll` install for the program they
 * are provided to. It runs every resumed fiber from one queue, drained in one
 * microtask: the fibers woken by a readiness batch all resume inside the
 * poller's callback, before Node returns to the event loop.
 *
 * It is Effect's own `MixedScheduler` with one shared run queue: Effect's
 * default scheduler (since effect 3.20) keeps a run queue, and a microtask, per
 * fiber, so that each fiber resumes in the AsyncLocalStorage context it was
 * scheduled from; this one does not keep those contexts apart, as Effect's
 * scheduler did before 3.20. Priorities, yield points and the macrotask turn
 * after 2048 microtask rounds in a row are Effect's.
 * A program that needs the default back runs under
 * `Effect.withScheduler(Scheduler.defaultScheduler)`.
 *
 * @since 0.2.0
 * @category schedulers
 */
export const scheduler: Scheduler.Scheduler = internalScheduler.scheduler

/**
 * A poller for the layer's lifetime, with `scheduler` installed for the fibers
 * of the program it is provided to; its release closes every fd it still owns,
 * in the same fiber, before the scheduler is restored.
 */
const acquireWith = (edgeTriggered: boolean) =>
  Effect.zipRight(Effect.locallyScoped(FiberRef.currentScheduler, scheduler), internal.acquire(edgeTriggered))

/**
 * The native backend best suited to this platform: edge-triggered epoll on
 * Linux, one uv_poll_t per fd elsewhere. Closing the layer's scope closes
 * every fd it still owns and wakes every fiber parked on one. The layer also
 * installs `Netpoll.scheduler`, which resumes a batch of fibers at a fraction of
 * the default scheduler's cost per fiber.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Netpoll> = Layer.scoped(Netpoll, acquireWith(addon.hasEdgeTriggered))

/**
 * The portable backend, one uv_poll_t per fd, on every platform (with
 * `Netpoll.scheduler`, as `layer`). The default `layer` chooses it where epoll is
 * missing; this one is for comparison and tests.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerUvPoll: Layer.Layer<Netpoll> = Layer.scoped(Netpoll, acquireWith(false))

/**
 * The library's metrics, in Effect's global metric registry, so `Metric.value`,
 * `Metric.snapshot` and any Effect metrics exporter see them. They count for the
 * whole process (each worker thread has its own registry), across every
 * Netpoll layer.
 *
 * Reads and writes update the byte counters with one synchronous call, never
 * with an Effect; `connect` and `accept` also run inside the spans
 * `effect-netpoll.connect` and `effect-netpoll.accept` when tracing is enabled
 * and a tracer other than Effect's built-in one (which records nothing) is installed.
 *
 * - `bytesRead`, `bytesWritten` (`effect_netpoll_bytes_read`, `effect_netpoll_bytes_written`):
 *   bytes moved by `read`, `readExact`, `write`, `writeAll` and the adapters built on them.
 * - `connectionsAccepted` (`effect_netpoll_connections_accepted`): connections returned by `accept`.
 * - `connectionsOpened` (`effect_netpoll_connections_opened`): connections established by `connect`.
 * - `socketsOpen` (`effect_netpoll_sockets_open`): socket fds owned right now: connections,
 *   their clones, listeners, and sockets whose connect is under way.
 *
 * @example
 * ```ts
 * import * as Netpoll from "effect-netpoll/effect3/Netpoll"
 * import { Effect, Metric } from "effect"
 *
 * const report = Effect.gen(function*() {
 *   const read = yield* Metric.value(Netpoll.metrics.bytesRead)
 *   const open = yield* Metric.value(Netpoll.metrics.socketsOpen)
 *   yield* Effect.log(`read ${read.count} bytes, ${open.value} sockets open`)
 * })
 * ```
 * @since 0.2.0
 * @category metrics
 */
export const metrics: {
  readonly bytesRead: Metric.Metric.Counter<number>
  readonly bytesWritten: Metric.Metric.Counter<number>
  readonly connectionsAccepted: Metric.Metric.Counter<number>
  readonly connectionsOpened: Metric.Metric.Counter<number>
  readonly socketsOpen: Metric.Metric.Gauge<number>
} = internalMetrics.metrics
