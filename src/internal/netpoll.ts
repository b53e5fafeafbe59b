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

const settleOnEnd = (fiber: runtime.AnyFiber, owner: core.poller.Owner): void =>
  runtime.observe(fiber, () => owner.settle())

/** The running fiber's Owner, observed from its first use until the fiber ends. */
export const currentOwner = (): core.poller.Owner => core.poller.ownerOf(runtime.currentFiber(), settleOnEnd)

/**
 * Parks the running fiber until the direction's next readiness edge (or until
 * its lock is free), then runs `retry` in it; a close wakes it with
 * SocketClosed, a failed poller with a SystemError naming the errno. Effect 4 runs a resumed fiber inside `resume`: the core hands
 * the wake-ups out only once its lists are consistent.
 */
const wait = <A, E>(
  direction: Direction,
  retry: Effect.Effect<A, E>,
  forReadiness: boolean
): Effect.Effect<A, E | NetError.NetError> =>
  runtime.async<A, E | NetError.NetError>((resume) => {
    const rc = direction.park(currentOwner, resume as (next: unknown) => void, retry, forReadiness)
    if (rc === core.poller.NOW) resume(retry)
    else if (rc !== core.poller.PARKED) resume(waitFailure(direction, rc))
  })

/** A wait that ends in an error: the handle's close, or the poller's own failure. */
const waitFailure = (direction: Direction, code: number): Effect.Effect<never, NetError.NetError> =>
  Effect.fail(
    code === core.errno.CLOSED
      ? errors.closed(direction.syscall)
      : errors.fromCode(code, core.poller.parkSyscall(direction.pollable.poller, code))
  )

export const waitReady = <A, E>(direction: Direction, retry: Effect.Effect<A, E>) => wait(direction, retry, true)

export const waitTurn = <A, E>(direction: Direction, retry: Effect.Effect<A, E>) => wait(direction, retry, false)

/** Closes a Pollable (idempotent), as an effect. */
export const close = (pollable: Pollable): Effect.Effect<void> => Effect.sync(() => pollable.close())

/**
 * A poller for the layer's lifetime; its release closes every fd it still owns.
 * A failure of the poller itself is logged from a fiber of the layer's scope,
 * so it reaches the program's logger. That fiber is forked first, so that the
 * scope's close shuts the poller down (at once, in its own step) before it
 * interrupts the fiber (which may let other fibers run).
 */
export const acquire = (edgeTriggered: boolean): Effect.Effect<Poller, never, Scope.Scope> =>
  Effect.gen(function*() {
    let failure: number | undefined = undefined
    let report: ((code: number) => void) | undefined = undefined
    const failed = runtime.async<NetError.NetError>((resume) => {
      report = (code) => resume(Effect.succeed(errors.fromCode(code, core.poller.FAILED_SYSCALL)))
      if (failure !== undefined) report(failure)
    })
    yield* Effect.forkIn(
      Effect.flatMap(failed, (error) =>
        Effect.logError("Netpoll: the poller failed; its parked fibers fail and it parks no more", error)),
      yield* Effect.scope
    )
    const poller = yield* Effect.acquireRelease(
      Effect.suspend(() => {
        const poller = core.poller.Poller.open(edgeTriggered, metrics.hooks)
        return typeof poller === "number" ? Effect.die(errors.fromCode(poller, "poller_open")) : Effect.succeed(poller)
      }),
      (poller) => Effect.sync(() => poller.shutdown())
    )
    poller.failedWait = waitFailure
    poller.onFailure = (code) => {
      failure = code
      report?.(code)
    }
    return poller
  })

/** Every Netpoll service is a Poller: the layers above are its only constructors. */
export const fromService = (service: Netpoll.Netpoll.Service): Poller => service as Poller

/** Whether a core result is a Pollable (and not an error code or failure). */
export const isPollable = (u: unknown): u is Pollable => u instanceof core.poller.Pollable
