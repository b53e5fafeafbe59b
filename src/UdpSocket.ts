/**
 * UDP sockets whose sends and receives suspend the calling fiber, never the
 * event loop, in the manner of Rust's `std::net::UdpSocket` and Go's
 * `net.UDPConn`: datagrams go straight from and into the caller's buffers,
 * with truncation reported, and batches through sendmmsg / recvmmsg. One
 * module for both Effect lines; each line's address types come from its own
 * `internal/address.ts`. On Effect 4 it also backs `effect/socket`
 * `DatagramSocket` (`makeDatagramSocket`, `layerDatagramSocket`);
 * `@effect/platform` 0.x has no datagram contract, so the Effect 3 line has
 * no such adapter.
 *
 * @since 0.5.0
 */
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type * as address from "./internal/address.js"
import * as internal from "./internal/udpSocket.js"
import type * as NetError from "./NetError.js"
import type * as Netpoll from "./Netpoll.js"

export * from "./internal/datagramAdapters.js"

/**
 * @since 0.5.0
 * @category type ids
 */
export const TypeId: unique symbol = internal.TypeId

/**
 * @since 0.5.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * An address to bind, connect or send to: the inputs `TcpStream.connect`
 * takes (`"127.0.0.1:53"`, `"[::1]:53"`, `{ host, port }`, an `InetAddress`
 * on Effect 4, a `SocketAddr` on Effect 3).
 * A host name is resolved, and the first address of the socket's family used.
 *
 * @since 0.5.0
 * @category models
 */
export type AddressInput = address.Input

/**
 * One datagram received by `recvFrom` or `recvMany`.
 *
 * @since 0.5.0
 * @category models
 */
export interface Received {
  /** How many bytes were written into the buffer. */
  readonly bytes: number
  /** The sender. */
  readonly address: address.Address
  /**
   * The datagram was longer than the buffer (MSG_TRUNC): `bytes` is the
   * buffer's length and the rest is gone, as the kernel discards it.
   */
  readonly truncated: boolean
}

/**
 * One datagram received by `recv` on a connected socket.
 *
 * @since 0.5.0
 * @category models
 */
export interface Recv {
  readonly bytes: number
  readonly truncated: boolean
}

/**
 * A datagram for `sendMany`; `address` may be left out on a connected socket.
 *
 * @since 0.5.0
 * @category models
 */
export interface OutgoingDatagram {
  readonly payload: Uint8Array
  readonly address?: AddressInput | undefined
}

/**
 * A bound UDP socket, owned by the Scope that bound it.
 *
 * Each call sends or receives whole datagrams in one syscall, so any number of
 * fibers may send and receive at once without a lock. A fiber interrupted while
 * suspended in a receive has received nothing: the datagram goes to the next
 * call, and nothing is written into its buffer afterwards.
 *
 * @since 0.5.0
 * @category models
 */
export interface UdpSocket {
  readonly [TypeId]: TypeId
  /** The socket's file descriptor; it stays owned by the socket. */
  readonly fd: number
  /** Sends `buf` as one datagram; resolves with the bytes sent (all of them). */
  readonly sendTo: (buf: Uint8Array, address: AddressInput) => Effect.Effect<number, NetError.NetError>
  /** Receives one datagram into `buf`, suspending until one arrives. */
  readonly recvFrom: (buf: Uint8Array) => Effect.Effect<Received, NetError.NetError>
  /**
   * Sets the default destination and accepts datagrams only from it; an ICMP
   * error from it (nothing listening) fails a later `send` or `recv` with
   * `ConnectionRefused`. Calling it again changes the peer.
   */
  readonly connect: (address: AddressInput) => Effect.Effect<void, NetError.NetError>
  /** Undoes `connect`: datagrams from anyone are accepted again. */
  readonly disconnect: Effect.Effect<void, NetError.NetError>
  /** Sends one datagram to the connected peer. */
  readonly send: (buf: Uint8Array) => Effect.Effect<number, NetError.NetError>
  /** Receives one datagram from the connected peer. */
  readonly recv: (buf: Uint8Array) => Effect.Effect<Recv, NetError.NetError>
  /**
   * Sends up to 1024 datagrams in one sendmmsg; resolves with how many went
   * out, from the first on (send the rest in another call). Suspends only
   * while the first would block; an error on the first fails the call.
   */
  readonly sendMany: (datagrams: ReadonlyArray<OutgoingDatagram>) => Effect.Effect<number, NetError.NetError>
  /**
   * Receives up to `bufs.length` (at most 1024) datagrams in one recvmmsg,
   * datagram i into `bufs[i]`; at least one: suspends until one arrives.
   */
  readonly recvMany: (bufs: ReadonlyArray<Uint8Array>) => Effect.Effect<ReadonlyArray<Received>, NetError.NetError>
  /** SO_BROADCAST: sends to a broadcast address are allowed. */
  readonly setBroadcast: (on: boolean) => Effect.Effect<void, NetError.NetError>
  /** IP_TTL (IPV6_UNICAST_HOPS on IPv6): 1..255. */
  readonly setTtl: (ttl: number) => Effect.Effect<void, NetError.NetError>
  /** The TTL (hop limit) of sent datagrams. */
  readonly ttl: Effect.Effect<number, NetError.NetError>
  /** IP_MULTICAST_TTL (IPV6_MULTICAST_HOPS): 0..255; 1, the default, keeps datagrams on the local network. */
  readonly setMulticastTtl: (ttl: number) => Effect.Effect<void, NetError.NetError>
  /** IP_MULTICAST_LOOP (IPV6_MULTICAST_LOOP): this host's own group members get what it sends. */
  readonly setMulticastLoop: (on: boolean) => Effect.Effect<void, NetError.NetError>
  /**
   * Joins a multicast group (an IPv4 or IPv6 address string). `interface` is a
   * local IPv4 address, or an IPv6 interface name or index; the system
   * chooses when it is left out.
   */
  readonly joinMulticast: (group: string, iface?: string) => Effect.Effect<void, NetError.NetError>
  /** Leaves a group joined with the same arguments. */
  readonly leaveMulticast: (group: string, iface?: string) => Effect.Effect<void, NetError.NetError>
  /** The bound address (getsockname), with the port the kernel chose for port 0. */
  readonly localAddr: Effect.Effect<address.Address, NetError.NetError>
  /** The connected peer (getpeername); fails with a SystemError (ENOTCONN) when not connected. */
  readonly peerAddr: Effect.Effect<address.Address, NetError.NetError>
  /**
   * Closes the socket now instead of when its Scope closes. Idempotent; fibers
   * suspended on it wake with `SocketClosed`, as do all later calls.
   */
  readonly close: Effect.Effect<void>
}

/**
 * @since 0.5.0
 * @category models
 */
export interface BindOptions {
  /** SO_REUSEADDR: several sockets may bind one multicast port. */
  readonly reuseAddr?: boolean | undefined
  /** SO_REUSEPORT: the kernel spreads datagrams over sockets bound to one port. */
  readonly reusePort?: boolean | undefined
  /** IPV6_V6ONLY for an IPv6 address; the system's default otherwise. */
  readonly ipv6Only?: boolean | undefined
  /** SO_BROADCAST. */
  readonly broadcast?: boolean | undefined
  /** IP_TTL (IPV6_UNICAST_HOPS): 1..255. */
  readonly ttl?: number | undefined
  /** SO_RCVBUF in bytes (Linux doubles it and caps it at rmem_max). */
  readonly recvBufferSize?: number | undefined
  /** SO_SNDBUF in bytes (Linux doubles it and caps it at wmem_max). */
  readonly sendBufferSize?: number | undefined
}

/**
 * Binds a UDP socket; it closes when the Scope closes. Bad options are a
 * defect naming the option, before any socket exists.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Netpoll, UdpSocket } from "effect-netpoll" // Effect 3: "effect-netpoll/effect3"
 *
 * const echo = Effect.scoped(Effect.gen(function*() {
 *   const socket = yield* UdpSocket.bind("127.0.0.1:9000")
 *   const buf = new Uint8Array(1500)
 *   while (true) {
 *     const { address, bytes } = yield* socket.recvFrom(buf)
 *     yield* socket.sendTo(buf.subarray(0, bytes), address)
 *   }
 * }))
 *
 * Effect.runPromise(Effect.provide(echo, Netpoll.layer))
 * ```
 * @since 0.5.0
 * @category constructors
 */
export const bind: (
  address: AddressInput,
  options?: BindOptions
) => Effect.Effect<UdpSocket, NetError.NetError, Netpoll.Netpoll | Scope.Scope> = internal.bind

/**
 * Whether a value is a UdpSocket; false, never a throw, for anything else.
 *
 * @since 0.5.0
 * @category guards
 */
export const isUdpSocket: (u: unknown) => u is UdpSocket = internal.isUdpSocket
