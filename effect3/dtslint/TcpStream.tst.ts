import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { describe, expect, it } from "tstyche"
import type * as NetError from "../src/NetError.js"
import type * as Netpoll from "../src/Netpoll.js"
import * as SocketAddr from "../src/SocketAddr.js"
import * as TcpStream from "../src/TcpStream.js"

declare const stream: TcpStream.TcpStream
declare const addr: SocketAddr.SocketAddr
declare const buf: Uint8Array

describe("TcpStream.connect", () => {
  it("needs Netpoll and Scope and fails with NetError", () => {
    expect(TcpStream.connect("127.0.0.1:1")).type.toBe<
      Effect.Effect<TcpStream.TcpStream, NetError.NetError, Netpoll.Netpoll | Scope.Scope>
    >()
    expect(TcpStream.connect("127.0.0.1:1", { noDelay: false, keepAlive: 1_000 })).type.toBe<
      Effect.Effect<TcpStream.TcpStream, NetError.NetError, Netpoll.Netpoll | Scope.Scope>
    >()
  })

  it("accepts every SocketAddr.Input", () => {
    expect(TcpStream.connect).type.toBeCallableWith("[::1]:80")
    expect(TcpStream.connect).type.toBeCallableWith("localhost:80")
    expect(TcpStream.connect).type.toBeCallableWith({ host: "::1", port: 80 })
    expect(TcpStream.connect).type.toBeCallableWith(addr)
    expect(TcpStream.connect).type.not.toBeCallableWith(80)
    expect(TcpStream.connect).type.not.toBeCallableWith({ host: "::1" })
    expect(TcpStream.connect).type.not.toBeCallableWith()
  })

  it("ConnectOptions: noDelay is boolean, keepAlive is boolean or milliseconds", () => {
    expect(TcpStream.connect).type.toBeCallableWith("127.0.0.1:1", {})
    expect(TcpStream.connect).type.toBeCallableWith("127.0.0.1:1", { noDelay: true })
    expect(TcpStream.connect).type.toBeCallableWith("127.0.0.1:1", { keepAlive: true })
    expect(TcpStream.connect).type.toBeCallableWith("127.0.0.1:1", { keepAlive: 30_000 })
    expect<TcpStream.ConnectOptions>().type.toBe<{
      readonly noDelay?: boolean | undefined
      readonly keepAlive?: boolean | number | undefined
    }>()
  })

  it("ConnectOptions rejects wrong types and unknown keys", () => {
    expect(TcpStream.connect).type.not.toBeCallableWith("127.0.0.1:1", { noDelay: 1 })
    expect(TcpStream.connect).type.not.toBeCallableWith("127.0.0.1:1", { keepAlive: "30s" })
    expect(TcpStream.connect).type.not.toBeCallableWith("127.0.0.1:1", { timeout: 5_000 })
    expect(TcpStream.connect).type.not.toBeCallableWith("127.0.0.1:1", { nodelay: true })
    expect(TcpStream.connect).type.not.toBeCallableWith("127.0.0.1:1", { noDelay: true, timeout: 5_000 })
    // @ts-expect-error Object literal may only specify known properties, and 'reusePort' does not exist
    TcpStream.connect("127.0.0.1:1", { noDelay: true, reusePort: true })
  })
})

describe("TcpStream", () => {
  it("fd is a number", () => {
    expect(stream.fd).type.toBe<number>()
  })

  it("read and write resolve with a byte count", () => {
    expect(stream.read(buf)).type.toBe<Effect.Effect<number, NetError.NetError>>()
    expect(stream.write(buf)).type.toBe<Effect.Effect<number, NetError.NetError>>()
    expect(stream.read).type.not.toBeCallableWith("text")
    expect(stream.write).type.not.toBeCallableWith([1, 2, 3])
  })

  it("readExact and writeAll resolve with void", () => {
    expect(stream.readExact(buf)).type.toBe<Effect.Effect<void, NetError.NetError>>()
    expect(stream.writeAll(buf)).type.toBe<Effect.Effect<void, NetError.NetError>>()
  })

  it("accepts any Uint8Array view, including Buffer", () => {
    expect(stream.read).type.toBeCallableWith(Buffer.alloc(1))
    expect(stream.writeAll).type.toBeCallableWith(new Uint8Array(8).subarray(2))
  })

  it("tryClone needs a Scope", () => {
    expect(stream.tryClone).type.toBe<Effect.Effect<TcpStream.TcpStream, NetError.NetError, Scope.Scope>>()
  })

  it("peerAddr and localAddr give a SocketAddr", () => {
    expect(stream.peerAddr).type.toBe<Effect.Effect<SocketAddr.SocketAddr, NetError.NetError>>()
    expect(stream.localAddr).type.toBe<Effect.Effect<SocketAddr.SocketAddr, NetError.NetError>>()
  })

  it("shutdown takes read, write or both", () => {
    expect(stream.shutdown).type.toBe<(how: "read" | "write" | "both") => Effect.Effect<void, NetError.NetError>>()
    expect(stream.shutdown).type.toBeCallableWith("read")
    expect(stream.shutdown).type.toBeCallableWith("write")
    expect(stream.shutdown).type.toBeCallableWith("both")
    expect(stream.shutdown).type.not.toBeCallableWith("rw")
    expect(stream.shutdown).type.not.toBeCallableWith()
  })

  it("setNoDelay and setKeepAlive", () => {
    expect(stream.setNoDelay).type.toBe<(on: boolean) => Effect.Effect<void, NetError.NetError>>()
    expect(stream.setKeepAlive).type.toBe<
      (on: boolean, initialDelayMillis?: number) => Effect.Effect<void, NetError.NetError>
    >()
    expect(stream.setKeepAlive).type.toBeCallableWith(true)
    expect(stream.setKeepAlive).type.toBeCallableWith(true, 10_000)
    expect(stream.setKeepAlive).type.not.toBeCallableWith(10_000)
  })

  it("close cannot fail and needs nothing", () => {
    expect(stream.close).type.toBe<Effect.Effect<void>>()
  })

  it("its members are readonly", () => {
    // @ts-expect-error Cannot assign to 'fd' because it is a read-only property
    stream.fd = 3
  })
})
