/**
 * Listeners and `serve`: the core's codes as effects. Shared by both Effect
 * lines: the Effect 3 line compiles this same file against its own `effect`.
 */
import type * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Scope from "effect/Scope"
import type * as Tracer from "effect/Tracer"
import type * as NetError from "../NetError.js"
import { Netpoll } from "../Netpoll.js"
import type * as TcpListener from "../TcpListener.js"
import type * as TcpStream from "../TcpStream.js"
import * as address from "./address.js"
import { listener as listenerCore, poller as pollerCore, stream as streamCore, validate } from "./core.js"
import * as errors from "./errors.js"
import * as metrics from "./metrics.js"
import * as netpoll from "./netpoll.js"
import * as runtime from "./runtime.js"
import * as spans from "./spans.js"
import * as tcpStream from "./tcpStream.js"

export const TypeId: TcpListener.TypeId = Symbol.for("effect-netpoll/TcpListener") as TcpListener.TypeId

/**
 * One accept4 and the registration of its fd, both synchronous, so that no
 * interruption can fall between them: the connection's Pollable, WAIT_READY
 * when none is pending, or the error. A sampled span gets the peer's address.
 */
const acceptNow = (
  self: ListenerImpl<unknown, unknown>,
  span: Tracer.Span | undefined
): netpoll.Pollable | NetError.NetError | number => {
  const accepted = listenerCore.accept(self.pollable, self.noDelay)
  if (accepted === streamCore.WAIT_READY) return accepted
  if (typeof accepted === "number") return errors.fromCode(accepted, "accept", self.address)
  metrics.accepted()
  if (span !== undefined && span.sampled) self.recordPeer(span, accepted)
  return accepted
}

const acceptFrom = <S>(
  self: ListenerImpl<S, unknown>,
  scope: Scope.Scope,
  restore: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>,
  span: Tracer.Span | undefined
): Effect.Effect<S, NetError.NetError> =>
  Effect.suspend((): Effect.Effect<S, NetError.NetError> => {
    if (runtime.yieldsSoon()) return Effect.andThen(runtime.yieldNow, acceptFrom(self, scope, restore, span))
    const accepted = acceptNow(self, span)
    if (accepted === streamCore.WAIT_READY) {
      return Effect.flatMap(
        restore(netpoll.waitReady(self.pollable.input, Effect.void)),
        () => acceptFrom(self, scope, restore, span)
      )
    }
    if (typeof accepted === "number" || !("fd" in accepted)) return Effect.fail(accepted as NetError.NetError)
    return Effect.as(Scope.addFinalizer(scope, netpoll.close(accepted)), self.wrap(accepted))
  })

/**
 * A listening socket, TCP or Unix: accept and `serve`, which depend on the
 * family only for the stream they make and what a span records. `S` is the
 * stream type accept gives.
 */
export abstract class ListenerImpl<S, A = unknown> {
  constructor(
    readonly pollable: netpoll.Pollable,
    /** The bound address as text, for errors and spans. */
    readonly address: string,
    /** TCP_NODELAY on each accepted stream (false for Unix sockets, which have no such option). */
    readonly noDelay: boolean,
    /** The public type's name, for `toString`. */
    private readonly name: string,
    /** The family's getsockname, as the line's address. */
    private readonly addressOf: (
      pollable: netpoll.Pollable,
      syscall: "getsockname"
    ) => Effect.Effect<A, NetError.NetError>
  ) {}

  /** The stream over an accepted connection. */
  abstract wrap(pollable: netpoll.Pollable): S

  /** Records an accepted connection's peer on a sampled span. */
  abstract recordPeer(span: Tracer.Span, accepted: netpoll.Pollable): void

  /** The accept span's attributes; undefined: those of the TCP address `address`. */
  protected get spanAttributes(): Record<string, unknown> | undefined {
    return undefined
  }

  /** The span of one accept. */
  acceptSpan<A, E, R>(accept: (span: Tracer.Span) => Effect.Effect<A, E, R>): Effect.Effect<A, E, R> {
    return spans.acceptSpan(this.address, accept, this.spanAttributes)
  }

  get fd(): number {
    return this.pollable.fd
  }

  // From accept4 to the finalizer in the caller's Scope nothing may interrupt:
  // only the wait for a pending connection is interruptible. One accept4 is
  // atomic, so concurrent accepts need no lock.
  get accept(): Effect.Effect<S, NetError.NetError, Scope.Scope> {
    const accept = (span: Tracer.Span | undefined) =>
      Effect.flatMap(Effect.scope, (scope) => Effect.uninterruptibleMask((restore) => acceptFrom(this, scope, restore, span)))
    return runtime.withCaptured((_, fiber) => runtime.isTraced(fiber) ? this.acceptSpan(accept) : accept(undefined))
  }

  get close(): Effect.Effect<void> {
    return netpoll.close(this.pollable)
  }

  get localAddr(): Effect.Effect<A, NetError.NetError> {
    return this.addressOf(this.pollable, "getsockname")
  }

  toString(): string {
    return `${this.name}(fd ${this.pollable.fd} on ${this.address})`
  }
}

class TcpListenerImpl extends ListenerImpl<TcpStream.TcpStream, address.Address> implements TcpListener.TcpListener {
  readonly [TypeId]: TcpListener.TypeId = TypeId

  constructor(pollable: netpoll.Pollable, name: string, noDelay: boolean) {
    super(pollable, name, noDelay, "TcpListener", tcpStream.sockAddr)
  }

  wrap(pollable: netpoll.Pollable): TcpStream.TcpStream {
    return tcpStream.fromPollable(pollable, undefined)
  }

  recordPeer(span: Tracer.Span, accepted: netpoll.Pollable): void {
    const peer = streamCore.address(accepted, "getpeername")
    if (typeof peer !== "number") spans.peerAttributes(span, address.fromNative(peer))
  }
}

export const bind = (
  input: address.Input,
  options?: TcpListener.BindOptions
): Effect.Effect<TcpListener.TcpListener, NetError.NetError, Netpoll | Scope.Scope> =>
  Effect.suspend(() => tcpStream.badInput(validate.bindOptions(options)) ?? bindChecked(input, options))

const bindChecked = (
  input: address.Input,
  options: TcpListener.BindOptions | undefined
): Effect.Effect<TcpListener.TcpListener, NetError.NetError, Netpoll | Scope.Scope> =>
  Effect.flatMap(address.resolve(input), (addrs) =>
    listenWith((poller) => {
      const settings = {
        backlog: options?.backlog ?? listenerCore.DEFAULT_BACKLOG,
        reusePort: options?.reusePort === true,
        ipv6Only: options?.ipv6Only
      }
      let error: NetError.NetError = errors.closed("bind")
      for (const addr of addrs) {
        const result = listenerCore.listen(poller, address.family(addr), address.host(addr), addr.port, settings)
        if ("fd" in result) {
          const local = streamCore.address(result, "getsockname")
          const name = typeof local === "number" ? String(addr) : String(address.fromNative(local))
          return Effect.succeed(new TcpListenerImpl(result, name, options?.noDelay ?? true))
        }
        error = errors.fromCode(result.code, result.syscall, String(addr))
      }
      return Effect.fail(error)
    }))

/** A listener that `open` makes on the Netpoll's poller, closed with the Scope (TCP's `bind`, Unix's). */
export const listenWith = <L extends ListenerImpl<unknown, unknown>>(
  open: (poller: netpoll.Poller) => Effect.Effect<L, NetError.NetError>
): Effect.Effect<L, NetError.NetError, Netpoll | Scope.Scope> =>
  Effect.flatMap(Netpoll, (service) =>
    Effect.acquireRelease(Effect.suspend(() => open(netpoll.fromService(service))), (listener) => listener.close))

/**
 * The state of one `serve`: its handler fibers, its free connection slots and
 * its accept backoff. One fiber runs the accept loop; each connection costs a
 * fiber forked with the connection's Scope already in its context (providing
 * it inside the fiber would copy the fiber's refs and push several frames), a
 * Scope, one frame around the handler and one observer.
 */
/**
 * Closes a connection's Scope with its handler's exit and logs a failure: the
 * handler's own, or its finalizers' (which are its code too). Interruption is
 * not logged.
 */
const closeConnection = (exit: Exit.Exit<unknown, unknown>): Effect.Effect<void, never, Scope.Scope> =>
  Effect.flatMap(Effect.scope, (scope) =>
    Effect.flatMap(Effect.exit(Scope.close(scope as runtime.CloseableScope, exit)), (closed) => {
      const cause = runtime.failureToLog(exit, closed)
      return cause === undefined ? Effect.void : Effect.logError("connection handler failed", cause)
    }))

/**
 * The one frame around every handler: it closes the connection's Scope (its
 * fiber's, from `forkHandler`) with the handler's exit. Shared, so that an idle
 * connection holds no closures of its own for it; `onSuccess` takes its
 * argument, or `matchCauseEffect` would wrap it in one.
 */
const connectionFrame = {
  onFailure: (cause: Cause.Cause<unknown>) => closeConnection(Exit.failCause(cause)),
  onSuccess: (_: unknown) => closeConnection(Exit.void)
}

class Server<S, E, R> {
  readonly handlers = new Set<runtime.AnyFiber>()
  /** Connections being handled; with `max`, the loop accepts only below it. */
  active = 0
  /** The accept loop waiting for a free slot. */
  private slotFreed: (() => void) | undefined = undefined
  private delayMillis: number | undefined = undefined

  constructor(
    readonly listener: ListenerImpl<S, unknown>,
    readonly handler: (stream: S) => Effect.Effect<void, E, R>,
    readonly max: number | undefined,
    readonly captured: runtime.Captured<Exclude<R, Scope.Scope>>,
    readonly traced: boolean
  ) {}

  /** The accept loop: an iteration per connection, each with a fresh Scope. */
  readonly loop: Effect.Effect<never, NetError.NetError> = Effect.suspend(() => {
    if (this.max !== undefined && this.active >= this.max) {
      // No canceller: an interrupted loop is not resumed, and a late call is a no-op.
      return runtime.async<never, NetError.NetError>((resume) => {
        // A handler may have ended while the fiber yielded between the check and here.
        if (this.active < this.max!) return resume(this.loop)
        this.slotFreed = () => resume(this.loop)
      })
    }
    return Effect.flatMap(Scope.make(), (scope) =>
      this.traced
        ? Effect.matchEffect(this.listener.acceptSpan((span) => this.accept(scope, span, Effect.void)), {
          onFailure: this.retry,
          onSuccess: () => this.loop
        })
        : this.accept(scope, undefined, this.loop))
  })

  /**
   * Waits for a connection, forks its handler and goes on with `next`; only the
   * wait is interruptible, from accept4 to the fork all is synchronous. An error
   * ends a span's accept with it; without a span it is handled here.
   */
  private accept<A>(
    scope: runtime.CloseableScope,
    span: Tracer.Span | undefined,
    next: Effect.Effect<A, NetError.NetError>
  ): Effect.Effect<A, NetError.NetError> {
    const accepted = acceptNow(this.listener, span)
    if (accepted === streamCore.WAIT_READY) {
      return netpoll.waitReady(this.listener.pollable.input, Effect.suspend(() => this.accept(scope, span, next)))
    }
    if (typeof accepted === "number" || !("fd" in accepted)) {
      const error = accepted as NetError.NetError
      return span === undefined ? this.retry(error) : Effect.fail(error)
    }
    this.delayMillis = undefined
    this.fork(accepted, scope)
    return next
  }

  private fork(pollable: netpoll.Pollable, scope: runtime.CloseableScope): void {
    let handled: Effect.Effect<void, E, R>
    try {
      handled = this.handler(this.listener.wrap(pollable))
    } catch (defect) {
      handled = Effect.die(defect)
    }
    this.active++
    // The handler runs interruptibly in a fiber that starts uninterruptible: the
    // frame that closes its connection then runs on every exit, interruption
    // included. One frame while the handler runs (an idle connection keeps
    // it): the rest comes after. The fiber's first step, before the handler can
    // wait, makes its Owner with the fiber's one observer, which also closes the
    // stream (after the handler's own finalizers) and frees the slot.
    let over = false
    const fiber = runtime.forkHandler(
      this.captured,
      scope,
      Effect.suspend(() => {
        pollerCore.ownerOf(runtime.currentFiber(), (fiber, owner) =>
          runtime.observe(fiber, () => {
            over = true
            owner.settle()
            this.ended(fiber, pollable)
          }))
        return Effect.matchCauseEffect(Effect.interruptible(handled), connectionFrame)
      }) as Effect.Effect<void, never, Exclude<R, Scope.Scope> | Scope.Scope>
    )
    // Known to `shutdown` from the fork on: on Effect 3 the fiber's first step
    // runs later, and a `serve` interrupted before it must still interrupt it.
    // On Effect 4 a handler may already have ended inside the fork.
    if (!over) this.handlers.add(fiber)
  }

  private ended(fiber: runtime.AnyFiber, pollable: netpoll.Pollable): void {
    this.handlers.delete(fiber)
    pollable.close()
    this.active--
    const slotFreed = this.slotFreed
    this.slotFreed = undefined
    slotFreed?.()
  }

  /**
   * Transient accept errors are retried with Go's backoff (5 ms doubling to
   * 1 s, reset by a success); any other error ends the loop.
   */
  readonly retry = (error: NetError.NetError): Effect.Effect<never, NetError.NetError> => {
    if (!listenerCore.isTransient(error.errno)) return Effect.fail(error)
    const next = Duration.millis(this.delayMillis = listenerCore.nextBackoffMillis(this.delayMillis))
    return Effect.logWarning("accept failed; retrying", error).pipe(
      Effect.annotateLogs("retryIn", Duration.format(next)),
      Effect.andThen(Effect.sleep(next)),
      Effect.andThen(this.loop)
    )
  }

  /** Interrupts every handler and waits for them, their streams closed. */
  readonly shutdown: Effect.Effect<void> = Effect.suspend(() => Fiber.interruptAll(Array.from(this.handlers)))
}

/**
 * The defect for bad options of `layerSocketServer` (those of `bind`, and
 * `maxConnections`), the same on both lines, before any fd exists; or undefined.
 */
export const socketServerDefect = (
  options: unknown,
  bindOptions: (options: unknown, what: string) => string | undefined = validate.bindOptions
): Error | undefined => {
  const message = bindOptions(options, "layerSocketServer")
  if (message !== undefined) return new TypeError(message)
  const max = validate.maxConnections(options, "layerSocketServer")
  return max === undefined ? undefined : new RangeError(max)
}

export const serve = <E, R>(
  listener: TcpListener.TcpListener,
  handler: (stream: TcpStream.TcpStream) => Effect.Effect<void, E, R>,
  options?: { readonly maxConnections?: number | undefined }
): Effect.Effect<never, NetError.NetError, Exclude<R, Scope.Scope>> =>
  // Every TcpListener comes from `bind`: the loop needs its fd, so no other implementation will do.
  serveListener(TcpListenerImpl, "TcpListener", "TcpStream", listener, handler, options)

/**
 * `serve` for the listeners of one kind (`impl`, named `listenerKind` in
 * messages, whose streams are `streamKind`s): TcpListener's, UnixListener's.
 */
export const serveListener = <S, E, R>(
  impl: abstract new(...args: never) => ListenerImpl<S, unknown>,
  listenerKind: string,
  streamKind: string,
  listener: unknown,
  handler: (stream: S) => Effect.Effect<void, E, R>,
  options: { readonly maxConnections?: number | undefined } | undefined
): Effect.Effect<never, NetError.NetError, Exclude<R, Scope.Scope>> =>
  Effect.suspend(() => {
    const bad = (validate.isInstance(listener, impl)
      ? undefined
      : tcpStream.badInput(validate.notListener("serve", listener, listenerKind))) ??
      tcpStream.badInput(validate.handler(handler, streamKind)) ??
      tcpStream.badInput(validate.optionsObject(options, "serve")) ??
      tcpStream.badInput(validate.maxConnections(options, "serve"), RangeError)
    if (bad !== undefined) return bad
    const max = options?.maxConnections
    return runtime.withCaptured<never, NetError.NetError, Exclude<R, Scope.Scope>>((captured, fiber) => {
      const server = new Server(listener as ListenerImpl<S, unknown>, handler, max, captured, runtime.isTraced(fiber))
      return Effect.ensuring(server.loop, server.shutdown)
    })
  })

/** A bound listener, TCP or Unix, as a SocketServer needs it: its address (the line's) and its `serve`. */
export interface Bound<A> {
  readonly address: A
  readonly serve: <E, R>(
    handler: (stream: tcpStream.AnyStream) => Effect.Effect<void, E, R>,
    options: { readonly maxConnections?: number | undefined }
  ) => Effect.Effect<never, NetError.NetError, Exclude<R, Scope.Scope>>
}

/**
 * A SocketServer's address and `run` over what `bind` binds, the same on both
 * lines: each connection is `fromAccepted`'s Socket, a handler's failure goes
 * to `unhandled` (each line logs it as its NodeSocketServer does), and a
 * failure of `serve` is mapped by `runError`. `defect` is the check of
 * `options`, run before any fd exists (and before `options` is read).
 */
export const socketServerOf = <A, Sock, RunError>(
  defect: Error | undefined,
  bind: Effect.Effect<Bound<A>, NetError.NetError, Netpoll | Scope.Scope>,
  options: { readonly maxConnections?: number | undefined } | undefined,
  fromAccepted: (stream: tcpStream.AnyStream) => Effect.Effect<Sock>,
  unhandled: <R>(effect: Effect.Effect<unknown, unknown, R>) => Effect.Effect<void, never, R>,
  runError: (cause: NetError.NetError) => RunError
) =>
  Effect.suspend(() =>
    defect !== undefined ? Effect.die(defect) : Effect.map(bind, (bound) => {
      const serveOptions = { maxConnections: options?.maxConnections }
      return {
        address: bound.address,
        run: <R, E, _>(handler: (socket: Sock) => Effect.Effect<_, E, R>): Effect.Effect<never, RunError, R> =>
          Effect.mapError(
            bound.serve((stream) => unhandled(Effect.flatMap(fromAccepted(stream), handler)), serveOptions),
            runError
          )
      }
    })
  )
