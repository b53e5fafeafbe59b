import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as NetAddress from "effect/net/NetAddress"
import type * as Scope from "effect/Scope"
import type * as Socket from "effect/socket/Socket"
import type * as SocketServer from "effect/socket/SocketServer"
import type * as Stream from "effect/Stream"
import { describe, expect, it } from "tstyche"
import * as BufReader from "../src/BufReader.js"
import type * as NetError from "../src/NetError.js"
import type * as Netpoll from "../src/Netpoll.js"
import * as TcpStream from "../src/TcpStream.js"
import * as UnixListener from "../src/UnixListener.js"
import * as UnixStream from "../src/UnixStream.js"

declare const stream: UnixStream.UnixStream
declare const listener: UnixListener.UnixListener
declare const unixPath: NetAddress.UnixPathAddress
declare const inet: NetAddress.InetAddress

describe("UnixStream", () => {
  it("takes a path or an effect/net UnixPathAddress, and nothing else", () => {
    expect<UnixStream.AddressInput>().type.toBe<string | NetAddress.UnixPathAddress>()
    expect(unixPath).type.toBeAssignableTo<UnixStream.AddressInput>()
    expect(inet).type.not.toBeAssignableTo<UnixStream.AddressInput>()
    expect({ host: "::1", port: 80 }).type.not.toBeAssignableTo<UnixStream.AddressInput>()
  })

  it("connect and pair need Netpoll and Scope", () => {
    expect(UnixStream.connect("/tmp/a.sock")).type.toBe<
      Effect.Effect<UnixStream.UnixStream, NetError.NetError, Netpoll.Netpoll | Scope.Scope>
    >()
    expect(UnixStream.connect(unixPath)).type.toBe<
      Effect.Effect<UnixStream.UnixStream, NetError.NetError, Netpoll.Netpoll | Scope.Scope>
    >()
    expect(UnixStream.pair).type.toBe<
      Effect.Effect<readonly [UnixStream.UnixStream, UnixStream.UnixStream], NetError.NetError, Netpoll.Netpoll | Scope.Scope>
    >()
  })

  it("addresses are UnixPathAddress values; peerCred is pid, uid and gid", () => {
    expect(stream.peerAddr).type.toBe<Effect.Effect<NetAddress.UnixPathAddress, NetError.NetError>>()
    expect(stream.localAddr).type.toBe<Effect.Effect<NetAddress.UnixPathAddress, NetError.NetError>>()
    expect(stream.peerCred).type.toBe<Effect.Effect<UnixStream.Credentials, NetError.NetError>>()
    expect<UnixStream.Credentials>().type.toBe<{ readonly pid: number; readonly uid: number; readonly gid: number }>()
    expect(stream.tryClone).type.toBe<Effect.Effect<UnixStream.UnixStream, NetError.NetError, Scope.Scope>>()
  })

  it("has no TCP options, and is no TcpStream", () => {
    expect(stream).type.not.toHaveProperty("setNoDelay")
    expect(stream).type.not.toHaveProperty("setKeepAlive")
    expect(stream).type.not.toBeAssignableTo<TcpStream.TcpStream>()
  })

  it("the adapters and BufReader take it", () => {
    expect(UnixStream.toStream(stream)).type.toBe<Stream.Stream<Uint8Array, NetError.NetError>>()
    expect(TcpStream.toStream).type.not.toBeCallableWith(stream)
    expect(BufReader.make(stream)).type.toBe<Effect.Effect<BufReader.BufReader>>()
    expect(UnixStream.makeSocket(UnixStream.connect("/tmp/a.sock"))).type.toBe<
      Effect.Effect<Socket.Socket, never, Netpoll.Netpoll>
    >()
    expect(UnixStream.layerSocket("/tmp/a.sock", { openTimeout: "1 second" })).type.toBe<
      Layer.Layer<Socket.Socket, never, Netpoll.Netpoll>
    >()
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

  it("accept gives UnixStreams in the caller's Scope; localAddr is a UnixPathAddress", () => {
    expect(listener.accept).type.toBe<Effect.Effect<UnixStream.UnixStream, NetError.NetError, Scope.Scope>>()
    expect(listener.localAddr).type.toBe<Effect.Effect<NetAddress.UnixPathAddress, NetError.NetError>>()
  })

  it("serve hands the handler UnixStreams and removes Scope from its requirements", () => {
    expect(UnixListener.serve(listener, (s) => s.peerCred)).type.toBe<
      Effect.Effect<never, NetError.NetError, never>
    >()
  })

  it("layerSocketServer is an effect/socket SocketServer", () => {
    expect(UnixListener.layerSocketServer("/tmp/a.sock", { maxConnections: 4 })).type.toBe<
      Layer.Layer<SocketServer.SocketServer, SocketServer.SocketServerError, Netpoll.Netpoll>
    >()
  })
})
