import * as Effect from "effect/Effect"
import { describe, expect, it } from "tstyche"
import * as NetError from "../src/NetError.js"
import type * as TcpStream from "../src/TcpStream.js"

declare const stream: TcpStream.TcpStream
declare const buf: Uint8Array

type Tag =
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

describe("NetError", () => {
  it("is the union of the tagged error classes", () => {
    expect<NetError.NetError>().type.toBe<
      | NetError.ConnectionRefused
      | NetError.ConnectionReset
      | NetError.ConnectionAborted
      | NetError.BrokenPipe
      | NetError.TimedOut
      | NetError.AddressInUse
      | NetError.AddressNotAvailable
      | NetError.NetworkUnreachable
      | NetError.HostUnreachable
      | NetError.MessageTooLarge
      | NetError.HostNotFound
      | NetError.InvalidAddress
      | NetError.SocketClosed
      | NetError.UnexpectedEof
      | NetError.LimitExceeded
      | NetError.SystemError
    >()
    expect<NetError.NetError["_tag"]>().type.toBe<Tag>()
  })

  it("every member is an Error with optional syscall, errno and address", () => {
    expect<NetError.NetError>().type.toBeAssignableTo<Error>()
    expect<NetError.NetError["message"]>().type.toBe<string>()
    expect<NetError.NetError["syscall"]>().type.toBe<string | undefined>()
    expect<NetError.NetError["errno"]>().type.toBe<string | undefined>()
    expect<NetError.NetError["address"]>().type.toBe<string | undefined>()
  })

  it("bytesRead exists only on UnexpectedEof, reason only on InvalidAddress", () => {
    expect<NetError.UnexpectedEof["bytesRead"]>().type.toBe<number>()
    expect<NetError.UnexpectedEof>().type.toHaveProperty("bytesRead")
    expect<NetError.ConnectionReset>().type.not.toHaveProperty("bytesRead")
    expect<NetError.NetError>().type.not.toHaveProperty("bytesRead")
    expect<NetError.InvalidAddress["reason"]>().type.toBe<string>()
    expect<NetError.SystemError>().type.not.toHaveProperty("reason")
  })

  it("constructors take the fields, and the extra ones where they apply", () => {
    expect(NetError.ConnectionRefused).type.toBeConstructableWith({})
    expect(NetError.ConnectionRefused).type.toBeConstructableWith({
      syscall: "connect",
      errno: "ECONNREFUSED",
      address: "127.0.0.1:80"
    })
    expect(NetError.ConnectionRefused).type.not.toBeConstructableWith({ errno: 111 })
    expect(NetError.UnexpectedEof).type.toBeConstructableWith({ bytesRead: 3 })
    expect(NetError.UnexpectedEof).type.not.toBeConstructableWith({})
    expect(NetError.InvalidAddress).type.toBeConstructableWith({ address: "x", reason: "missing port" })
    expect(NetError.InvalidAddress).type.not.toBeConstructableWith({ address: "x" })
  })

  it("isNetError narrows unknown to the union", () => {
    expect(NetError.isNetError).type.toBe<(u: unknown) => u is NetError.NetError>()
  })

  it("an error is yieldable and fails the effect", () => {
    const program = Effect.gen(function*() {
      return yield* new NetError.ConnectionRefused({ syscall: "connect" })
    })
    expect(program).type.toBe<Effect.Effect<never, NetError.ConnectionRefused>>()
  })
})

describe("Effect.catchTag on a NetError", () => {
  it("narrows ConnectionRefused and removes it from the error channel", () => {
    const program = Effect.catchTag(stream.read(buf), "ConnectionRefused", (e) => {
      expect(e).type.toBe<NetError.ConnectionRefused>()
      return Effect.succeed("refused" as const)
    })
    expect(program).type.toBe<
      Effect.Effect<number | "refused", Exclude<NetError.NetError, NetError.ConnectionRefused>>
    >()
  })

  it("narrows UnexpectedEof, whose bytesRead is a number", () => {
    const program = stream.readExact(buf).pipe(
      Effect.catchTag("UnexpectedEof", (e) => {
        expect(e).type.toBe<NetError.UnexpectedEof>()
        expect(e.bytesRead).type.toBe<number>()
        return Effect.succeed(e.bytesRead)
      })
    )
    expect(program).type.toBe<
      Effect.Effect<number | void, Exclude<NetError.NetError, NetError.UnexpectedEof>>
    >()
  })

  it("narrows several tags at once", () => {
    const program = stream.write(buf).pipe(
      Effect.catchTag("BrokenPipe", "ConnectionReset", (e) => {
        expect(e).type.toBe<NetError.BrokenPipe | NetError.ConnectionReset>()
        return Effect.succeed(0)
      })
    )
    expect(program).type.toBe<
      Effect.Effect<number, Exclude<NetError.NetError, NetError.BrokenPipe | NetError.ConnectionReset>>
    >()
  })

  it("rejects a tag that is not a NetError", () => {
    expect(Effect.catchTag).type.not.toBeCallableWith(stream.read(buf), "ECONNREFUSED", () => Effect.succeed(0))
  })

  it("catchTags over every tag leaves never in the error channel", () => {
    const zero = () => Effect.succeed(0)
    const program = stream.read(buf).pipe(
      Effect.catchTags({
        ConnectionRefused: zero,
        ConnectionReset: zero,
        ConnectionAborted: zero,
        BrokenPipe: zero,
        TimedOut: zero,
        AddressInUse: zero,
        AddressNotAvailable: zero,
        NetworkUnreachable: zero,
        HostUnreachable: zero,
        MessageTooLarge: zero,
        HostNotFound: zero,
        InvalidAddress: (e) => {
          expect(e.reason).type.toBe<string>()
          return zero()
        },
        SocketClosed: zero,
        UnexpectedEof: (e) => Effect.succeed(e.bytesRead),
        LimitExceeded: zero,
        SystemError: zero
      })
    )
    expect(program).type.toBe<Effect.Effect<number, never>>()
  })
})
