/**
 * The rules of a connected stream, once for both Effect lines: when a read or
 * write runs its syscall and when it parks, how `readExact` and `writeAll`
 * hold their direction, how a connect completes, what a shutdown wakes. Each
 * function returns a count or a code; the lines turn codes into effects.
 */
import * as errno from "./errno.js"
import { addon, READABLE, WRITABLE } from "./native.js"
import type { Direction, Owner, Pollable, Poller } from "./poller.js"

/** Codes besides counts and negative errnos (errno.CLOSED included). */
export const WAIT_READY = -0x10001
/** Another call holds the direction's lock: wait for it (`park(..., false)`). */
export const WAIT_TURN = -0x10002
/** `readExact` met end of stream; `Transfer.done` says how much it read. */
export const UNEXPECTED_EOF = -0x10003
/** The first park with the lock held: the line releases the lock with `Transfer.release` however it ends. */
export const WAIT_READY_LOCKED = -0x10004
/**
 * The caller's buffer was detached (transferred) or resized while the call
 * waited: a syscall now would move 0 bytes and a read would look like end of
 * stream. Nothing was read into it since; the line makes it a defect.
 */
export const BUFFER_CHANGED = -0x10005

/** The defect's message for BUFFER_CHANGED. */
export const bufferChanged = (method: string): string =>
  `${method}: buf was detached or resized while the call waited; nothing more was moved`

/** A read or write of `buf[offset, offset + length)`: the addon's `read` or `write`. */
export type Syscall = (fd: number, buf: Uint8Array, offset: number, length: number) => number

export const read: Syscall = addon.read

/** Whether a value is a buffer the syscalls take (a Proxy or a plain object is not). */
export const isBytes = (buf: unknown): buf is Uint8Array => ArrayBuffer.isView(buf) && buf instanceof Uint8Array
export const write: Syscall = addon.write

/**
 * One `read` or `write`: the syscall first, a park only on EAGAIN. It takes no
 * lock (one syscall is atomic) but waits while a `readExact` or `writeAll`
 * holds the direction. `length` is the buffer's length when the call was made.
 * Returns the count, WAIT_READY, WAIT_TURN, BUFFER_CHANGED or an error code.
 */
export const once = (
  direction: Direction,
  syscall: Syscall,
  buf: Uint8Array,
  length: number,
  currentOwner: () => Owner
): number => {
  const pollable = direction.pollable
  if (pollable.closed) return errno.CLOSED
  if (buf.length !== length) return BUFFER_CHANGED
  if (direction.lockedByOther(currentOwner)) return WAIT_TURN
  if (direction.kept !== undefined) return direction.takeKept(buf, 0)
  if (direction.mustWait) return WAIT_READY
  const n = direction.transfer(syscall, buf, 0, buf.length)
  if (n >= 0) {
    pollable.poller.hooks.transferred(direction === pollable.input ? "read" : "write", n)
    return n
  }
  return n === -errno.EAGAIN ? WAIT_READY : n
}

/** `Transfer.step`'s success. */
export const DONE = 0

/**
 * One `readExact` or `writeAll`. It moves what it can at once; once part of the
 * message has moved and the socket would block, it locks the direction until
 * its end, so that no other call's bytes land inside the message; the lock is
 * released when the call ends, however it ends.
 */
export class Transfer {
  /** Bytes moved so far. */
  done = 0
  /** The buffer's length when the call was made. */
  private readonly length: number
  private owner: Owner | undefined = undefined
  private locker: Owner | undefined = undefined
  /** The call has its result (success, end of stream, an error): nothing to keep. */
  private finished = false

  constructor(
    readonly direction: Direction,
    readonly syscall: Syscall,
    readonly buf: Uint8Array
  ) {
    this.length = buf.length
  }

  /** Moves what it can: DONE, WAIT_READY(_LOCKED), WAIT_TURN, UNEXPECTED_EOF, BUFFER_CHANGED or an error code. */
  step(currentOwner: () => Owner): number {
    const { buf, direction } = this
    const pollable = direction.pollable
    if (pollable.closed) return this.end(errno.CLOSED)
    if (buf.length !== this.length) return this.end(BUFFER_CHANGED)
    if (this.owner === undefined && direction.lockedByOther(currentOwner)) return WAIT_TURN
    const name = direction === pollable.input ? "read" : "write"
    while (this.done < buf.length) {
      if (direction.kept !== undefined) {
        this.done += direction.takeKept(buf, this.done)
        continue
      }
      if (direction.mustWait) return this.park(currentOwner)
      const n = direction.transfer(this.syscall, buf, this.done, buf.length - this.done)
      if (n > 0) {
        this.done += n
        pollable.poller.hooks.transferred(name, n)
      } else if (n === 0) {
        return this.end(UNEXPECTED_EOF)
      } else if (n !== -errno.EAGAIN) {
        return this.end(n)
      } else {
        return this.park(currentOwner)
      }
    }
    return this.end(DONE)
  }

  /**
   * Waits for readiness; once part of the message has moved, with the lock held.
   * The first locked park carries the call's one release: an interruption (or a
   * close) hands the direction on at once, not when the fiber ends. Later parks
   * run inside it, as the retries of this one.
   */
  private park(currentOwner: () => Owner): number {
    if (this.owner !== undefined || this.done === 0) return WAIT_READY
    const owner = this.owner = this.locker = currentOwner()
    this.direction.lock(owner)
    return WAIT_READY_LOCKED
  }

  /**
   * The locked call is over, however it ended: its park is stale and the
   * direction free. A read that did not finish (interrupted) keeps what it had
   * read for the direction's next read, before any waiting call runs.
   */
  release(): void {
    this.locker?.settleParked()
    const { buf, direction } = this
    if (!this.finished && direction === direction.pollable.input && buf.length === this.length) {
      direction.keep(buf.slice(0, this.done))
    }
    this.end(DONE)
  }

  private end(code: number): number {
    this.finished = true
    if (this.owner !== undefined && this.direction.owner === this.owner) this.direction.unlock()
    this.owner = undefined
    return code
  }
}

/** A syscall that failed, named for the error. */
export interface Failure {
  readonly code: number
  readonly syscall: string
}

const failure = (code: number, syscall: string): Failure => ({ code, syscall })

/** TCP_KEEPIDLE in whole seconds for an initial delay in milliseconds; 0 keeps the system's. */
export const keepIdleSeconds = (millis: number | undefined): number =>
  millis === undefined || !(millis > 0) ? 0 : Math.max(1, Math.ceil(millis / 1000))

/** What `connect` sets on its socket before connecting. */
export interface ConnectSettings {
  readonly noDelay: boolean
  /** `false`, or the initial delay in milliseconds (0: the system's). */
  readonly keepAlive: false | number
}

/**
 * socket(2), registration, options and a nonblocking connect(2). The Pollable
 * (`pending`: wait for writability, then `connectResult`), or a failure with
 * nothing left open.
 */
export const connectStart = (
  poller: Poller,
  family: 4 | 6,
  ip: string,
  port: number,
  settings: ConnectSettings
): { readonly pollable: Pollable; readonly pending: boolean } | Failure => {
  const fd = addon.socket(family)
  if (fd < 0) return failure(fd, "socket")
  const pollable = poller.register(fd, "connect")
  if (typeof pollable === "number") return failure(pollable, pollable === errno.CLOSED ? "connect" : "epoll_ctl")
  let rc = addon.setNoDelay(fd, settings.noDelay)
  if (rc >= 0 && settings.keepAlive !== false) rc = addon.setKeepAlive(fd, true, keepIdleSeconds(settings.keepAlive))
  if (rc < 0) {
    pollable.close()
    return failure(rc, "setsockopt")
  }
  // Readiness seen before the connect started says nothing about it.
  pollable.output.ready = false
  rc = addon.connect(fd, family, ip, port)
  if (rc === 0 || rc === -errno.EINPROGRESS) return { pollable, pending: rc !== 0 }
  pollable.close()
  return failure(rc, "connect")
}

/**
 * After a writability wake-up: 0 once connected, WAIT_READY while the
 * handshake goes on (a wake-up can come before it ends), or the error code.
 */
export const connectResult = (pollable: Pollable): number => {
  // The handle may have closed (the layer with it) between the wake-up and now.
  if (pollable.closed) return errno.CLOSED
  pollable.output.ready = false
  const error = addon.soError(pollable.fd)
  if (error !== 0) return error < 0 ? error : -error
  const peer = addon.peerAddress(pollable.fd)
  if (typeof peer !== "number") return 0
  return peer === -errno.ENOTCONN ? WAIT_READY : peer
}

/** The connect is over: the output direction is a stream's writer from now on. */
export const connected = (pollable: Pollable): void => {
  pollable.output.syscall = "write"
}

/** An address as the addon reports it: family, IP and port. */
export type NativeAddress = readonly [4 | 6, string, number]

/** getsockname or getpeername: the address, or an error code. */
export const address = (pollable: Pollable, syscall: "getsockname" | "getpeername"): NativeAddress | number => {
  if (pollable.closed) return errno.CLOSED
  return syscall === "getsockname" ? addon.localAddress(pollable.fd) : addon.peerAddress(pollable.fd)
}

/** dup(2) registered with the same poller: the clone's Pollable, or a failure. */
export const dup = (pollable: Pollable): Pollable | Failure => {
  if (pollable.closed) return failure(errno.CLOSED, "dup")
  const fd = addon.dup(pollable.fd)
  if (fd < 0) return failure(fd, "dup")
  const clone = pollable.poller.register(fd, "dup")
  return typeof clone === "number" ? failure(clone, clone === errno.CLOSED ? "dup" : "epoll_ctl") : clone
}

const shutdownHow = { read: 0, write: 1, both: 2 } as const
const shutdownEvents = { read: READABLE, write: WRITABLE, both: READABLE | WRITABLE } as const

/**
 * shutdown(2): 0 or an error code. ENOTCONN counts as done (the connection is
 * already gone). Fibers parked on the shut direction retry at once: reads see
 * 0, writes see EPIPE.
 */
export const shutdown = (pollable: Pollable, how: "read" | "write" | "both"): number => {
  if (pollable.closed) return errno.CLOSED
  const rc = addon.shutdown(pollable.fd, shutdownHow[how])
  if (rc < 0 && rc !== -errno.ENOTCONN) return rc
  pollable.ready(shutdownEvents[how])
  return 0
}

/** A socket option set on an open handle: 0 or an error code. */
export const setOption = (pollable: Pollable, set: (fd: number) => number): number =>
  pollable.closed ? errno.CLOSED : Math.min(0, set(pollable.fd))

export const setNoDelay = (pollable: Pollable, on: boolean): number =>
  setOption(pollable, (fd) => addon.setNoDelay(fd, on))

export const setKeepAlive = (pollable: Pollable, on: boolean, initialDelayMillis: number | undefined): number =>
  setOption(pollable, (fd) => addon.setKeepAlive(fd, on, keepIdleSeconds(initialDelayMillis)))

/** An empty read or write: 0, or CLOSED on a closed handle. */
export const empty = (pollable: Pollable): number => pollable.closed ? errno.CLOSED : 0
