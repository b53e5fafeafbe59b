import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import type * as MetricState from "effect/MetricState"
import { describe, expect, it } from "tstyche"
import * as Published from "effect-netpoll/effect3/Netpoll"
import * as Netpoll from "../src/Netpoll.js"

describe("Netpoll.metrics", () => {
  it("the byte and connection metrics are number counters", () => {
    expect(Netpoll.metrics.bytesRead).type.toBe<Metric.Metric.Counter<number>>()
    expect(Netpoll.metrics.bytesWritten).type.toBe<Metric.Metric.Counter<number>>()
    expect(Netpoll.metrics.connectionsAccepted).type.toBe<Metric.Metric.Counter<number>>()
    expect(Netpoll.metrics.connectionsOpened).type.toBe<Metric.Metric.Counter<number>>()
  })

  it("socketsOpen is a number gauge", () => {
    expect(Netpoll.metrics.socketsOpen).type.toBe<Metric.Metric.Gauge<number>>()
  })

  it("Metric.value reads a counter's count and the gauge's value without requirements", () => {
    expect(Metric.value(Netpoll.metrics.bytesRead)).type.toBe<Effect.Effect<MetricState.MetricState.Counter<number>>>()
    expect(Metric.value(Netpoll.metrics.socketsOpen)).type.toBe<Effect.Effect<MetricState.MetricState.Gauge<number>>>()
    expect(Effect.map(Metric.value(Netpoll.metrics.bytesWritten), (state) => state.count)).type.toBe<
      Effect.Effect<number>
    >()
  })

  it("the metrics are read-only and take numbers, not bigints", () => {
    expect(Netpoll.metrics).type.not.toBeAssignableTo<{ bytesRead: Metric.Metric.Counter<bigint> }>()
    // @ts-expect-error Cannot assign to 'bytesRead' because it is a read-only property
    Netpoll.metrics.bytesRead = Metric.counter("other")
  })

  it("the published declarations carry the same metrics (run `npm run build` first)", () => {
    expect(Published.metrics).type.toBe(Netpoll.metrics)
  })
})
