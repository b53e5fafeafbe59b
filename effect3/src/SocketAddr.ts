/**
 * Socket addresses: an IP address and a port, parsed from `"host:port"`
 * strings or `{ host, port }` records, and resolved with DNS when the host is a name.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import type * as Either from "effect/Either"
import type * as Equal from "effect/Equal"
import type { Inspectable } from "effect/Inspectable"
import * as internal from "./internal/address.js"
import type * as NetError from "./NetError.js"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId: unique symbol = internal.TypeId

/**
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * An IP address and port. `String(addr)` gives `"127.0.0.1:80"` or `"[::1]:80"`;
 * two addresses with the same parts are `Equal`.
 *
 * @since 0.1.0
 * @category models
 */
export interface SocketAddr extends Equal.Equal, Pick<Inspectable, "toJSON"> {
  readonly [TypeId]: TypeId
  readonly family: "IPv4" | "IPv6"
  /** The IP address, without brackets. */
  readonly address: string
  readonly port: number
  toString(): string
}

/**
 * What the constructors of connections and listeners accept: `"127.0.0.1:80"`,
 * `"[::1]:80"`, `"localhost:80"`, `{ host: "::1", port: 80 }` or a `SocketAddr`.
 *
 * @since 0.1.0
 * @category models
 */
export type Input = string | { readonly host: string; readonly port: number } | SocketAddr

/**
 * @since 0.1.0
 * @category guards
 */
export const isSocketAddr: (u: unknown) => u is SocketAddr = internal.isSocketAddr

/**
 * Parses an address whose host is an IP literal; host names are rejected
 * (use `resolve` for those). Nothing touches the network. Any value that is no
 * address (a null-prototype host, a Symbol, an object whose getters throw) is
 * an `InvalidAddress` whose `reason` says why, never a throw.
 *
 * @example
 * ```ts
 * import * as SocketAddr from "effect-netpoll/effect3/SocketAddr"
 * import * as Either from "effect/Either"
 *
 * const addr = Either.getOrThrow(SocketAddr.parse("[::1]:8080"))
 * console.log(addr.family, String(addr)) // IPv6 [::1]:8080
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const parse: (input: Input) => Either.Either<SocketAddr, NetError.InvalidAddress> = internal.parse

/**
 * Every address a host resolves to, in the resolver's order; IP literals
 * resolve to themselves without DNS.
 *
 * @since 0.1.0
 * @category constructors
 */
export const resolve: (
  input: Input
) => Effect.Effect<ReadonlyArray<SocketAddr>, NetError.InvalidAddress | NetError.HostNotFound> = internal.resolve
