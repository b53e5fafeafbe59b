/**
 * Reading exits and causes in assertions.
 */
import * as Cause from "effect/Cause"
import * as Exit from "effect/Exit"

/** Whether an exit is an interruption and nothing else. */
export const isInterrupted = (exit: Exit.Exit<unknown, unknown>): boolean =>
  Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause)

/** The typed failures of a cause, in order. */
export const failures = <E>(cause: Cause.Cause<E>): Array<E> =>
  cause.reasons.filter(Cause.isFailReason).map((reason) => reason.error)

/** The defects of a cause, in order. */
export const defects = (cause: Cause.Cause<unknown>): Array<unknown> =>
  cause.reasons.filter(Cause.isDieReason).map((reason) => reason.defect)

/** The `_tag` of an exit's first typed failure, if it failed with one. */
export const failureTag = (exit: Exit.Exit<unknown, unknown> | undefined): string | undefined => {
  if (exit === undefined || Exit.isSuccess(exit)) return undefined
  const [error] = failures(exit.cause)
  return (error as { readonly _tag?: string } | undefined)?._tag
}
