import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { describe, expect, it } from "tstyche"
import type * as NetError from "../src/NetError.js"
import type * as Netpoll from "../src/Netpoll.js"
import type * as SocketAddr from "../src/SocketAddr.js"
import * as TcpListener from "../src/TcpListener.js"
import type * as TcpStream from "../src/TcpStream.js"

declare const listener: TcpListener.TcpListener
declare const addr: SocketAddr.SocketAddr

class Foo extends Context.Tag("Foo")<Foo, { readonly n: number }>() {}
class HandlerError {
  readonly _tag = "HandlerError"
}

describe("TcpListener.bind", () => {
  it("needs Netpoll and Scope and fails with NetError", () => {
    expect(TcpListener.bind("127.0.0.1:0")).type.toBe<
      Effect.Effect<TcpListener.TcpListener, NetError.NetError, Netpoll.Netpoll | Scope.Scope>
    >()
  })

  it("accepts every SocketAddr.Input and the bind options", () => {
    expect(TcpListener.bind).type.toBeCallableWith("[::1]:0")
    expect(TcpListener.bind).type.toBeCallableWith({ host: "127.0.0.1", port: 0 })
    expect(TcpListener.bind).type.toBeCallableWith(addr)
    expect(TcpListener.bind).type.toBeCallableWith("127.0.0.1:0", {
      backlog: 16,
      reusePort: true,
      ipv6Only: false,
      noDelay: false
    })
    expect(TcpListener.bind).type.not.toBeCallableWith(0)
    expect(TcpListener.bind).type.not.toBeCallableWith({ port: 0 })
  })

  it("rejects unknown options and wrong option types", () => {
    expect(TcpListener.bind).type.not.toBeCallableWith("127.0.0.1:0", { backlog: "16" })
    expect(TcpListener.bind).type.not.toBeCallableWith("127.0.0.1:0", { reusePort: 1 })
    expect(TcpListener.bind).type.not.toBeCallableWith("127.0.0.1:0", { noDelay: "yes" })
    expect(TcpListener.bind).type.not.toBeCallableWith("127.0.0.1:0", { backlog: 16, keepAlive: true })
  })
})

describe("TcpListener", () => {
  it("accept gives a stream in the caller's Scope", () => {
    expect(listener.accept).type.toBe<Effect.Effect<TcpStream.TcpStream, NetError.NetError, Scope.Scope>>()
  })

  it("localAddr, close and fd", () => {
    expect(listener.localAddr).type.toBe<Effect.Effect<SocketAddr.SocketAddr, NetError.NetError>>()
    expect(listener.close).type.toBe<Effect.Effect<void>>()
    expect(listener.fd).type.toBe<number>()
  })
})

describe("TcpListener.serve", () => {
  it("never succeeds, fails with NetError and needs nothing for a plain handler", () => {
    expect(TcpListener.serve(listener, (stream) => stream.writeAll(new Uint8Array(1)))).type.toBe<
      Effect.Effect<never, NetError.NetError>
    >()
  })

  it("removes Scope from the handler's requirements and keeps the rest", () => {
    const handler = (_: TcpStream.TcpStream): Effect.Effect<void, never, Scope.Scope | Foo> => Effect.void
    expect(TcpListener.serve(listener, handler)).type.toBe<Effect.Effect<never, NetError.NetError, Foo>>()
  })

  it("a handler using tryClone needs no Scope from the caller", () => {
    const program = TcpListener.serve(listener, (stream) =>
      Effect.gen(function*() {
        const clone = yield* stream.tryClone
        yield* clone.close
      }))
    expect(program).type.toBe<Effect.Effect<never, NetError.NetError>>()
  })

  it("a handler's own errors are logged, not surfaced", () => {
    const handler = (_: TcpStream.TcpStream): Effect.Effect<void, HandlerError> => Effect.fail(new HandlerError())
    expect(TcpListener.serve(listener, handler)).type.toBe<Effect.Effect<never, NetError.NetError>>()
  })

  it("takes maxConnections", () => {
    expect(TcpListener.serve).type.toBeCallableWith(listener, () => Effect.void, { maxConnections: 8 })
    expect(TcpListener.serve).type.not.toBeCallableWith(listener, () => Effect.void, { maxConnections: "8" })
    expect(TcpListener.serve).type.not.toBeCallableWith(listener, () => Effect.void, { concurrency: 8 })
  })

  it("rejects a handler that is not an Effect", () => {
    expect(TcpListener.serve).type.not.toBeCallableWith(listener, () => Promise.resolve())
  })
})
