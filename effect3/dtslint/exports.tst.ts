import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Package from "effect-netpoll/effect3"
import * as ClusterSocket from "effect-netpoll/effect3/ClusterSocket"
import * as NetError from "effect-netpoll/effect3/NetError"
import * as Netpoll from "effect-netpoll/effect3/Netpoll"
import * as SocketAddr from "effect-netpoll/effect3/SocketAddr"
import * as TcpListener from "effect-netpoll/effect3/TcpListener"
import * as TcpStream from "effect-netpoll/effect3/TcpStream"
import * as UdpSocket from "effect-netpoll/effect3/UdpSocket"
import * as UnixListener from "effect-netpoll/effect3/UnixListener"
import * as UnixStream from "effect-netpoll/effect3/UnixStream"
import { describe, expect, it } from "tstyche"

// These imports go through package.json "exports", which point at dist/*.d.ts:
// run `npm run build` first.

describe("package exports", () => {
  it("the root re-exports every public module as a namespace", () => {
    expect(Package.NetError).type.toBe(NetError)
    expect(Package.Netpoll).type.toBe(Netpoll)
    expect(Package.SocketAddr).type.toBe(SocketAddr)
    expect(Package.TcpListener).type.toBe(TcpListener)
    expect(Package.TcpStream).type.toBe(TcpStream)
    expect(Package.UdpSocket).type.toBe(UdpSocket)
    expect(Package.UnixListener).type.toBe(UnixListener)
    expect(Package.UnixStream).type.toBe(UnixStream)
  })

  it("ClusterSocket is a subpath only: the index neither needs nor loads @effect/cluster", () => {
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
    expect(UdpSocket.bind("127.0.0.1:0")).type.toBe<
      Effect.Effect<UdpSocket.UdpSocket, NetError.NetError, Netpoll.Netpoll | Scope.Scope>
    >()
    // No DatagramSocket backend on this line: @effect/platform 0.x has no datagram contract.
    expect(UdpSocket).type.not.toHaveProperty("makeDatagramSocket")
    expect(UnixStream.connect("/tmp/a.sock")).type.toBe<
      Effect.Effect<UnixStream.UnixStream, NetError.NetError, Netpoll.Netpoll | Scope.Scope>
    >()
    expect(UnixListener.bind("/tmp/a.sock")).type.toBe<
      Effect.Effect<UnixListener.UnixListener, NetError.NetError, Netpoll.Netpoll | Scope.Scope>
    >()
  })

  it("internal modules are not importable", async () => {
    // @ts-expect-error Cannot find module 'effect-netpoll/effect3/internal/native'
    await import("effect-netpoll/effect3/internal/native")
    // @ts-expect-error Cannot find module 'effect-netpoll/effect3/internal/errno.js'
    await import("effect-netpoll/effect3/internal/errno.js")
    // @ts-expect-error Cannot find module 'effect-netpoll/dist/internal/native.js'
    await import("effect-netpoll/dist/internal/native.js")
    // @ts-expect-error Cannot find module 'effect-netpoll/src/TcpStream'
    await import("effect-netpoll/src/TcpStream")
  })
})
