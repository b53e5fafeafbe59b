// UdpSocket on both lines (effect3/dtslint links here); each line's address type is checked in
// its own Addresses.tst.ts, and the Effect 4 DatagramSocket backend in DatagramSocket.tst.ts.
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { describe, expect, it } from "tstyche"
import type * as NetError from "../src/NetError.js"
import type * as Netpoll from "../src/Netpoll.js"
import * as UdpSocket from "../src/UdpSocket.js"

declare const socket: UdpSocket.UdpSocket
/** The line's address: an InetAddress on Effect 4, a SocketAddr on Effect 3. */
type Address = UdpSocket.Received["address"]
declare const inet: Address
declare const buf: Uint8Array

describe("UdpSocket.bind", () => {
  it("needs Netpoll and Scope and fails with NetError", () => {
    expect(UdpSocket.bind("127.0.0.1:0")).type.toBe<
      Effect.Effect<UdpSocket.UdpSocket, NetError.NetError, Netpoll.Netpoll | Scope.Scope>
    >()
  })

  it("takes every AddressInput and the bind options", () => {
    expect(UdpSocket.bind).type.toBeCallableWith("[::1]:0")
    expect(UdpSocket.bind).type.toBeCallableWith({ host: "127.0.0.1", port: 0 })
    expect(UdpSocket.bind).type.toBeCallableWith(inet)
    expect(UdpSocket.bind).type.toBeCallableWith("127.0.0.1:0", {
      reuseAddr: true,
      reusePort: false,
      ipv6Only: true,
      broadcast: true,
      ttl: 8,
      recvBufferSize: 1 << 20,
      sendBufferSize: 1 << 20
    })
    expect(UdpSocket.bind).type.not.toBeCallableWith("127.0.0.1:0", { ttl: "8" })
    expect(UdpSocket.bind).type.not.toBeCallableWith(53)
  })
})

describe("UdpSocket methods", () => {
  it("sendTo resolves with the bytes sent; recvFrom with bytes, sender and truncation", () => {
    expect(socket.sendTo(buf, inet)).type.toBe<Effect.Effect<number, NetError.NetError>>()
    expect(socket.sendTo).type.toBeCallableWith(buf, "127.0.0.1:53")
    expect(socket.recvFrom(buf)).type.toBe<Effect.Effect<UdpSocket.Received, NetError.NetError>>()
    expect<UdpSocket.Received>().type.toBe<{
      readonly bytes: number
      readonly address: Address
      readonly truncated: boolean
    }>()
  })

  it("connect, send and recv; recv has no sender", () => {
    expect(socket.connect(inet)).type.toBe<Effect.Effect<void, NetError.NetError>>()
    expect(socket.disconnect).type.toBe<Effect.Effect<void, NetError.NetError>>()
    expect(socket.send(buf)).type.toBe<Effect.Effect<number, NetError.NetError>>()
    expect(socket.recv(buf)).type.toBe<Effect.Effect<UdpSocket.Recv, NetError.NetError>>()
    expect<UdpSocket.Recv>().type.toBe<{ readonly bytes: number; readonly truncated: boolean }>()
  })

  it("sendMany and recvMany take batches", () => {
    expect(socket.sendMany([{ payload: buf, address: inet }, { payload: buf }])).type.toBe<
      Effect.Effect<number, NetError.NetError>
    >()
    expect(socket.sendMany).type.not.toBeCallableWith([{ payload: "text" }])
    expect(socket.recvMany([buf, buf])).type.toBe<Effect.Effect<ReadonlyArray<UdpSocket.Received>, NetError.NetError>>()
  })

  it("options, multicast, addresses and close", () => {
    expect(socket.setBroadcast(true)).type.toBe<Effect.Effect<void, NetError.NetError>>()
    expect(socket.setTtl(64)).type.toBe<Effect.Effect<void, NetError.NetError>>()
    expect(socket.ttl).type.toBe<Effect.Effect<number, NetError.NetError>>()
    expect(socket.setMulticastTtl(1)).type.toBe<Effect.Effect<void, NetError.NetError>>()
    expect(socket.setMulticastLoop(false)).type.toBe<Effect.Effect<void, NetError.NetError>>()
    expect(socket.joinMulticast("239.1.2.3", "127.0.0.1")).type.toBe<Effect.Effect<void, NetError.NetError>>()
    expect(socket.leaveMulticast("ff02::1:3")).type.toBe<Effect.Effect<void, NetError.NetError>>()
    expect(socket.localAddr).type.toBe<Effect.Effect<Address, NetError.NetError>>()
    expect(socket.peerAddr).type.toBe<Effect.Effect<Address, NetError.NetError>>()
    expect(socket.close).type.toBe<Effect.Effect<void>>()
    expect(socket.fd).type.toBe<number>()
  })

  it("isUdpSocket narrows", () => {
    const u: unknown = socket
    if (UdpSocket.isUdpSocket(u)) expect(u).type.toBe<UdpSocket.UdpSocket>()
  })
})
