import { describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as Netpoll from "../src/Netpoll.js"
import * as TcpListener from "../src/TcpListener.js"
import * as TcpStream from "../src/TcpStream.js"
import { loopTurns, openFds } from "./utils/fds.js"
import { bound, eventually, interruptAndAwait, isInterrupted } from "./utils/peers.js"

// The Netpoll service itself: its key, its backends and its two counters.
// (The Effect 3 line's Netpoll.scheduler has no Effect 4 counterpart.)

const backends = [["epoll", Netpoll.layer], ["uv_poll", Netpoll.layerUvPoll]] as const

describe("Netpoll", () => {
  it("is a Context service under the key effect-netpoll/Netpoll", () => {
    expect(Netpoll.Netpoll.key).toBe("effect-netpoll/Netpoll")
  })

  for (const [backend, netpollLayer] of backends) {
    it.live(`the ${backend} layer's service reports its backend, and size and waiting start at 0`, () =>
      Effect.gen(function*() {
        const service = yield* Effect.provide(Netpoll.Netpoll, netpollLayer)
        expect({ backend: service.backend, size: service.size, waiting: service.waiting }).toEqual({
          backend,
          size: 0,
          waiting: 0
        })
      }))

    it.live(`size counts the fds the ${backend} Netpoll owns: listeners, streams and clones, until they close`, () =>
      Effect.gen(function*() {
        const scope = yield* Scope.make()
        const context = yield* Layer.buildWithScope(Layer.fresh(netpollLayer), scope)
        const service = Context.get(context, Netpoll.Netpoll)
        const sizes = yield* Effect.scoped(Effect.gen(function*() {
          const sizes: Array<number> = [service.size]
          const listener = yield* TcpListener.bind("127.0.0.1:0")
          sizes.push(service.size)
          const client = yield* bound(TcpStream.connect(yield* listener.localAddr))
          yield* bound(listener.accept)
          sizes.push(service.size)
          const clone = yield* client.tryClone
          sizes.push(service.size)
          yield* clone.close
          sizes.push(service.size)
          return sizes
        })).pipe(Effect.provide(context))
        expect(sizes).toEqual([0, 1, 3, 4, 3])
        expect(service.size).toBe(0)
        yield* Scope.close(scope, Exit.void)
      }))

    it.live(`waiting counts the fibers parked on the ${backend} Netpoll, and drops as they wake or are interrupted`, () =>
      Effect.gen(function*() {
        const scope = yield* Scope.make()
        const context = yield* Layer.buildWithScope(Layer.fresh(netpollLayer), scope)
        const service = Context.get(context, Netpoll.Netpoll)
        yield* Effect.scoped(Effect.gen(function*() {
          const listener = yield* TcpListener.bind("127.0.0.1:0")
          // The accepted stream stays open in this Scope, so the client's read below has to wait.
          const accepting = yield* Effect.forkChild(listener.accept)
          yield* eventually(() => service.waiting === 1, "an accept parking")
          const client = yield* bound(TcpStream.connect(yield* listener.localAddr))
          yield* bound(Fiber.join(accepting))
          expect(service.waiting).toBe(0)
          const reader = yield* Effect.forkChild(client.read(new Uint8Array(1)))
          yield* eventually(() => service.waiting === 1, "a read parking")
          const exit = yield* bound(interruptAndAwait(reader))
          expect(isInterrupted(exit)).toBe(true)
          expect(service.waiting).toBe(0)
        })).pipe(Effect.provide(context))
        yield* Scope.close(scope, Exit.void)
      }))
  }

  it.live("two Netpoll layers built side by side keep their own fds and counters", () =>
    Effect.gen(function*() {
      yield* loopTurns
      const fds = openFds()
      const scope = yield* Scope.make()
      const one = yield* Layer.buildWithScope(Layer.fresh(Netpoll.layer), scope)
      const two = yield* Layer.buildWithScope(Layer.fresh(Netpoll.layer), scope)
      const first = Context.get(one, Netpoll.Netpoll)
      const second = Context.get(two, Netpoll.Netpoll)
      expect(first).not.toBe(second)
      const listener = yield* TcpListener.bind("127.0.0.1:0").pipe(Scope.provide(scope), Effect.provide(one))
      yield* TcpStream.connect(yield* listener.localAddr).pipe(Scope.provide(scope), Effect.provide(two))
      expect([first.size, second.size]).toEqual([1, 1])
      yield* Scope.close(scope, Exit.void)
      expect([first.size, second.size]).toEqual([0, 0])
      yield* loopTurns
      expect(openFds()).toBe(fds)
    }))

  it.live("fibers that only yield to each other under a Netpoll layer never starve the event loop's macrotasks", () =>
    Effect.gen(function*() {
      let spins = 0
      const spinner = Effect.forever(Effect.andThen(Effect.sync(() => spins++), Effect.yieldNow))
      const fiber = yield* Effect.forkChild(spinner).pipe(Effect.provide(Netpoll.layer))
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
