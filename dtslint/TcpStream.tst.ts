import * as Effect from "effect/Effect"
import * as Equal from "effect/Equal"
import * as NetAddress from "effect/net/NetAddress"
import type * as Scope from "effect/Scope"
import type * as PublishedNetError from "effect-netpoll/NetError"
import type * as PublishedNetpoll from "effect-netpoll/Netpoll"
import * as PublishedTcpStream from "effect-netpoll/TcpStream"
import { describe, expect, it } from "tstyche"
import type * as NetError from "../src/NetError.js"
import type * as Netpoll from "../src/Netpoll.js"
import * as TcpStream from "../src/TcpStream.js"

declare const stream: TcpStream.TcpStream
declare const inet: NetAddress.InetAddress
declare const inet4: NetAddress.InetAddressV4
declare const inet6: NetAddress.InetAddressV6
declare const unixPath: NetAddress.UnixPathAddress
declare const ip: NetAddress.IpAddress
declare const buf: Uint8Array

describe("TcpStream.AddressInput", () => {
  it("is a string, a { host, port } record or an effect/net InetAddress", () => {
    expect<TcpStream.AddressInput>().type.toBe<
      string | { readonly host: string; readonly port: number } | NetAddress.InetAddress
    >()
  })

  it("accepts strings, { host, port } records and InetAddress values of both families", () => {
    expect<string>().type.toBeAssignableTo<TcpStream.AddressInput>()
    expect({ host: "::1", port: 80 }).type.toBeAssignableTo<TcpStream.AddressInput>()
    expect(inet).type.toBeAssignableTo<TcpStream.AddressInput>()
    expect(inet4).type.toBeAssignableTo<TcpStream.AddressInput>()
    expect(inet6).type.toBeAssignableTo<TcpStream.AddressInput>()
  })

  it("rejects a bare port, a host without a port, a string port, a port without a host", () => {
    expect(80).type.not.toBeAssignableTo<TcpStream.AddressInput>()
    expect({ host: "::1" }).type.not.toBeAssignableTo<TcpStream.AddressInput>()
    expect({ host: "::1", port: "80" }).type.not.toBeAssignableTo<TcpStream.AddressInput>()
    expect({ port: 80 }).type.not.toBeAssignableTo<TcpStream.AddressInput>()
    expect(null).type.not.toBeAssignableTo<TcpStream.AddressInput>()
    expect(undefined).type.not.toBeAssignableTo<TcpStream.AddressInput>()
  })

  it("rejects the other effect/net values: a Unix path, an IP without a port, { address, port } parts", () => {
    expect(unixPath).type.not.toBeAssignableTo<TcpStream.AddressInput>()
    expect(ip).type.not.toBeAssignableTo<TcpStream.AddressInput>()
    expect({ address: "127.0.0.1", port: 80 }).type.not.toBeAssignableTo<TcpStream.AddressInput>()
  })
})

describe("TcpStream.connect", () => {
  it("needs Netpoll and Scope and fails with NetError", () => {
    expect(TcpStream.connect("127.0.0.1:1")).type.toBe<
      Effect.Effect<TcpStream.TcpStream, NetError.NetError, Netpoll.Netpoll | Scope.Scope>
    >()
    expect(TcpStream.connect(inet, { noDelay: false, keepAlive: 1_000 })).type.toBe<
      Effect.Effect<TcpStream.TcpStream, NetError.NetError, Netpoll.Netpoll | Scope.Scope>
    >()
  })

  it("Effect.scoped leaves only Netpoll", () => {
    expect(Effect.scoped(TcpStream.connect("127.0.0.1:1"))).type.toBe<
      Effect.Effect<TcpStream.TcpStream, NetError.NetError, Netpoll.Netpoll>
    >()
  })

  it("accepts every AddressInput", () => {
    expect(TcpStream.connect).type.toBeCallableWith("[::1]:80")
    expect(TcpStream.connect).type.toBeCallableWith("localhost:80")
    expect(TcpStream.connect).type.toBeCallableWith({ host: "::1", port: 80 })
    expect(TcpStream.connect).type.toBeCallableWith(inet)
    expect(TcpStream.connect).type.toBeCallableWith(inet6)
  })

  it("rejects every other address at compile time", () => {
    expect(TcpStream.connect).type.not.toBeCallableWith(80)
    expect(TcpStream.connect).type.not.toBeCallableWith({ host: "::1" })
    expect(TcpStream.connect).type.not.toBeCallableWith({ host: "::1", port: "80" })
    expect(TcpStream.connect).type.not.toBeCallableWith(unixPath)
    expect(TcpStream.connect).type.not.toBeCallableWith(ip)
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

  it("carries its TypeId", () => {
    expect(stream[TcpStream.TypeId]).type.toBe<TcpStream.TypeId>()
    expect({ fd: 3 }).type.not.toBeAssignableTo<TcpStream.TcpStream>()
  })

  it("read and write resolve with a byte count", () => {
    expect(stream.read(buf)).type.toBe<Effect.Effect<number, NetError.NetError>>()
    expect(stream.write(buf)).type.toBe<Effect.Effect<number, NetError.NetError>>()
    expect(stream.read).type.toBe<(buf: Uint8Array) => Effect.Effect<number, NetError.NetError>>()
    expect(stream.write).type.toBe<(buf: Uint8Array) => Effect.Effect<number, NetError.NetError>>()
    expect(stream.read).type.not.toBeCallableWith("text")
    expect(stream.write).type.not.toBeCallableWith([1, 2, 3])
  })

  it("readExact and writeAll resolve with void", () => {
    expect(stream.readExact).type.toBe<(buf: Uint8Array) => Effect.Effect<void, NetError.NetError>>()
    expect(stream.writeAll).type.toBe<(buf: Uint8Array) => Effect.Effect<void, NetError.NetError>>()
  })

  it("accepts any Uint8Array view, including Buffer", () => {
    expect(stream.read).type.toBeCallableWith(Buffer.alloc(1))
    expect(stream.writeAll).type.toBeCallableWith(new Uint8Array(8).subarray(2))
    expect(stream.write).type.not.toBeCallableWith(new ArrayBuffer(8))
  })

  it("tryClone needs a Scope", () => {
    expect(stream.tryClone).type.toBe<Effect.Effect<TcpStream.TcpStream, NetError.NetError, Scope.Scope>>()
  })

  it("peerAddr and localAddr give an effect/net InetAddress", () => {
    expect(stream.peerAddr).type.toBe<Effect.Effect<NetAddress.InetAddress, NetError.NetError>>()
    expect(stream.localAddr).type.toBe<Effect.Effect<NetAddress.InetAddress, NetError.NetError>>()
  })

  it("an address read back has a port, a family, an Equal instance, and is an AddressInput again", () => {
    const program = Effect.map(stream.peerAddr, (addr) => {
      expect(addr.port).type.toBe<number>()
      expect(NetAddress.familyOf(addr)).type.toBe<NetAddress.IpFamily>()
      expect(NetAddress.formatHost(addr)).type.toBe<string>()
      expect(Equal.equals(addr, addr)).type.toBe<boolean>()
      expect(TcpStream.connect).type.toBeCallableWith(addr)
      return addr
    })
    expect(program).type.toBe<Effect.Effect<NetAddress.InetAddress, NetError.NetError>>()
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
    // @ts-expect-error Cannot assign to 'close' because it is a read-only property
    stream.close = Effect.void
  })

  it("the published declarations keep connect's type (run `npm run build` first)", () => {
    expect(PublishedTcpStream.connect).type.toBe<
      (
        address: PublishedTcpStream.AddressInput,
        options?: PublishedTcpStream.ConnectOptions
      ) => Effect.Effect<PublishedTcpStream.TcpStream, PublishedNetError.NetError, PublishedNetpoll.Netpoll | Scope.Scope>
    >()
    expect<PublishedTcpStream.AddressInput>().type.toBe<TcpStream.AddressInput>()
    expect<PublishedTcpStream.ConnectOptions>().type.toBe<TcpStream.ConnectOptions>()
    expect<PublishedTcpStream.TcpStream["peerAddr"]>().type.toBe<
      Effect.Effect<NetAddress.InetAddress, PublishedNetError.NetError>
    >()
  })
})
