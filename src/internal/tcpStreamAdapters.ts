import type { Duplex } from "node:stream"
import * as Cause from "effect/Cause"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import type * as Scope from "effect/Scope"
import * as Sink from "effect/Sink"
import * as Stream from "effect/Stream"
import * as duplex from "../core/duplex.js"
import type * as NetError from "../NetError.js"
import type * as TcpStream from "../TcpStream.js"

const invalidChunkSize = (size: unknown): RangeError =>
  new RangeError(`chunkSize must be a positive integer, got ${String(size)}`)

/** Writes the pieces in order, joining small batches so they leave in one write. */
const writeAllOf = (
  stream: TcpStream.TcpStream,
  pieces: ReadonlyArray<Uint8Array>
): Effect.Effect<void, NetError.NetError> =>
  Effect.forEach(duplex.coalesce(pieces), (piece) => stream.writeAll(piece), { discard: true })

export const toStream = (
  stream: TcpStream.TcpStream,
  options?: TcpStream.StreamOptions
): Stream.Stream<Uint8Array, NetError.NetError> =>
  Stream.suspend(() => {
    const size = options?.chunkSize ?? duplex.DEFAULT_CHUNK_SIZE
    if (!duplex.isChunkSize(size)) return Stream.die(invalidChunkSize(size))
    // One buffer per run, reused by every read; each element is a copy of what one read filled,
    // and a read runs only when the consumer pulls, so the kernel holds everything not yet asked for.
    const buf = new Uint8Array(size)
    return Stream.fromEffectRepeat(
      Effect.flatMap(stream.read(buf), (n) => n === 0 ? Cause.done() : Effect.succeed(buf.slice(0, n)))
    )
  })

export const toSink = (stream: TcpStream.TcpStream): Sink.Sink<void, Uint8Array, never, NetError.NetError> =>
  Sink.forEachArray((pieces: ReadonlyArray<Uint8Array>) => writeAllOf(stream, pieces))

const toError = (cause: Cause.Cause<unknown>): Error => {
  const error = Cause.squash(cause)
  return error instanceof Error ? error : new Error(String(error))
}

const outcome = <A>(exit: Exit.Exit<A, unknown>): duplex.Outcome<A> =>
  Exit.isSuccess(exit)
    ? { _tag: "Success", value: exit.value }
    : Exit.hasInterrupts(exit) && !Cause.hasFails(exit.cause) && !Cause.hasDies(exit.cause)
    ? { _tag: "Interrupted" }
    : { _tag: "Failure", error: toError(exit.cause) }

type Running = Fiber.Fiber<unknown, unknown>

/** Runs the Duplex's calls as fibers with the services of the fiber that made it. */
const driver = (stream: TcpStream.TcpStream, context: Context.Context<never>): duplex.Driver<Running> => {
  const runFork = Effect.runForkWith(context)
  const run = <A>(effect: Effect.Effect<A, NetError.NetError>, done: (outcome: duplex.Outcome<A>) => void) => {
    const fiber = runFork(effect)
    fiber.addObserver((exit) => done(outcome(exit)))
    return fiber
  }
  return {
    read: (buf, done) => run(stream.read(buf), done),
    writeAll: (chunks, done) => run(Effect.forEach(chunks, (chunk) => stream.writeAll(chunk), { discard: true }), done),
    shutdownWrite: (done) => run(stream.shutdown("write"), done),
    interruptAndClose: (running, done) => {
      runFork(Effect.andThen(Fiber.interruptAll(running), stream.close)).addObserver(done)
    }
  }
}

/** Destroys the Duplex unless it is closed already, and waits until its fd work is done. */
const destroyAndWait = (self: Duplex): Effect.Effect<void> =>
  Effect.callback<void>((resume) => {
    if (self.closed) return resume(Effect.void)
    self.once("close", () => resume(Effect.void))
    self.destroy()
  })

export const toDuplex = (
  stream: TcpStream.TcpStream,
  options?: TcpStream.DuplexOptions
): Effect.Effect<Duplex, never, Scope.Scope> =>
  Effect.suspend(() => {
    const size = options?.chunkSize ?? duplex.DEFAULT_CHUNK_SIZE
    if (!duplex.isChunkSize(size)) return Effect.die(invalidChunkSize(size))
    return Effect.flatMap(Effect.context<never>(), (context) =>
      Effect.acquireRelease(
        Effect.sync((): Duplex => new duplex.TcpDuplex(driver(stream, context), size, options?.allowHalfOpen ?? true)),
        destroyAndWait
      ))
  })
