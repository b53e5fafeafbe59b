import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Scheduler from "effect/Scheduler"
import { describe, expect, it } from "tstyche"
import type * as NetError from "../src/NetError.js"
import * as Netpoll from "../src/Netpoll.js"
import * as TcpStream from "../src/TcpStream.js"

describe("Netpoll", () => {
  it("layer and layerUvPoll provide Netpoll and need nothing", () => {
    expect(Netpoll.layer).type.toBe<Layer.Layer<Netpoll.Netpoll>>()
    expect(Netpoll.layerUvPoll).type.toBe<Layer.Layer<Netpoll.Netpoll>>()
  })

  it("scheduler is an Effect Scheduler, for Effect.withScheduler and Layer.setScheduler", () => {
    expect(Netpoll.scheduler).type.toBe<Scheduler.Scheduler>()
    expect(Effect.withScheduler).type.toBeCallableWith(Netpoll.scheduler)
  })

  it("the service exposes its backend and counters", () => {
    expect<Netpoll.Netpoll.Service>().type.toBe<{
      readonly backend: "epoll" | "uv_poll"
      readonly size: number
      readonly waiting: number
    }>()
    const program = Effect.map(Netpoll.Netpoll, (netpoll) => netpoll.backend)
    expect(program).type.toBe<Effect.Effect<"epoll" | "uv_poll", never, Netpoll.Netpoll>>()
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
})
