import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import * as Scheduler from "effect/Scheduler"
import * as Netpoll from "../src/Netpoll.js"
import { bound, eventually } from "./utils/peers.js"

const currentScheduler = FiberRef.get(FiberRef.currentScheduler)

describe("Netpoll.scheduler", () => {
  it.live("the program given Netpoll.layer, and the fibers it forks, run on Netpoll.scheduler", () =>
    Effect.gen(function*() {
      const [own, forked] = yield* Effect.gen(function*() {
        const own = yield* currentScheduler
        const fiber = yield* Effect.fork(currentScheduler)
        return [own, yield* Fiber.join(fiber)] as const
      }).pipe(Effect.provide(Netpoll.layer))
      expect(own).toBe(Netpoll.scheduler)
      expect(forked).toBe(Netpoll.scheduler)
    }))

  it.live("the scheduler in force before the layer comes back once the layer is released", () =>
    Effect.gen(function*() {
      const before = yield* currentScheduler
      yield* Effect.provide(Effect.void, Netpoll.layerUvPoll)
      expect(yield* currentScheduler).toBe(before)
      expect(before).not.toBe(Netpoll.scheduler)
    }))

  it.live("Effect.withScheduler brings Effect's default scheduler back inside the program", () =>
    Effect.gen(function*() {
      const inner = yield* currentScheduler.pipe(
        Effect.withScheduler(Scheduler.defaultScheduler),
        Effect.provide(Netpoll.layer)
      )
      expect(inner).toBe(Scheduler.defaultScheduler)
    }))

  it.live("tasks run in priority order, lowest first, and in order within a priority", () =>
    Effect.gen(function*() {
      const order: Array<string> = []
      yield* Effect.async<void>((resume) => {
        const scheduler = Netpoll.scheduler
        scheduler.scheduleTask(() => order.push("0a"), 0)
        scheduler.scheduleTask(() => order.push("5"), 5)
        scheduler.scheduleTask(() => order.push("-1"), -1)
        scheduler.scheduleTask(() => order.push("0b"), 0)
        scheduler.scheduleTask(() => resume(Effect.void), 10)
      })
      expect(order).toEqual(["-1", "0a", "0b", "5"])
    }))

  it.live("fibers that only yield to each other never starve the event loop's macrotasks", () =>
    Effect.gen(function*() {
      let spins = 0
      const spinner = Effect.forever(Effect.zipRight(Effect.sync(() => spins++), Effect.yieldNow()))
      const fiber = yield* Effect.fork(spinner).pipe(Effect.provide(Netpoll.layer))
      // A timer can only fire once the scheduler hands the thread back to the event loop;
      // it is armed once the spinner runs, and the spinner must go on after it fired.
      yield* eventually(() => spins > 0, "the spinner's first turn")
      const during = yield* bound(
        Effect.promise(() => new Promise<number>((resolve) => setTimeout(() => resolve(spins), 1))),
        "a timer while the spinner runs"
      )
      yield* eventually(() => spins > during, "the spinner still running after the timer")
      yield* Fiber.interrupt(fiber)
    }))
})
