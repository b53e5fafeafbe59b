import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import * as Option from "effect/Option"
import type * as Scheduler from "effect/Scheduler"
import type * as Scope from "effect/Scope"
import type * as NetError from "../NetError.js"
import type * as Netpoll from "../Netpoll.js"
import * as errno from "./errno.js"
import * as metrics from "./metrics.js"
import { addon, CONTROL_WORDS, HANGUP, type PollerHandle, READABLE, WRITABLE } from "../../../dist/core/native.js"

/** Pairs of (token, events) handed over per wake-up. */
const BATCH_PAIRS = 1024
/** The batch's control words (see native.ts `CONTROL_WORDS`), after its pairs. */
const IN_CALLBACK = BATCH_PAIRS * 2
const PARKED = BATCH_PAIRS * 2 + 1

type AnyFiber = Fiber.RuntimeFiber<unknown, unknown>

/**
 * A fiber parked on a direction and the effect it runs when woken: its retry,
 * or a SocketClosed failure. The retry always runs in the fiber, never here,
 * so a fiber interrupted before it resumes has done nothing.
 */
class Parked {
  constructor(
    readonly direction: Direction,
    readonly state: FiberState,
    readonly resume: (effect: Effect.Effect<any, any>) => void,
    readonly retry: Effect.Effect<any, any>,
    /** Waits for readiness, not for the direction's lock. */
    readonly forReadiness: boolean
  ) {}
}

/**
 * What the netpoll knows of a fiber that has parked or locked a direction. Waits
 * carry no canceller (an interruptible `Effect.async` canceller costs a dozen
 * runtime ops per wait); instead a fiber's park or lock is known to be stale
 * once the fiber parks again (a fiber waits for one thing at a time) or ends,
 * which an observer, added once per fiber, reports. An interrupted wait is
 * resumed by nobody: its fiber has moved on, and a late `resume` is a no-op.
 */
export class FiberState {
  parked: Parked | undefined = undefined
  lock: Direction | undefined = undefined

  /** The fiber's previous wait, if any, is over: it parks anew, or has ended. */
  settleParked(): void {
    const parked = this.parked
    if (parked !== undefined) {
      this.parked = undefined
      parked.direction.remove(parked)
    }
  }

  /** The fiber has ended: nothing it parked or locked is in use any more. */
  settle(): void {
    this.settleParked()
    const lock = this.lock
    if (lock !== undefined) {
      this.lock = undefined
      if (lock.owner === this) lock.unlock()
    }
  }
}

const fiberStates = new WeakMap<AnyFiber, FiberState>()

/** The running fiber's state, observed from its first use until the fiber ends. */
export const currentFiberState = (): FiberState => {
  const fiber = Option.getOrThrow(Fiber.getCurrentFiber()) as AnyFiber
  let state = fiberStates.get(fiber)
  if (state === undefined) {
    const created = new FiberState()
    fiberStates.set(fiber, created)
    fiber.addObserver(() => created.settle())
    state = created
  }
  return state
}

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
 * The lock (`owner`) is held by a `readExact` or `writeAll` from its first
 * partial transfer to its end, so that no other call's bytes land inside its
 * message; single-syscall calls take no lock, they only wait while it is held.
 */
export class Direction {
  ready = false
  /**
   * The last syscall moved less than it was asked to, or would have blocked: the
   * socket's buffer is empty (full, for writes) until an edge says otherwise,
   * since each arrival of data or of room raises a new edge. A call then parks
   * at once instead of spending a syscall on EAGAIN, as libuv does after a
   * short read.
   */
  drained = false
  /** A hang-up (or urgent data) was seen: a short transfer says nothing any more. */
  hungUp = false
  owner: FiberState | undefined = undefined
  private first: Parked | undefined = undefined
  private rest: Array<Parked> | undefined = undefined

  constructor(
    readonly pollable: Pollable,
    /** Named in the SocketClosed that wakes a parked fiber. */
    public syscall: string
  ) {}

  get isParked(): boolean {
    return this.first !== undefined
  }

  /** Whether a parked fiber waits for readiness (fibers waiting for the lock need no poll). */
  get awaitsReadiness(): boolean {
    return this.first !== undefined && (this.first.forReadiness || this.rest?.some((p) => p.forReadiness) === true)
  }

  /** Whether a syscall now would surely block: park without trying it. */
  get mustWait(): boolean {
    return this.drained && !this.ready && !this.hungUp
  }

  /**
   * Runs one read or write of `buf[offset, offset + length)`: clears the latch
   * first, and records what the result says of the buffer.
   */
  transfer(
    syscall: (fd: number, buf: Uint8Array, offset: number, length: number) => number,
    buf: Uint8Array,
    offset: number,
    length: number
  ): number {
    this.ready = false
    const n = syscall(this.pollable.fd, buf, offset, length)
    this.drained = n === -errno.EAGAIN || (n > 0 && n < length)
    return n
  }

  /**
   * Parks the running fiber until the next readiness edge (at once if one is
   * latched) and then runs `retry` in it.
   */
  waitReady<A, E>(retry: Effect.Effect<A, E>): Effect.Effect<A, E | NetError.SocketClosed> {
    return Effect.async((resume) => this.park(resume, retry, true))
  }

  /** Parks the running fiber until the lock is free (or may be), then runs `retry`. */
  waitTurn<A, E>(retry: Effect.Effect<A, E>): Effect.Effect<A, E | NetError.SocketClosed> {
    return Effect.async((resume) => this.park(resume, retry, false))
  }

  private park(resume: (effect: Effect.Effect<any, any>) => void, retry: Effect.Effect<any, any>, forReadiness: boolean): void {
    const pollable = this.pollable
    if (pollable.closed) return resume(Effect.fail(errno.closed(this.syscall)))
    // The latch is left set: the retry clears it right before its syscall.
    if (forReadiness ? this.ready : this.owner === undefined) return resume(retry)
    const state = currentFiberState()
    state.settleParked()
    const parked = new Parked(this, state, resume, retry, forReadiness)
    state.parked = parked
    if (this.first === undefined) this.first = parked
    else (this.rest ??= []).push(parked)
    pollable.poller.park(pollable)
  }

  /** Takes the lock for the running fiber's call, which ends with `unlock`. */
  lock(state: FiberState): void {
    if (state.lock !== undefined && state.lock !== this && state.lock.owner === state) state.lock.unlock()
    this.owner = state
    state.lock = this
  }

  /** Ends a locked call: fibers waiting for their turn retry. */
  unlock(): void {
    const owner = this.owner
    this.owner = undefined
    if (owner !== undefined && owner.lock === this) owner.lock = undefined
    this.wake(undefined)
  }

  /** Forgets a stale park; a no-op for one already woken. */
  remove(parked: Parked): void {
    if (this.first === parked) {
      this.first = this.rest?.shift()
    } else {
      const index = this.rest?.indexOf(parked) ?? -1
      if (index < 0) return
      this.rest!.splice(index, 1)
    }
    const pollable = this.pollable
    pollable.poller.unpark()
    pollable.poller.rearm(pollable)
  }

  /** Wakes every parked fiber: to retry, or with `failure`. */
  wake(failure: Effect.Effect<never, NetError.SocketClosed> | undefined): void {
    const first = this.first
    if (first === undefined) return
    const rest = this.rest
    this.first = undefined
    this.rest = undefined
    this.resume(first, failure)
    if (rest !== undefined) for (const parked of rest) this.resume(parked, failure)
  }

  private resume(parked: Parked, failure: Effect.Effect<never, NetError.SocketClosed> | undefined): void {
    if (parked.state.parked === parked) parked.state.parked = undefined
    this.pollable.poller.unpark()
    parked.resume(failure ?? parked.retry)
  }

  /** Readiness from the poller (or from a shutdown of this direction). */
  signal(): void {
    this.ready = true
    this.wake(undefined)
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
    return (this.input.awaitsReadiness ? READABLE : 0) | (this.output.awaitsReadiness ? WRITABLE : 0)
  }

  /** Delivers readiness to each direction named in `events`. */
  ready(events: number): void {
    if ((events & HANGUP) !== 0) {
      this.input.hungUp = true
      this.output.hungUp = true
    }
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
      if (direction.isParked) direction.wake(Effect.fail(errno.closed(direction.syscall)))
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
  private readonly batch = new Int32Array(BATCH_PAIRS * 2 + CONTROL_WORDS)
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
    } else {
      this.batch[PARKED] = this.parked + 1
      if (this.parked === 0 && this.batch[IN_CALLBACK] === 0) addon.pollerRef(this.handle, true)
    }
    this.parked++
  }

  unpark(): void {
    if (--this.parked === 0 && this.backend === "epoll" && this.batch[IN_CALLBACK] === 0) {
      addon.pollerRef(this.handle, false)
    }
    this.batch[PARKED] = this.parked
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

/**
 * A poller for the layer's lifetime, with `scheduler` installed for the fibers
 * of the program it is provided to; its release closes every fd it still owns,
 * in the same fiber, before the scheduler is restored.
 */
export const acquireWith = (
  edgeTriggered: boolean,
  scheduler: Scheduler.Scheduler
): Effect.Effect<Poller, never, Scope.Scope> =>
  Effect.zipRight(
    Effect.locallyScoped(FiberRef.currentScheduler, scheduler),
    Effect.acquireRelease(
      Effect.sync(() => new Poller(edgeTriggered)),
      (poller) => Effect.sync(() => poller.shutdown())
    )
  )

/** Every Netpoll service is a Poller: the layers above are its only constructors. */
export const fromService = (service: Netpoll.Netpoll.Service): Poller => service as Poller
