import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberSet from "effect/FiberSet"
import * as Scope from "effect/Scope"
import type * as NetError from "../NetError.js"
import { Netpoll } from "../Netpoll.js"
import type * as SocketAddr from "../SocketAddr.js"
import type * as TcpListener from "../TcpListener.js"
import type * as TcpStream from "../TcpStream.js"
import * as errno from "./errno.js"
import * as metrics from "./metrics.js"
import { addon } from "./native.js"
import * as netpoll from "./netpoll.js"
import * as socketAddr from "./socketAddr.js"
import * as tcpStream from "./tcpStream.js"

export const TypeId: TcpListener.TypeId = Symbol.for("effect-netpoll/TcpListener") as TcpListener.TypeId

/** Node's own default backlog; the kernel caps it at net.core.somaxconn. */
const DEFAULT_BACKLOG = 511

const acceptFrom = (
  self: TcpListenerImpl,
  scope: Scope.Scope,
  restore: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
): Effect.Effect<TcpStream.TcpStream, NetError.NetError> =>
  Effect.suspend(() => {
    const pollable = self.pollable
    if (pollable.closed) return Effect.fail(errno.closed("accept", self.address))
    pollable.input.ready = false
    const fd = addon.accept(pollable.fd)
    if (fd === -errno.EAGAIN) {
      return Effect.flatMap(restore(pollable.input.waitReady(Effect.void)), () => acceptFrom(self, scope, restore))
    }
    if (fd < 0) return Effect.fail(errno.fromErrno(fd, "accept", self.address))
    const accepted = pollable.poller.register(fd, "accept")
    if (!(accepted instanceof netpoll.Pollable)) return Effect.fail(accepted)
    // Best effort, as in Go: a connection already reset fails its first read or write instead.
    if (self.noDelay) addon.setNoDelay(fd, true)
    metrics.accepted()
    return Effect.as(Scope.addFinalizer(scope, accepted.closeEffect), tcpStream.fromPollable(accepted, undefined))
  })

class TcpListenerImpl implements TcpListener.TcpListener {
  readonly [TypeId]: TcpListener.TypeId = TypeId

  constructor(
    readonly pollable: netpoll.Pollable,
    readonly address: string,
    readonly noDelay: boolean
  ) {}

  get fd(): number {
    return this.pollable.fd
  }

  // From accept4 to the finalizer in the caller's Scope nothing may interrupt:
  // only the wait for a pending connection is interruptible. One accept4 is
  // atomic, so concurrent accepts need no lock.
  get accept(): Effect.Effect<TcpStream.TcpStream, NetError.NetError, Scope.Scope> {
    return metrics.acceptSpan(
      this.address,
      Effect.flatMap(Effect.scope, (scope) =>
        Effect.uninterruptibleMask((restore) => acceptFrom(this, scope, restore)))
    )
  }

  get localAddr(): Effect.Effect<SocketAddr.SocketAddr, NetError.NetError> {
    return tcpStream.sockAddr(this.pollable, "getsockname")
  }

  get close(): Effect.Effect<void> {
    return this.pollable.closeEffect
  }

  toString(): string {
    return `TcpListener(fd ${this.pollable.fd} on ${this.address})`
  }
}

const bindOne = (
  poller: netpoll.Poller,
  addr: SocketAddr.SocketAddr,
  options: TcpListener.BindOptions | undefined
): netpoll.Pollable | NetError.NetError => {
  const address = String(addr)
  const family = socketAddr.familyNumber(addr)
  const fd = addon.socket(family)
  if (fd < 0) return errno.fromErrno(fd, "socket", address)
  const steps: ReadonlyArray<readonly [string, () => number]> = [
    ["setsockopt", () => addon.setReuseAddr(fd, true)],
    ["setsockopt", () => options?.reusePort === true ? addon.setReusePort(fd, true) : 0],
    ["setsockopt", () => family === 6 && options?.ipv6Only !== undefined ? addon.setV6Only(fd, options.ipv6Only) : 0],
    ["bind", () => addon.bind(fd, family, addr.address, addr.port)],
    ["listen", () => addon.listen(fd, options?.backlog ?? DEFAULT_BACKLOG)]
  ]
  for (const [syscall, step] of steps) {
    const rc = step()
    if (rc < 0) {
      addon.close(fd)
      return errno.fromErrno(rc, syscall, address)
    }
  }
  return poller.register(fd, "listen")
}

export const bind = (
  address: SocketAddr.Input,
  options?: TcpListener.BindOptions
): Effect.Effect<TcpListener.TcpListener, NetError.NetError, Netpoll | Scope.Scope> =>
  Effect.flatMap(socketAddr.resolve(address), (addrs) =>
    Effect.flatMap(Netpoll, (service) =>
      Effect.acquireRelease(
        Effect.suspend(() => {
          const poller = netpoll.fromService(service)
          let result: netpoll.Pollable | NetError.NetError = errno.closed("bind")
          for (const addr of addrs) {
            result = bindOne(poller, addr, options)
            if (result instanceof netpoll.Pollable) {
              const local = addon.localAddress(result.fd)
              const name = typeof local === "number" ? String(addr) : String(socketAddr.fromNative(local))
              return Effect.succeed(new TcpListenerImpl(result, name, options?.noDelay ?? true))
            }
          }
          return Effect.fail(result)
        }),
        (listener) => listener.close
      )))

const MIN_BACKOFF = Duration.millis(5)
const MAX_BACKOFF = Duration.seconds(1)

/**
 * Accepts, retrying transient errors with Go's backoff (5 ms doubling to 1 s,
 * reset by a success); any other error ends the loop.
 */
const acceptRetrying = (
  listener: TcpListener.TcpListener,
  delay: Duration.Duration | undefined
): Effect.Effect<TcpStream.TcpStream, NetError.NetError, Scope.Scope> =>
  Effect.catchAll(listener.accept, (error) => {
    if (error.errno === undefined || !errno.isTransientAccept(-errnoNumber(error.errno))) return Effect.fail(error)
    const next = delay === undefined ? MIN_BACKOFF : Duration.min(Duration.times(delay, 2), MAX_BACKOFF)
    return Effect.logWarning("accept failed; retrying", error).pipe(
      Effect.annotateLogs("retryIn", Duration.format(next)),
      Effect.zipRight(Effect.sleep(next)),
      Effect.zipRight(acceptRetrying(listener, next))
    )
  })

const errnoNumber = (name: string): number => errno.constants[name] ?? 0

export const serve = <E, R>(
  listener: TcpListener.TcpListener,
  handler: (stream: TcpStream.TcpStream) => Effect.Effect<void, E, R>,
  options?: { readonly maxConnections?: number | undefined }
): Effect.Effect<never, NetError.NetError, Exclude<R, Scope.Scope>> =>
  Effect.scoped(Effect.gen(function*() {
    const handlers = yield* FiberSet.make()
    const max = options?.maxConnections
    if (max !== undefined && !(Number.isSafeInteger(max) && max >= 1)) {
      return yield* Effect.dieMessage(`serve: maxConnections must be a positive integer, got ${max}`)
    }
    const slots = max === undefined ? undefined : yield* Effect.makeSemaphore(max)
    const runFork = yield* FiberSet.runtime(handlers)<Exclude<R, Scope.Scope>>()
    while (true) {
      yield* Effect.uninterruptibleMask((restore) =>
        Effect.gen(function*() {
          if (slots !== undefined) yield* restore(slots.take(1))
          const connection = yield* Scope.make()
          const release = Effect.zipRight(
            Scope.close(connection, Exit.void),
            slots === undefined ? Effect.void : slots.release(1)
          )
          const stream = yield* restore(Scope.extend(acceptRetrying(listener, undefined), connection)).pipe(
            Effect.onError(() => release)
          )
          runFork(
            handler(stream).pipe(
              Scope.extend(connection),
              Effect.catchAllCause((cause) =>
                Cause.isInterruptedOnly(cause) ? Effect.void : Effect.logError("connection handler failed", cause)
              ),
              Effect.ensuring(release)
            ) as Effect.Effect<void, never, Exclude<R, Scope.Scope>>
          )
        })
      )
    }
  }))
