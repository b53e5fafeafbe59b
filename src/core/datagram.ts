/**
 * The rules of a UDP socket, once for both Effect lines: how it is set up,
 * when a send or receive runs its syscall and when it parks, which option
 * number a setting is, and what callers may pass. Each function returns a
 * count or a code; the lines turn codes into effects.
 *
 * Datagrams are atomic: one syscall sends or receives whole datagrams, so
 * concurrent senders (or receivers) need no lock, and nothing is ever kept
 * between calls. The syscall runs in the calling fiber after it resumes, so a
 * fiber interrupted while parked has received nothing.
 */
import * as net from "node:net"
import * as util from "node:util"
import * as errno from "./errno.js"
import { addon } from "./native.js"
import type { Direction, Pollable, Poller } from "./poller.js"
import { BUFFER_CHANGED, type Failure, type NativeAddress, setUp, type SetUpStep, WAIT_READY } from "./stream.js"
import * as validate from "./validate.js"

/** The most datagrams one `sendMany` or `recvMany` moves (the addon's batch). */
export const MAX_BATCH = 1024

/** Ints per datagram in `meta` after `recvMany` (count, truncated, family, port). */
const STRIDE = 4

/**
 * Where the addon leaves a receive's results: reused by every call (a call
 * reads them before it returns, and a thread runs one call at a time).
 */
export const meta = new Int32Array(MAX_BATCH * STRIDE)
/** The senders' IPs of the last receive. */
export const from: Array<string> = []

/** The addon's numbers of the int options (native.ts `udpGetOption`). */
export const Option = {
  broadcast: 0,
  ttl4: 1,
  hops6: 2,
  multicastTtl4: 3,
  multicastHops6: 4,
  multicastLoop4: 5,
  multicastLoop6: 6,
  recvBufferSize: 7,
  sendBufferSize: 8
} as const

/** The option that is `ttl` (or its IPv6 twin) for a family. */
export const ttlOption = (family: 4 | 6): number => family === 4 ? Option.ttl4 : Option.hops6
export const multicastTtlOption = (family: 4 | 6): number => family === 4 ? Option.multicastTtl4 : Option.multicastHops6
export const multicastLoopOption = (family: 4 | 6): number =>
  family === 4 ? Option.multicastLoop4 : Option.multicastLoop6

/** What `bind` sets on its socket before binding: the public `BindOptions`, by name. */
export type BindSettings = {
  readonly [K in "reuseAddr" | "reusePort" | "ipv6Only" | "broadcast"]?: boolean | undefined
} & {
  readonly [K in "ttl" | "recvBufferSize" | "sendBufferSize"]?: number | undefined
}

/**
 * socket(2), the options, bind(2) and registration: the Pollable, or a
 * failure with nothing left open. The directions are named for the errors of
 * fibers woken by a close.
 */
export const open = (
  poller: Poller,
  family: 4 | 6,
  ip: string,
  port: number,
  settings: BindSettings | undefined
): Pollable | Failure => {
  const fd = addon.udpSocket(family)
  if (fd < 0) return { code: fd, syscall: "socket" }
  const s = settings ?? {}
  const steps: ReadonlyArray<SetUpStep> = [
    ["setsockopt", () => s.reuseAddr === true ? addon.setReuseAddr(fd, true) : 0],
    ["setsockopt", () => s.reusePort === true ? addon.setReusePort(fd, true) : 0],
    ["setsockopt", () => family === 6 && s.ipv6Only !== undefined ? addon.setV6Only(fd, s.ipv6Only) : 0],
    ["setsockopt", () => s.broadcast !== undefined ? addon.udpSetOption(fd, Option.broadcast, s.broadcast ? 1 : 0) : 0],
    ["setsockopt", () => s.ttl !== undefined ? addon.udpSetOption(fd, ttlOption(family), s.ttl) : 0],
    [
      "setsockopt",
      () => s.recvBufferSize !== undefined ? addon.udpSetOption(fd, Option.recvBufferSize, s.recvBufferSize) : 0
    ],
    [
      "setsockopt",
      () => s.sendBufferSize !== undefined ? addon.udpSetOption(fd, Option.sendBufferSize, s.sendBufferSize) : 0
    ],
    ["bind", () => addon.bind(fd, family, ip, port)]
  ]
  const pollable = setUp(poller, fd, steps, "bind")
  if (!("fd" in pollable)) return pollable
  pollable.input.syscall = "recvfrom"
  pollable.output.syscall = "sendto"
  return pollable
}

/**
 * Whether a call must not run its syscall now: CLOSED, BUFFER_CHANGED (its
 * buffers were detached or resized while it waited), WAIT_READY (the last
 * syscall said the socket would block and no edge came since), or 0 to go on.
 */
const blocked = (direction: Direction, unchanged: boolean): number => {
  if (direction.pollable.closed) return errno.CLOSED
  if (!unchanged) return BUFFER_CHANGED
  if (direction.mustWait) return WAIT_READY
  // The latch is cleared right before the syscall, so an edge during it is kept.
  direction.ready = false
  return 0
}

/**
 * The datagram readiness rule: only EAGAIN says the socket is drained (or
 * full). A datagram shorter than the buffer says nothing of the next one,
 * unlike a stream's short read. Returns the count, WAIT_READY or the error.
 */
const settle = (direction: Direction, n: number, counted: number): number => {
  direction.drained = n === -errno.EAGAIN
  if (n === -errno.EAGAIN) return WAIT_READY
  if (n >= 0 && counted > 0) {
    const pollable = direction.pollable
    pollable.poller.hooks.transferred(direction === pollable.input ? "read" : "write", counted)
  }
  return n
}

/** One datagram of `buf` to (family, ip, port): the count sent, WAIT_READY or an error code. */
export const sendTo = (
  direction: Direction,
  buf: Uint8Array,
  length: number,
  family: 4 | 6,
  ip: string,
  port: number
): number => {
  const stop = blocked(direction, buf.length === length)
  if (stop !== 0) return stop
  const n = addon.udpSendTo(direction.pollable.fd, buf, 0, length, family, ip, port)
  return settle(direction, n, n)
}

/** One datagram of `buf` to a connected socket's peer. */
export const send = (direction: Direction, buf: Uint8Array, length: number): number => {
  const stop = blocked(direction, buf.length === length)
  if (stop !== 0) return stop
  const n = addon.write(direction.pollable.fd, buf, 0, length)
  return settle(direction, n, n)
}

/**
 * One datagram into `buf`: the count, WAIT_READY or an error code. On success
 * `meta[0]` says whether it was truncated and, with `withSender`, `meta[1..2]`
 * and `from[0]` name its sender.
 */
export const recvFrom = (direction: Direction, buf: Uint8Array, length: number, withSender: boolean): number => {
  const stop = blocked(direction, buf.length === length)
  if (stop !== 0) return stop
  const n = addon.udpRecvFrom(direction.pollable.fd, buf, 0, length, meta, withSender ? from : null)
  return settle(direction, n, n)
}

/** The sender of the last `recvFrom` (or of datagram `i` of the last `recvMany`). */
export const sender = (i: number, batch: boolean): NativeAddress => {
  const at = batch ? i * STRIDE + 2 : 1
  return [meta[at] === 6 ? 6 : 4, from[i]!, meta[at + 1]!]
}

/** Whether datagram `i` of the last `recvMany` was truncated, and its count. */
export const truncatedAt = (i: number): boolean => meta[i * STRIDE + 1] === 1
export const bytesAt = (i: number): number => meta[i * STRIDE]!

/** Whether the last `recvFrom` was truncated. */
export const truncated = (): boolean => meta[0] === 1

/** The buffers' lengths when a batch call was made, to tell a detach or resize later. */
export const lengths = (bufs: ReadonlyArray<Uint8Array>): ReadonlyArray<number> => bufs.map((b) => b.length)

const unchanged = (bufs: ReadonlyArray<Uint8Array>, lengths: ReadonlyArray<number>): boolean => {
  for (let i = 0; i < bufs.length; i++) if (bufs[i]!.length !== lengths[i]) return false
  return true
}

/**
 * sendmmsg of the first MAX_BATCH payloads, each to its target (undefined: the
 * connected peer): how many went out (1 or more), WAIT_READY when the first
 * would block, or an error code.
 */
export const sendMany = (
  direction: Direction,
  payloads: ReadonlyArray<Uint8Array>,
  lengths: ReadonlyArray<number>,
  targets: ReadonlyArray<NativeAddress | undefined> | undefined
): number => {
  const stop = blocked(direction, unchanged(payloads, lengths))
  if (stop !== 0) return stop
  const n = addon.udpSendMany(direction.pollable.fd, payloads, targets)
  let bytes = 0
  for (let i = 0; i < n; i++) bytes += lengths[i]!
  return settle(direction, n, bytes)
}

/**
 * recvmmsg into the first MAX_BATCH buffers: how many datagrams arrived (1 or
 * more), WAIT_READY, or an error code. Datagram i's count, truncation and
 * sender are `bytesAt(i)`, `truncatedAt(i)` and `sender(i, true)`.
 */
export const recvMany = (
  direction: Direction,
  bufs: ReadonlyArray<Uint8Array>,
  lengths: ReadonlyArray<number>,
  withSender: boolean
): number => {
  const stop = blocked(direction, unchanged(bufs, lengths))
  if (stop !== 0) return stop
  const n = addon.udpRecvMany(direction.pollable.fd, bufs, meta, withSender ? from : null)
  let bytes = 0
  for (let i = 0; i < n; i++) bytes += meta[i * STRIDE]!
  return settle(direction, n, bytes)
}

/** connect(2) of a UDP socket (it completes at once: no handshake): 0 or an error code. */
export const connect = (pollable: Pollable, family: 4 | 6, ip: string, port: number): number =>
  pollable.closed ? errno.CLOSED : Math.min(0, addon.connect(pollable.fd, family, ip, port))

/** Dissolves a connected socket's association: 0 or an error code. */
export const disconnect = (pollable: Pollable): number =>
  pollable.closed ? errno.CLOSED : Math.min(0, addon.udpDisconnect(pollable.fd))

/** An int option: its value or an error code. */
export const getOption = (pollable: Pollable, option: number): number =>
  pollable.closed ? errno.CLOSED : addon.udpGetOption(pollable.fd, option)

/** Sets an int option: 0 or an error code. */
export const setOption = (pollable: Pollable, option: number, value: number): number =>
  pollable.closed ? errno.CLOSED : Math.min(0, addon.udpSetOption(pollable.fd, option, value))

/** The family of a multicast group's IP, 0 for a string that is no IP. */
export const groupFamily = (group: string): 0 | 4 | 6 => {
  const family = net.isIP(group)
  return family === 4 || family === 6 ? family : 0
}

/** Joins or leaves a group: 0 or an error code. */
export const membership = (
  pollable: Pollable,
  family: 4 | 6,
  join: boolean,
  group: string,
  iface: string
): number => pollable.closed ? errno.CLOSED : Math.min(0, addon.udpMembership(pollable.fd, family, join, group, iface))

// Checks of what callers pass, before any fd exists (see validate.ts).

const isWhole = (value: unknown, min: number, max: number): value is number =>
  typeof value === "number" && Number.isSafeInteger(value) && value >= min && value <= max

/** `UdpSocket.bind`'s options (`what` names the function). */
export const bindOptions = (options: unknown, what = "bind"): string | undefined => {
  const problem = validate.optionsObject(options, what)
  if (problem !== undefined) return problem
  for (const name of ["reuseAddr", "reusePort", "ipv6Only", "broadcast"]) {
    const value = validate.field(options, name)
    if (value !== undefined && typeof value !== "boolean") {
      return `${what}: ${name} must be a boolean, got ${validate.show(value)}`
    }
  }
  const ttl = validate.field(options, "ttl")
  if (ttl !== undefined && !isWhole(ttl, 1, 255)) {
    return `${what}: ttl must be a whole number from 1 to 255, got ${validate.show(ttl)}`
  }
  for (const name of ["recvBufferSize", "sendBufferSize"]) {
    const value = validate.field(options, name)
    if (value !== undefined && !isWhole(value, 1, 0x7fffffff)) {
      return `${what}: ${name} must be a whole number of bytes from 1 to 2147483647, got ${validate.show(value)}`
    }
  }
  return undefined
}

/** A boolean argument of a method. */
export const flag = (method: string, on: unknown): string | undefined =>
  typeof on === "boolean" ? undefined : `${method}: on must be a boolean, got ${validate.show(on)}`

/** A TTL (1..255) or, for multicast, a hop limit (0..255: 0 keeps datagrams on this host). */
export const ttl = (method: string, value: unknown, min: 0 | 1): string | undefined =>
  isWhole(value, min, 255) ? undefined : `${method}: ttl must be a whole number from ${min} to 255, got ${validate.show(value)}`

/** A multicast group and interface: IP literals as strings (an IPv6 interface may be a name or index). */
export const multicastArgs = (method: string, group: unknown, iface: unknown): string | undefined =>
  typeof group !== "string"
    ? `${method}: group must be an IP address string, got ${validate.show(group)}`
    : iface !== undefined && typeof iface !== "string"
    ? `${method}: interface must be a string (an IPv4 address, or an IPv6 interface name or index), got ${
      validate.show(iface)
    }`
    : undefined

/** Array.isArray, false for a revoked Proxy (which makes it throw). */
const isArray = (value: unknown): value is ReadonlyArray<unknown> => {
  try {
    return Array.isArray(value) && !util.types.isProxy(value)
  } catch {
    return false
  }
}

/** `recvMany`'s buffers: a non-empty array of Uint8Array. */
export const bufs = (method: string, value: unknown): string | undefined => {
  if (!isArray(value) || value.length === 0) {
    return `${method}: bufs must be a non-empty array of Uint8Array, got ${validate.show(value)}`
  }
  for (const buf of value) {
    if (!(ArrayBuffer.isView(buf) && buf instanceof Uint8Array)) {
      return `${method}: bufs must be a non-empty array of Uint8Array, got an element ${validate.show(buf)}`
    }
  }
  return undefined
}

/** `sendMany`'s datagrams: an array of `{ payload: Uint8Array, address? }`. */
export const datagrams = (method: string, value: unknown): string | undefined => {
  if (!isArray(value)) {
    return `${method}: datagrams must be an array of { payload, address? }, got ${validate.show(value)}`
  }
  for (const d of value) {
    const payload = validate.field(d, "payload")
    if (typeof d !== "object" || d === null || !(ArrayBuffer.isView(payload) && payload instanceof Uint8Array)) {
      return `${method}: each datagram must be { payload: Uint8Array, address? }, got ${validate.show(d)}`
    }
  }
  return undefined
}
