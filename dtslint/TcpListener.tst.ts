import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as NetAddress from "effect/net/NetAddress"
import type * as Scope from "effect/Scope"
import type * as PublishedNetError from "effect-netpoll/NetError"
import type * as PublishedNetpoll from "effect-netpoll/Netpoll"
import * as PublishedTcpListener from "effect-netpoll/TcpListener"
import type * as PublishedTcpStream from "effect-netpoll/TcpStream"
import { describe, expect, it } from "tstyche"
import type * as NetError from "../src/NetError.js"
import type * as Netpoll from "../src/Netpoll.js"
import * as TcpListener from "../src/TcpListener.js"
import type * as TcpStream from "../src/TcpStream.js"

declare const listener: TcpListener.TcpListener
declare const publishedListener: PublishedTcpListener.TcpListener
declare const inet: NetAddress.InetAddress
declare const unixPath: NetAddress.UnixPathAddress

class Foo extends Context.Service<Foo, { readonly n: number }>()("Foo") {}
class HandlerError {
  readonly _tag = "HandlerError"
}

describe("TcpListener.bind", () => {
  it("needs Netpoll and Scope and fails with NetError", () => {
    expect(TcpListener.bind("127.0.0.1:0")).type.toBe<
      Effect.Effect<TcpListener.TcpListener, NetError.NetError, Netpoll.Netpoll | Scope.Scope>
    >()
    expect(TcpListener.bind(inet, { backlog: 16 })).type.toBe<
      Effect.Effect<TcpListener.TcpListener, NetError.NetError, Netpoll.Netpoll | Scope.Scope>
    >()
  })

  it("accepts every AddressInput and the bind options, noDelay included", () => {
    expect(TcpListener.bind).type.toBeCallableWith("[::1]:0")
    expect(TcpListener.bind).type.toBeCallableWith({ host: "127.0.0.1", port: 0 })
    expect(TcpListener.bind).type.toBeCallableWith(inet)
    expect(TcpListener.bind).type.toBeCallableWith("127.0.0.1:0", {
      backlog: 16,
      reusePort: true,
      ipv6Only: false,
      noDelay: false
    })
    expect(TcpListener.bind).type.not.toBeCallableWith(0)
    expect(TcpListener.bind).type.not.toBeCallableWith({ port: 0 })
    expect(TcpListener.bind).type.not.toBeCallableWith(unixPath)
  })

  it("BindOptions: backlog, reusePort, ipv6Only, noDelay", () => {
    expect<TcpListener.BindOptions>().type.toBe<{
      readonly backlog?: number | undefined
      readonly reusePort?: boolean | undefined
      readonly ipv6Only?: boolean | undefined
      readonly noDelay?: boolean | undefined
    }>()
  })

  it("rejects unknown options and wrong option types", () => {
    expect(TcpListener.bind).type.not.toBeCallableWith("127.0.0.1:0", { backlog: "16" })
    expect(TcpListener.bind).type.not.toBeCallableWith("127.0.0.1:0", { reusePort: 1 })
    expect(TcpListener.bind).type.not.toBeCallableWith("127.0.0.1:0", { noDelay: "yes" })
    expect(TcpListener.bind).type.not.toBeCallableWith("127.0.0.1:0", { backlog: 16, keepAlive: true })
    expect(TcpListener.bind).type.not.toBeCallableWith("127.0.0.1:0", { maxConnections: 8 })
  })
})

describe("TcpListener", () => {
  it("accept gives a stream in the caller's Scope", () => {
    expect(listener.accept).type.toBe<Effect.Effect<TcpStream.TcpStream, NetError.NetError, Scope.Scope>>()
    expect(Effect.scoped(listener.accept)).type.toBe<Effect.Effect<TcpStream.TcpStream, NetError.NetError>>()
  })

  it("localAddr is an effect/net InetAddress; close and fd", () => {
    expect(listener.localAddr).type.toBe<Effect.Effect<NetAddress.InetAddress, NetError.NetError>>()
    expect(listener.close).type.toBe<Effect.Effect<void>>()
    expect(listener.fd).type.toBe<number>()
    expect(listener[TcpListener.TypeId]).type.toBe<TcpListener.TypeId>()
  })

  it("its members are readonly", () => {
    // @ts-expect-error Cannot assign to 'fd' because it is a read-only property
    listener.fd = 3
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
    expect(TcpListener.serve(listener, () => Effect.asVoid(Foo))).type.toBe<
      Effect.Effect<never, NetError.NetError, Foo>
    >()
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

  it("the published declarations keep bind and serve (run `npm run build` first)", () => {
    expect(PublishedTcpListener.bind).type.toBe<
      (
        address: PublishedTcpStream.AddressInput,
        options?: PublishedTcpListener.BindOptions
      ) => Effect.Effect<
        PublishedTcpListener.TcpListener,
        PublishedNetError.NetError,
        PublishedNetpoll.Netpoll | Scope.Scope
      >
    >()
    expect<PublishedTcpListener.BindOptions>().type.toBe<TcpListener.BindOptions>()
    const handler = (_: PublishedTcpStream.TcpStream): Effect.Effect<void, never, Scope.Scope | Foo> => Effect.void
    expect(PublishedTcpListener.serve(publishedListener, handler)).type.toBe<
      Effect.Effect<never, PublishedNetError.NetError, Foo>
    >()
  })
})
