/**
 * A poller whose epoll fd fails (DESIGN §4.10): closed behind its back by a
 * double close elsewhere in the process, then perhaps reused. Every parked
 * fiber fails with a typed error, the failure is logged, nothing more is
 * parked or registered, the loop never spins, and the layer's close leaves the
 * number alone: it is no longer the poller's. Epoll backend only: the portable
 * backend owns no fd of its own.
 */
import * as fs from "node:fs"
import * as net from "node:net"
import { expect } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as Netpoll from "../src/Netpoll.js"
import * as TcpListener from "../src/TcpListener.js"
import * as TcpStream from "../src/TcpStream.js"
import { fdTargets } from "./utils/fds.js"
import { captureLogs, fork } from "./utils/line.js"
import { bound, eventually } from "./utils/peers.js"
import { live } from "./utils/runners.js"

/** A fresh epoll Netpoll in its own scope, with its epoll fd's number and the logs it writes. */
const freshPoller = Effect.gen(function*() {
  const before = fdTargets()
  const logs = captureLogs()
  const scope = yield* Scope.make()
  const context = yield* Layer.buildWithScope(Layer.fresh(Netpoll.layer).pipe(Layer.provide(logs.layer)), scope)
  const epfd = [...fdTargets()].find(([fd, target]) => target === "anon_inode:[eventpoll]" && !before.has(fd))?.[0]
  if (epfd === undefined) throw new Error("the layer's epoll fd was not found in /proc/self/fd")
  return { context, epfd, logs, scope, service: Context.get(context, Netpoll.Netpoll) }
})

/** A connected client and its accepted peer on the given Netpoll. */
const connected = Effect.gen(function*() {
  const listener = yield* TcpListener.bind("127.0.0.1:0")
  const [client, server] = yield* bound(
    Effect.all([TcpStream.connect(yield* listener.localAddr), listener.accept], { concurrency: 2 })
  )
  return { client, listener, server }
})

live("an epoll fd closed behind the poller's back fails every parked fiber, is logged, and is never closed again", () =>
  Effect.gen(function*() {
    const { context, epfd, logs, scope, service } = yield* freshPoller
    const streams = yield* Scope.make()
    const { client, listener } = yield* connected.pipe(
      Effect.provideService(Scope.Scope, streams),
      Effect.provide(context)
    )
    const reading = yield* fork(Effect.flip(client.read(new Uint8Array(8))))
    const accepting = yield* fork(Effect.flip(Effect.scoped(listener.accept)))
    yield* eventually(() => service.waiting === 2, "two fibers parked")

    fs.closeSync(epfd)
    // No event says so: the poller's own check finds out, within its interval.
    const errors = [yield* bound(Fiber.join(reading), "the read's failure"), yield* bound(Fiber.join(accepting), "the accept's failure")]
    for (const error of errors) expect(error).toMatchObject({ _tag: "SystemError", syscall: "epoll_wait", errno: "EBADF" })
    expect(service.waiting).toBe(0)
    yield* eventually(() => logs.entries.some((entry) => entry.level === "Error"), "the failure logged")

    // Nothing waits on it any more: a call that would park fails at once, a new socket is refused.
    const read = yield* bound(Effect.flip(client.read(new Uint8Array(8))))
    expect(read).toMatchObject({ _tag: "SystemError", errno: "EBADF" })
    const address = yield* listener.localAddr
    const connect = yield* bound(Effect.flip(Effect.scoped(TcpStream.connect(address)).pipe(Effect.provide(context))))
    expect(connect._tag).toBe("SystemError")
    expect(service.size).toBe(3)

    // The number is someone else's now: closing the layer (and the streams) leaves it open.
    const other = fs.openSync("/dev/null", "r")
    expect(other).toBe(epfd)
    yield* Scope.close(streams, Exit.void)
    yield* Scope.close(scope, Exit.void)
    expect(fdTargets().get(other)).toBe("/dev/null")
    fs.closeSync(other)
    expect(service.size).toBe(0)
  }))

live("an epoll fd number reused by a socket libuv watches fails the poller instead of spinning the loop", () =>
  Effect.gen(function*() {
    const { context, epfd, scope, service } = yield* freshPoller
    const streams = yield* Scope.make()
    const { client } = yield* connected.pipe(Effect.provideService(Scope.Scope, streams), Effect.provide(context))
    const reading = yield* fork(Effect.flip(client.read(new Uint8Array(8))))
    yield* eventually(() => service.waiting === 1, "a fiber parked")

    fs.closeSync(epfd)
    const server = net.createServer((socket) => socket.end("hello"))
    yield* Effect.promise(() => new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve)))
    expect(fdTargets().get(epfd)).toMatch(/^socket:/)
    // A connection makes the reused number readable: libuv hands the event to the poller's handle.
    const peer = net.connect((server.address() as net.AddressInfo).port, "127.0.0.1")
    peer.on("error", () => {})
    const error = yield* bound(Fiber.join(reading), "the parked fiber's failure")
    expect(error).toMatchObject({ _tag: "SystemError", syscall: "epoll_wait" })

    const cpu = process.cpuUsage()
    const started = Date.now()
    yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 500)))
    const used = process.cpuUsage(cpu)
    const elapsed = Date.now() - started
    // A spinning loop uses a whole core; an idle one a few percent.
    expect((used.user + used.system) / 1000).toBeLessThan(elapsed / 2)

    peer.destroy()
    yield* Effect.promise(() => new Promise((resolve) => server.close(resolve)))
    yield* Scope.close(streams, Exit.void)
    yield* Scope.close(scope, Exit.void)
    expect(service.size).toBe(0)
  }))
