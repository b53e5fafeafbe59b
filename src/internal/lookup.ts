/**
 * Name resolution as an effect. Shared by both Effect lines: the Effect 3 line
 * compiles this same file against its own `effect`.
 */
import * as Effect from "effect/Effect"
import * as NetError from "../NetError.js"
import { resolver } from "./core.js"
import * as runtime from "./runtime.js"

/**
 * Every address `name` resolves to, in the resolver's order, or HostNotFound
 * naming the input as the caller wrote it (`display`). Interruption stops
 * listening for the answer.
 */
export const lookup = (
  name: string,
  display: string
): Effect.Effect<ReadonlyArray<resolver.Resolved>, NetError.HostNotFound> =>
  runtime.async<ReadonlyArray<resolver.Resolved>, NetError.HostNotFound>((resume) =>
    Effect.sync(resolver.lookup(name, (result) => {
      if (!("errno" in result)) return resume(Effect.succeed(result))
      const fields = { syscall: "getaddrinfo", address: display }
      resume(Effect.fail(
        new NetError.HostNotFound(result.errno === undefined ? fields : { ...fields, errno: result.errno })
      ))
    }))
  )
