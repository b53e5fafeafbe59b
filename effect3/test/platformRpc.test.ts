import * as NodeSocket from "@effect/platform-node/NodeSocket"
import * as NodeSocketServer from "@effect/platform-node/NodeSocketServer"
import type * as Socket from "@effect/platform/Socket"
import * as SocketServer from "@effect/platform/SocketServer"
import * as Rpc from "@effect/rpc/Rpc"
import * as RpcClient from "@effect/rpc/RpcClient"
import type { RpcClientError } from "@effect/rpc/RpcClientError"
import * as RpcGroup from "@effect/rpc/RpcGroup"
import * as RpcSerialization from "@effect/rpc/RpcSerialization"
import * as RpcServer from "@effect/rpc/RpcServer"
import { describe, expect, layer } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Netpoll from "../src/Netpoll.js"
import * as TcpListener from "../src/TcpListener.js"
import * as TcpStream from "../src/TcpStream.js"
import { loopTurns, openFds } from "./utils/fds.js"
import { bound } from "./utils/peers.js"

class Refused extends Schema.TaggedError<Refused>()("Refused", { reason: Schema.String }) {}

class Calculator extends RpcGroup.make(
  Rpc.make("Add", { payload: { a: Schema.Number, b: Schema.Number }, success: Schema.Number }),
  Rpc.make("Echo", { payload: { text: Schema.String }, success: Schema.String }),
  Rpc.make("Refuse", { payload: { reason: Schema.String }, error: Refused }),
  Rpc.make("Count", { payload: { to: Schema.Number }, success: Schema.Number, stream: true })
) {}

const Handlers = Calculator.toLayer({
  Add: ({ a, b }) => Effect.succeed(a + b),
  Echo: ({ text }) => Effect.succeed(text),
  Refuse: ({ reason }) => new Refused({ reason }),
  Count: ({ to }) => Stream.range(1, to)
})

class Client extends Context.Tag("test/Client")<Client, RpcClient.FromGroup<typeof Calculator, RpcClientError>>() {}

/** A SocketServer and the Socket that dials it: the pair of layers a suite runs over. */
interface Transport {
  readonly name: string
  readonly server: Layer.Layer<SocketServer.SocketServer, unknown>
  readonly socket: (port: number) => Layer.Layer<Socket.Socket, unknown>
}

const transports: ReadonlyArray<Transport> = [
  {
    name: "effect-netpoll",
    server: TcpListener.layerSocketServer("127.0.0.1:0").pipe(Layer.provide(Netpoll.layer)),
    socket: (port) => TcpStream.layerSocket({ host: "127.0.0.1", port }).pipe(Layer.provide(Netpoll.layer))
  },
  {
    name: "@effect/platform-node NodeSocket (reference)",
    server: NodeSocketServer.layer({ host: "127.0.0.1", port: 0 }),
    socket: (port) => NodeSocket.layerNet({ host: "127.0.0.1", port })
  }
]

const serializations = [
  { name: "ndjson", layer: RpcSerialization.layerNdjson },
  { name: "msgpack", layer: RpcSerialization.layerMsgPack }
] as const

/** An RpcServer on the transport's SocketServer and an RpcClient on its Socket; nothing here knows which. */
const environment = (transport: Transport, serialization: Layer.Layer<RpcSerialization.RpcSerialization>) => {
  const server = RpcServer.layer(Calculator).pipe(
    Layer.provide(Handlers),
    Layer.provide(RpcServer.layerProtocolSocketServer)
  )
  const client = Layer.unwrapEffect(Effect.map(SocketServer.SocketServer, ({ address }) => {
    if (address._tag !== "TcpAddress") throw new Error(`expected a TcpAddress, got ${address._tag}`)
    return Layer.scoped(Client, RpcClient.make(Calculator)).pipe(
      Layer.provide(RpcClient.layerProtocolSocket()),
      Layer.provide(transport.socket(address.port))
    )
  }))
  return Layer.merge(server, client).pipe(Layer.provide(transport.server), Layer.provide(serialization))
}

for (const transport of transports) {
  for (const serialization of serializations) {
    layer(environment(transport, serialization.layer), { excludeTestServices: true })(
      `@effect/rpc over ${transport.name} with ${serialization.name}`,
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
            expect(Chunk.toReadonlyArray(counted)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1))
          }))

        // ASCII, because RpcSerialization's ndjson decodes each chunk on its own and so
        // splits a multi-byte character that spans two reads, over NodeSocket as well.
        it.effect("a payload larger than one read arrives whole", () =>
          Effect.gen(function*() {
            const client = yield* Client
            const text = "0123456789".repeat(30_000)
            expect(yield* bound(client.Echo({ text }), "Echo")).toBe(text)
          }))

        it.effect("concurrent calls each get their own result", () =>
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
  layer(Netpoll.layer, { excludeTestServices: true })("@effect/rpc over effect-netpoll", (it) => {
    it.effect("closing the rpc layers closes every socket: fds return to their count before", () =>
      Effect.gen(function*() {
        yield* loopTurns
        const before = openFds()
        const scope = yield* Scope.make()
        const context = yield* Layer.buildWithScope(environment(transports[0], RpcSerialization.layerNdjson), scope)
        const client = Context.get(context, Client)
        expect(yield* bound(client.Add({ a: 1, b: 1 }), "Add")).toBe(2)
        // At least the listener, the client's connection and the server's end of it
        // (the environment's own Netpoll may hold more).
        expect(openFds()).toBeGreaterThanOrEqual(before + 3)
        yield* Scope.close(scope, Exit.void)
        yield* loopTurns
        expect(openFds()).toBe(before)
      }))
  })
})
