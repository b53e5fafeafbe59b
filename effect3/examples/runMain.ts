/**
 * Runs an example's main effect as a program: SIGINT and SIGTERM interrupt it,
 * and a failure prints its cause and sets exit code 1. Servers end by being
 * interrupted, so for them (`interruptIsExit`) that is a clean exit.
 */
import { Cause, Effect, Exit, Fiber } from "effect"

export const runMain = <A, E>(main: Effect.Effect<A, E>, options: { readonly interruptIsExit: boolean }): void => {
  const fiber = Effect.runFork(main)
  const stop = () => {
    console.log("shutting down")
    Effect.runFork(Fiber.interrupt(fiber))
  }
  process.once("SIGINT", stop)
  process.once("SIGTERM", stop)
  fiber.addObserver((exit) => {
    process.off("SIGINT", stop)
    process.off("SIGTERM", stop)
    if (Exit.isSuccess(exit) || (options.interruptIsExit && Cause.isInterruptedOnly(exit.cause))) return
    console.error(Cause.isInterruptedOnly(exit.cause) ? "interrupted" : Cause.pretty(exit.cause))
    process.exitCode = 1
  })
}
