import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as NetAddress from "effect/net/NetAddress"
import type * as Scope from "effect/Scope"
import type * as Socket from "effect/socket/Socket"
import type * as SocketServer from "effect/socket/SocketServer"
import * as Package from "effect-netpoll"
import * as ClusterSocket from "effect-netpoll/ClusterSocket"
import * as NetError from "effect-netpoll/NetError"
import * as Netpoll from "effect-netpoll/Netpoll"
import * as TcpListener from "effect-netpoll/TcpListener"
import * as TcpStream from "effect-netpoll/TcpStream"
import * as UdpSocket from "effect-netpoll/UdpSocket"
import * as UnixListener from "effect-netpoll/UnixListener"
import * as UnixStream from "effect-netpoll/UnixStream"
import { describe, expect, it } from "tstyche"

// These imports go through package.json "exports", which point at dist/*.d.ts:
// run `npm run build` first.

declare const stream: TcpStream.TcpStream
declare const listener: TcpListener.TcpListener

describe("package exports", () => {
  it("the root re-exports every public module as a namespace", () => {
    expect(Package.NetError).type.toBe(NetError)
    expect(Package.Netpoll).type.toBe(Netpoll)
    expect(Package.TcpListener).type.toBe(TcpListener)
    expect(Package.TcpStream).type.toBe(TcpStream)
    expect(Package.UdpSocket).type.toBe(UdpSocket)
    expect(Package.UnixListener).type.toBe(UnixListener)
    expect(Package.UnixStream).type.toBe(UnixStream)
    expect<keyof typeof Package>().type.toBe<
      "BufReader" | "BufWriter" | "Io" | "NetError" | "Netpoll" | "TcpListener" | "TcpStream" | "UdpSocket" | "UnixListener" | "UnixStream"
    >()
  })

  it("ClusterSocket is a subpath only: the root does not load effect/cluster for every program", () => {
    expect(Package).type.not.toHaveProperty("ClusterSocket")
    expect(ClusterSocket.layerClientProtocol).type.not.toBe<never>()
  })

  it("the published declarations keep the public types", () => {
    expect(TcpStream.connect("127.0.0.1:1")).type.toBe<
      Effect.Effect<TcpStream.TcpStream, NetError.NetError, Netpoll.Netpoll | Scope.Scope>
    >()
    expect(TcpListener.bind("127.0.0.1:0")).type.toBe<
      Effect.Effect<TcpListener.TcpListener, NetError.NetError, Netpoll.Netpoll | Scope.Scope>
    >()
    expect(Netpoll.layer).type.toBe<Layer.Layer<Netpoll.Netpoll>>()
    expect(UdpSocket.bind("127.0.0.1:0")).type.toBe<
      Effect.Effect<UdpSocket.UdpSocket, NetError.NetError, Netpoll.Netpoll | Scope.Scope>
    >()
    expect(stream.peerAddr).type.toBe<Effect.Effect<NetAddress.InetAddress, NetError.NetError>>()
    expect(listener.accept).type.toBe<Effect.Effect<TcpStream.TcpStream, NetError.NetError, Scope.Scope>>()
    expect(TcpStream.layerSocket("127.0.0.1:1")).type.toBe<Layer.Layer<Socket.Socket, never, Netpoll.Netpoll>>()
    expect(TcpListener.layerSocketServer("127.0.0.1:0")).type.toBe<
      Layer.Layer<SocketServer.SocketServer, SocketServer.SocketServerError, Netpoll.Netpoll>
    >()
    expect(UnixStream.connect("/tmp/a.sock")).type.toBe<
      Effect.Effect<UnixStream.UnixStream, NetError.NetError, Netpoll.Netpoll | Scope.Scope>
    >()
    expect(UnixListener.bind("/tmp/a.sock")).type.toBe<
      Effect.Effect<UnixListener.UnixListener, NetError.NetError, Netpoll.Netpoll | Scope.Scope>
    >()
    expect(UnixListener.layerSocketServer("/tmp/a.sock")).type.toBe<
      Layer.Layer<SocketServer.SocketServer, SocketServer.SocketServerError, Netpoll.Netpoll>
    >()
    expect<NetError.NetError["_tag"]>().type.toBe<
      | "ConnectionRefused"
      | "ConnectionReset"
      | "ConnectionAborted"
      | "BrokenPipe"
      | "TimedOut"
      | "AddressInUse"
      | "AddressNotAvailable"
      | "NetworkUnreachable"
      | "HostUnreachable"
      | "MessageTooLarge"
      | "HostNotFound"
      | "InvalidAddress"
      | "SocketClosed"
      | "UnexpectedEof"
      | "LimitExceeded"
      | "SystemError"
    >()
  })

  it("a published TcpStream is not a plain record: its TypeId is the published one", () => {
    expect({ fd: 3 }).type.not.toBeAssignableTo<TcpStream.TcpStream>()
    expect(stream[TcpStream.TypeId]).type.toBe<TcpStream.TypeId>()
  })

  it("internal and core modules are not importable", async () => {
    // @ts-expect-error Cannot find module 'effect-netpoll/internal/tcpStream'
    await import("effect-netpoll/internal/tcpStream")
    // @ts-expect-error Cannot find module 'effect-netpoll/internal/address.js'
    await import("effect-netpoll/internal/address.js")
    // @ts-expect-error Cannot find module 'effect-netpoll/core/native'
    await import("effect-netpoll/core/native")
    // @ts-expect-error Cannot find module 'effect-netpoll/core/errno.js'
    await import("effect-netpoll/core/errno.js")
    // @ts-expect-error Cannot find module 'effect-netpoll/effect3/internal/native'
    await import("effect-netpoll/effect3/internal/native")
    // @ts-expect-error Cannot find module 'effect-netpoll/effect3/internal/tcpStream.js'
    await import("effect-netpoll/effect3/internal/tcpStream.js")
  })

  it("build outputs and sources are not importable by path", async () => {
    // @ts-expect-error Cannot find module 'effect-netpoll/dist/internal/tcpStream.js'
    await import("effect-netpoll/dist/internal/tcpStream.js")
    // @ts-expect-error Cannot find module 'effect-netpoll/dist/core/native.js'
    await import("effect-netpoll/dist/core/native.js")
    // @ts-expect-error Cannot find module 'effect-netpoll/src/TcpStream'
    await import("effect-netpoll/src/TcpStream")
  })
})
