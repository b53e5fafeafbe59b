import * as os from "node:os"
import { describe, expect, it } from "@effect/vitest"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { errno } from "../src/internal/core.js"
import * as errors from "../src/internal/errors.js"
import * as NetError from "../src/NetError.js"
import { failures } from "./utils/peers.js"

const E = os.constants.errno

type Fields = NetError.NetError.Fields
type Case = readonly [
  tag: NetError.NetError["_tag"],
  make: (fields: Fields) => NetError.NetError,
  text: string
]

/** Every error class with its tag and the text of its message. */
const cases: ReadonlyArray<Case> = [
  ["ConnectionRefused", (f) => new NetError.ConnectionRefused(f), "connection refused"],
  ["ConnectionReset", (f) => new NetError.ConnectionReset(f), "connection reset by peer"],
  ["ConnectionAborted", (f) => new NetError.ConnectionAborted(f), "connection aborted"],
  ["BrokenPipe", (f) => new NetError.BrokenPipe(f), "broken pipe"],
  ["TimedOut", (f) => new NetError.TimedOut(f), "timed out"],
  ["AddressInUse", (f) => new NetError.AddressInUse(f), "address already in use"],
  ["AddressNotAvailable", (f) => new NetError.AddressNotAvailable(f), "address not available"],
  ["NetworkUnreachable", (f) => new NetError.NetworkUnreachable(f), "network is unreachable"],
  ["HostUnreachable", (f) => new NetError.HostUnreachable(f), "no route to host"],
  ["MessageTooLarge", (f) => new NetError.MessageTooLarge(f), "message too long"],
  ["HostNotFound", (f) => new NetError.HostNotFound(f), "host not found"],
  ["InvalidAddress", (f) => new NetError.InvalidAddress({ ...f, reason: "missing port" }), "invalid address: missing port"],
  ["SocketClosed", (f) => new NetError.SocketClosed(f), "use of closed network connection"],
  ["UnexpectedEof", (f) => new NetError.UnexpectedEof({ ...f, bytesRead: 3 }), "unexpected end of stream after 3 bytes"],
  ["SystemError", (f) => new NetError.SystemError({ ...f, errno: "EMFILE" }), "EMFILE"]
]

describe("NetError classes", () => {
  it("each class carries its own _tag and is an Error named after it", () => {
    for (const [tag, make] of cases) {
      const error = make({})
      expect(error._tag).toBe(tag)
      expect(error).toBeInstanceOf(Error)
      expect([tag, error.name]).toEqual([tag, tag])
    }
  })

  it("message is syscall, address, then what went wrong", () => {
    const error = new NetError.ConnectionRefused({ syscall: "connect", errno: "ECONNREFUSED", address: "127.0.0.1:80" })
    expect(error.message).toBe("connect 127.0.0.1:80: connection refused")
    expect(new NetError.ConnectionRefused({ syscall: "connect", address: "[::1]:80" }).message).toBe(
      "connect [::1]:80: connection refused"
    )
    for (const [tag, make, text] of cases) {
      expect([tag, make({ syscall: "connect", address: "127.0.0.1:80" }).message]).toEqual([
        tag,
        `connect 127.0.0.1:80: ${text}`
      ])
    }
  })

  it("message degrades gracefully when syscall or address is missing", () => {
    for (const [tag, make, text] of cases) {
      expect([tag, make({ syscall: "read" }).message]).toEqual([tag, `read: ${text}`])
      expect([tag, make({ address: "127.0.0.1:80" }).message]).toEqual([tag, `127.0.0.1:80: ${text}`])
      expect([tag, make({}).message]).toEqual([tag, text])
      expect([tag, make({ syscall: undefined, address: undefined }).message]).toEqual([tag, text])
    }
  })

  it("the fields given are kept on the error", () => {
    const error = new NetError.BrokenPipe({ syscall: "write", errno: "EPIPE", address: "127.0.0.1:80" })
    expect(error.syscall).toBe("write")
    expect(error.errno).toBe("EPIPE")
    expect(error.address).toBe("127.0.0.1:80")
    const bare = new NetError.BrokenPipe({})
    expect(bare.syscall).toBe(undefined)
    expect(bare.errno).toBe(undefined)
    expect(bare.address).toBe(undefined)
  })

  it("UnexpectedEof carries bytesRead, InvalidAddress its reason", () => {
    const eof = new NetError.UnexpectedEof({ syscall: "read", bytesRead: 7 })
    expect(eof.bytesRead).toBe(7)
    expect(eof.message).toBe("read: unexpected end of stream after 7 bytes")
    expect(new NetError.UnexpectedEof({ bytesRead: 0 }).message).toBe("unexpected end of stream after 0 bytes")

    const invalid = new NetError.InvalidAddress({ address: "localhost", reason: "missing port" })
    expect(invalid.reason).toBe("missing port")
    expect(invalid.message).toBe("localhost: invalid address: missing port")
  })

  it("SystemError's message names its errno", () => {
    const error = new NetError.SystemError({ syscall: "accept", errno: "EMFILE" })
    expect(error.message).toBe("accept: EMFILE")
    expect(new NetError.SystemError({ syscall: "socket", errno: "ENOBUFS", address: "[::1]:80" }).message).toBe(
      "socket [::1]:80: ENOBUFS"
    )
    expect(new NetError.SystemError({}).message).not.toBe("")
  })

  it.effect("yielding an error fails the effect with it", () =>
    Effect.gen(function*() {
      for (const [tag, make] of cases) {
        const error = make({ syscall: "connect", address: "127.0.0.1:80" })
        const exit = yield* Effect.exit(Effect.gen(function*() {
          yield* error
          return "unreachable"
        }))
        expect(exit).toStrictEqual(Exit.fail(error))
        const errors = Exit.isFailure(exit) ? failures(exit.cause) : []
        expect(errors.length).toBe(1)
        expect(errors[0]).toBe(error)
        expect([tag, errors[0]?._tag]).toEqual([tag, tag])
      }
    }))

  it.effect("catchTag recovers by tag", () =>
    Effect.gen(function*() {
      const program: Effect.Effect<number, NetError.NetError> = Effect.gen(function*() {
        return yield* new NetError.UnexpectedEof({ syscall: "read", bytesRead: 5 })
      })
      const recovered = yield* Effect.catchTag(program, "UnexpectedEof", (e) => Effect.succeed(e.bytesRead))
      expect(recovered).toBe(5)
    }))
})

describe("NetError.isNetError", () => {
  it("is true for every NetError", () => {
    for (const [tag, make] of cases) {
      expect([tag, NetError.isNetError(make({}))]).toEqual([tag, true])
    }
  })

  it("is false for other errors and look-alikes", () => {
    class ConnectionRefused extends Data.TaggedError("ConnectionRefused")<{}> {}
    expect(NetError.isNetError(new Error("connection refused"))).toBe(false)
    expect(NetError.isNetError(new ConnectionRefused())).toBe(false)
    expect(NetError.isNetError({ _tag: "ConnectionRefused" })).toBe(false)
    expect(NetError.isNetError("ConnectionRefused")).toBe(false)
    expect(NetError.isNetError(null)).toBe(false)
    expect(NetError.isNetError(undefined)).toBe(false)
  })
})

describe("errno mapping (core/errno, internal/errors)", () => {
  const mapped: ReadonlyArray<readonly [name: string, tag: NetError.NetError["_tag"]]> = [
    ["ECONNREFUSED", "ConnectionRefused"],
    ["ECONNRESET", "ConnectionReset"],
    ["ECONNABORTED", "ConnectionAborted"],
    ["EPIPE", "BrokenPipe"],
    ["ETIMEDOUT", "TimedOut"],
    ["EADDRINUSE", "AddressInUse"],
    ["EADDRNOTAVAIL", "AddressNotAvailable"],
    ["ENETUNREACH", "NetworkUnreachable"],
    ["EHOSTUNREACH", "HostUnreachable"],
    ["EMSGSIZE", "MessageTooLarge"]
  ]

  const code = (name: string): number => {
    const n = (E as Record<string, number | undefined>)[name]
    if (n === undefined) throw new Error(`no errno ${name} on this platform`)
    return -n
  }

  it("fromCode gives ConnectionRefused for -ECONNREFUSED, with syscall, errno and address", () => {
    const error = errors.fromCode(-E.ECONNREFUSED, "connect", "1.2.3.4:5")
    expect(error._tag).toBe("ConnectionRefused")
    expect(error).toBeInstanceOf(NetError.ConnectionRefused)
    expect(error.errno).toBe("ECONNREFUSED")
    expect(error.syscall).toBe("connect")
    expect(error.address).toBe("1.2.3.4:5")
    expect(error.message).toBe("connect 1.2.3.4:5: connection refused")
    expect(NetError.isNetError(error)).toBe(true)
  })

  it("fromCode without an address leaves address out", () => {
    const error = errors.fromCode(-E.ECONNRESET, "read")
    expect(error._tag).toBe("ConnectionReset")
    expect(error.address).toBe(undefined)
    expect(error.message).toBe("read: connection reset by peer")
  })

  it("every mapped errno gives its tag, in the core and as an error", () => {
    for (const [name, tag] of mapped) {
      expect([name, errno.tagOf(code(name))]).toEqual([name, tag])
      const error = errors.fromCode(code(name), "connect", "127.0.0.1:80")
      expect([name, error._tag, error.errno, error.syscall, error.address]).toEqual([
        name,
        tag,
        name,
        "connect",
        "127.0.0.1:80"
      ])
    }
  })

  it("an unmapped errno gives SystemError naming it", () => {
    for (const name of ["EMFILE", "ENFILE", "ENOBUFS", "EINVAL", "EBADF", "EACCES"]) {
      const error = errors.fromCode(code(name), "accept")
      expect([name, error._tag, error.errno, error.syscall]).toEqual([name, "SystemError", name, "accept"])
      expect(error.message).toBe(`accept: ${name}`)
    }
  })

  it("an errno unknown to the platform still gives a SystemError", () => {
    const error = errors.fromCode(-9999, "read")
    expect(error._tag).toBe("SystemError")
    expect(error.syscall).toBe("read")
    expect(typeof error.errno).toBe("string")
  })

  it("isTransientAccept is true for EMFILE, ENFILE, ENOBUFS, ENOMEM and ECONNABORTED only", () => {
    for (const name of ["EMFILE", "ENFILE", "ENOBUFS", "ENOMEM", "ECONNABORTED"]) {
      expect([name, errno.isTransientAccept(code(name))]).toEqual([name, true])
    }
    for (const name of ["ECONNREFUSED", "ECONNRESET", "EINVAL", "EBADF", "EAGAIN", "ENOTSOCK", "EOPNOTSUPP"]) {
      expect([name, errno.isTransientAccept(code(name))]).toEqual([name, false])
    }
  })

  it("closed gives SocketClosed with the syscall and address", () => {
    const error = errors.closed("read", "127.0.0.1:80")
    expect(error._tag).toBe("SocketClosed")
    expect(error.syscall).toBe("read")
    expect(error.address).toBe("127.0.0.1:80")
    expect(error.message).toBe("read 127.0.0.1:80: use of closed network connection")
    expect(errors.closed("write").message).toBe("write: use of closed network connection")
  })

  it("a message never throws, whatever the fields hold (issue 9, item 5)", () => {
    const throwing = { toString: () => { throw new Error("no") } }
    const odd = [Symbol("s"), throwing, Object.create(null), 42] as const
    for (const value of odd) {
      const error = new NetError.SystemError({ syscall: value, errno: value, address: value } as never)
      expect(typeof error.message).toBe("string")
      expect(typeof new NetError.InvalidAddress({ address: value, reason: value } as never).message).toBe("string")
    }
    expect(new NetError.SystemError({ syscall: Symbol("read") as never, errno: 42 as never }).message).toBe(
      "Symbol(read): 42"
    )
  })
})
