import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import * as Option from "effect/Option"
import type * as Scheduler from "effect/Scheduler"
import type * as Scope from "effect/Scope"
import * as errno from "../../../dist/core/errno.js"
import * as core from "../../../dist/core/poller.js"
import type * as NetError from "../NetError.js"
import type * as Netpoll from "../Netpoll.js"
import * as errors from "./errno.js"
import * as metrics from "./metrics.js"

export type { Direction, Pollable, Poller } from "../../../dist/core/poller.js"

type AnyFiber = Fiber.RuntimeFiber<unknown, unknown>

const observe = (fiber: AnyFiber, onEnd: () => void) => fiber.addObserver(onEnd)

/** The running fiber's Owner, observed from its first use until the fiber ends. */
export const currentOwner = (): core.Owner =>
  core.ownerOf(Option.getOrThrow(Fiber.getCurrentFiber()) as AnyFiber, observe)

/**
 * Parks the running fiber until the direction's next readiness edge (or until
 * its lock is free), then runs `retry` in it; a close wakes it with SocketClosed.
 */
const wait = <A, E>(
  direction: core.Direction,
  retry: Effect.Effect<A, E>,
  forReadiness: boolean
): Effect.Effect<A, E | NetError.SocketClosed> =>
  Effect.async((resume) => {
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

/**
 * A poller for the layer's lifetime, with `scheduler` installed for the fibers
 * of the program it is provided to; its release closes every fd it still owns,
 * in the same fiber, before the scheduler is restored.
 */
export const acquireWith = (
  edgeTriggered: boolean,
  scheduler: Scheduler.Scheduler
): Effect.Effect<core.Poller, never, Scope.Scope> =>
  Effect.zipRight(
    Effect.locallyScoped(FiberRef.currentScheduler, scheduler),
    Effect.acquireRelease(
      Effect.suspend(() => {
        const poller = core.Poller.open(edgeTriggered, metrics.hooks)
        return typeof poller === "number" ? Effect.die(errors.fromCode(poller, "poller_open")) : Effect.succeed(poller)
      }),
      (poller) => Effect.sync(() => poller.shutdown())
    )
  )

/** Every Netpoll service is a Poller: the layers above are its only constructors. */
export const fromService = (service: Netpoll.Netpoll.Service): core.Poller => service as core.Poller
