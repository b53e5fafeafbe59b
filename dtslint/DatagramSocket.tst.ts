// The Effect 4 line's effect/socket DatagramSocket backend of UdpSocket (Effect 3 has none:
// effect3/dtslint/exports.tst.ts checks that it is absent there).
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as DatagramSocket from "effect/socket/DatagramSocket"
import { describe, expect, it } from "tstyche"
import type * as Netpoll from "../src/Netpoll.js"
import * as UdpSocket from "../src/UdpSocket.js"

describe("the DatagramSocket backend", () => {
  it("needs Netpoll and never fails to build", () => {
    expect(UdpSocket.makeDatagramSocket("127.0.0.1:0")).type.toBe<
      Effect.Effect<DatagramSocket.DatagramSocket, never, Netpoll.Netpoll>
    >()
    expect(UdpSocket.layerDatagramSocket("127.0.0.1:0", { connect: "127.0.0.1:53", reuseAddr: true })).type.toBe<
      Layer.Layer<DatagramSocket.DatagramSocket, never, Netpoll.Netpoll>
    >()
    expect(UdpSocket.makeDatagramSocket).type.toBeCallableWith("0.0.0.0:0", {
      receiveBuffer: { capacity: 64, strategy: "sliding" },
      onError: (_: DatagramSocket.DatagramSocketError) => {}
    })
  })
})
