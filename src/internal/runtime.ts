/**
 * What differs between Effect 3 and Effect 4 at run time, behind one set of
 * names: the bindings shared by both lines (tcpStream, tcpListener, netpoll)
 * are compiled against each line's `effect` and call these. This is the
 * Effect 4 side; effect3/src/internal/runtime.ts is the other.
 */
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as References from "effect/References"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Tracer from "effect/Tracer"

/** A fiber, as observers and `interruptAll` see it. */
export type AnyFiber = Fiber.Fiber<unknown, unknown>

/** A Scope that its owner closes. */
export type CloseableScope = Scope.Closeable

/** Suspends the fiber until `resume` is called; an effect returned by `register` cancels. */
export const async: <A, E = never>(
  register: (resume: (effect: Effect.Effect<A, E>) => void) => void | Effect.Effect<void>
) => Effect.Effect<A, E> = Effect.callback

/** The fiber running the current effect (called only from inside one). */
export const currentFiber = (): AnyFiber => Fiber.getCurrent()!

/** Runs `f` with the fiber's exit once it ends. */
export const observe = (fiber: AnyFiber, f: (exit: Exit.Exit<unknown, unknown>) => void): void => {
  fiber.addObserver(f)
}

/** Whether an exit is an interruption and nothing else. */
export const isInterruptedOnly = (exit: Exit.Exit<unknown, unknown>): boolean =>
  Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause)

/** Starts a fiber with what `withCaptured` captured. */
export const fork = <A, E>(captured: Captured<never>, effect: Effect.Effect<A, E>): Fiber.Fiber<A, E> =>
  Effect.runForkWith(captured)(effect)

/** Recovers from every failure (Effect 3's catchAll). */
export const catchAll: <A, E, R, A2, E2, R2>(
  self: Effect.Effect<A, E, R>,
  f: (e: E) => Effect.Effect<A2, E2, R2>
) => Effect.Effect<A | A2, E2, R | R2> = Effect.catch

/** The services (and, on Effect 3, the fiber refs and flags) that forked fibers inherit. */
export type Captured<R> = Context.Context<R>

/** Runs `f` with what the current fiber's children would inherit, and the fiber itself. */
export const withCaptured = <A, E, R>(
  f: (captured: Captured<R>, fiber: AnyFiber) => Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> => Effect.withFiber((fiber) => f(fiber.context as Context.Context<R>, fiber))

/**
 * Starts a handler fiber with the captured services and `scope` as its Scope,
 * uninterruptible at first: `effect` makes its own body interruptible, so the
 * frame that closes the connection runs on every exit.
 */
export const forkHandler = <R>(
  captured: Captured<R>,
  scope: Scope.Closeable,
  effect: Effect.Effect<void, never, R | Scope.Scope>
): Fiber.Fiber<void> => Effect.runForkWith(Context.add(captured, Scope.Scope, scope))(effect, { uninterruptible: true })

/**
 * What a connection's end leaves to log: the handler's failure and its
 * finalizers', or undefined when there is none besides interruption.
 */
export const failureToLog = (
  exit: Exit.Exit<unknown, unknown>,
  closed: Exit.Exit<unknown, unknown>
): Cause.Cause<unknown> | undefined => {
  const cause = Cause.combine(
    Exit.isFailure(exit) ? exit.cause : Cause.empty,
    Exit.isFailure(closed) ? closed.cause : Cause.empty
  )
  return cause.reasons.length === 0 || Cause.hasInterruptsOnly(cause) ? undefined : cause
}

/** Whether a span made by `fiber` now would reach a tracer that records it. */
export const isTraced = (fiber: AnyFiber): boolean =>
  fiber.getRef(References.TracerEnabled) && fiber.getRef(Tracer.Tracer) !== Tracer.nativeTracer

/** A span's options (Effect 4's spans capture no stack trace). */
export const spanOptions = (kind: Tracer.SpanKind, attributes: Record<string, unknown>): Tracer.SpanOptionsNoTrace => ({
  kind,
  attributes
})

/** Whether a value is a duration this line's `effect` takes (`Duration.Input`); never throws. */
export const isDuration = (u: unknown): boolean => Option.isSome(Duration.fromInput(u as Duration.Input))

/** A Stream of what `pull` gives, one element per pull, until it gives None. */
export const repeatSome = <A, E>(pull: Effect.Effect<Option.Option<A>, E>): Stream.Stream<A, E> =>
  Stream.fromEffectRepeat(Effect.flatMap(pull, (next) => Option.isSome(next) ? Effect.succeed(next.value) : Cause.done()))

/**
 * Whether the running fiber must yield (`yieldNow`) before a syscall, so that
 * the syscall's result reaches its caller (see the Effect 3 line). Effect 4
 * runs an automatic yield's saved instruction before it looks at interrupts,
 * so a result is never dropped there: never.
 */
export const yieldsSoon = (): boolean => false

export const yieldNow: Effect.Effect<void> = Effect.yieldNow
