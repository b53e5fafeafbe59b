import { describe, expect, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Netpoll from "../src/Netpoll.js"
import * as TcpListener from "../src/TcpListener.js"
import * as TcpStream from "../src/TcpStream.js"
import { loopTurns, openFds } from "./utils/fds.js"
import { bound, eventually, failureTag, interruptAndAwait, isInterrupted, pair } from "./utils/peers.js"
import { loopbackAttributes, named, recordingTracer } from "./utils/tracer.js"

// Each test file runs in its own process (vitest.config.ts: pool "forks"), so the
// global metric registry sees only this file's sockets, and the tests of a file
// run one at a time: a delta read around a test's own exchange is exact.

type AddressInput = Parameters<typeof TcpStream.connect>[0]

const count = (metric: Metric.Counter<number>) => Effect.map(Metric.value(metric), (state) => state.count)

const gaugeValue = Effect.map(Metric.value(Netpoll.metrics.socketsOpen), (state) => state.value)

/** Every counter at once, to assert that an exchange moved exactly the ones it should. */
const counters = Effect.all({
  bytesRead: count(Netpoll.metrics.bytesRead),
  bytesWritten: count(Netpoll.metrics.bytesWritten),
  connectionsAccepted: count(Netpoll.metrics.connectionsAccepted),
  connectionsOpened: count(Netpoll.metrics.connectionsOpened),
  socketsOpen: gaugeValue
})

const delta = <A extends Record<string, number>>(before: A, after: A): A =>
  Object.fromEntries(Object.keys(before).map((key) => [key, after[key]! - before[key]!])) as A

/** A port with nothing listening: bound once, then released. */
const closedPort = Effect.scoped(
  Effect.flatMap(TcpListener.bind("127.0.0.1:0"), (listener) => Effect.map(listener.localAddr, (a) => a.port))
)

layer(Netpoll.layer, { excludeTestServices: true })("metrics", (it) => {
  describe("counters", () => {
    it.effect("a 1000-byte writeAll and readExact add exactly 1000 to bytesWritten and bytesRead", () =>
      Effect.gen(function*() {
        const { client, server } = yield* pair()
        const message = new Uint8Array(1000).fill(7)
        const before = yield* counters
        yield* client.writeAll(message)
        yield* bound(server.readExact(new Uint8Array(1000)))
        expect(delta(before, yield* counters)).toEqual({
          bytesRead: 1000,
          bytesWritten: 1000,
          connectionsAccepted: 0,
          connectionsOpened: 0,
          socketsOpen: 0
        })
      }))

    it.effect("read and write count the bytes they return, and an empty call or end of stream counts none", () =>
      Effect.gen(function*() {
        const { client, server } = yield* pair()
        const before = yield* counters
        const written = yield* client.write(new Uint8Array(64))
        expect(yield* client.write(new Uint8Array(0))).toBe(0)
        let read = 0
        const buf = new Uint8Array(64)
        while (read < written) read += yield* bound(server.read(buf))
        expect(yield* server.read(new Uint8Array(0))).toBe(0)
        yield* client.shutdown("write")
        expect(yield* bound(server.read(buf))).toBe(0)
        const after = yield* counters
        expect([written, read]).toEqual([64, 64])
        expect(after.bytesWritten - before.bytesWritten).toBe(64)
        expect(after.bytesRead - before.bytesRead).toBe(64)
      }))

    it.effect("a writeAll and readExact larger than the socket buffers count every byte exactly once", () =>
      Effect.gen(function*() {
        const { client, server } = yield* pair()
        // Larger than loopback's socket buffers together, so both calls park part-way.
        const size = 32 * 1024 * 1024
        const before = yield* counters
        const writer = yield* Effect.forkChild(client.writeAll(new Uint8Array(size)))
        yield* bound(server.readExact(new Uint8Array(size)), "readExact of 32 MiB")
        yield* bound(Fiber.join(writer), "writeAll of 32 MiB")
        const after = yield* counters
        expect(after.bytesWritten - before.bytesWritten).toBe(size)
        expect(after.bytesRead - before.bytesRead).toBe(size)
      }))

    it.effect("a readExact cut short by end of stream counts the bytes it did read", () =>
      Effect.gen(function*() {
        const { client, server } = yield* pair()
        const before = yield* counters
        yield* client.writeAll(new Uint8Array(10))
        yield* client.shutdown("write")
        const error = yield* Effect.flip(bound(server.readExact(new Uint8Array(100))))
        expect(error._tag).toBe("UnexpectedEof")
        const after = yield* counters
        expect(after.bytesRead - before.bytesRead).toBe(10)
      }))

    it.effect("each connect and accept counts one opened and one accepted connection", () =>
      Effect.gen(function*() {
        const listener = yield* TcpListener.bind("127.0.0.1:0")
        const addr = yield* listener.localAddr
        const before = yield* counters
        for (let i = 0; i < 3; i++) {
          yield* bound(Effect.all([TcpStream.connect(addr), listener.accept], { concurrency: 2 }))
        }
        const after = delta(before, yield* counters)
        expect(after.connectionsOpened).toBe(3)
        expect(after.connectionsAccepted).toBe(3)
        expect(after.socketsOpen).toBe(6)
      }))

    it.effect("a refused connect counts no connection and leaves no socket open", () =>
      Effect.gen(function*() {
        const port = yield* closedPort
        const before = yield* counters
        yield* loopTurns
        const fds = openFds()
        const error = yield* Effect.flip(bound(Effect.scoped(TcpStream.connect({ host: "127.0.0.1", port }))))
        expect(error._tag).toBe("ConnectionRefused")
        yield* loopTurns
        expect(delta(before, yield* counters)).toEqual({
          bytesRead: 0,
          bytesWritten: 0,
          connectionsAccepted: 0,
          connectionsOpened: 0,
          socketsOpen: 0
        })
        expect(openFds()).toBe(fds)
      }))
  })

  describe("socketsOpen", () => {
    it.effect("counts listeners, connections and clones while their Scope is open, and returns to its baseline after", () =>
      Effect.gen(function*() {
        const baseline = yield* gaugeValue
        yield* loopTurns
        const fds = openFds()
        const scope = yield* Scope.make()
        const { client } = yield* Scope.provide(pair(), scope)
        expect(yield* gaugeValue).toBe(baseline + 3)
        yield* Scope.provide(client.tryClone, scope)
        expect(yield* gaugeValue).toBe(baseline + 4)
        yield* client.close
        yield* client.close
        expect(yield* gaugeValue).toBe(baseline + 3)
        yield* Scope.close(scope, Exit.void)
        expect(yield* gaugeValue).toBe(baseline)
        yield* loopTurns
        expect(openFds()).toBe(fds)
      }))

    it.effect("closing a Netpoll layer with sockets still open returns it to its baseline", () =>
      Effect.gen(function*() {
        const baseline = yield* gaugeValue
        const layerScope = yield* Scope.make()
        const context = yield* Layer.buildWithScope(Layer.fresh(Netpoll.layer), layerScope)
        // The streams' own scope stays open: only the layer's release closes them.
        const streams = yield* Scope.make()
        yield* Scope.provide(pair(), streams).pipe(Effect.provide(context))
        expect(yield* gaugeValue).toBe(baseline + 3)
        yield* Scope.close(layerScope, Exit.void)
        expect(yield* gaugeValue).toBe(baseline)
        yield* Scope.close(streams, Exit.void)
        expect(yield* gaugeValue).toBe(baseline)
      }))
  })

  describe("registry", () => {
    it.effect("every metric is in the global registry under its effect_netpoll_ name, with a description", () =>
      Effect.gen(function*() {
        // One exchange first, so that every metric has been used in this process.
        const { client, server } = yield* pair()
        yield* client.writeAll(new Uint8Array([1]))
        yield* bound(server.readExact(new Uint8Array(1)))
        const snapshots = yield* Metric.snapshot
        const ours = snapshots
          .filter((snapshot) => snapshot.id.startsWith("effect_netpoll_"))
          .map((snapshot) => ({
            name: snapshot.id,
            description: snapshot.description !== undefined && snapshot.description.length > 0,
            type: snapshot.type
          }))
          .sort((a, b) => a.name.localeCompare(b.name))
        expect(ours).toEqual([
          { name: "effect_netpoll_bytes_read", description: true, type: "Counter" },
          { name: "effect_netpoll_bytes_written", description: true, type: "Counter" },
          { name: "effect_netpoll_connections_accepted", description: true, type: "Counter" },
          { name: "effect_netpoll_connections_opened", description: true, type: "Counter" },
          { name: "effect_netpoll_sockets_open", description: true, type: "Gauge" }
        ])
      }))
  })

  describe("spans", () => {
    it.effect("connect and accept run in spans named with the server and the peer", () =>
      Effect.gen(function*() {
        const { spans, tracer } = recordingTracer()
        const listener = yield* TcpListener.bind("127.0.0.1:0")
        const { port } = yield* listener.localAddr
        const [client] = yield* bound(
          Effect.all([TcpStream.connect(`127.0.0.1:${port}`), listener.accept], { concurrency: 2 }).pipe(
            Effect.withSpan("parent"),
            Effect.withTracer(tracer)
          )
        )
        const clientPort = (yield* client.localAddr).port
        const [parent] = named(spans, "parent")
        const [connect, ...moreConnects] = named(spans, "effect-netpoll.connect")
        const [accept, ...moreAccepts] = named(spans, "effect-netpoll.accept")
        expect([spans.length, moreConnects.length, moreAccepts.length]).toEqual([3, 0, 0])
        expect(connect!.kind).toBe("client")
        expect(Object.fromEntries(connect!.attributes)).toEqual(loopbackAttributes(port, port))
        expect(accept!.kind).toBe("server")
        expect(Object.fromEntries(accept!.attributes)).toEqual(loopbackAttributes(port, clientPort))
        for (const span of [connect!, accept!]) {
          expect(Option.getOrUndefined(span.parent)).toBe(parent)
          expect(span.exit !== undefined && Exit.isSuccess(span.exit)).toBe(true)
        }
      }))

    const connects = [
      {
        title: "a connect span names the host as given and the IPv6 peer it reached",
        bind: "[::1]:0",
        dial: (port: number): AddressInput => ({ host: "::1", port }),
        server: "::1",
        peer: "::1",
        type: "ipv6"
      },
      {
        title: "a connect by host name keeps the name as server.address and the address it reached as the peer",
        bind: "127.0.0.1:0",
        dial: (port: number): AddressInput => `localhost:${port}`,
        server: "localhost",
        peer: "127.0.0.1",
        type: "ipv4"
      }
    ] as const
    for (const { bind, dial, peer, server, title, type } of connects) {
      it.effect(title, () =>
        Effect.gen(function*() {
          const { spans, tracer } = recordingTracer()
          const listener = yield* TcpListener.bind(bind)
          const { port } = yield* listener.localAddr
          yield* bound(
            Effect.all([TcpStream.connect(dial(port)), listener.accept], { concurrency: 2 }).pipe(
              Effect.withTracer(tracer)
            )
          )
          const [connect] = named(spans, "effect-netpoll.connect")
          expect(Object.fromEntries(connect!.attributes)).toEqual({
            "network.transport": "tcp",
            "server.address": server,
            "server.port": port,
            "network.peer.address": peer,
            "network.peer.port": port,
            "network.type": type
          })
          const [accept] = named(spans, "effect-netpoll.accept")
          expect(accept!.attributes.get("server.address")).toBe(peer)
          expect(accept!.attributes.get("network.type")).toBe(type)
        }))
    }

    it.effect("spans that are not sampled get no peer attributes, and connect and accept still succeed", () =>
      Effect.gen(function*() {
        const { spans, tracer } = recordingTracer(false)
        const listener = yield* TcpListener.bind("127.0.0.1:0")
        const { port } = yield* listener.localAddr
        const [client, server] = yield* bound(
          Effect.all([TcpStream.connect(`127.0.0.1:${port}`), listener.accept], { concurrency: 2 }).pipe(
            Effect.withTracer(tracer)
          )
        )
        expect((yield* client.peerAddr).port).toBe(port)
        expect((yield* server.peerAddr).port).toBe((yield* client.localAddr).port)
        expect(spans.map((span) => [span.name, [...span.attributes.keys()].sort()]).sort()).toEqual([
          ["effect-netpoll.accept", ["network.transport", "server.address", "server.port"]],
          ["effect-netpoll.connect", ["network.transport", "server.address", "server.port"]]
        ])
        expect(spans.every((span) => span.exit !== undefined && Exit.isSuccess(span.exit))).toBe(true)
      }))

    it.effect("with tracing disabled no span reaches the tracer, and the counters still count", () =>
      Effect.gen(function*() {
        const { spans, tracer } = recordingTracer()
        const listener = yield* TcpListener.bind("127.0.0.1:0")
        const addr = yield* listener.localAddr
        const before = yield* counters
        yield* bound(
          Effect.all([TcpStream.connect(addr), listener.accept], { concurrency: 2 }).pipe(
            Effect.withTracerEnabled(false),
            Effect.withTracer(tracer)
          )
        )
        const after = delta(before, yield* counters)
        expect(spans).toEqual([])
        expect([after.connectionsOpened, after.connectionsAccepted]).toEqual([1, 1])
      }))

    it.effect("a malformed address fails with InvalidAddress, and its span keeps only what it could read", () =>
      Effect.gen(function*() {
        const { spans, tracer } = recordingTracer()
        const inputs = [null, { host: 7, port: "x" }, 42] as unknown as ReadonlyArray<string>
        for (const input of inputs) {
          const error = yield* Effect.flip(Effect.scoped(TcpStream.connect(input)).pipe(Effect.withTracer(tracer)))
          expect([input, error._tag]).toEqual([input, "InvalidAddress"])
        }
        expect(spans.map((span) => Object.fromEntries(span.attributes))).toEqual([
          { "network.transport": "tcp" },
          { "network.transport": "tcp" },
          { "network.transport": "tcp" }
        ])
        expect(spans.map((span) => failureTag(span.exit))).toEqual(Array(3).fill("InvalidAddress"))
      }))

    it.effect("a refused connect ends its span with the ConnectionRefused failure and no peer", () =>
      Effect.gen(function*() {
        const { spans, tracer } = recordingTracer()
        const port = yield* closedPort
        const error = yield* Effect.flip(
          bound(Effect.scoped(TcpStream.connect(`127.0.0.1:${port}`)).pipe(Effect.withTracer(tracer)))
        )
        expect(error._tag).toBe("ConnectionRefused")
        expect(spans.map((span) => span.name)).toEqual(["effect-netpoll.connect"])
        const [connect] = spans
        expect(Object.fromEntries(connect!.attributes)).toEqual({
          "network.transport": "tcp",
          "server.address": "127.0.0.1",
          "server.port": port
        })
        expect(failureTag(connect!.exit)).toBe("ConnectionRefused")
      }))

    it.effect("an invalid address ends the connect span with InvalidAddress", () =>
      Effect.gen(function*() {
        const { spans, tracer } = recordingTracer()
        const error = yield* Effect.flip(
          Effect.scoped(TcpStream.connect("127.0.0.1:99999")).pipe(Effect.withTracer(tracer))
        )
        expect(error._tag).toBe("InvalidAddress")
        const [connect] = spans
        expect(connect!.name).toBe("effect-netpoll.connect")
        expect(Object.fromEntries(connect!.attributes)).toEqual({
          "network.transport": "tcp",
          "server.address": "127.0.0.1"
        })
        expect(failureTag(connect!.exit)).toBe("InvalidAddress")
      }))

    it.effect("an accept on a closed listener ends its span with SocketClosed", () =>
      Effect.gen(function*() {
        const { spans, tracer } = recordingTracer()
        const listener = yield* TcpListener.bind("127.0.0.1:0")
        yield* listener.close
        const error = yield* Effect.flip(Effect.scoped(listener.accept).pipe(Effect.withTracer(tracer)))
        expect(error._tag).toBe("SocketClosed")
        expect(spans.map((span) => span.name)).toEqual(["effect-netpoll.accept"])
        expect(failureTag(spans[0]!.exit)).toBe("SocketClosed")
      }))

    it.effect("an interrupted accept ends its span interrupted", () =>
      Effect.gen(function*() {
        const { spans, tracer } = recordingTracer()
        const netpoll = yield* Netpoll.Netpoll
        const listener = yield* TcpListener.bind("127.0.0.1:0")
        const idle = netpoll.waiting
        const fiber = yield* Effect.forkChild(Effect.scoped(listener.accept).pipe(Effect.withTracer(tracer)))
        yield* eventually(() => netpoll.waiting > idle, "an accept parking")
        yield* bound(interruptAndAwait(fiber))
        const exit = spans[0]!.exit
        expect(spans.map((span) => span.name)).toEqual(["effect-netpoll.accept"])
        expect(exit !== undefined && isInterrupted(exit)).toBe(true)
      }))
  })
})
