import * as os from "node:os"
import * as Effect from "effect/Effect"
import * as Host from "effect/net/Host"
import * as NetAddress from "effect/net/NetAddress"
import * as Result from "effect/Result"
import * as NetError from "../NetError.js"
import { validate } from "./core.js"
import { lookup } from "./lookup.js"

/** What `connect` and `bind` accept. */
export type Input = string | { readonly host: string; readonly port: number } | NetAddress.InetAddress

/** What `localAddr` and `peerAddr` return. */
export type Address = NetAddress.InetAddress

/** effect/net's guard, false for a value that throws when asked (a Proxy whose traps throw). */
export const isInetAddress = (u: unknown): u is NetAddress.InetAddress => {
  try {
    return NetAddress.isInetAddress(u)
  } catch {
    return false
  }
}

/** Whether a value is an address of this line (an InetAddress). */
export const isAddress = isInetAddress

/** The addon's family number. */
export const family = (self: NetAddress.InetAddress): 4 | 6 => NetAddress.familyOf(self) === "IPv4" ? 4 : 6

/** The IP without brackets or port, as the addon takes it. */
export const host = (self: NetAddress.InetAddress): string => NetAddress.formatHost(self)

/** This host's interfaces by name, for IPv6 zones ("fe80::1%eth0"); read when a zone is met. */
const scopeIds = (): ReadonlyMap<string, number> => NetAddress.scopeIdsFromInterfaces(Object.entries(os.networkInterfaces()))

/**
 * An address as the addon (or getaddrinfo) reports it. A link-local IPv6
 * address comes with its interface's name as zone: it is looked up among this
 * host's interfaces, and an interface gone since keeps the bare address.
 */
export const fromNative = (native: readonly [4 | 6, string, number]): NetAddress.InetAddress => {
  const [, ip, port] = native
  const zone = ip.indexOf("%")
  if (zone < 0) return NetAddress.inetAddressFromNativeUnsafe(ip, port)
  const scoped = NetAddress.inetAddressFromHostString(ip, port, scopeIds())
  return Result.isSuccess(scoped) ? scoped.success : NetAddress.inetAddressFromNativeUnsafe(ip.slice(0, zone), port)
}

/** The input as an error shows it: strings as given, records as "host:port" (the core's text). */
const display = (input: unknown): string => isInetAddress(input) ? String(input) : validate.addressText(input)

/** An InvalidAddress for the input; the core's reason where effect/net's would mislead. */
const invalid = (input: unknown, reason: string) =>
  new NetError.InvalidAddress({ address: display(input), reason: validate.addressMistake(input) ?? reason })

const parse = (input: unknown): Result.Result<Host.HostPort, NetError.InvalidAddress> => {
  if (typeof input !== "string" && (typeof input !== "object" || input === null)) {
    return Result.fail(invalid(input, "expected \"host:port\", { host, port } or an InetAddress"))
  }
  try {
    return Result.mapError(Host.hostPortFromInput(input as Host.HostPortInput), (error) => invalid(input, error.message))
  } catch {
    // effect/net reads the input as it is typed: a getter or Proxy trap that throws lands here.
    return Result.fail(invalid(input, "the address cannot be read"))
  }
}

/**
 * Every address the input stands for, in the resolver's order: an InetAddress
 * or an IP literal itself, a host name through the core's resolver.
 */
export const resolve = (
  input: Input
): Effect.Effect<ReadonlyArray<NetAddress.InetAddress>, NetError.InvalidAddress | NetError.HostNotFound> =>
  Effect.suspend((): Effect.Effect<
    ReadonlyArray<NetAddress.InetAddress>,
    NetError.InvalidAddress | NetError.HostNotFound
  > => {
    if (isInetAddress(input)) return Effect.succeed([input])
    const parsed = parse(input)
    if (Result.isFailure(parsed)) return Effect.fail(parsed.failure)
    const { host: h, port } = parsed.success
    if (NetAddress.isIpAddress(h)) return Effect.succeed([NetAddress.inetAddressUnsafe(h, port)])
    if (NetAddress.isScopedIpv6Literal(h)) {
      const scoped = NetAddress.inetAddressFromHostString(h, port, scopeIds())
      return Result.isSuccess(scoped)
        ? Effect.succeed([scoped.success])
        : Effect.fail(invalid(input, scoped.failure.message))
    }
    return Effect.map(
      lookup(h, display(input)),
      (addresses) => addresses.map((a) => fromNative([a.family, a.address, port]))
    )
  })

/** What `UnixStream.connect` and `UnixListener.bind` accept: a path, or effect/net's UnixPathAddress. */
export type UnixInput = string | NetAddress.UnixPathAddress

/** What a Unix socket's `localAddr` and `peerAddr` return. */
export type UnixAddress = NetAddress.UnixPathAddress

/** A Unix socket's address from its path. */
export const unixAddress = (path: string): UnixAddress => NetAddress.unixPathAddress(path)

/**
 * The path a Unix address input names (not yet checked: the core's
 * `unix.pathMistake` does that), or undefined for any other value. Never throws.
 */
export const unixPathOf = (input: unknown): unknown => {
  if (typeof input === "string") return input
  try {
    return NetAddress.isUnixPathAddress(input) ? input.path : undefined
  } catch {
    return undefined
  }
}

/** The Unix address types a message names. */
export const unixInputs = "a path or a NetAddress.UnixPathAddress"
