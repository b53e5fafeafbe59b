import * as fs from "node:fs"
import { describe, expect } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as Netpoll from "../src/Netpoll.js"
import * as TcpListener from "../src/TcpListener.js"
import * as TcpStream from "../src/TcpStream.js"
import { isOpen, loopTurns, openFds } from "./utils/fds.js"
import { fork, yieldNow } from "./utils/line.js"
import { bound, interruptAndAwait, isInterrupted, poll } from "./utils/peers.js"
import { layer } from "./utils/runners.js"

const ITERATIONS = 200

type NetpollService = (typeof Netpoll.Netpoll)["Service"]

const times = <A, E, R>(n: number, f: (i: number) => Effect.Effect<A, E, R>) =>
  Effect.forEach(Array.from({ length: n }, (_, i) => i), f, { discard: true })

/** Waits until at least `count` more fibers than `base` are parked on `netpoll`. */
const awaitParked = (netpoll: NetpollService, base: number, count = 1) =>
  bound(
    Effect.repeat(Effect.sleep("1 millis"), { until: () => netpoll.waiting >= base + count }),
    "parking"
  )

/** What a leak would change: open fds, fds owned by the Netpoll, parked fibers. */
const snapshot = Effect.andThen(
  loopTurns,
  Effect.map(Netpoll.Netpoll, (netpoll) => ({ fds: openFds(), owned: netpoll.size, waiting: netpoll.waiting }))
)

const connectedPair = (listener: TcpListener.TcpListener) =>
  Effect.gen(function*() {
    const addr = yield* listener.localAddr
    const client = yield* bound(TcpStream.connect(addr))
    const server = yield* bound(listener.accept)
    return { client, server }
  })

/** Whether `fiber` parked on `netpoll` (more than `base` waiters) before it finished. */
const parksOrFinishes = <A, E>(netpoll: NetpollService, base: number, fiber: Fiber.Fiber<A, E>) =>
  bound(
    Effect.repeat(
      Effect.andThen(
        Effect.sleep("1 millis"),
        Effect.map(poll(fiber), (done) => done !== undefined ? "finished" as const : "running" as const)
      ),
      { until: (state) => state === "finished" || netpoll.waiting > base }
    ),
    "a write that parks or finishes"
  ).pipe(Effect.map((state) => state === "running"))

/**
 * Writes from `stream` until a write of `chunk` suspends: the connection's
 * buffers are full, and stay nearly full as long as the peer reads nothing.
 */
const fillSendBuffer = (netpoll: NetpollService, stream: TcpStream.TcpStream, chunk: Uint8Array) =>
  Effect.gen(function*() {
    const idle = netpoll.waiting
    const bulk = yield* fork(stream.writeAll(new Uint8Array(64 * 1024 * 1024)))
    yield* awaitParked(netpoll, idle)
    yield* bound(Fiber.interrupt(bulk), "interruption")
    while (true) {
      const base = netpoll.waiting
      const writer = yield* fork(stream.write(chunk))
      const parked = yield* parksOrFinishes(netpoll, base, writer)
      yield* bound(Fiber.interrupt(writer), "interruption")
      if (parked) return
    }
  })

const backends = [["epoll", Netpoll.layer], ["uv_poll", Netpoll.layerUvPoll]] as const

for (const [backend, netpollLayer] of backends) {
  layer(netpollLayer)(`leaks (${backend})`, (it) => {
    describe("fds are closed", () => {
      it.effect(`${ITERATIONS} connect, accept and close cycles leave no fd behind`, () =>
        Effect.gen(function*() {
          const listener = yield* TcpListener.bind("127.0.0.1:0")
          const before = yield* snapshot
          yield* times(ITERATIONS, (i) =>
            Effect.scoped(Effect.gen(function*() {
              const { client, server } = yield* connectedPair(listener)
              expect(openFds()).toBe(before.fds + 2)
              yield* client.writeAll(new Uint8Array([i & 0xff]))
              const buf = new Uint8Array(1)
              yield* bound(server.readExact(buf))
              expect(buf[0]).toBe(i & 0xff)
            })))
          expect(yield* snapshot).toEqual(before)
        }))

      it.effect("after close, the stream's and the listener's fds are no longer open", () =>
        Effect.gen(function*() {
          const before = yield* snapshot
          const listener = yield* TcpListener.bind("127.0.0.1:0")
          const { client, server } = yield* connectedPair(listener)
          const clone = yield* client.tryClone
          const fds = [listener.fd, client.fd, server.fd, clone.fd]
          expect(new Set(fds).size).toBe(4)
          for (const fd of fds) expect(isOpen(fd)).toBe(true)
          yield* client.close
          expect(isOpen(client.fd)).toBe(false)
          expect(isOpen(clone.fd)).toBe(true)
          yield* clone.close
          yield* server.close
          yield* listener.close
          for (const fd of fds) expect(isOpen(fd)).toBe(false)
          expect(yield* snapshot).toEqual(before)
          // Closing again, and the Scope's own close after this test, close nothing more.
          yield* client.close
          yield* listener.close
          expect(yield* snapshot).toEqual(before)
        }))

      it.effect(`${ITERATIONS} tryClone and close cycles leave no fd behind`, () =>
        Effect.gen(function*() {
          const listener = yield* TcpListener.bind("127.0.0.1:0")
          const { client, server } = yield* connectedPair(listener)
          const before = yield* snapshot
          yield* times(ITERATIONS, (i) =>
            Effect.gen(function*() {
              // Half of the clones close with their Scope, half explicitly first.
              yield* Effect.scoped(Effect.gen(function*() {
                const clone = yield* client.tryClone
                expect(openFds()).toBe(before.fds + 1)
                yield* clone.writeAll(new Uint8Array([i & 0xff]))
                if (i % 2 === 0) {
                  yield* clone.close
                  expect(openFds()).toBe(before.fds)
                }
              }))
              const buf = new Uint8Array(1)
              yield* bound(server.readExact(buf))
              expect(buf[0]).toBe(i & 0xff)
            }))
          expect(yield* snapshot).toEqual(before)
        }))

      it.effect(`${ITERATIONS} refused connects close their fds`, () =>
        Effect.gen(function*() {
          const port = yield* Effect.scoped(
            Effect.flatMap(TcpListener.bind("127.0.0.1:0"), (l) => Effect.map(l.localAddr, (a) => a.port))
          )
          const before = yield* snapshot
          yield* times(ITERATIONS, () =>
            Effect.gen(function*() {
              const error = yield* Effect.flip(bound(TcpStream.connect({ host: "127.0.0.1", port })))
              expect(error._tag).toBe("ConnectionRefused")
            }))
          expect(yield* snapshot).toEqual(before)
        }))

      it.effect(`${ITERATIONS} failed binds close their fds`, () =>
        Effect.gen(function*() {
          const taken = yield* TcpListener.bind("127.0.0.1:0")
          const { port } = yield* taken.localAddr
          const before = yield* snapshot
          yield* times(ITERATIONS, (i) =>
            Effect.gen(function*() {
              const error = yield* Effect.flip(
                i % 2 === 0 ? TcpListener.bind({ host: "127.0.0.1", port }) : TcpListener.bind("192.0.2.1:0")
              )
              expect(error._tag).toBe(i % 2 === 0 ? "AddressInUse" : "AddressNotAvailable")
            }))
          expect(yield* snapshot).toEqual(before)
        }))
    })

    describe("interrupted calls", () => {
      it.effect("a connect interrupted while the handshake is pending closes its half-open fd at once", () =>
        Effect.gen(function*() {
          const netpoll = yield* Netpoll.Netpoll
          // With backlog 1 the kernel queues two handshakes and drops further SYNs,
          // so a third connect stays pending for as long as nobody accepts.
          const listener = yield* TcpListener.bind("127.0.0.1:0", { backlog: 1 })
          const addr = yield* listener.localAddr
          yield* bound(TcpStream.connect(addr))
          yield* bound(TcpStream.connect(addr))
          const before = yield* snapshot
          yield* times(ITERATIONS, (i) =>
            Effect.gen(function*() {
              const connecting = yield* fork(Effect.scoped(TcpStream.connect(addr)))
              yield* awaitParked(netpoll, before.waiting)
              expect(openFds()).toBe(before.fds + 1)
              if (i === 0) {
                yield* Effect.sleep("100 millis")
                expect(yield* poll(connecting)).toBe(undefined)
              }
              const exit = yield* bound(interruptAndAwait(connecting), "interruption")
              expect(isInterrupted(exit)).toBe(true)
              // Inside the still-open outer Scope: the half-open fd is already gone.
              expect(yield* snapshot).toEqual(before)
            }))
          expect(yield* snapshot).toEqual(before)
        }))

      it.effect(`${ITERATIONS} connects interrupted right after they were forked leave no fd behind`, () =>
        Effect.gen(function*() {
          const listener = yield* TcpListener.bind("127.0.0.1:0")
          const addr = yield* listener.localAddr
          const before = yield* snapshot
          yield* times(ITERATIONS, (i) =>
            Effect.gen(function*() {
              // A connect that wins the race closes with its own Scope; one that loses closes at once.
              const connecting = yield* fork(Effect.scoped(TcpStream.connect(addr)))
              for (let k = 0; k < i % 4; k++) yield* yieldNow
              yield* bound(Fiber.interrupt(connecting), "interruption")
              expect(yield* snapshot).toEqual(before)
            }))
        }))

      it.effect(`${ITERATIONS} accepts interrupted while waiting leave no fd and no waiter behind`, () =>
        Effect.gen(function*() {
          const netpoll = yield* Netpoll.Netpoll
          const listener = yield* TcpListener.bind("127.0.0.1:0")
          const before = yield* snapshot
          yield* times(ITERATIONS, () =>
            Effect.gen(function*() {
              const accepting = yield* fork(Effect.scoped(listener.accept))
              yield* awaitParked(netpoll, before.waiting)
              yield* bound(Fiber.interrupt(accepting), "interruption")
              expect(yield* snapshot).toEqual(before)
            }))
          // The listener still works.
          const { client, server } = yield* connectedPair(listener)
          expect(String(yield* server.peerAddr)).toBe(String(yield* client.localAddr))
        }))

      it.effect(`${ITERATIONS} reads and writes interrupted while waiting leave no fd and no waiter behind`, () =>
        Effect.gen(function*() {
          const netpoll = yield* Netpoll.Netpoll
          const listener = yield* TcpListener.bind("127.0.0.1:0")
          const { client, server } = yield* connectedPair(listener)
          const buf = new Uint8Array(1024)
          const chunk = new Uint8Array(64 * 1024)
          yield* fillSendBuffer(netpoll, client, chunk)
          const before = yield* snapshot
          let parkedWrites = 0
          yield* times(ITERATIONS, () =>
            Effect.gen(function*() {
              const reading = yield* fork(client.read(buf))
              yield* awaitParked(netpoll, before.waiting)
              // Now and then the kernel still finds room for a write; most writes park.
              const writing = yield* fork(client.write(chunk))
              if (yield* parksOrFinishes(netpoll, before.waiting + 1, writing)) parkedWrites++
              yield* bound(Fiber.interrupt(reading), "interruption")
              yield* bound(Fiber.interrupt(writing), "interruption")
              expect(yield* snapshot).toEqual(before)
            }))
          expect(parkedWrites).toBeGreaterThan(ITERATIONS / 2)
          // The connection still works both ways: the peer drains, then writes.
          yield* server.shutdown("read")
          yield* server.writeAll(new Uint8Array([7]))
          const one = new Uint8Array(1)
          yield* bound(client.readExact(one))
          expect(one[0]).toBe(7)
          expect(yield* snapshot).toEqual(before)
        }))
    })

    describe("closing the Netpoll layer", () => {
      it.effect("closes every fd it still owns, wakes parked fibers with SocketClosed, and never touches reused fd numbers", () =>
        Effect.gen(function*() {
          yield* loopTurns
          const fdsBefore = openFds()
          const layerScope = yield* Scope.make()
          const context = yield* Layer.buildWithScope(Layer.fresh(netpollLayer), layerScope)
          // The epoll backend owns two fds of its own: the epoll instance and the
          // eventfd that proves the instance is still its own.
          const fdsWithLayer = openFds()
          expect(fdsWithLayer).toBe(fdsBefore + (backend === "epoll" ? 2 : 0))
          // The streams' own Scope stays open across the layer's close.
          const streamScope = yield* Scope.make()
          const { clone, client, listener, server } = yield* Effect.gen(function*() {
            const listener = yield* TcpListener.bind("127.0.0.1:0")
            const { client, server } = yield* connectedPair(listener)
            const clone = yield* server.tryClone
            return { clone, client, listener, server }
          }).pipe(Effect.provideService(Scope.Scope, streamScope), Effect.provide(context))
          const fds = [listener.fd, client.fd, server.fd, clone.fd]
          expect(openFds()).toBe(fdsWithLayer + 4)

          const service = Context.get(context, Netpoll.Netpoll)
          expect(service.size).toBe(4)
          const reading = yield* fork(Effect.flip(client.read(new Uint8Array(16))))
          yield* awaitParked(service, 0)
          const accepting = yield* fork(Effect.flip(listener.accept.pipe(Effect.provideService(Scope.Scope, streamScope))))
          yield* awaitParked(service, 0, 2)

          yield* Scope.close(layerScope, Exit.void)
          // The sockets close at once; the epoll fd in libuv's close callback, a loop turn later.
          expect(openFds()).toBe(fdsWithLayer)
          for (const fd of fds) expect(isOpen(fd)).toBe(false)
          expect((yield* bound(Fiber.join(reading)))._tag).toBe("SocketClosed")
          expect((yield* bound(Fiber.join(accepting)))._tag).toBe("SocketClosed")
          expect(service.waiting).toBe(0)
          expect(service.size).toBe(0)

          // Later calls fail with SocketClosed, empty ones included.
          expect((yield* Effect.flip(server.write(new Uint8Array(1))))._tag).toBe("SocketClosed")
          expect((yield* Effect.flip(server.read(new Uint8Array(0))))._tag).toBe("SocketClosed")
          expect((yield* Effect.flip(clone.write(new Uint8Array(0))))._tag).toBe("SocketClosed")
          expect((yield* Effect.flip(Effect.scoped(listener.accept)))._tag).toBe("SocketClosed")

          // The kernel hands the freed numbers out again; closing the streams'
          // Scope now must leave those new fds alone.
          yield* loopTurns
          expect(openFds()).toBe(fdsBefore)
          const reused: Array<number> = []
          while (!fds.every((fd) => reused.includes(fd)) && reused.length < 64) {
            reused.push(fs.openSync("/dev/null", "r"))
          }
          for (const fd of fds) expect(reused).toContain(fd)
          yield* Scope.close(streamScope, Exit.void)
          for (const fd of reused) expect(isOpen(fd)).toBe(true)
          for (const fd of reused) fs.closeSync(fd)
          expect(openFds()).toBe(fdsBefore)
        }))

      it.effect("wakes a connect whose handshake is pending with SocketClosed and closes its fd", () =>
        Effect.gen(function*() {
          // Backlog 1 and two queued handshakes: further SYNs are dropped.
          const listener = yield* TcpListener.bind("127.0.0.1:0", { backlog: 1 })
          const addr = yield* listener.localAddr
          yield* bound(TcpStream.connect(addr))
          yield* bound(TcpStream.connect(addr))
          yield* loopTurns
          const fdsBefore = openFds()
          const layerScope = yield* Scope.make()
          const context = yield* Layer.buildWithScope(Layer.fresh(netpollLayer), layerScope)
          const service = Context.get(context, Netpoll.Netpoll)
          const fdsWithLayer = openFds()
          const connecting = yield* fork(
            Effect.flip(Effect.scoped(TcpStream.connect(addr))).pipe(Effect.provide(context))
          )
          yield* awaitParked(service, 0)
          expect(openFds()).toBe(fdsWithLayer + 1)
          yield* Scope.close(layerScope, Exit.void)
          expect(openFds()).toBe(fdsWithLayer)
          expect((yield* bound(Fiber.join(connecting)))._tag).toBe("SocketClosed")
          yield* loopTurns
          expect(openFds()).toBe(fdsBefore)
        }))

      it.effect("a connect after the layer closed fails with SocketClosed and leaves no fd", () =>
        Effect.gen(function*() {
          const listener = yield* TcpListener.bind("127.0.0.1:0")
          const addr = yield* listener.localAddr
          yield* loopTurns
          const fdsBefore = openFds()
          const layerScope = yield* Scope.make()
          const context = yield* Layer.buildWithScope(Layer.fresh(netpollLayer), layerScope)
          yield* Scope.close(layerScope, Exit.void)
          const error = yield* Effect.flip(Effect.scoped(TcpStream.connect(addr)).pipe(Effect.provide(context)))
          expect(error._tag).toBe("SocketClosed")
          yield* loopTurns
          expect(openFds()).toBe(fdsBefore)
        }))
    })
  })
}
