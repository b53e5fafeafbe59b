import type { NonEmptyReadonlyArray } from "effect/Array"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as NetAddress from "effect/net/NetAddress"
import type * as Scope from "effect/Scope"
import * as Socket from "effect/socket/Socket"
import * as SocketServer from "effect/socket/SocketServer"
import type * as PublishedNetpoll from "effect-netpoll/Netpoll"
import * as PublishedTcpListener from "effect-netpoll/TcpListener"
import * as PublishedTcpStream from "effect-netpoll/TcpStream"
import { describe, expect, it } from "tstyche"
import type * as NetError from "../src/NetError.js"
import * as Netpoll from "../src/Netpoll.js"
import * as TcpListener from "../src/TcpListener.js"
import * as TcpStream from "../src/TcpStream.js"

declare const inet: NetAddress.InetAddress
declare const stream: TcpStream.TcpStream

class Foo extends Context.Service<Foo, { readonly n: number }>()("Foo") {}

describe("TcpStream.makeSocket", () => {
  it("turns a scoped connect into an effect/socket Socket that still needs Netpoll", () => {
    expect(TcpStream.makeSocket(TcpStream.connect("127.0.0.1:80"))).type.toBe<
      Effect.Effect<Socket.Socket, never, Netpoll.Netpoll>
    >()
  })

  it("keeps what open needs besides Scope, and drops Scope", () => {
    const open: Effect.Effect<TcpStream.TcpStream, NetError.NetError, Foo | Scope.Scope> = Effect.as(Foo, stream)
    expect(TcpStream.makeSocket(open)).type.toBe<Effect.Effect<Socket.Socket, never, Foo>>()
    expect(TcpStream.makeSocket(Effect.succeed(stream))).type.toBe<Effect.Effect<Socket.Socket>>()
  })

  it("SocketOptions: openTimeout is a Duration.Input, chunkSize a number", () => {
    expect(TcpStream.makeSocket).type.toBeCallableWith(Effect.succeed(stream), { openTimeout: "5 seconds" })
    expect(TcpStream.makeSocket).type.toBeCallableWith(Effect.succeed(stream), { openTimeout: 5_000 })
    expect(TcpStream.makeSocket).type.toBeCallableWith(Effect.succeed(stream), { chunkSize: 4096 })
    expect(TcpStream.makeSocket).type.not.toBeCallableWith(Effect.succeed(stream), { openTimeout: "soon" })
    expect(TcpStream.makeSocket).type.not.toBeCallableWith(Effect.succeed(stream), { chunkSize: "4k" })
    expect(TcpStream.makeSocket).type.not.toBeCallableWith(Effect.succeed(stream), { noDelay: true })
  })

  it("open must yield a TcpStream and fail only with NetError", () => {
    expect(TcpStream.makeSocket).type.not.toBeCallableWith(Effect.succeed(1))
    expect(TcpStream.makeSocket).type.not.toBeCallableWith(Effect.fail(new Error("x")))
  })

  it("the Socket's reader pulls byte chunks and fails with SocketError", () => {
    const program = Effect.gen(function*() {
      const socket = yield* TcpStream.makeSocket(TcpStream.connect("127.0.0.1:80"))
      const reader = yield* socket.reader
      expect(reader.pull).type.toBe<Effect.Effect<NonEmptyReadonlyArray<Uint8Array | string>, Socket.SocketError>>()
      const pull = yield* Socket.readerBytes(socket)
      return yield* pull
    })
    expect(program).type.toBe<
      Effect.Effect<NonEmptyReadonlyArray<Uint8Array>, Socket.SocketError, Netpoll.Netpoll | Scope.Scope>
    >()
  })
})

describe("TcpStream.layerSocket", () => {
  it("is a Socket.Socket layer that needs Netpoll and never fails to build", () => {
    expect(TcpStream.layerSocket("127.0.0.1:80")).type.toBe<Layer.Layer<Socket.Socket, never, Netpoll.Netpoll>>()
  })

  it("providing Netpoll.layer leaves a layer that needs nothing", () => {
    expect(TcpStream.layerSocket("127.0.0.1:80").pipe(Layer.provide(Netpoll.layer))).type.toBe<
      Layer.Layer<Socket.Socket>
    >()
  })

  it("accepts every AddressInput, the connect options and the socket options", () => {
    expect(TcpStream.layerSocket).type.toBeCallableWith({ host: "::1", port: 80 })
    expect(TcpStream.layerSocket).type.toBeCallableWith(inet, {
      noDelay: false,
      keepAlive: 1_000,
      openTimeout: "1 second",
      chunkSize: 4096
    })
    expect(TcpStream.layerSocket).type.not.toBeCallableWith(80)
    expect(TcpStream.layerSocket).type.not.toBeCallableWith("127.0.0.1:80", { backlog: 16 })
  })
})

describe("TcpListener.layerSocketServer", () => {
  it("is a SocketServer layer that needs Netpoll and fails with SocketServerError", () => {
    expect(TcpListener.layerSocketServer("127.0.0.1:0")).type.toBe<
      Layer.Layer<SocketServer.SocketServer, SocketServer.SocketServerError, Netpoll.Netpoll>
    >()
  })

  it("its bind failure is not a NetError in the error channel", () => {
    expect(TcpListener.layerSocketServer("127.0.0.1:0")).type.not.toBeAssignableTo<
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
    expect<TcpListener.SocketServerOptions>().type.toBeAssignableTo<TcpListener.BindOptions>()
    expect(TcpListener.layerSocketServer).type.not.toBeCallableWith("127.0.0.1:0", { maxConnections: "8" })
    expect(TcpListener.layerSocketServer).type.not.toBeCallableWith("127.0.0.1:0", { keepAlive: true })
  })

  it("the server's address is an effect/net SocketAddress and run needs the handler's services", () => {
    const program = Effect.gen(function*() {
      const server = yield* SocketServer.SocketServer
      expect(server.address).type.toBe<NetAddress.SocketAddress>()
      return yield* server.run((socket) => Effect.as(Foo, socket))
    })
    expect(Effect.provide(program, TcpListener.layerSocketServer("127.0.0.1:0"))).type.toBe<
      Effect.Effect<never, SocketServer.SocketServerError, Foo | Netpoll.Netpoll>
    >()
  })
})

describe("published declarations", () => {
  it("keep the effect/socket adapters' types (run `npm run build` first)", () => {
    expect(PublishedTcpStream.makeSocket(PublishedTcpStream.connect("127.0.0.1:80"))).type.toBe<
      Effect.Effect<Socket.Socket, never, PublishedNetpoll.Netpoll>
    >()
    expect(PublishedTcpStream.layerSocket("127.0.0.1:80")).type.toBe<
      Layer.Layer<Socket.Socket, never, PublishedNetpoll.Netpoll>
    >()
    expect(PublishedTcpListener.layerSocketServer("127.0.0.1:0")).type.toBe<
      Layer.Layer<SocketServer.SocketServer, SocketServer.SocketServerError, PublishedNetpoll.Netpoll>
    >()
    expect<PublishedTcpStream.SocketOptions>().type.toBe<TcpStream.SocketOptions>()
  })
})
