/**
 * Parking fibers on the core's directions. Shared by both Effect lines: the
 * Effect 3 line compiles this same file against its own `effect`.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type * as NetError from "../NetError.js"
import type * as Netpoll from "../Netpoll.js"
import * as core from "./core.js"
import * as errors from "./errors.js"
import * as metrics from "./metrics.js"
import * as runtime from "./runtime.js"

export type Direction = core.poller.Direction
export type Pollable = core.poller.Pollable
export type Poller = core.poller.Poller

/** The running fiber's Owner, observed from its first use until the fiber ends. */
export const currentOwner = (): core.poller.Owner => core.poller.ownerOf(runtime.currentFiber(), runtime.observe)

/**
 * Parks the running fiber until the direction's next readiness edge (or until
 * its lock is free), then runs `retry` in it; a close wakes it with
 * SocketClosed. Effect 4 runs a resumed fiber inside `resume`: the core hands
 * the wake-ups out only once its lists are consistent.
 */
const wait = <A, E>(
  direction: Direction,
  retry: Effect.Effect<A, E>,
  forReadiness: boolean
): Effect.Effect<A, E | NetError.SocketClosed> =>
  runtime.async<A, E | NetError.SocketClosed>((resume) => {
    const rc = direction.park(
      currentOwner,
      (closed) => resume(closed ? Effect.fail(errors.closed(direction.syscall)) : retry),
      forReadiness
    )
    if (rc === core.poller.NOW) resume(retry)
    else if (rc === core.errno.CLOSED) resume(Effect.fail(errors.closed(direction.syscall)))
  })

export const waitReady = <A, E>(direction: Direction, retry: Effect.Effect<A, E>) => wait(direction, retry, true)

export const waitTurn = <A, E>(direction: Direction, retry: Effect.Effect<A, E>) => wait(direction, retry, false)

/** Closes a Pollable (idempotent), as an effect. */
export const close = (pollable: Pollable): Effect.Effect<void> => Effect.sync(() => pollable.close())

/** A poller for the layer's lifetime; its release closes every fd it still owns. */
export const acquire = (edgeTriggered: boolean): Effect.Effect<Poller, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.suspend(() => {
      const poller = core.poller.Poller.open(edgeTriggered, metrics.hooks)
      return typeof poller === "number" ? Effect.die(errors.fromCode(poller, "poller_open")) : Effect.succeed(poller)
    }),
    (poller) => Effect.sync(() => poller.shutdown())
  )

/** Every Netpoll service is a Poller: the layers above are its only constructors. */
export const fromService = (service: Netpoll.Netpoll.Service): Poller => service as Poller

/** Whether a core result is a Pollable (and not an error code or failure). */
export const isPollable = (u: unknown): u is Pollable => u instanceof core.poller.Pollable
