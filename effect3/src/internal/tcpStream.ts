import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import * as NetError from "../NetError.js"
import { Netpoll } from "../Netpoll.js"
import type * as SocketAddr from "../SocketAddr.js"
import type * as TcpStream from "../TcpStream.js"
import * as errno from "./errno.js"
import * as metrics from "./metrics.js"
import { addon, READABLE, WRITABLE } from "../../../dist/core/native.js"
import * as netpoll from "./netpoll.js"
import * as socketAddr from "./socketAddr.js"

export const TypeId: TcpStream.TypeId = Symbol.for("effect-netpoll/TcpStream") as TcpStream.TypeId

/** Fails with the errno of a negative return, or succeeds with the address tuple. */
export const sockAddr = (
  pollable: netpoll.Pollable,
  syscall: "getsockname" | "getpeername"
): Effect.Effect<SocketAddr.SocketAddr, NetError.NetError> =>
  Effect.suspend(() => {
    if (pollable.closed) return Effect.fail(errno.closed(syscall))
    const result = syscall === "getsockname" ? addon.localAddress(pollable.fd) : addon.peerAddress(pollable.fd)
    return typeof result === "number"
      ? Effect.fail(errno.fromErrno(result, syscall))
      : Effect.succeed(socketAddr.fromNative(result))
  })

/**
 * Whether another call holds `direction`'s lock. A lock held by the running
 * fiber itself belongs to an earlier call of its that was interrupted (a fiber
 * makes one call at a time), so it is released here.
 */
const lockedByOther = (direction: netpoll.Direction): boolean => {
  const owner = direction.owner
  if (owner === undefined) return false
  if (owner !== netpoll.currentFiberState()) return true
  direction.unlock()
  return false
}

/**
 * One `read` or `write`: the syscall first, a park only on EAGAIN. It takes no
 * lock (one syscall is atomic) but waits while a `readExact` or `writeAll`
 * holds the direction.
 */
const once = (
  self: TcpStreamImpl,
  direction: netpoll.Direction,
  transfer: (fd: number, buf: Uint8Array, offset: number, length: number) => number,
  syscall: "read" | "write",
  buf: Uint8Array,
  retry: Effect.Effect<number, NetError.NetError>
): Effect.Effect<number, NetError.NetError> => {
  const pollable = self.pollable
  if (pollable.closed) return Effect.fail(errno.closed(syscall, self.remote))
  if (lockedByOther(direction)) return direction.waitTurn(retry)
  if (direction.mustWait) return direction.waitReady(retry)
  const n = direction.transfer(transfer, buf, 0, buf.length)
  if (n >= 0) return Effect.succeed(metrics.transferred(syscall, n))
  if (n === -errno.EAGAIN) return direction.waitReady(retry)
  return Effect.fail(errno.fromErrno(n, syscall, self.remote))
}

/** The call as an effect, which is also what a woken fiber runs again. */
const onceEffect = (
  self: TcpStreamImpl,
  direction: netpoll.Direction,
  transfer: (fd: number, buf: Uint8Array, offset: number, length: number) => number,
  syscall: "read" | "write",
  buf: Uint8Array
): Effect.Effect<number, NetError.NetError> => {
  const call: Effect.Effect<number, NetError.NetError> = Effect.suspend(() =>
    once(self, direction, transfer, syscall, buf, call)
  )
  return call
}

/**
 * One `readExact` or `writeAll`. It moves what it can at once; once part of the
 * message has moved and the socket would block, it locks the direction until
 * its end, so that no other call's bytes land inside the message; the lock is
 * released when the call ends, however it ends.
 */
class Transfer {
  private done = 0
  private owner: netpoll.FiberState | undefined = undefined
  private retryEffect: Effect.Effect<void, NetError.NetError> | undefined = undefined

  constructor(
    readonly self: TcpStreamImpl,
    readonly direction: netpoll.Direction,
    readonly transfer: (fd: number, buf: Uint8Array, offset: number, length: number) => number,
    readonly syscall: "read" | "write",
    readonly buf: Uint8Array
  ) {}

  private get retry(): Effect.Effect<void, NetError.NetError> {
    return this.retryEffect ??= Effect.suspend(() => this.step())
  }

  step(): Effect.Effect<void, NetError.NetError> {
    const { self, direction, buf } = this
    const pollable = self.pollable
    if (pollable.closed) return this.end(Effect.fail(errno.closed(this.syscall, self.remote)))
    if (this.owner === undefined && lockedByOther(direction)) return direction.waitTurn(this.retry)
    while (this.done < buf.length) {
      if (direction.mustWait) return this.park()
      const n = direction.transfer(this.transfer, buf, this.done, buf.length - this.done)
      if (n > 0) {
        this.done += metrics.transferred(this.syscall, n)
      } else if (n === 0) {
        return this.end(
          Effect.fail(new NetError.UnexpectedEof({ syscall: "read", address: self.remote, bytesRead: this.done }))
        )
      } else if (n !== -errno.EAGAIN) {
        return this.end(Effect.fail(errno.fromErrno(n, this.syscall, self.remote)))
      } else {
        return this.park()
      }
    }
    return this.end(Effect.void)
  }

  /**
   * Waits for readiness; once part of the message has moved, with the lock held.
   * The first locked park carries the call's one release: an interruption (or a
   * close) hands the direction on at once, not when the fiber ends. Later parks
   * run inside it, as the retries of this one.
   */
  private park(): Effect.Effect<void, NetError.NetError> {
    if (this.owner !== undefined || this.done === 0) return this.direction.waitReady(this.retry)
    const owner = this.owner = netpoll.currentFiberState()
    this.direction.lock(owner)
    return Effect.ensuring(
      this.direction.waitReady(this.retry),
      Effect.sync(() => {
        owner.settleParked()
        this.end(Effect.void)
      })
    )
  }

  private end<E>(result: Effect.Effect<void, E>): Effect.Effect<void, E> {
    if (this.owner !== undefined && this.direction.owner === this.owner) this.direction.unlock()
    this.owner = undefined
    return result
  }
}

const closedOrZero = (self: TcpStreamImpl, syscall: string): Effect.Effect<number, NetError.SocketClosed> =>
  Effect.suspend(() => self.pollable.closed ? Effect.fail(errno.closed(syscall, self.remote)) : Effect.succeed(0))

const setOption = (self: TcpStreamImpl, syscall: string, f: (fd: number) => number): Effect.Effect<void, NetError.NetError> =>
  Effect.suspend(() => {
    if (self.pollable.closed) return Effect.fail(errno.closed(syscall, self.remote))
    const rc = f(self.pollable.fd)
    return rc < 0 ? Effect.fail(errno.fromErrno(rc, syscall, self.remote)) : Effect.void
  })

const shutdownHow = { read: 0, write: 1, both: 2 } as const
const shutdownEvents = { read: READABLE, write: WRITABLE, both: READABLE | WRITABLE } as const

class TcpStreamImpl implements TcpStream.TcpStream {
  readonly [TypeId]: TcpStream.TypeId = TypeId

  constructor(
    readonly pollable: netpoll.Pollable,
    private peer: string | undefined
  ) {}

  /** The peer as text, for error messages: known from connect, looked up once otherwise. */
  get remote(): string | undefined {
    if (this.peer === undefined && !this.pollable.closed) {
      const peer = addon.peerAddress(this.pollable.fd)
      if (typeof peer !== "number") this.peer = String(socketAddr.fromNative(peer))
    }
    return this.peer
  }

  get fd(): number {
    return this.pollable.fd
  }

  read(buf: Uint8Array): Effect.Effect<number, NetError.NetError> {
    return buf.length === 0 ? closedOrZero(this, "read") : onceEffect(this, this.pollable.input, addon.read, "read", buf)
  }

  write(buf: Uint8Array): Effect.Effect<number, NetError.NetError> {
    return buf.length === 0
      ? closedOrZero(this, "write")
      : onceEffect(this, this.pollable.output, addon.write, "write", buf)
  }

  readExact(buf: Uint8Array): Effect.Effect<void, NetError.NetError> {
    return buf.length === 0
      ? Effect.asVoid(closedOrZero(this, "read"))
      : Effect.suspend(() => new Transfer(this, this.pollable.input, addon.read, "read", buf).step())
  }

  writeAll(buf: Uint8Array): Effect.Effect<void, NetError.NetError> {
    return buf.length === 0
      ? Effect.asVoid(closedOrZero(this, "write"))
      : Effect.suspend(() => new Transfer(this, this.pollable.output, addon.write, "write", buf).step())
  }

  get tryClone(): Effect.Effect<TcpStream.TcpStream, NetError.NetError, Scope.Scope> {
    return Effect.flatMap(Effect.scope, (scope) =>
      Effect.uninterruptible(Effect.suspend(() => {
        const pollable = this.pollable
        if (pollable.closed) return Effect.fail(errno.closed("dup", this.remote))
        const fd = addon.dup(pollable.fd)
        if (fd < 0) return Effect.fail(errno.fromErrno(fd, "dup", this.remote))
        const clone = pollable.poller.register(fd, "dup")
        if (!(clone instanceof netpoll.Pollable)) return Effect.fail(clone)
        return Effect.as(Scope.addFinalizer(scope, clone.closeEffect), new TcpStreamImpl(clone, this.remote))
      })))
  }

  get peerAddr(): Effect.Effect<SocketAddr.SocketAddr, NetError.NetError> {
    return sockAddr(this.pollable, "getpeername")
  }

  get localAddr(): Effect.Effect<SocketAddr.SocketAddr, NetError.NetError> {
    return sockAddr(this.pollable, "getsockname")
  }

  shutdown(how: "read" | "write" | "both"): Effect.Effect<void, NetError.NetError> {
    return Effect.suspend(() => {
      const pollable = this.pollable
      if (pollable.closed) return Effect.fail(errno.closed("shutdown", this.remote))
      const rc = addon.shutdown(pollable.fd, shutdownHow[how])
      if (rc < 0 && rc !== -errno.ENOTCONN) return Effect.fail(errno.fromErrno(rc, "shutdown", this.remote))
      // Parked fibers of the shut direction retry now: reads see 0, writes see EPIPE.
      pollable.ready(shutdownEvents[how])
      return Effect.void
    })
  }

  setNoDelay(on: boolean): Effect.Effect<void, NetError.NetError> {
    return setOption(this, "setsockopt", (fd) => addon.setNoDelay(fd, on))
  }

  setKeepAlive(on: boolean, initialDelayMillis?: number): Effect.Effect<void, NetError.NetError> {
    return setOption(this, "setsockopt", (fd) => addon.setKeepAlive(fd, on, keepIdleSeconds(initialDelayMillis)))
  }

  get close(): Effect.Effect<void> {
    return this.pollable.closeEffect
  }

  toString(): string {
    return `TcpStream(fd ${this.pollable.fd}${this.remote === undefined ? "" : ` -> ${this.remote}`})`
  }
}

const keepIdleSeconds = (millis: number | undefined): number =>
  millis === undefined || !(millis > 0) ? 0 : Math.max(1, Math.ceil(millis / 1000))

/** Wraps a connected fd that the caller has already registered and scoped. */
export const fromPollable = (pollable: netpoll.Pollable, remote: string | undefined): TcpStream.TcpStream =>
  new TcpStreamImpl(pollable, remote)

const applyOptions = (pollable: netpoll.Pollable, options: TcpStream.ConnectOptions | undefined, address: string) => {
  const fd = pollable.fd
  let rc = addon.setNoDelay(fd, options?.noDelay ?? true)
  if (rc >= 0 && options?.keepAlive !== undefined && options.keepAlive !== false) {
    rc = addon.setKeepAlive(fd, true, keepIdleSeconds(options.keepAlive === true ? undefined : options.keepAlive))
  }
  return rc < 0 ? errno.fromErrno(rc, "setsockopt", address) : undefined
}

/**
 * Completes a nonblocking connect: wait for writability, read SO_ERROR, and
 * confirm with getpeername (a wake-up can come before the handshake ends).
 */
const awaitConnected = (pollable: netpoll.Pollable, address: string): Effect.Effect<void, NetError.NetError> =>
  pollable.output.waitReady(Effect.suspend(() => {
    // The handle may have closed (the layer with it) between the wake-up and now.
    if (pollable.closed) return Effect.fail(errno.closed("connect", address))
    pollable.output.ready = false
    const error = addon.soError(pollable.fd)
    if (error !== 0) return Effect.fail(errno.fromErrno(error < 0 ? error : -error, "connect", address))
    const peer = addon.peerAddress(pollable.fd)
    if (typeof peer !== "number") return Effect.void
    return peer === -errno.ENOTCONN ? awaitConnected(pollable, address) : Effect.fail(errno.fromErrno(peer, "connect", address))
  }))

const connectOne = (
  poller: netpoll.Poller,
  scope: Scope.Scope,
  addr: SocketAddr.SocketAddr,
  options: TcpStream.ConnectOptions | undefined
): Effect.Effect<TcpStream.TcpStream, NetError.NetError> =>
  Effect.uninterruptibleMask((restore) => {
    const address = String(addr)
    const family = socketAddr.familyNumber(addr)
    const fd = addon.socket(family)
    if (fd < 0) return Effect.fail(errno.fromErrno(fd, "socket", address))
    const pollable = poller.register(fd, "connect")
    if (!(pollable instanceof netpoll.Pollable)) return Effect.fail(pollable)
    const optionError = applyOptions(pollable, options, address)
    if (optionError !== undefined) {
      pollable.close()
      return Effect.fail(optionError)
    }
    // Readiness seen before the connect started says nothing about it.
    pollable.output.ready = false
    const rc = addon.connect(fd, family, addr.address, addr.port)
    const connected = rc === 0
      ? Effect.void
      : rc === -errno.EINPROGRESS
      ? restore(awaitConnected(pollable, address))
      : Effect.fail(errno.fromErrno(rc, "connect", address))
    return Effect.onExit(connected, (exit) => {
      if (Exit.isFailure(exit)) return pollable.closeEffect
      pollable.output.syscall = "write"
      metrics.connected()
      return Scope.addFinalizer(scope, pollable.closeEffect)
    }).pipe(Effect.as(fromPollable(pollable, address)))
  })

const tryEach = (
  poller: netpoll.Poller,
  scope: Scope.Scope,
  addrs: ReadonlyArray<SocketAddr.SocketAddr>,
  index: number,
  options: TcpStream.ConnectOptions | undefined
): Effect.Effect<TcpStream.TcpStream, NetError.NetError> =>
  index === addrs.length - 1
    ? connectOne(poller, scope, addrs[index]!, options)
    : Effect.catchAll(connectOne(poller, scope, addrs[index]!, options), () => tryEach(poller, scope, addrs, index + 1, options))

export const connect = (
  address: SocketAddr.Input,
  options?: TcpStream.ConnectOptions
): Effect.Effect<TcpStream.TcpStream, NetError.NetError, Netpoll | Scope.Scope> =>
  metrics.connectSpan(
    address,
    Effect.flatMap(socketAddr.resolve(address), (addrs) =>
      Effect.flatMap(Netpoll, (service) =>
        Effect.flatMap(Effect.scope, (scope) => tryEach(netpoll.fromService(service), scope, addrs, 0, options))))
  )
