import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Published from "effect-netpoll/Netpoll"
import { describe, expect, it } from "tstyche"
import type * as NetError from "../src/NetError.js"
import * as Netpoll from "../src/Netpoll.js"
import * as TcpStream from "../src/TcpStream.js"

declare const service: Netpoll.Netpoll.Service

describe("Netpoll", () => {
  it("is a Context.Service keyed effect-netpoll/Netpoll", () => {
    expect(Netpoll.Netpoll).type.toBeAssignableTo<Context.Key<Netpoll.Netpoll, Netpoll.Netpoll.Service>>()
    expect(Netpoll.Netpoll).type.toBeAssignableTo<Context.Service<Netpoll.Netpoll, Netpoll.Netpoll.Service>>()
    expect(Netpoll.Netpoll.key).type.toBe<"effect-netpoll/Netpoll">()
  })

  it("the service exposes its backend and counters", () => {
    expect<Netpoll.Netpoll.Service>().type.toBe<{
      readonly backend: "epoll" | "uv_poll"
      readonly size: number
      readonly waiting: number
    }>()
    // @ts-expect-error Cannot assign to 'backend' because it is a read-only property
    service.backend = "epoll"
  })

  it("the service class is itself an Effect that needs Netpoll", () => {
    expect(Effect.map(Netpoll.Netpoll, (netpoll) => netpoll.backend)).type.toBe<
      Effect.Effect<"epoll" | "uv_poll", never, Netpoll.Netpoll>
    >()
    expect(Netpoll.Netpoll.use((netpoll) => Effect.succeed(netpoll.size))).type.toBe<
      Effect.Effect<number, never, Netpoll.Netpoll>
    >()
    expect(Effect.serviceOption(Netpoll.Netpoll)).type.toBeAssignableTo<Effect.Effect<unknown>>()
  })

  it("a stub service can be provided with Layer.succeed", () => {
    expect(Layer.succeed(Netpoll.Netpoll, { backend: "uv_poll", size: 0, waiting: 0 })).type.toBe<
      Layer.Layer<Netpoll.Netpoll>
    >()
    expect(Layer.succeed(Netpoll.Netpoll)).type.not.toBeCallableWith({ backend: "kqueue", size: 0, waiting: 0 })
  })
})

describe("Netpoll layers", () => {
  it("layer and layerUvPoll provide Netpoll, cannot fail and need nothing", () => {
    expect(Netpoll.layer).type.toBe<Layer.Layer<Netpoll.Netpoll>>()
    expect(Netpoll.layerUvPoll).type.toBe<Layer.Layer<Netpoll.Netpoll>>()
  })

  it("providing the layer to a scoped connect leaves no requirements", () => {
    const program = Effect.scoped(TcpStream.connect("127.0.0.1:1")).pipe(Effect.provide(Netpoll.layer))
    expect(program).type.toBe<Effect.Effect<TcpStream.TcpStream, NetError.NetError>>()
  })

  it("a connect cannot run without the layer and a Scope", () => {
    expect(Effect.runPromise).type.not.toBeCallableWith(TcpStream.connect("127.0.0.1:1"))
    expect(Effect.runPromise).type.not.toBeCallableWith(Effect.scoped(TcpStream.connect("127.0.0.1:1")))
    expect(Effect.runPromise).type.not.toBeCallableWith(
      TcpStream.connect("127.0.0.1:1").pipe(Effect.provide(Netpoll.layer))
    )
  })

  it("the published declarations carry the same service and layers (run `npm run build` first)", () => {
    expect(Published.Netpoll).type.toBe(Netpoll.Netpoll)
    expect(Published.layer).type.toBe(Netpoll.layer)
    expect(Published.layerUvPoll).type.toBe(Netpoll.layerUvPoll)
  })
})
