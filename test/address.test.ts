import * as os from "node:os"
import { describe, expect, it, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Equal from "effect/Equal"
import * as Exit from "effect/Exit"
import * as Hash from "effect/Hash"
import * as HashSet from "effect/HashSet"
import * as Result from "effect/Result"
import type * as Scope from "effect/Scope"
import { NetAddress } from "effect/net"
import * as address from "../src/internal/address.js"
import type * as NetError from "../src/NetError.js"
import * as Netpoll from "../src/Netpoll.js"
import * as TcpListener from "../src/TcpListener.js"
import * as TcpStream from "../src/TcpStream.js"
import { loopTurns, openFds } from "./utils/fds.js"
import { bound, failureTag, pair } from "./utils/peers.js"

// What connect and bind take as an address (strings, { host, port } records and
// effect/net's InetAddress values), what they reject, and the InetAddress values
// that localAddr and peerAddr return. (The Effect 3 line's SocketAddr module has
// no Effect 4 counterpart: effect/net parses and formats addresses.)

type AddressInput = Parameters<typeof TcpStream.connect>[0]

/** connect and bind, side by side, for one input. */
const both = (input: AddressInput) =>
  [["connect", TcpStream.connect(input)], ["bind", TcpListener.bind(input)]] as ReadonlyArray<
    readonly [string, Effect.Effect<unknown, NetError.NetError, Netpoll.Netpoll | Scope.Scope>]
  >

const inet = (input: string): NetAddress.InetAddress => Result.getOrThrow(NetAddress.inetAddressFromString(input))

/** Strings that are no "host:port", each with what is wrong with it. */
const malformedStrings: ReadonlyArray<string> = [
  "", // empty
  "127.0.0.1", // no port
  "[::1]", // no port
  "localhost", // no port
  ":80", // no host
  "[]:80", // empty brackets
  "127.0.0.1:", // empty port
  "localhost:", // empty port, on a name: rejected before any DNS lookup
  "127.0.0.1:65536", // port out of range
  "127.0.0.1:99999",
  "localhost:65536",
  "[::1]:65536",
  "127.0.0.1:-1",
  "127.0.0.1:1.5", // not an integer
  "127.0.0.1:+80", // not a plain decimal
  "127.0.0.1: 80",
  "127.0.0.1:080x",
  "127.0.0.1:http", // service names are not ports
  "::1:80", // IPv6 with a port needs brackets
  "2001:db8::1:443",
  "[::1:80", // unbalanced brackets
  "[127.0.0.1:80", // brackets around IPv4
  "256.0.0.1:80", // not an IPv4 address, and not a name either
  "bad host:80", // a space in a name
  "-dash.example:80" // a label starting with a hyphen
]

/** Records that are no address, and how an error names them. */
const malformedRecords: ReadonlyArray<readonly [input: { readonly host: string; readonly port: number }, shown: string]> = [
  [{ host: "127.0.0.1", port: 65536 }, "127.0.0.1:65536"],
  [{ host: "127.0.0.1", port: 70000 }, "127.0.0.1:70000"],
  [{ host: "127.0.0.1", port: -1 }, "127.0.0.1:-1"],
  [{ host: "127.0.0.1", port: 1.5 }, "127.0.0.1:1.5"],
  [{ host: "127.0.0.1", port: Number.NaN }, "127.0.0.1:NaN"],
  [{ host: "127.0.0.1", port: Number.POSITIVE_INFINITY }, "127.0.0.1:Infinity"],
  [{ host: "", port: 80 }, ":80"],
  [{ host: "bad host", port: 80 }, "bad host:80"]
]

/** Values that are no address input at all. */
const notAddresses: ReadonlyArray<unknown> = [null, undefined, 42, true, { host: 7, port: "x" }, {}, []]

layer(Netpoll.layer, { excludeTestServices: true })("addresses", (it) => {
  describe("accepted inputs", () => {
    it.effect("\"ip:port\" strings: IPv4, and IPv6 in brackets", () =>
      Effect.gen(function*() {
        for (const [host, bracketed] of [["127.0.0.1", "127.0.0.1"], ["::1", "[::1]"]]) {
          const listener = yield* TcpListener.bind(`${bracketed}:0`)
          const { port } = yield* listener.localAddr
          expect(String(yield* listener.localAddr)).toBe(`${bracketed}:${port}`)
          const client = yield* bound(TcpStream.connect(`${bracketed}:${port}`))
          expect([host, String(yield* client.peerAddr)]).toEqual([host, `${bracketed}:${port}`])
          const server = yield* bound(listener.accept)
          expect(String(yield* server.peerAddr)).toBe(String(yield* client.localAddr))
        }
      }))

    it.effect("{ host, port } records, with an IPv6 host written without brackets", () =>
      Effect.gen(function*() {
        for (const [host, shown] of [["127.0.0.1", "127.0.0.1"], ["::1", "[::1]"]]) {
          const listener = yield* TcpListener.bind({ host, port: 0 })
          const { port } = yield* listener.localAddr
          const client = yield* bound(TcpStream.connect({ host, port }))
          expect([host, String(yield* client.peerAddr)]).toEqual([host, `${shown}:${port}`])
        }
      }))

    it.effect("an InetAddress value, for bind and for connect", () =>
      Effect.gen(function*() {
        for (const text of ["127.0.0.1", "[::1]"]) {
          const listener = yield* TcpListener.bind(inet(`${text}:0`))
          const addr = yield* listener.localAddr
          expect(String(addr)).toBe(`${text}:${addr.port}`)
          const client = yield* bound(TcpStream.connect(inet(`${text}:${addr.port}`)))
          expect(Equal.equals(yield* client.peerAddr, addr)).toBe(true)
          // The address localAddr returned is an input as it is.
          const again = yield* bound(TcpStream.connect(addr))
          expect(String(yield* again.peerAddr)).toBe(String(addr))
        }
      }))

    it.effect("\"localhost:0\" binds a loopback address, and \"localhost:<port>\" connects to it", () =>
      Effect.gen(function*() {
        const listener = yield* TcpListener.bind("localhost:0")
        const addr = yield* listener.localAddr
        expect(["127.0.0.1", "::1"]).toContain(NetAddress.formatHost(addr))
        expect(addr.port).toBeGreaterThan(0)
        const client = yield* bound(TcpStream.connect(`localhost:${addr.port}`))
        expect(String(yield* client.peerAddr)).toBe(String(addr))
        const viaRecord = yield* bound(TcpStream.connect({ host: "localhost", port: addr.port }))
        expect(String(yield* viaRecord.peerAddr)).toBe(String(addr))
      }))

    it.effect("an IPv6 address written in full is the same address as its short form", () =>
      Effect.gen(function*() {
        const listener = yield* TcpListener.bind("[0:0:0:0:0:0:0:1]:0")
        const addr = yield* listener.localAddr
        expect(String(addr)).toBe(`[::1]:${addr.port}`)
        const client = yield* bound(TcpStream.connect(`[0:0:0:0:0:0:0:1]:${addr.port}`))
        expect(String(yield* client.peerAddr)).toBe(`[::1]:${addr.port}`)
      }))

    it.effect("the highest port, 65535, is a valid port: connect gets as far as the kernel", () =>
      Effect.gen(function*() {
        for (const input of ["127.0.0.1:65535", { host: "127.0.0.1", port: 65535 }] as ReadonlyArray<AddressInput>) {
          const exit = yield* bound(Effect.exit(Effect.scoped(TcpStream.connect(input))))
          // Nothing is expected to listen there; if something does, the connect succeeds.
          expect(Exit.isSuccess(exit) ? "Success" : failureTag(exit)).toMatch(/^(Success|ConnectionRefused)$/)
        }
      }))
  })

  describe("rejected inputs", () => {
    it.effect("malformed strings fail with InvalidAddress, naming the input and the reason, before any syscall", () =>
      Effect.gen(function*() {
        const netpoll = yield* Netpoll.Netpoll
        yield* loopTurns
        const fds = openFds()
        for (const input of malformedStrings) {
          for (const [name, call] of both(input)) {
            const error = yield* Effect.flip(Effect.scoped(call))
            expect([name, input, error._tag, error.address]).toEqual([name, input, "InvalidAddress", input])
            const reason = error._tag === "InvalidAddress" ? error.reason : ""
            expect([name, input, reason.length > 0]).toEqual([name, input, true])
            expect(error.message.endsWith(`invalid address: ${reason}`)).toBe(true)
          }
        }
        expect(netpoll.size).toBe(0)
        expect(openFds()).toBe(fds)
      }))

    it.effect("malformed { host, port } records fail with InvalidAddress, shown as host:port", () =>
      Effect.gen(function*() {
        const netpoll = yield* Netpoll.Netpoll
        for (const [input, shown] of malformedRecords) {
          for (const [name, call] of both(input)) {
            const error = yield* Effect.flip(Effect.scoped(call))
            expect([name, shown, error._tag, error.address]).toEqual([name, shown, "InvalidAddress", shown])
            expect([name, shown, error._tag === "InvalidAddress" && error.reason.length > 0]).toEqual([name, shown, true])
          }
        }
        expect(netpoll.size).toBe(0)
      }))

    it.effect("a record's host is a bare IP or a name: brackets belong to the string form only", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(Effect.scoped(TcpStream.connect({ host: "[::1]", port: 80 })))
        expect(error._tag).toBe("InvalidAddress")
        expect(error.address).toBe("[::1]:80")
      }))

    it.effect("values that are no address at all fail with InvalidAddress, and never throw", () =>
      Effect.gen(function*() {
        const netpoll = yield* Netpoll.Netpoll
        for (const input of notAddresses) {
          let calls: ReturnType<typeof both> = []
          expect(() => {
            calls = both(input as AddressInput)
          }).not.toThrow()
          expect(calls.length).toBe(2)
          for (const [name, call] of calls) {
            const exit = yield* Effect.exit(Effect.scoped(call))
            expect([name, input, failureTag(exit)]).toEqual([name, input, "InvalidAddress"])
          }
        }
        expect(netpoll.size).toBe(0)
      }))

    it.effect("a name that cannot be resolved fails with HostNotFound from getaddrinfo, for connect and bind", () =>
      Effect.gen(function*() {
        const inputs: ReadonlyArray<readonly [AddressInput, string]> = [
          ["no-such-host.invalid:80", "no-such-host.invalid:80"],
          [{ host: "no-such-host.invalid", port: 443 }, "no-such-host.invalid:443"]
        ]
        for (const [input, shown] of inputs) {
          const error = yield* bound(Effect.flip(Effect.scoped(TcpStream.connect(input))), "resolution", "50 seconds")
          expect([error._tag, error.address, error.syscall]).toEqual(["HostNotFound", shown, "getaddrinfo"])
          expect(typeof error.errno).toBe("string")
        }
        const error = yield* bound(Effect.flip(Effect.scoped(TcpListener.bind("no-such-host.invalid:0"))), "resolution", "50 seconds")
        expect([error._tag, error.address]).toEqual(["HostNotFound", "no-such-host.invalid:0"])
      }), 120_000)
  })

  describe("returned addresses", () => {
    it.effect("localAddr and peerAddr are InetAddress values, printed as 127.0.0.1:<port> and [::1]:<port>", () =>
      Effect.gen(function*() {
        for (const [host, shown, family] of [["127.0.0.1", "127.0.0.1", "IPv4"], ["::1", "[::1]", "IPv6"]] as const) {
          const { client, listener, server } = yield* pair(host)
          const listening = yield* listener.localAddr
          const local = yield* client.localAddr
          const peer = yield* client.peerAddr
          for (const addr of [listening, local, peer, yield* server.localAddr, yield* server.peerAddr]) {
            expect(NetAddress.isInetAddress(addr)).toBe(true)
            expect(NetAddress.familyOf(addr)).toBe(family)
            expect(NetAddress.formatHost(addr)).toBe(host)
            expect(String(addr)).toBe(`${shown}:${addr.port}`)
          }
          expect(String(peer)).toBe(`${shown}:${listening.port}`)
        }
      }))

    it.effect("returned addresses are Equal to, and hash like, an equal address made by effect/net", () =>
      Effect.gen(function*() {
        for (const [host, shown] of [["127.0.0.1", "127.0.0.1"], ["::1", "[::1]"]]) {
          const { client, server } = yield* pair(host)
          const local = yield* client.localAddr
          const made = inet(`${shown}:${local.port}`)
          expect(local).not.toBe(made)
          expect(Equal.equals(local, made)).toBe(true)
          expect(Hash.hash(local)).toBe(Hash.hash(made))
          // The two ends of one connection name the same address, as distinct values.
          expect(Equal.equals(yield* server.peerAddr, local)).toBe(true)
          expect(Equal.equals(local, inet(`${shown}:${local.port === 65535 ? 1 : local.port + 1}`))).toBe(false)
          expect(Equal.equals(local, yield* client.peerAddr)).toBe(false)
        }
      }))

    it.effect("a HashSet of returned addresses keeps one of each address", () =>
      Effect.gen(function*() {
        const { client, server } = yield* pair()
        const set = HashSet.fromIterable([
          yield* client.localAddr,
          yield* server.peerAddr,
          yield* client.peerAddr,
          yield* server.localAddr
        ])
        expect(HashSet.size(set)).toBe(2)
      }))
  })
})

describe("addresses the kernel reports", () => {
  it("a link-local IPv6 address keeps its zone as the interface's index, and an unknown zone is dropped, never thrown", () => {
    const [name, index] = [...NetAddress.scopeIdsFromInterfaces(Object.entries(os.networkInterfaces()))][0]!
    expect(String(address.fromNative([6, `fe80::1%${name}`, 80]))).toBe(`[fe80::1%${index}]:80`)
    expect(String(address.fromNative([6, "fe80::1%no-such-interface", 80]))).toBe("[fe80::1]:80")
    expect(String(address.fromNative([4, "127.0.0.1", 80]))).toBe("127.0.0.1:80")
  })
})
