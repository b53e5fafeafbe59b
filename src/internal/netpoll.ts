import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import type * as Scope from "effect/Scope"
import * as errno from "../core/errno.js"
import * as core from "../core/poller.js"
import type * as NetError from "../NetError.js"
import type * as Netpoll from "../Netpoll.js"
import * as errors from "./errors.js"
import * as metrics from "./metrics.js"

export type { Direction, Pollable, Poller } from "../core/poller.js"

const observe = (fiber: Fiber.Fiber<unknown, unknown>, onEnd: () => void) => {
  fiber.addObserver(onEnd)
}

/** The running fiber's Owner, observed from its first use until the fiber ends. */
export const currentOwner = (): core.Owner => core.ownerOf(Fiber.getCurrent()!, observe)

/**
 * Parks the running fiber until the direction's next readiness edge (or until
 * its lock is free), then runs `retry` in it; a close wakes it with
 * SocketClosed. Effect 4 runs a resumed fiber inside `resume`: the core hands
 * the wake-ups out only once its lists are consistent.
 */
const wait = <A, E>(
  direction: core.Direction,
  retry: Effect.Effect<A, E>,
  forReadiness: boolean
): Effect.Effect<A, E | NetError.SocketClosed> =>
  Effect.callback((resume) => {
    const rc = direction.park(
      currentOwner,
      (closed) => resume(closed ? Effect.fail(errors.closed(direction.syscall)) : retry),
      forReadiness
    )
    if (rc === core.NOW) resume(retry)
    else if (rc === errno.CLOSED) resume(Effect.fail(errors.closed(direction.syscall)))
  })

export const waitReady = <A, E>(direction: core.Direction, retry: Effect.Effect<A, E>) => wait(direction, retry, true)

export const waitTurn = <A, E>(direction: core.Direction, retry: Effect.Effect<A, E>) => wait(direction, retry, false)

/** Closes a Pollable (idempotent), as an effect. */
export const close = (pollable: core.Pollable): Effect.Effect<void> => Effect.sync(() => pollable.close())

/** A poller for the layer's lifetime; its release closes every fd it still owns. */
export const acquire = (edgeTriggered: boolean): Effect.Effect<core.Poller, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.suspend(() => {
      const poller = core.Poller.open(edgeTriggered, metrics.hooks)
      return typeof poller === "number" ? Effect.die(errors.fromCode(poller, "poller_open")) : Effect.succeed(poller)
    }),
    (poller) => Effect.sync(() => poller.shutdown())
  )

/** Every Netpoll service is a Poller: the layers above are its only constructors. */
export const fromService = (service: Netpoll.Netpoll.Service): core.Poller => service as core.Poller
