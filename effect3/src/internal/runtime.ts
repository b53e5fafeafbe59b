/**
 * What differs between Effect 3 and Effect 4 at run time, behind one set of
 * names: the bindings shared by both lines (tcpStream, tcpListener, netpoll)
 * are compiled against each line's `effect` and call these. This is the
 * Effect 3 side; src/internal/runtime.ts is the other.
 */
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import * as RuntimeFlags from "effect/RuntimeFlags"
import * as DefaultServices from "effect/DefaultServices"
import * as FiberRef from "effect/FiberRef"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Tracer from "effect/Tracer"

/** A fiber, as observers and `interruptAll` see it. */
export type AnyFiber = Fiber.RuntimeFiber<unknown, unknown>

/** A Scope that its owner closes. */
export type CloseableScope = Scope.CloseableScope

/** Suspends the fiber until `resume` is called; an effect returned by `register` cancels. */
export const async: <A, E = never>(
  register: (resume: (effect: Effect.Effect<A, E>) => void) => void | Effect.Effect<void>
) => Effect.Effect<A, E> = Effect.async

/** The fiber running the current effect (called only from inside one). */
export const currentFiber = (): AnyFiber => Option.getOrThrow(Fiber.getCurrentFiber()) as AnyFiber

/** Runs `f` with the fiber's exit once it ends. */
export const observe = (fiber: AnyFiber, f: (exit: Exit.Exit<unknown, unknown>) => void): void => {
  fiber.addObserver(f)
}

/** Whether an exit is an interruption and nothing else. */
export const isInterruptedOnly = (exit: Exit.Exit<unknown, unknown>): boolean => Exit.isInterrupted(exit)

/** Starts a fiber with what `withCaptured` captured. */
export const fork = <A, E>(captured: Captured<never>, effect: Effect.Effect<A, E>): Fiber.RuntimeFiber<A, E> =>
  Runtime.runFork(captured, effect)

/** Recovers from every failure. */
export const catchAll: <A, E, R, A2, E2, R2>(
  self: Effect.Effect<A, E, R>,
  f: (e: E) => Effect.Effect<A2, E2, R2>
) => Effect.Effect<A | A2, E2, R | R2> = Effect.catchAll

/** The services, fiber refs and flags that forked fibers inherit. */
export type Captured<R> = Runtime.Runtime<R>

/** Runs `f` with what the current fiber's children would inherit, and the fiber itself. */
export const withCaptured = <A, E, R>(
  f: (captured: Captured<R>, fiber: AnyFiber) => Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  Effect.withFiberRuntime((fiber, status) =>
    f(
      Runtime.make({
        context: fiber.currentContext as Context.Context<R>,
        fiberRefs: fiber.getFiberRefs(),
        runtimeFlags: status.runtimeFlags
      }),
      fiber
    )
  )

/**
 * Starts a handler fiber with the captured services and `scope` as its Scope,
 * uninterruptible at first: `effect` makes its own body interruptible, so the
 * frame that closes the connection runs on every exit.
 */
export const forkHandler = <R>(
  captured: Captured<R>,
  scope: Scope.CloseableScope,
  effect: Effect.Effect<void, never, R | Scope.Scope>
): AnyFiber =>
  Runtime.runFork(
    Runtime.make({
      context: Context.add(captured.context, Scope.Scope, scope),
      fiberRefs: captured.fiberRefs,
      runtimeFlags: RuntimeFlags.disable(captured.runtimeFlags, RuntimeFlags.Interruption)
    }),
    effect
  )

/**
 * What a connection's end leaves to log: the handler's failure and its
 * finalizers', or undefined when there is none besides interruption.
 */
export const failureToLog = (
  exit: Exit.Exit<unknown, unknown>,
  closed: Exit.Exit<unknown, unknown>
): Cause.Cause<unknown> | undefined => {
  const cause = Cause.sequential(
    Exit.isFailure(exit) ? exit.cause : Cause.empty,
    Exit.isFailure(closed) ? closed.cause : Cause.empty
  )
  return Cause.isEmpty(cause) || Cause.isInterruptedOnly(cause) ? undefined : cause
}

const nativeTracer = Context.get(DefaultServices.liveServices, Tracer.Tracer)

/** Whether a span made by `fiber` now would reach a tracer that records it. */
export const isTraced = (fiber: AnyFiber): boolean =>
  fiber.currentTracer !== nativeTracer && fiber.getFiberRef(FiberRef.currentTracerEnabled)

/** A span's options, without a stack trace (it would point into this library). */
export const spanOptions = (kind: Tracer.SpanKind, attributes: Record<string, unknown>): Tracer.SpanOptions => ({
  kind,
  attributes,
  captureStackTrace: false
})

/** Whether a value is a duration this line's `effect` takes (`DurationInput`); never throws. */
export const isDuration = (u: unknown): boolean => Option.isSome(Duration.decodeUnknown(u))

/** A Stream of what `pull` gives, one element per pull, until it gives None. */
export const repeatSome = <A, E>(pull: Effect.Effect<Option.Option<A>, E>): Stream.Stream<A, E> =>
  Stream.repeatEffectOption(
    Effect.flatMap(Effect.mapError(pull, Option.some), (next) =>
      Option.isSome(next) ? Effect.succeed(next.value) : Effect.fail(Option.none()))
  )

/** Ops a syscall's result needs to reach the caller's continuation, with room to spare. */
const SYSCALL_MARGIN = 64

/**
 * Whether the running fiber would yield to the scheduler within the next few
 * ops. Effect 3 yields every `maxOpsBeforeYield` ops and handles pending
 * interrupts when it resumes: a yield that fell between a syscall and the
 * caller's use of its result would end the call interrupted with its bytes
 * moved. The bindings yield (`yieldNow`) before such a syscall instead, which
 * starts the count again, so the result reaches the caller.
 */
export const yieldsSoon = (): boolean => {
  const fiber = currentFiber()
  return fiber.currentOpCount + SYSCALL_MARGIN > fiber.getFiberRef(FiberRef.currentMaxOpsBeforeYield)
}

export const yieldNow: Effect.Effect<void> = Effect.yieldNow()
