import * as fs from "node:fs"
import { expect } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as Netpoll from "../src/Netpoll.js"
import * as TcpListener from "../src/TcpListener.js"
import * as TcpStream from "../src/TcpStream.js"
import { fork } from "./utils/line.js"
import { bound, eventually, failures, netServer } from "./utils/peers.js"
import { live } from "./utils/runners.js"

// The layer closes (from fiber A) after B's connect was woken by its writability
// event but before B ran: B must see SocketClosed and never touch the fd, whose
// number the odd rounds hand to /dev/null.
live("a connect resumed just before the Netpoll layer closes fails with SocketClosed", () =>
  Effect.gen(function*() {
    const results: Array<string> = []
    const opened: Array<number> = []
    for (let round = 0; round < 20; round++) {
      const reuse = round % 2 === 1
      const layerScope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(Layer.fresh(Netpoll.layer), layerScope)
      const exit = yield* Effect.gen(function*() {
        const netpoll = yield* Netpoll.Netpoll
        const listener = yield* TcpListener.bind("127.0.0.1:0")
        const { port } = yield* listener.localAddr
        const target = yield* TcpListener.bind("127.0.0.1:0") // never accepted: connects complete in the backlog
        const targetPort = (yield* target.localAddr).port
        const [client, server] = yield* bound(
          Effect.all([TcpStream.connect({ host: "127.0.0.1", port }), listener.accept], { concurrency: 2 })
        )
        const reopen = Effect.sync(() => {
          if (reuse) for (let i = 0; i < 8; i++) opened.push(fs.openSync("/dev/null", "r"))
        })
        const a = yield* fork(
          server.read(new Uint8Array(8)).pipe(
            Effect.andThen(Scope.close(layerScope, Exit.void)),
            Effect.andThen(reopen)
          )
        )
        yield* eventually(() => netpoll.waiting >= 1, "A parking in read")
        // A's fd becomes readable first, then B's connect completes: one epoll batch, A before B.
        yield* client.write(new Uint8Array([1]))
        const b = yield* fork(Effect.scoped(TcpStream.connect({ host: "127.0.0.1", port: targetPort })))
        yield* bound(Fiber.join(a))
        return yield* bound(Fiber.await(b))
      }).pipe(Effect.scoped, Effect.provide(context))
      yield* Scope.close(layerScope, Exit.void)
      for (const fd of opened.splice(0)) fs.closeSync(fd)
      if (Exit.isSuccess(exit)) results.push("Success")
      else {
        const [error] = failures(exit.cause)
        results.push(
          error === undefined
            ? Cause.pretty(exit.cause)
            : `${error._tag}:${error.errno ?? error.syscall}`
        )
      }
    }
    expect(results.filter((r) => !r.startsWith("SocketClosed"))).toEqual([])
  }))

/** The sockets this process has open, by inode. */
const sockets = (): Array<string> =>
  fs.readdirSync("/proc/self/fd").flatMap((fd) => {
    try {
      const target = fs.readlinkSync(`/proc/self/fd/${fd}`)
      return target.startsWith("socket:") ? [target] : []
    } catch {
      return []
    }
  })

// Effect 4 runs a fiber woken with SocketClosed inside the layer's close: one
// that connects again at once must be refused, not handed an fd that nothing
// would close.
live("a fiber woken by the Netpoll layer's close that connects again is refused and leaves no fd open", () =>
  Effect.gen(function*() {
    const port = yield* netServer((socket) => socket.on("end", () => socket.destroy()))
    const before = sockets()
    const layerScope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(Layer.fresh(Netpoll.layer), layerScope)
    const netpoll = Context.get(context, Netpoll.Netpoll)
    const connectAndRead = Effect.exit(
      Effect.scoped(Effect.flatMap(TcpStream.connect({ host: "127.0.0.1", port }), (s) => s.read(new Uint8Array(1))))
    )
    const client = yield* fork(
      Effect.provide(
        Effect.flatMap(connectAndRead, (first) => Effect.map(connectAndRead, (again) => [first, again] as const)),
        context
      )
    )
    yield* eventually(() => netpoll.waiting >= 1, "the client parking in read")
    yield* Scope.close(layerScope, Exit.void)
    const [first, again] = yield* bound(Fiber.join(client))
    expect([first, again].map((exit) => Exit.isFailure(exit) ? failures(exit.cause).map((e) => e._tag) : "Success"))
      .toEqual([["SocketClosed"], ["SocketClosed"]])
    expect(netpoll.size).toBe(0)
    // Every socket open now was open before: none of the client's survived the layer.
    yield* eventually(() => sockets().every((socket) => before.includes(socket)), "every client socket closed")
  }))
