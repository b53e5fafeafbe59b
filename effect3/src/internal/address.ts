import * as net from "node:net"
import type * as SocketServer from "@effect/platform/SocketServer"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Equal from "effect/Equal"
import * as Hash from "effect/Hash"
import { NodeInspectSymbol } from "effect/Inspectable"
import * as NetError from "../NetError.js"
import { validate } from "./core.js"
import { lookup } from "./lookup.js"
import type * as SocketAddr from "../SocketAddr.js"

export const TypeId: SocketAddr.TypeId = Symbol.for("effect-netpoll/SocketAddr") as SocketAddr.TypeId

class SocketAddrImpl implements SocketAddr.SocketAddr {
  readonly [TypeId]: SocketAddr.TypeId = TypeId
  constructor(
    readonly family: "IPv4" | "IPv6",
    readonly address: string,
    readonly port: number
  ) {}
  toString(): string {
    return this.family === "IPv6" ? `[${this.address}]:${this.port}` : `${this.address}:${this.port}`
  }
  toJSON() {
    return { _id: "SocketAddr", family: this.family, address: this.address, port: this.port }
  }
  [NodeInspectSymbol]() {
    return this.toJSON()
  }
  [Equal.symbol](that: unknown): boolean {
    return isSocketAddr(that) && this.address === that.address && this.port === that.port &&
      this.family === that.family
  }
  [Hash.symbol](): number {
    return Hash.cached(this, Hash.string(this.toString()))
  }
}

/** False for a value that throws when asked (a Proxy whose traps throw), as for any other non-address. */
export const isSocketAddr = (u: unknown): u is SocketAddr.SocketAddr => validate.hasTypeId(u, TypeId)

/** Whether a value is an address of this line (a SocketAddr). */
export const isAddress = isSocketAddr

/** What `connect` and `bind` accept. */
export type Input = SocketAddr.Input

/** What `localAddr` and `peerAddr` return. */
export type Address = SocketAddr.SocketAddr

/** The addon reports families as 4 and 6. */
export const family = (self: SocketAddr.SocketAddr): 4 | 6 => self.family === "IPv4" ? 4 : 6

/** The IP without brackets, as the addon takes it. */
export const host = (self: SocketAddr.SocketAddr): string => self.address

export const fromNative = (tuple: readonly [4 | 6, string, number]): SocketAddr.SocketAddr =>
  new SocketAddrImpl(tuple[0] === 4 ? "IPv4" : "IPv6", tuple[1], tuple[2])

/** An InvalidAddress for the input, shown as the core shows it; the core's reason for the common mistakes. */
const invalid = (input: unknown, reason: string) =>
  new NetError.InvalidAddress({ address: validate.addressText(input), reason: validate.addressMistake(input) ?? reason })

// RFC 1123 host names; an underscore is tolerated because resolvers accept it.
const hostname = /^(?=.{1,253}\.?$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/

/** RFC 5952 text ("0:0::1" -> "::1"), so that equal addresses compare and print alike. */
const canonicalIPv6 = (address: string): string => {
  const zone = address.indexOf("%")
  const ip = zone < 0 ? address : address.slice(0, zone)
  const canonical = new net.SocketAddress({ address: ip, family: "ipv6" }).address
  return zone < 0 ? canonical : canonical + address.slice(zone)
}

interface HostPort {
  readonly host: string
  readonly port: number
  /** Whether `host` is an IP literal, as opposed to a name for DNS. */
  readonly family: 0 | 4 | 6
}

const parsePort = (input: unknown, port: unknown): Either.Either<number, NetError.InvalidAddress> => {
  if (typeof port === "string") {
    if (!/^\d{1,5}$/.test(port)) return Either.left(invalid(input, `port ${validate.show(port)} is not a number`))
    port = Number(port)
  }
  if (typeof port !== "number" || !Number.isInteger(port) || port < 0 || port > 65535) {
    return Either.left(invalid(input, `port ${validate.show(port)} is outside 0..65535`))
  }
  return Either.right(port)
}

const checkHost = (input: unknown, host: unknown): Either.Either<{ host: string; family: 0 | 4 | 6 }, NetError.InvalidAddress> => {
  if (typeof host !== "string" || host === "") return Either.left(invalid(input, "missing host"))
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host
  const family = net.isIP(bare)
  if (family === 4) return Either.right({ host: bare, family })
  if (family === 6) return Either.right({ host: canonicalIPv6(bare), family })
  if (bare !== host || !hostname.test(host)) return Either.left(invalid(input, `${validate.show(host)} is not a host name or IP address`))
  return Either.right({ host, family: 0 })
}

const splitHostPort = (input: Exclude<SocketAddr.Input, SocketAddr.SocketAddr>): Either.Either<HostPort, NetError.InvalidAddress> => {
  if (typeof input !== "string") {
    if (typeof input !== "object" || input === null) return Either.left(invalid(input, "expected \"host:port\" or { host, port }"))
    return Either.flatMap(checkHost(input, input.host), ({ family, host }) =>
      Either.map(parsePort(input, input.port), (port) => ({ host, port, family })))
  }
  const colon = input.lastIndexOf(":")
  if (colon < 0) return Either.left(invalid(input, "missing port"))
  const host = input.slice(0, colon)
  if (!host.startsWith("[") && host.includes(":")) {
    return Either.left(invalid(input, "an IPv6 address needs brackets, as in \"[::1]:80\""))
  }
  return Either.flatMap(checkHost(input, host), ({ family, host }) =>
    Either.map(parsePort(input, input.slice(colon + 1)), (port) => ({ host, port, family })))
}

/**
 * The input's host and port, or why it is no address. A record is read as it
 * is typed: a getter or Proxy trap that throws is an InvalidAddress too.
 */
const hostPortOf = (input: unknown): Either.Either<HostPort, NetError.InvalidAddress> => {
  try {
    return splitHostPort(input as Exclude<SocketAddr.Input, SocketAddr.SocketAddr>)
  } catch {
    return Either.left(invalid(input, "the address cannot be read"))
  }
}

export const parse = (input: SocketAddr.Input): Either.Either<SocketAddr.SocketAddr, NetError.InvalidAddress> => {
  if (isSocketAddr(input)) return Either.right(input)
  return Either.flatMap(hostPortOf(input), ({ family, host, port }) =>
    family === 0
      ? Either.left(invalid(input, `"${host}" is a host name, not an IP address`))
      : Either.right(new SocketAddrImpl(family === 4 ? "IPv4" : "IPv6", host, port)))
}

export const resolve = (
  input: SocketAddr.Input
): Effect.Effect<ReadonlyArray<SocketAddr.SocketAddr>, NetError.InvalidAddress | NetError.HostNotFound> =>
  Effect.suspend((): Effect.Effect<
    ReadonlyArray<SocketAddr.SocketAddr>,
    NetError.InvalidAddress | NetError.HostNotFound
  > => {
    if (isSocketAddr(input)) return Effect.succeed([input])
    const parsed = hostPortOf(input)
    if (Either.isLeft(parsed)) return Effect.fail(parsed.left)
    const { family, host, port } = parsed.right
    if (family !== 0) return Effect.succeed([new SocketAddrImpl(family === 4 ? "IPv4" : "IPv6", host, port)])
    return Effect.map(lookup(host, validate.addressText(input)), (addresses) =>
      addresses.map((a) => fromNative([a.family, a.address, port])))
  })

/** What `UnixStream.connect` and `UnixListener.bind` accept: a path, or `@effect/platform`'s UnixAddress. */
export type UnixInput = string | { readonly _tag: "UnixAddress"; readonly path: string }

/** What a Unix socket's `localAddr` and `peerAddr` return: `@effect/platform`'s `SocketServer.UnixAddress`. */
export type UnixAddress = SocketServer.UnixAddress

/** A Unix socket's address from its path. */
export const unixAddress = (path: string): UnixAddress => ({ _tag: "UnixAddress", path })

/**
 * The path a Unix address input names (not yet checked: the core's
 * `unix.pathMistake` does that), or undefined for any other value. Never throws.
 */
export const unixPathOf = (input: unknown): unknown =>
  typeof input === "string" ? input : validate.field(input, "_tag") === "UnixAddress" ? validate.field(input, "path") : undefined

/** The Unix address types a message names. */
export const unixInputs = "a path or a { _tag: \"UnixAddress\", path }"
