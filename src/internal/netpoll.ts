import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Scope from "effect/Scope"
import type * as NetError from "../NetError.js"
import type * as Netpoll from "../Netpoll.js"
import * as errno from "./errno.js"
import { addon, type PollerHandle, READABLE, WRITABLE } from "./native.js"

type Resume = (exit: Exit.Exit<void, NetError.SocketClosed>) => void

/** Pairs of (token, events) handed over per wake-up. */
const BATCH_PAIRS = 1024

/**
 * One fd registered with a poller, with at most one fiber parked per direction.
 * Callers serialize each direction themselves (the stream and listener locks),
 * so a slot is never claimed twice.
 *
 * Readiness is a hint: a woken fiber retries its syscall and parks again on
 * EAGAIN. An event that arrives while nobody waits sets the direction's latch,
 * which the next wait consumes, so an edge seen between a syscall's EAGAIN and
 * the park is never lost.
 */
export class Pollable {
  closed = false
  readReady = false
  writeReady = false
  reader: Resume | undefined = undefined
  writer: Resume | undefined = undefined
  /** Name the syscall in the SocketClosed that wakes a parked reader or writer. */
  readSyscall = "read"
  writeSyscall = "write"

  constructor(
    readonly poller: Poller,
    readonly fd: number,
    readonly token: number
  ) {}

  /** Parks until the fd may be readable, or fails once the handle closes. */
  readonly waitRead: Effect.Effect<void, NetError.SocketClosed> = Effect.async((resume) => {
    if (this.closed) return resume(Exit.fail(errno.closed(this.readSyscall)))
    if (this.readReady) {
      this.readReady = false
      return resume(Exit.void)
    }
    this.reader = resume
    this.poller.park(this)
    return this.cancelRead
  })

  /** Parks until the fd may be writable, or fails once the handle closes. */
  readonly waitWrite: Effect.Effect<void, NetError.SocketClosed> = Effect.async((resume) => {
    if (this.closed) return resume(Exit.fail(errno.closed(this.writeSyscall)))
    if (this.writeReady) {
      this.writeReady = false
      return resume(Exit.void)
    }
    this.writer = resume
    this.poller.park(this)
    return this.cancelWrite
  })

  private readonly cancelRead = Effect.sync(() => {
    if (this.reader !== undefined) {
      this.reader = undefined
      this.poller.unpark()
      this.poller.rearm(this)
    }
  })

  private readonly cancelWrite = Effect.sync(() => {
    if (this.writer !== undefined) {
      this.writer = undefined
      this.poller.unpark()
      this.poller.rearm(this)
    }
  })

  get interest(): number {
    return (this.reader === undefined ? 0 : READABLE) | (this.writer === undefined ? 0 : WRITABLE)
  }

  /** Delivers readiness: wakes the parked fiber of each direction, or latches it. */
  ready(events: number): void {
    if ((events & READABLE) !== 0) {
      const reader = this.reader
      if (reader === undefined) {
        this.readReady = true
      } else {
        this.reader = undefined
        this.poller.unpark()
        reader(Exit.void)
      }
    }
    if ((events & WRITABLE) !== 0) {
      const writer = this.writer
      if (writer === undefined) {
        this.writeReady = true
      } else {
        this.writer = undefined
        this.poller.unpark()
        writer(Exit.void)
      }
    }
    this.poller.rearm(this)
  }

  /**
   * Deregisters, then closes the fd exactly once, then wakes both parked fibers
   * with SocketClosed. Every syscall path checks `closed` first, so the fd number
   * is never touched again, whoever the kernel hands it to next.
   */
  close(): void {
    if (this.closed) return
    this.closed = true
    this.poller.forget(this)
    addon.close(this.fd)
    const { reader, writer } = this
    this.reader = undefined
    this.writer = undefined
    if (reader !== undefined) {
      this.poller.unpark()
      reader(Exit.fail(errno.closed(this.readSyscall)))
    }
    if (writer !== undefined) {
      this.poller.unpark()
      writer(Exit.fail(errno.closed(this.writeSyscall)))
    }
  }

  readonly closeEffect: Effect.Effect<void> = Effect.sync(() => this.close())
}

/** The Netpoll service: a native poller and the fds registered with it. */
export class Poller implements Netpoll.Netpoll.Service {
  readonly backend: "epoll" | "uv_poll"
  private readonly handle: PollerHandle
  private readonly batch = new Int32Array(BATCH_PAIRS * 2)
  private readonly byToken = new Map<number, Pollable>()
  private nextToken = 1
  private parked = 0
  private closed = false

  constructor(edgeTriggered: boolean) {
    this.backend = edgeTriggered ? "epoll" : "uv_poll"
    const handle = addon.pollerOpen(this.onEvents, this.batch, edgeTriggered)
    if (typeof handle === "number") throw errno.fromErrno(handle, "poller_open")
    this.handle = handle
  }

  get size(): number {
    return this.byToken.size
  }

  get waiting(): number {
    return this.parked
  }

  private readonly onEvents = (count: number): void => {
    const batch = this.batch
    for (let i = 0; i < count; i++) {
      const pollable = this.byToken.get(batch[2 * i]!)
      if (pollable === undefined) continue
      pollable.ready(batch[2 * i + 1]!)
    }
  }

  /**
   * Takes ownership of fd: from here on the Pollable closes it. On failure the fd
   * is closed at once and the error returned.
   */
  register(fd: number, syscall: string): Pollable | NetError.NetError {
    if (this.closed) {
      addon.close(fd)
      return errno.closed(syscall)
    }
    let token = this.nextToken
    while (this.byToken.has(token)) token = token === 0x7fffffff ? 1 : token + 1
    this.nextToken = token === 0x7fffffff ? 1 : token + 1
    const rc = addon.pollerAdd(this.handle, fd, token)
    if (rc < 0) {
      addon.close(fd)
      return errno.fromErrno(rc, "epoll_ctl")
    }
    const pollable = new Pollable(this, fd, token)
    this.byToken.set(token, pollable)
    return pollable
  }

  forget(pollable: Pollable): void {
    if (this.byToken.delete(pollable.token) && !this.closed) {
      addon.pollerDel(this.handle, pollable.fd)
    }
  }

  park(pollable: Pollable): void {
    if (this.backend === "uv_poll") {
      addon.pollerArm(this.handle, pollable.fd, pollable.interest)
    } else if (this.parked === 0) {
      addon.pollerRef(this.handle, true)
    }
    this.parked++
  }

  unpark(): void {
    if (--this.parked === 0 && this.backend === "epoll") addon.pollerRef(this.handle, false)
  }

  /**
   * The portable backend is one-shot and armed only while a fiber waits: after an
   * event or a cancelled wait, arm it again for what is still awaited (or stop it).
   */
  rearm(pollable: Pollable): void {
    if (this.backend === "uv_poll" && !pollable.closed) addon.pollerArm(this.handle, pollable.fd, pollable.interest)
  }

  /** Closes every fd still registered (waking its fibers), then the poller itself. */
  shutdown(): void {
    if (this.closed) return
    for (const pollable of [...this.byToken.values()]) pollable.close()
    this.closed = true
    addon.pollerClose(this.handle)
  }
}

/** A poller for the layer's lifetime; its release closes every fd it still owns. */
export const acquire = (edgeTriggered: boolean): Effect.Effect<Poller, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => new Poller(edgeTriggered)),
    (poller) => Effect.sync(() => poller.shutdown())
  )

/** Every Netpoll service is a Poller: the layers above are its only constructors. */
export const fromService = (service: Netpoll.Netpoll.Service): Poller => service as Poller
