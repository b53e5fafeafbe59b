/**
 * Runs an example's main effect with `@effect/platform-node`'s NodeRuntime:
 * SIGINT and SIGTERM interrupt it, and it exits by itself once it is done.
 *
 * Exit codes: 0 on success; 1 on a failure, whose cause is printed on stderr.
 * Servers run until they are stopped, so for them (`interruptIsExit`) an
 * interruption is a clean exit (0) that prints `stopped` once every connection
 * and the listener are closed; for the others it is a failure (1), as a cut-off
 * run of a client is.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Console, Effect, Exit } from "effect"

export const runMain = <A, E>(main: Effect.Effect<A, E>, options: { readonly interruptIsExit: boolean }): void => {
  const interruptIsExit = (exit: Exit.Exit<unknown, unknown>) =>
    options.interruptIsExit && Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause)
  NodeRuntime.runMain(
    main.pipe(
      // Reported here rather than by NodeRuntime, whose logger writes to stdout:
      // stdout is an example's output (http-get prints the response there).
      Effect.onExit((exit) =>
        Exit.isSuccess(exit)
          ? Effect.void
          : interruptIsExit(exit)
          ? Console.log("stopped")
          : Console.error(Cause.hasInterruptsOnly(exit.cause) ? "interrupted" : Cause.pretty(exit.cause))
      )
    ),
    {
      disableErrorReporting: true,
      // The default teardown gives 130 to an interruption; these are the codes above.
      teardown: (exit, onExit) => onExit(Exit.isSuccess(exit) || interruptIsExit(exit) ? 0 : 1)
    }
  )
}
