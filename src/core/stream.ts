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

/** A read or write of `buf[offset, offset + length)` on a direction's fd. */
export type Syscall<B = Uint8Array> = (direction: Direction, buf: B, offset: number, length: number) => number

/**
 * A read asking for less than the poller's spill (4 KiB) also fills it: the bytes
 * past the caller's buffer are kept for the next read, and a count short of
 * both shows the socket drained. A request/response client that reads exactly
 * its reply then parks for the next one at once, instead of spending a recv on
 * EAGAIN (libuv reads into 64 KiB for the same reason). Larger reads need no
 * spill: one EAGAIN per buffer that large costs little.
 */
export const read: Syscall = (direction, buf, offset, length) => {
  const { fd, poller } = direction.pollable
  const spill = poller.spill
  if (length >= spill.length) return direction.settle(addon.read(fd, buf, offset, length), length)
  const n = direction.settle(addon.readSpill(fd, buf, offset, length, spill), length + spill.length)
  if (n <= length) return n
  direction.keep(spill.slice(0, n - length))
  poller.hooks.transferred("read", n - length)
  return length
}
export const write: Syscall = (direction, buf, offset, length) =>
  direction.settle(addon.write(direction.pollable.fd, buf, offset, length), length)
export const readv: Syscall<Vector> = (direction, bufs, offset, length) =>
  direction.settle(addon.readv(direction.pollable.fd, bufs, offset, length), length)
export const writev: Syscall<Vector> = (direction, bufs, offset, length) =>
  direction.settle(addon.writev(direction.pollable.fd, bufs, offset, length), length)

/** Whether a value is a buffer the syscalls take (a Proxy or a plain object is not). */
export const isBytes = (buf: unknown): buf is Uint8Array => ArrayBuffer.isView(buf) && buf instanceof Uint8Array

/** Several buffers that one vectored call fills (or sends) in order, as one sequence of bytes. */
export type Vector = ReadonlyArray<Uint8Array>

/** What the transfers need to know of their buffer: one Uint8Array, or a Vector. */
export interface Shape<B> {
  readonly length: (buf: B) => number
  /** Copies `bytes` into `buf` from `offset` on; returns how many fit. */
  readonly copyIn: (buf: B, offset: number, bytes: Uint8Array) => number
  /** A copy of the first `n` bytes of `buf`. */
  readonly head: (buf: B, n: number) => Uint8Array
  /**
   * How much of `buf[offset, offset + length)` one syscall takes: all of it,
   * but for a Vector only as far as its first MAX_IOV non-empty buffers, so
   * that a short count still means a drained socket.
   */
  readonly span: (buf: B, offset: number, length: number) => number
}

/** The most buffers the addon's `readv` / `writev` take per call (IOV_MAX). */
export const MAX_IOV = 1024

export const single: Shape<Uint8Array> = {
  length: (buf) => buf.length,
  copyIn: (buf, offset, bytes) => {
    const n = Math.min(bytes.length, buf.length - offset)
    buf.set(n === bytes.length ? bytes : bytes.subarray(0, n), offset)
    return n
  },
  head: (buf, n) => buf.slice(0, n),
  span: (_, __, length) => length
}

export const vector: Shape<Vector> = {
  length: (bufs) => {
    let total = 0
    for (const buf of bufs) total += buf.length
    return total
  },
  copyIn: (bufs, offset, bytes) => {
    let copied = 0
    for (const buf of bufs) {
      if (copied === bytes.length) break
      if (offset >= buf.length) {
        offset -= buf.length
        continue
      }
      copied += single.copyIn(buf, offset, bytes.subarray(copied))
      offset = 0
    }
    return copied
  },
  head: (bufs, n) => {
    const out = new Uint8Array(n)
    let at = 0
    for (const buf of bufs) {
      if (at === n) break
      const take = Math.min(buf.length, n - at)
      out.set(buf.subarray(0, take), at)
      at += take
    }
    return out
  },
  span: (bufs, offset, length) => {
    let covered = 0
    let count = 0
    for (const buf of bufs) {
      if (offset >= buf.length) {
        offset -= buf.length
        continue
      }
      covered += buf.length - offset
      offset = 0
      if (++count === MAX_IOV || covered >= length) break
    }
    return Math.min(covered, length)
  }
}

/**
 * One `read` or `write`: the syscall first, a park only on EAGAIN. It takes no
 * lock (one syscall is atomic) but waits while a `readExact` or `writeAll`
 * holds the direction. `length` is the buffer's length when the call was made.
 * Returns the count, WAIT_READY, WAIT_TURN, BUFFER_CHANGED or an error code.
 */
export const once = <B>(
  direction: Direction,
  shape: Shape<B>,
  syscall: Syscall<B>,
  buf: B,
  length: number,
  currentOwner: () => Owner
): number => {
  const pollable = direction.pollable
  if (pollable.closed) return errno.CLOSED
  if (shape.length(buf) !== length) return BUFFER_CHANGED
  if (direction.lockedByOther(currentOwner)) return WAIT_TURN
  if (direction.kept !== undefined) return direction.takeKept((kept) => shape.copyIn(buf, 0, kept))
  if (direction.mustWait) return WAIT_READY
  const n = direction.transfer(syscall, buf, 0, shape.span(buf, 0, length))
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
export class Transfer<B = Uint8Array> {
  /** Bytes moved so far. */
  done = 0
  /** The buffer's length when the call was made (or last grown, for a read to the end). */
  protected length: number
  private owner: Owner | undefined = undefined
  private locker: Owner | undefined = undefined
  /** The call has its result (success, end of stream, an error): nothing to keep. */
  private finished = false

  constructor(
    readonly direction: Direction,
    readonly shape: Shape<B>,
    readonly syscall: Syscall<B>,
    public buf: B
  ) {
    this.length = shape.length(buf)
  }

  /** Moves what it can: DONE, WAIT_READY(_LOCKED), WAIT_TURN, UNEXPECTED_EOF, BUFFER_CHANGED or an error code. */
  step(currentOwner: () => Owner): number {
    const { direction, shape } = this
    const pollable = direction.pollable
    if (pollable.closed) return this.end(errno.CLOSED)
    if (shape.length(this.buf) !== this.length) return this.end(BUFFER_CHANGED)
    if (this.owner === undefined && direction.lockedByOther(currentOwner)) return WAIT_TURN
    const name = direction === pollable.input ? "read" : "write"
    while (true) {
      if (this.done === this.length) {
        const code = this.full()
        if (code !== undefined) return this.end(code)
      }
      const { buf, length } = this
      if (direction.kept !== undefined) {
        const at = this.done
        this.done += direction.takeKept((kept) => shape.copyIn(buf, at, kept))
        continue
      }
      if (direction.mustWait) return this.park(currentOwner)
      const n = direction.transfer(this.syscall, buf, this.done, shape.span(buf, this.done, length - this.done))
      if (n > 0) {
        this.done += n
        pollable.poller.hooks.transferred(name, n)
      } else if (n === 0) {
        return this.end(this.endOfStream())
      } else if (n !== -errno.EAGAIN) {
        return this.end(n)
      } else {
        return this.park(currentOwner)
      }
    }
  }

  /** The buffer is full: the call's code, or undefined to go on (with a larger buffer). */
  protected full(): number | undefined {
    return DONE
  }

  /** What end of stream means for the call. */
  protected endOfStream(): number {
    return UNEXPECTED_EOF
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
    if (!this.finished && direction === direction.pollable.input && this.shape.length(buf) === this.length) {
      direction.keep(this.shape.head(buf, this.done))
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

/** `ReadToEnd.step`: more than `maxBytes` arrived; every byte read was kept for the next read. */
export const LIMIT_EXCEEDED = -0x10006

/** The first buffer of a read to the end; it doubles as it fills, up to the limit. */
const FIRST_CHUNK = 64 * 1024

/**
 * `readToEnd`: reads until end of stream into a buffer that grows up to
 * `maxBytes + 1` bytes; one byte more than the limit says it was passed.
 * Interrupted or over the limit, it keeps what it read for the next read.
 */
export class ReadToEnd extends Transfer<Uint8Array> {
  constructor(direction: Direction, readonly maxBytes: number) {
    super(direction, single, read, new Uint8Array(Math.min(maxBytes + 1, FIRST_CHUNK)))
  }

  /** What was read, once `step` returned DONE. */
  get bytes(): Uint8Array {
    return this.buf.subarray(0, this.done)
  }

  protected override full(): number | undefined {
    if (this.done > this.maxBytes) {
      this.direction.keep(this.buf.slice(0, this.done))
      return LIMIT_EXCEEDED
    }
    const grown = new Uint8Array(Math.min(this.buf.length * 2, this.maxBytes + 1))
    grown.set(this.buf)
    this.buf = grown
    this.length = grown.length
    return undefined
  }

  protected override endOfStream(): number {
    return DONE
  }
}

/** A syscall that failed, named for the error. */
export interface Failure {
  readonly code: number
  readonly syscall: string
}

const failure = (code: number, syscall: string): Failure => ({ code, syscall })

/** One step of setting up a socket that was just made: the syscall a failure names, and the call (0 or a negative errno). */
export type SetUpStep = readonly [syscall: string, step: () => number]

/**
 * Runs `steps` on a socket the caller has just made, in order, then registers
 * it with the poller as `registerAs` (which also names a failed registration's
 * CLOSED). The Pollable, or the first failure with the fd closed (nobody else
 * has it yet).
 */
export const setUp = (poller: Poller, fd: number, steps: ReadonlyArray<SetUpStep>, registerAs: string): Pollable | Failure => {
  for (const [syscall, step] of steps) {
    let rc: number
    try {
      rc = step()
    } catch (thrown) {
      // An option whose getter gave a checked value once and a bad one now: the addon's TypeError
      // becomes the caller's defect, and the fd, registered nowhere yet, must not stay open.
      addon.close(fd)
      throw thrown
    }
    if (rc < 0) {
      addon.close(fd)
      return failure(rc, syscall)
    }
  }
  const pollable = poller.register(fd, registerAs)
  return typeof pollable === "number" ? failure(pollable, pollable === errno.CLOSED ? registerAs : "epoll_ctl") : pollable
}

/** TCP_KEEPIDLE in whole seconds for an initial delay in milliseconds; 0 keeps the system's. */
export const keepIdleSeconds = (millis: number | undefined): number =>
  millis === undefined || !(millis > 0) ? 0 : Math.min(MAX_KEEP_IDLE_SECONDS, Math.max(1, Math.ceil(millis / 1000)))

/**
 * The largest TCP_KEEPIDLE handed to the kernel: beyond an int, the addon
 * could not take it; the kernel refuses what it cannot honour (EINVAL above
 * 32767 s on Linux), which is a typed error with the socket closed.
 */
const MAX_KEEP_IDLE_SECONDS = 0x7fffffff

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
 * `peerOf` is the family's getpeername (TCP's, or the Unix path's).
 */
export const connectResult = (
  pollable: Pollable,
  peerOf: (fd: number) => unknown = addon.peerAddress
): number => {
  // The handle may have closed (the layer with it) between the wake-up and now.
  if (pollable.closed) return errno.CLOSED
  pollable.output.ready = false
  const error = addon.soError(pollable.fd)
  if (error !== 0) return error < 0 ? error : -error
  const peer = peerOf(pollable.fd)
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
  // Shared from the dup on: whichever closes first leaves the file alive, and its registration with it.
  pollable.shared = true
  const fd = addon.dup(pollable.fd)
  if (fd < 0) return failure(fd, "dup")
  const clone = pollable.poller.register(fd, "dup")
  if (typeof clone === "number") return failure(clone, clone === errno.CLOSED ? "dup" : "epoll_ctl")
  clone.shared = true
  // One byte stream: bytes either handle kept are the next for both.
  clone.input.useBacklog(pollable.input.shareBacklog())
  return clone
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
