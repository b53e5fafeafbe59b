/**
 * The poller and its fd registry, the readiness latches and the wait lists: Go's
 * `internal/poll` for both Effect lines. A fiber is known here only as an
 * `Owner` and a wake-up callback; each line turns a park into its own
 * suspension (`Effect.async` / `Effect.callback`) and the wake-up into a resume.
 */
import * as errno from "./errno.js"
import { addon, CONTROL_WORDS, HANGUP, type PollerHandle, READABLE, WRITABLE } from "./native.js"

/** Bytes read from a connection and not yet returned, shared by a handle and its clones. */
export class Backlog {
  bytes: Uint8Array | undefined = undefined
}

/** The spill's size: the reads that use it ask for less (stream.ts `read`). */
const SPILL_BYTES = 4096

/** Pairs of (token, events) handed over per wake-up. */
const BATCH_PAIRS = 1024
/** The batch's control words (see native.ts `CONTROL_WORDS`), after its pairs. */
const IN_CALLBACK = BATCH_PAIRS * 2
const PARKED_COUNT = BATCH_PAIRS * 2 + 1

/**
 * `park`'s results: the caller retries at once, or waits for its wake-up; any
 * other result is an error code (CLOSED, or the errno of a failed poller).
 */
export const NOW = 0
export const PARKED = 1

/** The syscall named in the errors of a failed poller: its wait for readiness. */
export const FAILED_SYSCALL = "epoll_wait"

/** The syscall to name for a park's error code: the poller's failure, or a first watch that failed. */
export const parkSyscall = (poller: Poller, code: number): string =>
  code === poller.failure ? FAILED_SYSCALL : "epoll_ctl"

/** How often an epoll poller with parked fibers checks that its epoll fd is still its own. */
const CHECK_MILLIS = 1000

/** Counts a line keeps of the sockets it owns (its metrics). */
export interface Hooks {
  readonly opened: () => void
  readonly closed: () => void
  /** Bytes moved by one read or write. */
  readonly transferred: (direction: "read" | "write", n: number) => void
}

/**
 * A fiber parked on a direction: `resume` is its line's resume, `retry` the
 * effect it runs when woken to try again (any other code resumes it with the
 * poller's `failedWait` for that code). The retry always runs in the fiber,
 * never here, so a fiber interrupted before it resumes has done nothing.
 */
class Parked {
  constructor(
    readonly direction: Direction,
    readonly owner: Owner,
    readonly resume: (next: unknown) => void,
    readonly retry: unknown,
    /** Waits for readiness, not for the direction's lock. */
    readonly forReadiness: boolean
  ) {}
}

/**
 * What the poller knows of a fiber that has parked or locked a direction. Waits
 * carry no canceller (an interruptible canceller costs a dozen runtime ops per
 * wait); instead a fiber's park or lock is known to be stale once the fiber
 * parks again (a fiber waits for one thing at a time) or ends, which an
 * observer, added once per fiber, reports. An interrupted wait is resumed by
 * nobody: its fiber has moved on, and a late resume is a no-op.
 */
export class Owner {
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

const owners = new WeakMap<object, Owner>()

/**
 * The Owner of a fiber, made on its first use; `observe` makes the fiber call
 * `owner.settle()` when it ends (and may add what else its end must do, as
 * `serve` does, so that a fiber needs one observer).
 */
export const ownerOf = <F extends object>(fiber: F, observe: (fiber: F, owner: Owner) => void): Owner => {
  let owner = owners.get(fiber)
  if (owner === undefined) {
    owner = new Owner()
    owners.set(fiber, owner)
    observe(fiber, owner)
  }
  return owner
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
  owner: Owner | undefined = undefined
  /**
   * Bytes read from the socket and not yet returned (what an interrupted
   * `readExact` or `readToEnd` had read): the next read takes them before the
   * socket's. Shared by a handle and its clones, which read one byte stream.
   */
  private backlog: Backlog | undefined = undefined

  get kept(): Uint8Array | undefined {
    return this.backlog?.bytes
  }

  /** The backlog, made on first use (an idle connection carries none), to share with a clone. */
  shareBacklog(): Backlog {
    return this.backlog ??= new Backlog()
  }

  /** Reads one byte stream with another handle's direction (a dup): their backlogs are one. */
  useBacklog(backlog: Backlog): void {
    this.backlog = backlog
  }
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
  transfer<B>(
    syscall: (direction: Direction, buf: B, offset: number, length: number) => number,
    buf: B,
    offset: number,
    length: number
  ): number {
    this.ready = false
    return syscall(this, buf, offset, length)
  }

  /** Records what a syscall's result says of the socket's buffer; returns the result. */
  settle(n: number, length: number): number {
    this.drained = n === -errno.EAGAIN || (n > 0 && n < length)
    return n
  }

  /** Hands kept bytes to `into`, which copies what fits and says how many; those are taken. */
  takeKept(into: (kept: Uint8Array) => number): number {
    const backlog = this.backlog!
    const kept = backlog.bytes!
    const n = into(kept)
    backlog.bytes = n === kept.length ? undefined : kept.subarray(n)
    return n
  }

  /** Keeps bytes that a call read but could not return; they come before any kept already. */
  keep(bytes: Uint8Array): void {
    const backlog = this.shareBacklog()
    const later = backlog.bytes
    if (later === undefined) return void (backlog.bytes = bytes)
    const all = new Uint8Array(bytes.length + later.length)
    all.set(bytes)
    all.set(later, bytes.length)
    backlog.bytes = all
  }


  /**
   * Parks the running fiber (`currentOwner`) until the next readiness edge, or
   * until the lock is free when `forReadiness` is false. Returns NOW when it
   * need not wait (a latched edge, a free lock: the latch is left set, the retry
   * clears it right before its syscall), CLOSED for a closed handle, the errno
   * of a failed poller, else PARKED, and `resume` is called later.
   */
  park(currentOwner: () => Owner, resume: (next: unknown) => void, retry: unknown, forReadiness: boolean): number {
    const pollable = this.pollable
    if (pollable.closed) return errno.CLOSED
    if (pollable.poller.failure !== 0) return pollable.poller.failure
    if (forReadiness ? this.ready : this.owner === undefined) return NOW
    if (forReadiness && !pollable.watched) {
      const rc = pollable.poller.watch(pollable)
      if (rc < 0) return rc
    }
    const owner = currentOwner()
    owner.settleParked()
    const parked = new Parked(this, owner, resume, retry, forReadiness)
    owner.parked = parked
    if (this.first === undefined) this.first = parked
    else (this.rest ??= []).push(parked)
    pollable.poller.park(pollable)
    return PARKED
  }

  /**
   * Whether another call holds the lock. A lock held by the running fiber
   * itself belongs to an earlier call of its that was interrupted (a fiber
   * makes one call at a time), so it is released here.
   */
  lockedByOther(currentOwner: () => Owner): boolean {
    const owner = this.owner
    if (owner === undefined) return false
    if (owner !== currentOwner()) return true
    this.unlock()
    return false
  }

  /** Takes the lock for the running fiber's call, which ends with `unlock`. */
  lock(owner: Owner): void {
    if (owner.lock !== undefined && owner.lock !== this && owner.lock.owner === owner) owner.lock.unlock()
    this.owner = owner
    owner.lock = this
  }

  /** Ends a locked call: fibers waiting for their turn retry. */
  unlock(): void {
    const owner = this.owner
    this.owner = undefined
    if (owner !== undefined && owner.lock === this) owner.lock = undefined
    this.wake(0)
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

  /** Wakes every parked fiber: to retry (0), or with an error code. */
  wake(code: number): void {
    const first = this.first
    if (first === undefined) return
    const rest = this.rest
    this.first = undefined
    this.rest = undefined
    this.resume(first, code)
    if (rest !== undefined) for (const parked of rest) this.resume(parked, code)
  }

  private resume(parked: Parked, code: number): void {
    if (parked.owner.parked === parked) parked.owner.parked = undefined
    const poller = this.pollable.poller
    poller.unpark()
    parked.resume(code === 0 ? parked.retry : poller.failedWait(this, code))
  }

  /** Readiness from the poller (or from a shutdown of this direction). */
  signal(): void {
    this.ready = true
    this.wake(0)
  }
}

/** One fd registered with a poller, with its two directions. */
export class Pollable {
  closed = false
  /**
   * Another descriptor shares this one's file (it was dup'ed, or is a dup):
   * its epoll registration outlives its close, so the close must remove it.
   */
  shared = false
  /** The epoll backend watches the fd: a fiber has waited for its readiness. */
  watched = false
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
   * Deregisters and closes the fd exactly once, then wakes every parked fiber
   * with SocketClosed. Every syscall path checks `closed` first, so the fd number
   * is never touched again, whoever the kernel hands it to next.
   */
  close(): void {
    if (this.closed) return
    this.closed = true
    this.poller.hooks.closed()
    this.poller.release(this)
    this.input.wake(errno.CLOSED)
    this.output.wake(errno.CLOSED)
  }
}

/** A native poller and the fds registered with it: what a Netpoll service is. */
export class Poller {
  readonly backend: "epoll" | "uv_poll"
  private readonly batch = new Int32Array(BATCH_PAIRS * 2 + CONTROL_WORDS)
  /** Where a small read's surplus lands before it is kept (stream.ts `read`): one per poller, copied out at once. */
  readonly spill = new Uint8Array(SPILL_BYTES)
  private readonly byToken = new Map<number, Pollable>()
  private handle!: PollerHandle
  private nextToken = 1
  private parked = 0
  /** Shutting down: no fd is taken any more (a fiber woken by the shutdown may try to open one). */
  private closing = false
  /**
   * The errno with which the epoll fd failed (closed or replaced behind our
   * back), 0 while it works. A failed poller parks no fiber and takes no fd;
   * the fds it has stay open until their owners close them.
   */
  failure = 0
  /** What a fiber woken with an error code resumes with: its line's failure for the code. */
  failedWait: (direction: Direction, code: number) => unknown = (_, code) => code
  /** Told once, when the poller fails: the line logs it. */
  onFailure: (code: number) => void = () => {}
  private checker: ReturnType<typeof setInterval> | undefined = undefined

  /** Opens a poller on this thread's event loop, or returns the negative errno. */
  static open(edgeTriggered: boolean, hooks: Hooks): Poller | number {
    const poller = new Poller(edgeTriggered, hooks)
    const handle = addon.pollerOpen(poller.onEvents, poller.batch, edgeTriggered)
    if (typeof handle === "number") return handle
    poller.handle = handle
    return poller
  }

  private constructor(edgeTriggered: boolean, readonly hooks: Hooks) {
    this.backend = edgeTriggered ? "epoll" : "uv_poll"
  }

  /** How many fds this poller owns right now. */
  get size(): number {
    return this.byToken.size
  }

  /** How many fibers are parked on its fds right now. */
  get waiting(): number {
    return this.parked
  }

  private readonly onEvents = (count: number): void => {
    if (count < 0) return this.fail(count)
    const batch = this.batch
    for (let i = 0; i < count; i++) {
      const pollable = this.byToken.get(batch[2 * i]!)
      if (pollable === undefined) continue
      pollable.ready(batch[2 * i + 1]!)
    }
  }

  /**
   * Takes ownership of fd: from here on the Pollable closes it. On failure the fd
   * is closed at once and the negative errno (or CLOSED) returned.
   */
  register(fd: number, syscall: string): Pollable | number {
    if (this.closing || this.failure !== 0) {
      addon.close(fd)
      return this.closing ? errno.CLOSED : this.failure
    }
    let token = this.nextToken
    while (this.byToken.has(token)) token = token === 0x7fffffff ? 1 : token + 1
    this.nextToken = token === 0x7fffffff ? 1 : token + 1
    const rc = addon.pollerAdd(this.handle, fd, token)
    if (rc < 0) {
      addon.close(fd)
      // The epoll fd itself may be what failed; then it is the poller's error.
      const check = addon.pollerCheck(this.handle)
      if (check < 0) this.fail(check)
      return check < 0 ? check : rc
    }
    const pollable = new Pollable(this, fd, token, syscall)
    this.byToken.set(token, pollable)
    this.hooks.opened()
    return pollable
  }

  /**
   * The epoll backend adds an fd to its set on the first wait for its
   * readiness, not when it is registered: a socket whose calls never wait (a
   * short-lived accepted connection) costs no epoll_ctl. Returns 0, or the
   * negative errno (the poller's own failure, if that is what it was).
   */
  watch(pollable: Pollable): number {
    if (this.backend !== "epoll") return 0
    const rc = addon.pollerWatch(this.handle, pollable.fd, pollable.token)
    if (rc === 0) {
      pollable.watched = true
      return 0
    }
    const check = addon.pollerCheck(this.handle)
    if (check < 0) this.fail(check)
    return check < 0 ? check : rc
  }

  /** Deregisters and closes a Pollable's fd (once: `Pollable.close` guards it). */
  release(pollable: Pollable): void {
    this.byToken.delete(pollable.token)
    addon.pollerDel(this.handle, pollable.fd, pollable.shared ? 1 : 0)
  }

  park(pollable: Pollable): void {
    if (this.backend === "uv_poll") {
      addon.pollerArm(this.handle, pollable.fd, pollable.interest)
    } else {
      this.batch[PARKED_COUNT] = this.parked + 1
      if (this.parked === 0 && this.batch[IN_CALLBACK] === 0) addon.pollerRef(this.handle, true)
      if (this.checker === undefined) this.startChecker()
    }
    this.parked++
  }

  /**
   * A closed epoll fd raises no event: without a check, fibers parked on a
   * poller whose fd was closed behind its back would wait forever. The check
   * runs while fibers are parked and stops itself once none is.
   */
  private startChecker(): void {
    this.checker = setInterval(() => {
      if (this.parked === 0 || this.closing) return this.stopChecker()
      const rc = addon.pollerCheck(this.handle)
      if (rc < 0) this.fail(rc)
    }, CHECK_MILLIS)
    this.checker.unref()
  }

  private stopChecker(): void {
    clearInterval(this.checker)
    this.checker = undefined
  }

  /**
   * The epoll fd is no longer ours: every parked fiber fails with the errno,
   * and so does every later park and registration. The native side has stopped
   * watching and will never close that number.
   */
  private fail(code: number): void {
    if (this.failure !== 0 || this.closing) return
    this.failure = code
    this.stopChecker()
    for (const pollable of [...this.byToken.values()]) {
      pollable.input.wake(code)
      pollable.output.wake(code)
    }
    this.onFailure(code)
  }

  unpark(): void {
    if (--this.parked === 0 && this.backend === "epoll" && this.batch[IN_CALLBACK] === 0) {
      addon.pollerRef(this.handle, false)
    }
    this.batch[PARKED_COUNT] = this.parked
  }

  /**
   * The portable backend is one-shot and armed only while a fiber waits: after an
   * event or a cancelled wait, arm it again for what is still awaited (or stop it).
   */
  rearm(pollable: Pollable): void {
    if (this.backend === "uv_poll" && !pollable.closed) addon.pollerArm(this.handle, pollable.fd, pollable.interest)
  }

  /**
   * Closes every fd still registered (waking its fibers), then the poller
   * itself. A woken fiber may run at once (Effect 4 resumes inside the wake-up)
   * and open a socket: `closing` refuses it before the loop starts.
   */
  shutdown(): void {
    if (this.closing) return
    this.closing = true
    this.stopChecker()
    for (const pollable of [...this.byToken.values()]) pollable.close()
    addon.pollerClose(this.handle)
  }
}
