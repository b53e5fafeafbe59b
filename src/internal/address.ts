import * as Effect from "effect/Effect"
import * as Host from "effect/net/Host"
import * as NetAddress from "effect/net/NetAddress"
import * as Result from "effect/Result"
import * as NetError from "../NetError.js"
import { lookup } from "./lookup.js"

/** What `connect` and `bind` accept. */
export type Input = string | { readonly host: string; readonly port: number } | NetAddress.InetAddress

/** What `localAddr` and `peerAddr` return. */
export type Address = NetAddress.InetAddress

export const isInetAddress: (u: unknown) => u is NetAddress.InetAddress = NetAddress.isInetAddress

/** Whether a value is an address of this line (an InetAddress). */
export const isAddress = isInetAddress

/** The addon's family number. */
export const family = (self: NetAddress.InetAddress): 4 | 6 => NetAddress.familyOf(self) === "IPv4" ? 4 : 6

/** The IP without brackets or port, as the addon takes it. */
export const host = (self: NetAddress.InetAddress): string => NetAddress.formatHost(self)

/** An address as the addon reports it. */
export const fromNative = (native: readonly [4 | 6, string, number]): NetAddress.InetAddress =>
  NetAddress.inetAddressFromNativeUnsafe(native[1], native[2])

/** The input as an error shows it: strings as given, records as "host:port". */
const display = (input: unknown): string => {
  try {
    if (typeof input === "string") return input
    if (isInetAddress(input)) return String(input)
    if (typeof input !== "object" || input === null) return String(input)
    const { host, port } = input as { readonly host?: unknown; readonly port?: unknown }
    const h = String(host)
    return `${h.includes(":") && !h.startsWith("[") ? `[${h}]` : h}:${String(port)}`
  } catch {
    return "<unprintable address>"
  }
}

const invalid = (input: unknown, reason: string) => new NetError.InvalidAddress({ address: display(input), reason })

const parse = (input: unknown): Result.Result<Host.HostPort, NetError.InvalidAddress> => {
  if (typeof input !== "string" && (typeof input !== "object" || input === null)) {
    return Result.fail(invalid(input, "expected \"host:port\", { host, port } or an InetAddress"))
  }
  try {
    return Result.mapError(Host.hostPortFromInput(input as Host.HostPortInput), (error) => invalid(input, error.message))
  } catch (cause) {
    return Result.fail(invalid(input, cause instanceof Error ? cause.message : String(cause)))
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
      const scoped = NetAddress.inetAddressFromHostString(h, port)
      return Result.isSuccess(scoped)
        ? Effect.succeed([scoped.success])
        : Effect.fail(invalid(input, scoped.failure.message))
    }
    return Effect.map(
      lookup(h, display(input)),
      (addresses) => addresses.map((a) => NetAddress.inetAddressFromNativeUnsafe(a.address, port))
    )
  })
