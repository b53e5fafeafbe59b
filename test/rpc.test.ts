/**
 * `effect/rpc` over `effect/socket`: one client/server suite, run over
 * effect-netpoll's layers (TcpStream.layerSocket + TcpListener.layerSocketServer),
 * over `@effect/platform-node` 4.1.5's NodeSocket.layerNet + NodeSocketServer.layer
 * (the reference), and mixed (each client against the other's server), each with
 * ndjson and with a binary serialization. effect 4.1.5 has no msgpack serialization
 * (`RpcSerialization.layerMsgPack` is gone); its binary one is `layerSchemaBinary`.
 */
import { describe, expect, layer } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Rpc from "effect/rpc/Rpc"
import * as RpcClient from "effect/rpc/RpcClient"
import type { RpcClientError } from "effect/rpc/RpcClientError"
import * as RpcGroup from "effect/rpc/RpcGroup"
import * as RpcSerialization from "effect/rpc/RpcSerialization"
import * as RpcServer from "effect/rpc/RpcServer"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as SocketServer from "effect/socket/SocketServer"
import * as Stream from "effect/Stream"
import * as Netpoll from "../src/Netpoll.js"
import { loopTurns, openFds } from "./utils/fds.js"
import { bound, eventually } from "./utils/peers.js"
import { netpoll, nodeSocket, portOf, type Transport } from "./utils/sockets.js"

class Refused extends Schema.TaggedError<Refused>()("Refused", { reason: Schema.String }) {}

const Calculator = RpcGroup.make(
  Rpc.make("Add", { payload: { a: Schema.Number, b: Schema.Number }, success: Schema.Number }),
  Rpc.make("Echo", { payload: { text: Schema.String }, success: Schema.String }),
  Rpc.make("Refuse", { payload: { reason: Schema.String }, error: Refused }),
  Rpc.make("Count", { payload: { to: Schema.Number }, success: Schema.Number, stream: true })
)

const Handlers = Calculator.toLayer({
  Add: ({ a, b }) => Effect.succeed(a + b),
  Echo: ({ text }) => Effect.succeed(text),
  Refuse: ({ reason }) => Effect.fail(new Refused({ reason })),
  Count: ({ to }) => Stream.range(1, to)
})

class Client extends Context.Service<Client, RpcClient.FromGroup<typeof Calculator, RpcClientError>>()("test/Client") {}

/** Which transport serves, and which one the client dials with. */
interface Pairing {
  readonly name: string
  readonly server: Transport
  readonly client: Transport
}

const pairings: ReadonlyArray<Pairing> = [
  { name: "effect-netpoll", server: netpoll, client: netpoll },
  { name: "@effect/platform-node NodeSocket (reference)", server: nodeSocket, client: nodeSocket },
  { name: "an effect-netpoll client and a NodeSocketServer", server: nodeSocket, client: netpoll },
  { name: "a NodeSocket client and an effect-netpoll server", server: netpoll, client: nodeSocket }
]

const serializations = [
  { name: "ndjson", layer: RpcSerialization.layerNdjson },
  { name: "SchemaBinary", layer: RpcSerialization.layerSchemaBinary() }
] as const

/** An RpcServer on the pairing's SocketServer and an RpcClient on its Socket; nothing here knows which. */
const environment = (pairing: Pairing, serialization: Layer.Layer<RpcSerialization.RpcSerialization>) => {
  const server = RpcServer.layer(Calculator).pipe(
    Layer.provide(Handlers),
    Layer.provide(RpcServer.layerProtocolSocketServer)
  )
  const client = Layer.unwrap(Effect.map(SocketServer.SocketServer, ({ address }) =>
    Layer.effect(Client, RpcClient.make(Calculator)).pipe(
      Layer.provide(RpcClient.layerProtocolSocket()),
      Layer.provide(pairing.client.layerSocket({ host: "127.0.0.1", port: portOf(address) }))
    )))
  return Layer.merge(server, client).pipe(
    Layer.provide(pairing.server.layerServer({ host: "127.0.0.1", port: 0 })),
    Layer.provide(serialization),
    Layer.provide(Netpoll.layer)
  )
}

for (const pairing of pairings) {
  for (const serialization of serializations) {
    // Real sockets, real clock: the test services (TestClock) are left out.
    layer(environment(pairing, serialization.layer), { excludeTestServices: true })(
      `effect/rpc over ${pairing.name} with ${serialization.name}`,
      (it) => {
        it.effect("a unary call returns its result", () =>
          Effect.gen(function*() {
            const client = yield* Client
            expect(yield* bound(client.Add({ a: 2, b: 3 }), "Add")).toBe(5)
          }))

        it.effect("a failing call fails with its typed error", () =>
          Effect.gen(function*() {
            const client = yield* Client
            const error = yield* bound(Effect.flip(client.Refuse({ reason: "no" })), "Refuse")
            expect(error).toBeInstanceOf(Refused)
            expect(error).toEqual(new Refused({ reason: "no" }))
          }))

        it.effect("a streaming call delivers every element in order", () =>
          Effect.gen(function*() {
            const client = yield* Client
            const counted = yield* bound(Stream.runCollect(client.Count({ to: 200 })), "Count")
            expect(counted).toEqual(Array.from({ length: 200 }, (_, i) => i + 1))
          }))

        it.effect("a payload larger than one read (~300 KB) arrives whole, multi-byte characters included", () =>
          Effect.gen(function*() {
            const client = yield* Client
            const text = "0123456789é€😀".repeat(16_000) // 19 bytes × 16,000 = 304 KB
            expect(yield* bound(client.Echo({ text }), "Echo")).toBe(text)
          }))

        it.effect("50 concurrent calls each get their own result", () =>
          Effect.gen(function*() {
            const client = yield* Client
            const sums = yield* bound(
              Effect.forEach(Array.from({ length: 50 }, (_, i) => i), (i) => client.Add({ a: i, b: i }), {
                concurrency: "unbounded"
              }),
              "Add x50"
            )
            expect(sums).toEqual(Array.from({ length: 50 }, (_, i) => 2 * i))
          }))
      }
    )
  }
}

describe("resources", () => {
  for (const pairing of pairings) {
    layer(Layer.empty, { excludeTestServices: true })(`effect/rpc over ${pairing.name}`, (it) => {
      it.effect("closing the rpc layers closes every socket: fds return to their count before", () =>
        Effect.gen(function*() {
          yield* loopTurns
          const before = openFds()
          const scope = yield* Scope.make()
          const context = yield* Layer.buildWithScope(environment(pairing, RpcSerialization.layerNdjson), scope)
          const client = Context.get(context, Client)
          expect(yield* bound(client.Add({ a: 1, b: 1 }), "Add")).toBe(2)
          // At least the listener, the client's connection and the server's end of it
          // (the environment's own Netpoll holds its epoll fd too).
          expect(openFds()).toBeGreaterThanOrEqual(before + 3)
          yield* Scope.close(scope, Exit.void)
          yield* loopTurns
          // net.Socket closes its fd in a libuv close callback, a turn or more after destroy.
          if (pairing.server.ours && pairing.client.ours) expect(openFds()).toBe(before)
          else yield* eventually(() => openFds() === before, "NodeSocket's fds closing")
        }))
    })
  }
})
