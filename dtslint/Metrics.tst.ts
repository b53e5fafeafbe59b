import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as Published from "effect-netpoll/Netpoll"
import { describe, expect, it } from "tstyche"
import * as Netpoll from "../src/Netpoll.js"

describe("Netpoll.metrics", () => {
  it("the byte and connection metrics are number counters", () => {
    expect(Netpoll.metrics.bytesRead).type.toBe<Metric.Counter<number>>()
    expect(Netpoll.metrics.bytesWritten).type.toBe<Metric.Counter<number>>()
    expect(Netpoll.metrics.connectionsAccepted).type.toBe<Metric.Counter<number>>()
    expect(Netpoll.metrics.connectionsOpened).type.toBe<Metric.Counter<number>>()
  })

  it("socketsOpen is a number gauge", () => {
    expect(Netpoll.metrics.socketsOpen).type.toBe<Metric.Gauge<number>>()
  })

  it("holds exactly the five metrics", () => {
    expect<keyof typeof Netpoll.metrics>().type.toBe<
      "bytesRead" | "bytesWritten" | "connectionsAccepted" | "connectionsOpened" | "socketsOpen"
    >()
  })

  it("Metric.value reads a counter's count and the gauge's value without requirements", () => {
    expect(Metric.value(Netpoll.metrics.bytesRead)).type.toBe<Effect.Effect<Metric.CounterState<number>>>()
    expect(Metric.value(Netpoll.metrics.socketsOpen)).type.toBe<Effect.Effect<Metric.GaugeState<number>>>()
    expect(Effect.map(Metric.value(Netpoll.metrics.bytesWritten), (state) => state.count)).type.toBe<
      Effect.Effect<number>
    >()
    expect(Effect.map(Metric.value(Netpoll.metrics.socketsOpen), (state) => state.value)).type.toBe<
      Effect.Effect<number>
    >()
  })

  it("the metrics are read-only and take numbers, not bigints", () => {
    expect(Netpoll.metrics).type.not.toBeAssignableTo<{ bytesRead: Metric.Counter<bigint> }>()
    expect(Metric.update).type.not.toBeCallableWith(Netpoll.metrics.bytesRead, 1n)
    // @ts-expect-error Cannot assign to 'bytesRead' because it is a read-only property
    Netpoll.metrics.bytesRead = Metric.counter("other")
  })

  it("the published declarations carry the same metrics (run `npm run build` first)", () => {
    expect(Published.metrics).type.toBe(Netpoll.metrics)
  })
})
