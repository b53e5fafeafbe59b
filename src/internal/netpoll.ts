import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Scope from "effect/Scope"
import type * as NetError from "../NetError.js"
import type * as Netpoll from "../Netpoll.js"
import * as errno from "./errno.js"
import * as metrics from "./metrics.js"
import { addon, type PollerHandle, READABLE, WRITABLE } from "./native.js"

type Resume = (exit: Exit.Exit<void, NetError.SocketClosed>) => void

/** Pairs of (token, events) handed over per wake-up. */
const BATCH_PAIRS = 1024

/**
 * One direction (reading or writing) of a Pollable: the fibers parked on it, a
 * readiness latch, and a lock for the calls that span several syscalls.
 *
 * Readiness is a hint: a woken fiber retries its syscall and parks again on
 * EAGAIN. Every edge sets the latch, which is cleared right before a syscall, so
 * an edge seen between a syscall's EAGAIN and the park is never lost. An edge
 * wakes every fiber parked on the direction (almost always one), so a fiber that
 * is interrupted after its wake-up never swallows one that another fiber needed.
 *
 * `locked` is held by a `readExact` or `writeAll` from its first partial
 * transfer to its end, so that no other call's bytes land in the middle of its
 * message; single-syscall calls take no lock, they only wait while it is held.
 */
export class Direction {
  ready = false
  locked = false
  private first: Resume | undefined = undefined
  private rest: Array<Resume> | undefined = undefined

  constructor(
    readonly pollable: Pollable,
    /** Named in the SocketClosed that wakes a parked fiber. */
    public syscall: string
  ) {}

  get isParked(): boolean {
    return this.first !== undefined
  }

  /** Parks until the next readiness edge, or returns at once if one is latched. */
  get waitReady(): Effect.Effect<void, NetError.SocketClosed> {
    return Effect.async((resume) => this.park(resume, true))
  }

  /** Parks until the lock is released (or the direction wakes for another reason). */
  get waitTurn(): Effect.Effect<void, NetError.SocketClosed> {
    return Effect.async((resume) => this.park(resume, false))
  }

  private park(resume: Resume, forReadiness: boolean): Effect.Effect<void> | void {
    const pollable = this.pollable
    if (pollable.closed) return resume(Exit.fail(errno.closed(this.syscall)))
    if (forReadiness ? this.ready : !this.locked) {
      if (forReadiness) this.ready = false
      return resume(Exit.void)
    }
    if (this.first === undefined) this.first = resume
    else (this.rest ??= []).push(resume)
    pollable.poller.park(pollable)
    return Effect.sync(() => this.cancel(resume))
  }

  private cancel(resume: Resume): void {
    if (this.first === resume) {
      this.first = this.rest?.shift()
    } else {
      const index = this.rest?.indexOf(resume) ?? -1
      if (index < 0) return
      this.rest!.splice(index, 1)
    }
    const pollable = this.pollable
    pollable.poller.unpark()
    pollable.poller.rearm(pollable)
  }

  /** Wakes every parked fiber with `exit`. */
  wake(exit: Exit.Exit<void, NetError.SocketClosed>): void {
    const first = this.first
    if (first === undefined) return
    const rest = this.rest
    this.first = undefined
    this.rest = undefined
    const poller = this.pollable.poller
    poller.unpark()
    first(exit)
    if (rest !== undefined) {
      for (const resume of rest) {
        poller.unpark()
        resume(exit)
      }
    }
  }

  /** Readiness from the poller (or from a shutdown of this direction). */
  signal(): void {
    this.ready = true
    this.wake(Exit.void)
  }

  /** Ends a locked call: fibers waiting for their turn retry. */
  unlock(): void {
    this.locked = false
    this.wake(Exit.void)
  }
}

/** One fd registered with a poller, with its two directions. */
export class Pollable {
  closed = false
  readonly input: Direction
  readonly output: Direction

  constructor(
    readonly poller: Poller,
    readonly fd: number,
    readonly token: number,
    syscall: string
  ) {
    this.input = new Direction(this, syscall === "listen" ? "accept" : "read")
    this.output = new Direction(this, syscall === "listen" ? "accept" : syscall === "connect" ? "connect" : "write")
  }

  /** The portable backend arms its one-shot handle for what parked fibers await. */
  get interest(): number {
    return (this.input.isParked ? READABLE : 0) | (this.output.isParked ? WRITABLE : 0)
  }

  /** Delivers readiness to each direction named in `events`. */
  ready(events: number): void {
    if ((events & READABLE) !== 0) this.input.signal()
    if ((events & WRITABLE) !== 0) this.output.signal()
    this.poller.rearm(this)
  }

  /**
   * Deregisters, then closes the fd exactly once, then wakes every parked fiber
   * with SocketClosed. Every syscall path checks `closed` first, so the fd number
   * is never touched again, whoever the kernel hands it to next.
   */
  close(): void {
    if (this.closed) return
    this.closed = true
    metrics.socketClosed()
    this.poller.forget(this)
    addon.close(this.fd)
    for (const direction of [this.input, this.output]) {
      if (direction.isParked) direction.wake(Exit.fail(errno.closed(direction.syscall)))
    }
  }

  get closeEffect(): Effect.Effect<void> {
    return Effect.sync(() => this.close())
  }
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
    const pollable = new Pollable(this, fd, token, syscall)
    this.byToken.set(token, pollable)
    metrics.socketOpened()
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
