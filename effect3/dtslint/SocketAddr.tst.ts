import type * as Effect from "effect/Effect"
import type * as Either from "effect/Either"
import * as Equal from "effect/Equal"
import { describe, expect, it } from "tstyche"
import type * as NetError from "../src/NetError.js"
import * as SocketAddr from "../src/SocketAddr.js"

declare const addr: SocketAddr.SocketAddr

describe("SocketAddr.Input", () => {
  it("accepts strings, { host, port } records and SocketAddr", () => {
    expect<string>().type.toBeAssignableTo<SocketAddr.Input>()
    expect({ host: "::1", port: 80 }).type.toBeAssignableTo<SocketAddr.Input>()
    expect(addr).type.toBeAssignableTo<SocketAddr.Input>()
    expect(SocketAddr.parse).type.toBeCallableWith("127.0.0.1:80")
    expect(SocketAddr.parse).type.toBeCallableWith({ host: "::1", port: 80 })
    expect(SocketAddr.parse).type.toBeCallableWith(addr)
  })

  it("rejects a host without a port, a bare number and a string port", () => {
    expect({ host: "::1" }).type.not.toBeAssignableTo<SocketAddr.Input>()
    expect(80).type.not.toBeAssignableTo<SocketAddr.Input>()
    expect({ host: "::1", port: "80" }).type.not.toBeAssignableTo<SocketAddr.Input>()
    expect(SocketAddr.parse).type.not.toBeCallableWith({ host: "::1" })
    expect(SocketAddr.parse).type.not.toBeCallableWith(80)
    expect(SocketAddr.parse).type.not.toBeCallableWith({ port: 80 })
  })
})

describe("SocketAddr", () => {
  it("has a family, an address and a port", () => {
    expect(addr.family).type.toBe<"IPv4" | "IPv6">()
    expect(addr.address).type.toBe<string>()
    expect(addr.port).type.toBe<number>()
    expect(addr.toString()).type.toBe<string>()
  })

  it("is Equal", () => {
    expect(addr).type.toBeAssignableTo<Equal.Equal>()
    expect(Equal.equals(addr, addr)).type.toBe<boolean>()
  })

  it("is read-only", () => {
    // @ts-expect-error Cannot assign to 'port' because it is a read-only property
    addr.port = 81
  })

  it("a plain record is not a SocketAddr", () => {
    expect({ family: "IPv4" as const, address: "127.0.0.1", port: 80 }).type.not.toBeAssignableTo<
      SocketAddr.SocketAddr
    >()
  })

  it("isSocketAddr is a guard", () => {
    expect(SocketAddr.isSocketAddr).type.toBe<(u: unknown) => u is SocketAddr.SocketAddr>()
  })
})

describe("SocketAddr.parse and resolve", () => {
  it("parse is pure and fails only with InvalidAddress", () => {
    expect(SocketAddr.parse("127.0.0.1:80")).type.toBe<Either.Either<SocketAddr.SocketAddr, NetError.InvalidAddress>>()
  })

  it("resolve fails with InvalidAddress or HostNotFound and needs nothing", () => {
    expect(SocketAddr.resolve("localhost:80")).type.toBe<
      Effect.Effect<ReadonlyArray<SocketAddr.SocketAddr>, NetError.InvalidAddress | NetError.HostNotFound>
    >()
  })
})
