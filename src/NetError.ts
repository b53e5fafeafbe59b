/**
 * The errors of effect-netpoll: one tagged class per failure a caller may want
 * to handle on its own, and `SystemError` for every other errno.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import { errno, validate } from "./internal/core.js"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId: unique symbol = Symbol.for("effect-netpoll/NetError")

/**
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * @since 0.1.0
 * @category models
 */
export declare namespace NetError {
  /**
   * What every error may carry: the syscall that failed, its errno name and the
   * formatted address involved.
   *
   * @since 0.1.0
   * @category models
   */
  export interface Fields extends errno.Fields {}
}

/**
 * The peer refused the connection (`ECONNREFUSED`).
 *
 * @since 0.1.0
 * @category errors
 */
export class ConnectionRefused extends Data.TaggedError("ConnectionRefused")<NetError.Fields> {
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    return errno.message(this._tag, this)
  }
}

/**
 * The peer reset the connection (`ECONNRESET`).
 *
 * @since 0.1.0
 * @category errors
 */
export class ConnectionReset extends Data.TaggedError("ConnectionReset")<NetError.Fields> {
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    return errno.message(this._tag, this)
  }
}

/**
 * The connection was aborted on this side (`ECONNABORTED`).
 *
 * @since 0.1.0
 * @category errors
 */
export class ConnectionAborted extends Data.TaggedError("ConnectionAborted")<NetError.Fields> {
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    return errno.message(this._tag, this)
  }
}

/**
 * Writing to a connection whose peer, or whose own write side, is gone (`EPIPE`).
 *
 * @since 0.1.0
 * @category errors
 */
export class BrokenPipe extends Data.TaggedError("BrokenPipe")<NetError.Fields> {
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    return errno.message(this._tag, this)
  }
}

/**
 * The kernel gave up on the connection (`ETIMEDOUT`). Deadlines set by the
 * caller are fiber interruptions, not this error.
 *
 * @since 0.1.0
 * @category errors
 */
export class TimedOut extends Data.TaggedError("TimedOut")<NetError.Fields> {
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    return errno.message(this._tag, this)
  }
}

/**
 * The local address is taken (`EADDRINUSE`).
 *
 * @since 0.1.0
 * @category errors
 */
export class AddressInUse extends Data.TaggedError("AddressInUse")<NetError.Fields> {
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    return errno.message(this._tag, this)
  }
}

/**
 * The local address is not one of this host's (`EADDRNOTAVAIL`).
 *
 * @since 0.1.0
 * @category errors
 */
export class AddressNotAvailable extends Data.TaggedError("AddressNotAvailable")<NetError.Fields> {
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    return errno.message(this._tag, this)
  }
}

/**
 * No route to the network (`ENETUNREACH`).
 *
 * @since 0.1.0
 * @category errors
 */
export class NetworkUnreachable extends Data.TaggedError("NetworkUnreachable")<NetError.Fields> {
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    return errno.message(this._tag, this)
  }
}

/**
 * No route to the host (`EHOSTUNREACH`).
 *
 * @since 0.1.0
 * @category errors
 */
export class HostUnreachable extends Data.TaggedError("HostUnreachable")<NetError.Fields> {
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    return errno.message(this._tag, this)
  }
}

/**
 * A datagram larger than the socket can send in one piece (`EMSGSIZE`): over
 * 65507 bytes for UDP over IPv4, or over the path's MTU when fragmentation is
 * off. Nothing was sent.
 *
 * @since 0.5.0
 * @category errors
 */
export class MessageTooLarge extends Data.TaggedError("MessageTooLarge")<NetError.Fields> {
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    return errno.message(this._tag, this)
  }
}

/**
 * A name that DNS could not resolve.
 *
 * @since 0.1.0
 * @category errors
 */
export class HostNotFound extends Data.TaggedError("HostNotFound")<NetError.Fields> {
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    return errno.message(this._tag, this)
  }
}

/**
 * A malformed address, rejected before any syscall; `reason` says what is wrong.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidAddress extends Data.TaggedError("InvalidAddress")<NetError.Fields & { readonly reason: string }> {
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    return errno.message(this._tag, this)
  }
}

/**
 * The handle was closed, before or while the call ran.
 *
 * @since 0.1.0
 * @category errors
 */
export class SocketClosed extends Data.TaggedError("SocketClosed")<NetError.Fields> {
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    return errno.message(this._tag, this)
  }
}

/**
 * `readExact` met end of stream before its buffer was full; `bytesRead` is how
 * many bytes it did read.
 *
 * @since 0.1.0
 * @category errors
 */
export class UnexpectedEof extends Data.TaggedError("UnexpectedEof")<NetError.Fields & { readonly bytesRead: number }> {
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    return errno.message(this._tag, this)
  }
}

/**
 * More bytes than a caller-given limit: a line or frame longer than its
 * `maxLength`, a `readToEnd` past its `maxBytes`. Bytes not yet returned stay
 * where they were (buffered, or in the socket), so a caller may skip them or
 * close.
 *
 * @since 0.4.0
 * @category errors
 */
export class LimitExceeded extends Data.TaggedError("LimitExceeded")<NetError.Fields & {
  /** The call that met it: `"readLine"`, `"readFrame"`, `"readToEnd"`, ... */
  readonly operation: string
  /** The limit, in bytes. */
  readonly limit: number
}> {
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    return errno.message(this._tag, this)
  }
}

/**
 * Any other errno, named in `errno` (`"EMFILE"`, `"ENOBUFS"`, ...).
 *
 * @since 0.1.0
 * @category errors
 */
export class SystemError extends Data.TaggedError("SystemError")<NetError.Fields> {
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    return errno.message(this._tag, this)
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export type NetError =
  | ConnectionRefused
  | ConnectionReset
  | ConnectionAborted
  | BrokenPipe
  | TimedOut
  | AddressInUse
  | AddressNotAvailable
  | NetworkUnreachable
  | HostUnreachable
  | MessageTooLarge
  | HostNotFound
  | InvalidAddress
  | SocketClosed
  | UnexpectedEof
  | LimitExceeded
  | SystemError

/**
 * Whether `u` is one of the errors above; false for anything else, including a
 * value that throws when asked (a Proxy whose traps throw).
 *
 * @since 0.1.0
 * @category guards
 */
export const isNetError = (u: unknown): u is NetError => validate.hasTypeId(u, TypeId)
