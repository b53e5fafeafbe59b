import type * as Socket from "@effect/platform/Socket"
import type * as SocketServer from "@effect/platform/SocketServer"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import { describe, expect, it } from "tstyche"
import type * as NetError from "../src/NetError.js"
import type * as Netpoll from "../src/Netpoll.js"
import type * as SocketAddr from "../src/SocketAddr.js"
import * as TcpListener from "../src/TcpListener.js"
import * as TcpStream from "../src/TcpStream.js"

declare const addr: SocketAddr.SocketAddr
declare const stream: TcpStream.TcpStream

class Foo extends Context.Tag("Foo")<Foo, { readonly n: number }>() {}

describe("TcpStream.makeSocket", () => {
  it("turns a scoped connect into a Socket that still needs Netpoll", () => {
    expect(TcpStream.makeSocket(TcpStream.connect("127.0.0.1:80"))).type.toBe<
      Effect.Effect<Socket.Socket, never, Netpoll.Netpoll>
    >()
  })

  it("keeps what open needs besides Scope, and drops Scope", () => {
    const open: Effect.Effect<TcpStream.TcpStream, NetError.NetError, Foo | Scope.Scope> = Effect.as(Foo, stream)
    expect(TcpStream.makeSocket(open)).type.toBe<Effect.Effect<Socket.Socket, never, Foo>>()
    expect(TcpStream.makeSocket(Effect.succeed(stream))).type.toBe<Effect.Effect<Socket.Socket>>()
  })

  it("takes openTimeout as a Duration input", () => {
    expect(TcpStream.makeSocket).type.toBeCallableWith(Effect.succeed(stream), { openTimeout: "5 seconds" })
    expect(TcpStream.makeSocket).type.toBeCallableWith(Effect.succeed(stream), { openTimeout: 5_000 })
    expect(TcpStream.makeSocket).type.not.toBeCallableWith(Effect.succeed(stream), { openTimeout: "soon" })
    expect(TcpStream.makeSocket).type.not.toBeCallableWith(Effect.succeed(stream), { noDelay: true })
  })

  it("open must yield a TcpStream and fail only with NetError", () => {
    expect(TcpStream.makeSocket).type.not.toBeCallableWith(Effect.succeed(1))
    expect(TcpStream.makeSocket).type.not.toBeCallableWith(Effect.fail(new Error("x")))
  })
})

describe("TcpStream.layerSocket", () => {
  it("is a Socket.Socket layer that needs Netpoll and never fails to build", () => {
    expect(TcpStream.layerSocket("127.0.0.1:80")).type.toBe<Layer.Layer<Socket.Socket, never, Netpoll.Netpoll>>()
  })

  it("accepts every SocketAddr.Input, the connect options and openTimeout", () => {
    expect(TcpStream.layerSocket).type.toBeCallableWith({ host: "::1", port: 80 })
    expect(TcpStream.layerSocket).type.toBeCallableWith(addr, { noDelay: false, keepAlive: 1_000, openTimeout: "1 second" })
    expect(TcpStream.layerSocket).type.not.toBeCallableWith(80)
    expect(TcpStream.layerSocket).type.not.toBeCallableWith("127.0.0.1:80", { backlog: 16 })
  })
})

describe("TcpListener.layerSocketServer", () => {
  it("is a SocketServer layer that needs Netpoll and fails with NetError", () => {
    expect(TcpListener.layerSocketServer("127.0.0.1:0")).type.toBe<
      Layer.Layer<SocketServer.SocketServer, NetError.NetError, Netpoll.Netpoll>
    >()
  })

  it("accepts the bind options and maxConnections", () => {
    expect(TcpListener.layerSocketServer).type.toBeCallableWith("[::1]:0", {
      backlog: 16,
      reusePort: true,
      ipv6Only: true,
      noDelay: false,
      maxConnections: 8
    })
    expect(TcpListener.layerSocketServer).type.not.toBeCallableWith("127.0.0.1:0", { maxConnections: "8" })
    expect(TcpListener.layerSocketServer).type.not.toBeCallableWith("127.0.0.1:0", { keepAlive: true })
  })
})
