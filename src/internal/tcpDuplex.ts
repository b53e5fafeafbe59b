/**
 * `TcpStream.toDuplex`: the core's Node Duplex driven by fibers. Shared by both
 * Effect lines: the Effect 3 line compiles this same file against its own `effect`.
 */
import type { Duplex } from "node:stream"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import type * as Scope from "effect/Scope"
import type * as NetError from "../NetError.js"
import type * as TcpStream from "../TcpStream.js"
import { duplex, validate } from "./core.js"
import * as runtime from "./runtime.js"
import * as tcpStream from "./tcpStream.js"

/**
 * The defect for an adapter's bad `stream` or `chunkSize` (the same rules for
 * `toStream`, `toSink` and `toDuplex` on both lines), or undefined: a TypeError,
 * or the RangeError the README promises for a `chunkSize` that is no positive integer.
 */
export const adapterDefect = (
  what: "toStream" | "toSink" | "toDuplex",
  stream: unknown,
  options?: unknown
): Error | undefined => {
  if (!tcpStream.isStream(stream)) return new TypeError(validate.notStream(what, stream))
  const notObject = validate.optionsObject(options, what)
  if (notObject !== undefined) return new TypeError(notObject)
  const size = validate.chunkSize(options, what)
  return size === undefined ? undefined : new RangeError(size)
}

/** Writes the pieces in order, joining small batches so they leave in one write. */
export const writeAllOf = (
  stream: tcpStream.AnyStream,
  pieces: ReadonlyArray<Uint8Array>
): Effect.Effect<void, NetError.NetError> =>
  Effect.forEach(duplex.coalesce(pieces), (piece) => stream.writeAll(piece), { discard: true })

const toError = (cause: Cause.Cause<unknown>): Error => {
  const error = Cause.squash(cause)
  return error instanceof Error ? error : new Error(String(error))
}

const outcome = <A>(exit: Exit.Exit<A, unknown>): duplex.Outcome<A> =>
  Exit.isSuccess(exit)
    ? { _tag: "Success", value: exit.value }
    : runtime.isInterruptedOnly(exit)
    ? { _tag: "Interrupted" }
    : { _tag: "Failure", error: toError(exit.cause) }

/** Runs the Duplex's calls as fibers with what the fiber that made it passes on. */
const driver = (
  stream: tcpStream.AnyStream,
  captured: runtime.Captured<never>
): duplex.Driver<runtime.AnyFiber> => {
  const run = <A>(effect: Effect.Effect<A, NetError.NetError>, done: (outcome: duplex.Outcome<A>) => void) => {
    const fiber = runtime.fork(captured, effect)
    runtime.observe(fiber, (exit) => done(outcome(exit as Exit.Exit<A, unknown>)))
    return fiber
  }
  return {
    read: (buf, done) => run(stream.read(buf), done),
    writeAll: (chunks, done) => run(writeAllOf(stream, chunks), done),
    shutdownWrite: (done) => run(stream.shutdown("write"), done),
    interruptAndClose: (running, done) => {
      runtime.observe(runtime.fork(captured, Effect.andThen(Fiber.interruptAll(running), stream.close)), done)
    }
  }
}

/** Destroys the Duplex unless it is closed already, and waits until its fd work is done. */
const destroyAndWait = (self: Duplex): Effect.Effect<void> =>
  runtime.async<void>((resume) => {
    if (self.closed) return resume(Effect.void)
    self.once("close", () => resume(Effect.void))
    self.destroy()
  })

export const toDuplex = (
  stream: tcpStream.AnyStream,
  options?: TcpStream.DuplexOptions
): Effect.Effect<Duplex, never, Scope.Scope> =>
  Effect.suspend(() => {
    const allowHalfOpen = validate.allowHalfOpen(options)
    const defect = adapterDefect("toDuplex", stream, options) ??
      (allowHalfOpen === undefined ? undefined : new TypeError(allowHalfOpen))
    if (defect !== undefined) return Effect.die(defect)
    const size = options?.chunkSize ?? duplex.DEFAULT_CHUNK_SIZE
    return runtime.withCaptured<Duplex, never, Scope.Scope>((captured) =>
      Effect.acquireRelease(
        Effect.sync((): Duplex =>
          new duplex.TcpDuplex(driver(stream, captured as runtime.Captured<never>), size, options?.allowHalfOpen ?? true)
        ),
        destroyAndWait
      )
    )
  })
