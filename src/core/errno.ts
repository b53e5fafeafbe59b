/**
 * Which errno is which error, once for both Effect lines: the lines build their
 * tagged error classes from the tag names and messages given here.
 */
import * as os from "node:os"
import * as util from "node:util"
import * as validate from "./validate.js"

/** The tags of the errors that carry an errno; every other errno is a `SystemError`. */
const tagsByErrno: Readonly<Record<string, ErrnoTag>> = {
  ECONNREFUSED: "ConnectionRefused",
  ECONNRESET: "ConnectionReset",
  ECONNABORTED: "ConnectionAborted",
  EPIPE: "BrokenPipe",
  ETIMEDOUT: "TimedOut",
  EADDRINUSE: "AddressInUse",
  EADDRNOTAVAIL: "AddressNotAvailable",
  ENETUNREACH: "NetworkUnreachable",
  EHOSTUNREACH: "HostUnreachable",
  EMSGSIZE: "MessageTooLarge"
}

export type ErrnoTag =
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
  | "SystemError"

export type Tag = ErrnoTag | "HostNotFound" | "InvalidAddress" | "SocketClosed" | "UnexpectedEof" | "LimitExceeded"

/** Errno numbers by name, positive, as in `os.constants.errno`. */
export const constants: Readonly<Record<string, number>> = os.constants.errno

export const { EAGAIN, EINPROGRESS, ENOTCONN, EMFILE, ENFILE, ENOBUFS, ENOMEM, ECONNABORTED } = os.constants.errno

/**
 * A result code of the core's calls that is no errno: the handle was closed
 * before or while the call ran. Errnos are small, so no errno can take it.
 */
export const CLOSED = -0x10000

/** Accept errors after which accepting again later may succeed (as Go's `serve` retries them). */
export const isTransientAccept = (code: number): boolean =>
  code === -EMFILE || code === -ENFILE || code === -ENOBUFS || code === -ENOMEM || code === -ECONNABORTED

/** The errno's name (`"ECONNRESET"`) for a negative (or positive) errno. */
export const name = (code: number): string => util.getSystemErrorName(code < 0 ? code : -code)

/** The tag of a negative errno returned by the addon. */
export const tagOf = (code: number): ErrnoTag => tagsByErrno[name(code)] ?? "SystemError"

/** The negative errno of a name, 0 for a name this system does not have. */
export const code = (errnoName: string): number => -(constants[errnoName] ?? 0)

/**
 * What every error may carry: the syscall that failed, its errno name and the
 * formatted address involved.
 */
export interface Fields {
  readonly syscall?: string | undefined
  readonly errno?: string | undefined
  readonly address?: string | undefined
}

/** The fields of an errno error: `address` only when known. */
export const fields = (code: number, syscall: string, address?: string): Fields =>
  address === undefined ? { syscall, errno: name(code) } : { syscall, errno: name(code), address }

const whats: Readonly<Record<Exclude<Tag, "SystemError" | "InvalidAddress" | "UnexpectedEof" | "LimitExceeded">, string>> = {
  ConnectionRefused: "connection refused",
  ConnectionReset: "connection reset by peer",
  ConnectionAborted: "connection aborted",
  BrokenPipe: "broken pipe",
  TimedOut: "timed out",
  AddressInUse: "address already in use",
  AddressNotAvailable: "address not available",
  NetworkUnreachable: "network is unreachable",
  HostUnreachable: "no route to host",
  MessageTooLarge: "message too long",
  HostNotFound: "host not found",
  SocketClosed: "use of closed network connection"
}

/**
 * A field as text. The fields are typed strings, but an error can be built by
 * anyone with anything: a message never throws (a Symbol, an object whose
 * toString throws, a null-prototype object).
 */
const text = (value: unknown): string | undefined => {
  if (value === undefined || typeof value === "string") return value
  try {
    return String(value)
  } catch {
    return validate.show(value)
  }
}

/** `"<syscall> <address>: <what went wrong>"`, each part only when known. */
export const message = (
  tag: Tag,
  self: Fields & {
    readonly reason?: string
    readonly bytesRead?: number
    readonly operation?: string
    readonly limit?: number
  }
): string => {
  if (tag === "LimitExceeded") return `${text(self.operation)}: more than the limit of ${text(self.limit)} bytes`
  const syscall = text(self.syscall)
  const address = text(self.address)
  const what = tag === "SystemError"
    ? (text(self.errno) ?? "system error")
    : tag === "InvalidAddress"
    ? `invalid address: ${text(self.reason)}`
    : tag === "UnexpectedEof"
    ? `unexpected end of stream after ${text(self.bytesRead)} bytes`
    : whats[tag]
  const where = syscall === undefined ? (address ?? "") : address === undefined ? syscall : `${syscall} ${address}`
  return where === "" ? what : `${where}: ${what}`
}

/** A line's error classes, by tag. */
export type Classes<E> = { readonly [K in ErrnoTag | "SocketClosed"]: new(fields: Fields) => E }

/** The error of a negative errno (or CLOSED), as an instance of the line's class for its tag. */
export const toError = <E>(classes: Classes<E>, code: number, syscall: string, address?: string): E =>
  code === CLOSED
    ? new classes.SocketClosed(address === undefined ? { syscall } : { syscall, address })
    : new classes[tagOf(code)](fields(code, syscall, address))
