import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Equal from "effect/Equal"
import * as Hash from "effect/Hash"
import * as HashSet from "effect/HashSet"
import type * as NetError from "../src/NetError.js"
import * as SocketAddr from "../src/SocketAddr.js"
import { hostile as hostileValues, throwingProxy, trap, unprintable } from "./utils/hostile.js"
import { bound } from "./utils/peers.js"

const parseOk = (input: SocketAddr.Input): SocketAddr.SocketAddr => {
  const result = SocketAddr.parse(input)
  if (Either.isLeft(result)) throw new Error(`expected ${JSON.stringify(input)} to parse: ${result.left.message}`)
  return result.right
}

const parseErr = (input: SocketAddr.Input): NetError.InvalidAddress => {
  const result = SocketAddr.parse(input)
  if (Either.isRight(result)) throw new Error(`expected ${JSON.stringify(input)} to be rejected, got ${result.right}`)
  return result.left
}

/** Runs synchronously, which proves that no DNS lookup (always asynchronous) took place. */
const resolveSync = (input: SocketAddr.Input) => Effect.runSync(Effect.either(SocketAddr.resolve(input)))

describe("SocketAddr.parse", () => {
  it("parses an IPv4 address and formats it back", () => {
    const addr = parseOk("127.0.0.1:80")
    expect(addr.family).toBe("IPv4")
    expect(addr.address).toBe("127.0.0.1")
    expect(addr.port).toBe(80)
    expect(String(addr)).toBe("127.0.0.1:80")
    expect(`${addr}`).toBe("127.0.0.1:80")
  })

  it("parses a bracketed IPv6 address and formats it back with brackets", () => {
    const addr = parseOk("[::1]:80")
    expect(addr.family).toBe("IPv6")
    expect(addr.address).toBe("::1")
    expect(addr.port).toBe(80)
    expect(String(addr)).toBe("[::1]:80")
  })

  it("round-trips literal addresses through String", () => {
    for (
      const input of [
        "0.0.0.0:0",
        "10.1.2.3:8080",
        "255.255.255.255:65535",
        "[::]:0",
        "[::1]:65535",
        "[2001:db8::1]:443",
        "[::ffff:127.0.0.1]:80"
      ]
    ) {
      expect(String(parseOk(input))).toBe(input)
      expect(String(parseOk(String(parseOk(input))))).toBe(input)
    }
  })

  it("parses { host, port } records, IPv6 hosts with or without brackets", () => {
    const v4 = parseOk({ host: "127.0.0.1", port: 8080 })
    expect([v4.family, v4.address, v4.port]).toEqual(["IPv4", "127.0.0.1", 8080])
    expect(String(v4)).toBe("127.0.0.1:8080")

    const bare = parseOk({ host: "::1", port: 80 })
    const bracketed = parseOk({ host: "[::1]", port: 80 })
    expect([bare.family, bare.address, bare.port]).toEqual(["IPv6", "::1", 80])
    expect([bracketed.family, bracketed.address, bracketed.port]).toEqual(["IPv6", "::1", 80])
    expect(String(bare)).toBe("[::1]:80")
    expect(String(bracketed)).toBe("[::1]:80")
  })

  it("returns a SocketAddr input as it is", () => {
    const addr = parseOk("127.0.0.1:80")
    expect(parseOk(addr)).toBe(addr)
  })

  it("accepts the port bounds 0 and 65535", () => {
    expect(parseOk("127.0.0.1:0").port).toBe(0)
    expect(parseOk("127.0.0.1:65535").port).toBe(65535)
    expect(parseOk("[::1]:0").port).toBe(0)
    expect(parseOk("[::1]:65535").port).toBe(65535)
    expect(parseOk({ host: "127.0.0.1", port: 0 }).port).toBe(0)
    expect(parseOk({ host: "::1", port: 65535 }).port).toBe(65535)
  })

  it("parses IPv6 scope ids and formats them back the same", () => {
    const addr = parseOk("[fe80::1%lo]:80")
    expect(addr.family).toBe("IPv6")
    expect(addr.address).toBe("fe80::1%lo")
    expect(addr.port).toBe(80)
    expect(String(addr)).toBe("[fe80::1%lo]:80")
    expect(String(parseOk({ host: "fe80::1%lo", port: 80 }))).toBe("[fe80::1%lo]:80")
  })

  it("rejects host names: parse never touches DNS", () => {
    for (const input of ["localhost:80", "example.com:443"]) {
      const error = parseErr(input)
      expect(error._tag).toBe("InvalidAddress")
      expect(error.address).toBe(input)
    }
    const error = parseErr({ host: "localhost", port: 80 })
    expect(error._tag).toBe("InvalidAddress")
    expect(error.address).toBe("localhost:80")
  })

  it("rejects ports outside 0..65535 and ports that are not integers", () => {
    for (
      const input of [
        "127.0.0.1:65536",
        "127.0.0.1:99999",
        "127.0.0.1:-1",
        "127.0.0.1:1.5",
        "127.0.0.1:080x",
        "127.0.0.1:+80",
        "127.0.0.1: 80",
        "127.0.0.1:",
        "[::1]:65536",
        "[::1]:-1"
      ]
    ) {
      const error = parseErr(input)
      expect(error._tag).toBe("InvalidAddress")
      expect(error.address).toBe(input)
    }
  })

  it("rejects { host, port } records whose port is out of range or fractional", () => {
    for (const port of [65536, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      const input = { host: "127.0.0.1", port }
      const error = parseErr(input)
      expect(error._tag).toBe("InvalidAddress")
      expect(error.address).toBe(`127.0.0.1:${port}`)
    }
  })

  it("rejects a missing port, a missing host and the empty string", () => {
    for (const input of ["", "127.0.0.1", "[::1]", ":80", "[]:80"]) {
      const error = parseErr(input)
      expect(error._tag).toBe("InvalidAddress")
      expect(error.address).toBe(input)
    }
  })

  it("rejects an unbracketed IPv6 address with a port", () => {
    for (const input of ["::1:80", "2001:db8::1:443", "fe80::1%lo:80"]) {
      const error = parseErr(input)
      expect(error._tag).toBe("InvalidAddress")
      expect(error.address).toBe(input)
    }
  })

  it("rejects malformed hosts", () => {
    for (const input of ["[::1:80", "[127.0.0.1:80", "256.0.0.1:80", "bad host:80", "-dash.example:80"]) {
      const error = parseErr(input)
      expect(error._tag).toBe("InvalidAddress")
      expect(error.address).toBe(input)
    }
  })
})

describe("SocketAddr equality", () => {
  it("addresses with the same parts are Equal and hash alike", () => {
    const a = parseOk("127.0.0.1:80")
    const b = parseOk({ host: "127.0.0.1", port: 80 })
    expect(a).not.toBe(b)
    expect(Equal.equals(a, b)).toBe(true)
    expect(Hash.hash(a)).toBe(Hash.hash(b))

    const c = parseOk("[::1]:443")
    const d = parseOk({ host: "[::1]", port: 443 })
    expect(Equal.equals(c, d)).toBe(true)
    expect(Hash.hash(c)).toBe(Hash.hash(d))
  })

  it("addresses that differ in address, port or family are not Equal", () => {
    const a = parseOk("127.0.0.1:80")
    expect(Equal.equals(a, parseOk("127.0.0.1:81"))).toBe(false)
    expect(Equal.equals(a, parseOk("127.0.0.2:80"))).toBe(false)
    expect(Equal.equals(a, parseOk("[::ffff:127.0.0.1]:80"))).toBe(false)
    expect(Equal.equals(a, { family: "IPv4", address: "127.0.0.1", port: 80 })).toBe(false)
  })

  it("a HashSet keeps one of each address", () => {
    const set = HashSet.fromIterable([
      parseOk("127.0.0.1:80"),
      parseOk({ host: "127.0.0.1", port: 80 }),
      parseOk("[::1]:80"),
      parseOk({ host: "::1", port: 80 })
    ])
    expect(HashSet.size(set)).toBe(2)
  })

  it("isSocketAddr tells a SocketAddr from a look-alike record", () => {
    expect(SocketAddr.isSocketAddr(parseOk("127.0.0.1:80"))).toBe(true)
    expect(SocketAddr.isSocketAddr({ family: "IPv4", address: "127.0.0.1", port: 80 })).toBe(false)
    expect(SocketAddr.isSocketAddr("127.0.0.1:80")).toBe(false)
    expect(SocketAddr.isSocketAddr(null)).toBe(false)
  })
})

describe("SocketAddr.resolve", () => {
  it("resolves IP literals to themselves, without DNS", () => {
    const v4 = resolveSync("127.0.0.1:80")
    const v6 = resolveSync("[::1]:80")
    const record = resolveSync({ host: "::1", port: 8080 })
    expect(Either.map(v4, (addrs) => addrs.map(String))).toEqual(Either.right(["127.0.0.1:80"]))
    expect(Either.map(v6, (addrs) => addrs.map(String))).toEqual(Either.right(["[::1]:80"]))
    expect(Either.map(record, (addrs) => addrs.map(String))).toEqual(Either.right(["[::1]:8080"]))
    expect(Either.map(v4, (addrs) => Equal.equals(addrs[0], parseOk("127.0.0.1:80")))).toEqual(Either.right(true))
  })

  it("resolves a SocketAddr to itself", () => {
    const addr = parseOk("[::1]:80")
    const resolved = resolveSync(addr)
    expect(Either.isRight(resolved) && resolved.right.length === 1 && resolved.right[0] === addr).toBe(true)
  })

  it("rejects the empty string and a bad port with InvalidAddress, before any DNS lookup", () => {
    for (const input of ["", "localhost", "localhost:65536", "localhost:", "bad host:80"]) {
      const result = resolveSync(input)
      if (Either.isRight(result)) throw new Error(`expected ${JSON.stringify(input)} to be rejected`)
      expect(result.left._tag).toBe("InvalidAddress")
      expect(result.left.address).toBe(input)
    }
  })

  it.live("resolves localhost to loopback addresses with the given port", () =>
    Effect.gen(function*() {
      const addrs = yield* bound(SocketAddr.resolve("localhost:80"), "resolve(localhost)")
      expect(addrs.length).toBeGreaterThan(0)
      const strings = addrs.map(String)
      expect(strings.includes("127.0.0.1:80") || strings.includes("[::1]:80")).toBe(true)
      for (const addr of addrs) {
        expect(SocketAddr.isSocketAddr(addr)).toBe(true)
        expect(addr.port).toBe(80)
        expect(addr.family === "IPv4" || addr.family === "IPv6").toBe(true)
      }
    }))

  it.live("resolves a { host, port } record with a host name", () =>
    Effect.gen(function*() {
      const addrs = yield* bound(SocketAddr.resolve({ host: "localhost", port: 443 }), "resolve(localhost)")
      expect(addrs.length).toBeGreaterThan(0)
      for (const addr of addrs) expect(addr.port).toBe(443)
    }))

  it.live("fails with HostNotFound for a name that does not exist", () =>
    Effect.gen(function*() {
      const error = yield* bound(Effect.flip(SocketAddr.resolve("no-such-host.invalid:80")), "resolve(.invalid)")
      expect(error._tag).toBe("HostNotFound")
      expect(error.address).toBe("no-such-host.invalid:80")
      expect(error.syscall).toBe("getaddrinfo")
      expect(typeof error.errno).toBe("string")
    }))
})

describe("SocketAddr canonical form", () => {
  it("writes IPv6 addresses in RFC 5952 form, so equal addresses are Equal", () => {
    const long = parseOk("[0:0:0:0:0:0:0:1]:80")
    expect(String(long)).toBe("[::1]:80")
    expect(Equal.equals(long, parseOk("[::1]:80"))).toBe(true)
    expect(String(parseOk({ host: "2001:DB8:0::1", port: 443 }))).toBe("[2001:db8::1]:443")
    expect(String(parseOk("[FE80::1%lo]:80"))).toBe("[fe80::1%lo]:80")
  })
})

describe("SocketAddr with hostile arguments", () => {
  const hostile: ReadonlyArray<readonly [string, unknown]> = [
    ...hostileValues,
    ["a null-prototype host", { host: Object.create(null), port: 80 }],
    ["a null-prototype port", { host: "127.0.0.1", port: Object.create(null) }],
    ["a Symbol host", { host: Symbol("h"), port: 80 }],
    ["a Proxy port", { host: "127.0.0.1", port: throwingProxy }],
    ["an unprintable host", { host: unprintable, port: 80 }],
    ["getters that throw", Object.defineProperties({}, { host: { get: trap }, port: { get: trap } })]
  ]

  it("parse returns an InvalidAddress for any value, never a throw, and its message is a string", () => {
    for (const [label, value] of hostile) {
      let result: Either.Either<SocketAddr.SocketAddr, NetError.InvalidAddress> | undefined
      expect(() => {
        result = SocketAddr.parse(value as SocketAddr.Input)
      }, label).not.toThrow()
      expect([label, result !== undefined && Either.isLeft(result) && result.left._tag]).toEqual([label, "InvalidAddress"])
      const error = (result as Either.Left<NetError.InvalidAddress, SocketAddr.SocketAddr>).left
      expect([label, typeof error.message, typeof error.address]).toEqual([label, "string", "string"])
      expect(error.message.length).toBeLessThan(400)
    }
  })

  it("resolve returns an Effect that fails with InvalidAddress for any value, and isSocketAddr is false", () => {
    for (const [label, value] of hostile) {
      let effect: Effect.Effect<unknown, NetError.NetError> | undefined
      expect(() => {
        effect = SocketAddr.resolve(value as SocketAddr.Input)
      }, label).not.toThrow()
      const result = Effect.runSync(Effect.either(effect!))
      expect([label, Either.isLeft(result) && result.left._tag]).toEqual([label, "InvalidAddress"])
      expect([label, SocketAddr.isSocketAddr(value)]).toEqual([label, false])
    }
  })

  it("says why: the host or port that is no string or number, a port out of range or not an integer, a URL", () => {
    const reasons: ReadonlyArray<readonly [unknown, string]> = [
      [{ host: Object.create(null), port: 80 }, "host must be a string (an IP address or a name), got [Object: null prototype] {}"],
      [
        { host: "127.0.0.1", port: Object.create(null) },
        "port must be a number (a port is an integer from 0 to 65535), got [Object: null prototype] {}"
      ],
      ["127.0.0.1:-1", "port -1 is out of range: a port is an integer from 0 to 65535"],
      [{ host: "127.0.0.1", port: 1.5 }, "port 1.5 is not an integer: a port is an integer from 0 to 65535"],
      ["http://host", "a URL is not an address: expected \"host:port\" (no scheme, no path)"],
      ["http://host:80", "a URL is not an address: expected \"host:port\" (no scheme, no path)"]
    ]
    for (const [input, reason] of reasons) expect(parseErr(input as SocketAddr.Input).reason).toBe(reason)
  })
})
