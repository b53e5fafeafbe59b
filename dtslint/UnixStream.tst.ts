// Shared by both lines (effect3/dtslint links here): the line's own address
// types are checked in UnixAddress.tst.ts, the Socket types against TCP's.
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import { describe, expect, it } from "tstyche"
import * as BufReader from "../src/BufReader.js"
import type * as NetError from "../src/NetError.js"
import type * as Netpoll from "../src/Netpoll.js"
import * as TcpListener from "../src/TcpListener.js"
import * as TcpStream from "../src/TcpStream.js"
import * as UnixListener from "../src/UnixListener.js"
import * as UnixStream from "../src/UnixStream.js"

declare const stream: UnixStream.UnixStream
declare const listener: UnixListener.UnixListener

describe("UnixStream", () => {
  it("connect and pair need Netpoll and Scope", () => {
    expect(UnixStream.connect("/tmp/a.sock")).type.toBe<
      Effect.Effect<UnixStream.UnixStream, NetError.NetError, Netpoll.Netpoll | Scope.Scope>
    >()
    expect(UnixStream.pair).type.toBe<
      Effect.Effect<readonly [UnixStream.UnixStream, UnixStream.UnixStream], NetError.NetError, Netpoll.Netpoll | Scope.Scope>
    >()
    expect(UnixStream.connect).type.not.toBeCallableWith({ host: "::1", port: 80 })
    expect(UnixStream.connect).type.not.toBeCallableWith(80)
  })

  it("addresses are the line's Address; peerCred is pid, uid and gid", () => {
    expect(stream.peerAddr).type.toBe<Effect.Effect<UnixStream.Address, NetError.NetError>>()
    expect(stream.localAddr).type.toBe<Effect.Effect<UnixStream.Address, NetError.NetError>>()
    expect(stream.peerCred).type.toBe<Effect.Effect<UnixStream.Credentials, NetError.NetError>>()
    expect<UnixStream.Credentials>().type.toBe<{ readonly pid: number; readonly uid: number; readonly gid: number }>()
    expect(stream.tryClone).type.toBe<Effect.Effect<UnixStream.UnixStream, NetError.NetError, Scope.Scope>>()
  })

  it("has no TCP options, and is no TcpStream", () => {
    expect(stream).type.not.toHaveProperty("setNoDelay")
    expect(stream).type.not.toHaveProperty("setKeepAlive")
    expect(stream).type.not.toBeAssignableTo<TcpStream.TcpStream>()
  })

  it("the adapters and BufReader take it; its Socket layers are the TCP ones' types", () => {
    expect(UnixStream.toStream(stream)).type.toBe<Stream.Stream<Uint8Array, NetError.NetError>>()
    expect(TcpStream.toStream).type.not.toBeCallableWith(stream)
    expect(BufReader.make(stream)).type.toBe<Effect.Effect<BufReader.BufReader>>()
    expect(UnixStream.makeSocket(UnixStream.connect("/tmp/a.sock"))).type.toBe(
      TcpStream.makeSocket(TcpStream.connect("127.0.0.1:1"))
    )
    expect(UnixStream.layerSocket("/tmp/a.sock", { openTimeout: "1 second" })).type.toBe(
      TcpStream.layerSocket("127.0.0.1:1")
    )
    expect(UnixStream.layerSocket).type.not.toBeCallableWith("/tmp/a.sock", { noDelay: true })
  })
})

describe("UnixListener", () => {
  it("bind takes a backlog, and no TCP options", () => {
    expect(UnixListener.bind("/tmp/a.sock", { backlog: 16 })).type.toBe<
      Effect.Effect<UnixListener.UnixListener, NetError.NetError, Netpoll.Netpoll | Scope.Scope>
    >()
    expect(UnixListener.bind).type.not.toBeCallableWith("/tmp/a.sock", { reusePort: true })
  })

  it("accept gives UnixStreams in the caller's Scope; localAddr is the line's Address", () => {
    expect(listener.accept).type.toBe<Effect.Effect<UnixStream.UnixStream, NetError.NetError, Scope.Scope>>()
    expect(listener.localAddr).type.toBe<Effect.Effect<UnixStream.Address, NetError.NetError>>()
  })

  it("serve hands the handler UnixStreams and removes Scope from its requirements", () => {
    expect(UnixListener.serve(listener, (s) => s.peerCred)).type.toBe<Effect.Effect<never, NetError.NetError, never>>()
    expect(UnixListener.serve).type.not.toBeCallableWith(listener, (s: TcpStream.TcpStream) => s.setNoDelay(true))
  })

  it("layerSocketServer is the line's SocketServer layer, as TcpListener's", () => {
    expect(UnixListener.layerSocketServer("/tmp/a.sock", { maxConnections: 4 })).type.toBe(
      TcpListener.layerSocketServer("127.0.0.1:0")
    )
  })
})
