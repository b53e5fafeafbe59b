import * as fs from "node:fs"
import { expect } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Ref from "effect/Ref"
import * as Netpoll from "../src/Netpoll.js"
import * as TcpListener from "../src/TcpListener.js"
import * as TcpStream from "../src/TcpStream.js"
import { loopTurns, openFds } from "./utils/fds.js"
import { fork } from "./utils/line.js"
import { bound, bytes, echo, text } from "./utils/peers.js"
import { layer } from "./utils/runners.js"

const CONNECTIONS = 2_000

/** Each connection takes two fds here (both ends are in this process). */
const requireFdLimit = Effect.sync(() => {
  const limits = fs.readFileSync("/proc/self/limits", "utf8")
  const soft = Number(/^Max open files\s+(\d+)/m.exec(limits)?.[1] ?? "0")
  expect(soft, `this test needs an fd limit of at least ${2 * CONNECTIONS + 500}`).toBeGreaterThanOrEqual(
    2 * CONNECTIONS + 500
  )
})

const indices = Array.from({ length: CONNECTIONS }, (_, i) => i)

const message = (i: number) => `message ${i} from client ${i}, padded to differ in length: ${"x".repeat(i % 97)}`

const backends = [["epoll", Netpoll.layer], ["uv_poll", Netpoll.layerUvPoll]] as const

for (const [backend, netpollLayer] of backends) {
  layer(netpollLayer)(`scale (${backend})`, (it) => {
    it.effect(`${CONNECTIONS} concurrent connections, each served by its own fiber, all echo exactly what they sent`, () =>
      Effect.gen(function*() {
        yield* requireFdLimit
        const netpoll = yield* Netpoll.Netpoll
        yield* loopTurns
        const fdsBefore = openFds()
        const ownedBefore = netpoll.size

        const echoed = yield* Effect.scoped(Effect.gen(function*() {
          const listener = yield* TcpListener.bind("127.0.0.1:0", { backlog: CONNECTIONS })
          const addr = yield* listener.localAddr
          // Every client waits until all handlers run at once before it talks.
          const active = yield* Ref.make(0)
          const peak = yield* Ref.make(0)
          const allServed = yield* Deferred.make<void>()
          const handler = (stream: TcpStream.TcpStream) =>
            Effect.gen(function*() {
              const now = yield* Ref.updateAndGet(active, (n) => n + 1)
              yield* Ref.update(peak, (p) => Math.max(p, now))
              if (now === CONNECTIONS) yield* Deferred.succeed(allServed, undefined)
              yield* echo(stream)
            }).pipe(Effect.ensuring(Ref.update(active, (n) => n - 1)))
          yield* Effect.forkScoped(TcpListener.serve(listener, handler))

          const replies = yield* bound(
            Effect.forEach(
              indices,
              (i) =>
                Effect.scoped(Effect.gen(function*() {
                  const client = yield* TcpStream.connect(addr)
                  yield* Deferred.await(allServed)
                  yield* client.writeAll(bytes(message(i)))
                  const reply = new Uint8Array(bytes(message(i)).length)
                  yield* client.readExact(reply)
                  return [message(i), text(reply)] as const
                })),
              { concurrency: "unbounded" }
            ),
            `${CONNECTIONS} echo exchanges`,
            "120 seconds"
          )
          expect(yield* Ref.get(peak)).toBe(CONNECTIONS)
          return replies
        }))

        expect(echoed.length).toBe(CONNECTIONS)
        let mismatches = 0
        for (const [sent, received] of echoed) if (sent !== received) mismatches++
        expect(mismatches).toBe(0)
        expect(echoed.map(([sent]) => sent)).toEqual(indices.map(message))

        yield* loopTurns
        expect(openFds()).toBe(fdsBefore)
        expect(netpoll.size).toBe(ownedBefore)
        expect(netpoll.waiting).toBe(0)
      }), 180_000)

    it.effect(`${CONNECTIONS} fibers parked in read at once are each woken with their own peer's bytes`, () =>
      Effect.gen(function*() {
        yield* requireFdLimit
        const netpoll = yield* Netpoll.Netpoll
        yield* loopTurns
        const fdsBefore = openFds()

        yield* Effect.scoped(Effect.gen(function*() {
          const listener = yield* TcpListener.bind("127.0.0.1:0", { backlog: CONNECTIONS })
          const addr = yield* listener.localAddr
          // One connection at a time, so that accept pairs each server end with its client.
          const pairs = yield* bound(
            Effect.forEach(indices, () =>
              Effect.gen(function*() {
                const client = yield* TcpStream.connect(addr)
                const server = yield* listener.accept
                return { client, server }
              })),
            `${CONNECTIONS} connections`,
            "120 seconds"
          )
          expect(openFds()).toBe(fdsBefore + 1 + 2 * CONNECTIONS)

          const waitingBefore = netpoll.waiting
          const readers = yield* Effect.forEach(pairs, ({ server }) =>
            fork(Effect.gen(function*() {
              const buf = new Uint8Array(4)
              yield* server.readExact(buf)
              return new DataView(buf.buffer).getUint32(0)
            })))
          yield* bound(
            Effect.repeat(Effect.sleep("5 millis"), { until: () => netpoll.waiting >= waitingBefore + CONNECTIONS }),
            `${CONNECTIONS} readers parking`,
            "60 seconds"
          )
          expect(netpoll.waiting).toBe(waitingBefore + CONNECTIONS)

          // Wake them in reverse order of parking.
          for (let i = CONNECTIONS - 1; i >= 0; i--) {
            const data = new Uint8Array(4)
            new DataView(data.buffer).setUint32(0, i)
            yield* pairs[i]!.client.writeAll(data)
          }
          const got = yield* bound(Fiber.joinAll(readers), `${CONNECTIONS} readers waking`, "120 seconds")
          expect(got).toEqual(indices)
          expect(netpoll.waiting).toBe(waitingBefore)
        }))

        yield* loopTurns
        expect(openFds()).toBe(fdsBefore)
      }), 180_000)
  })
}
