import type { Duplex } from "node:stream"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import type * as Scope from "effect/Scope"
import * as Sink from "effect/Sink"
import * as Stream from "effect/Stream"
import type * as NetError from "../NetError.js"
import type * as TcpStream from "../TcpStream.js"
import { duplex } from "./core.js"

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
    return Stream.repeatEffectOption(
      Effect.matchEffect(stream.read(buf), {
        onFailure: (error) => Effect.fail(Option.some(error)),
        onSuccess: (n) => n === 0 ? Effect.fail(Option.none()) : Effect.succeed(buf.slice(0, n))
      })
    )
  })

export const toSink = (stream: TcpStream.TcpStream): Sink.Sink<void, Uint8Array, never, NetError.NetError> =>
  Sink.forEachChunk((chunk: Chunk.Chunk<Uint8Array>) => writeAllOf(stream, Chunk.toReadonlyArray(chunk)))

const toError = (cause: Cause.Cause<unknown>): Error => {
  const error = Cause.squash(cause)
  return error instanceof Error ? error : new Error(String(error))
}

const outcome = <A>(exit: Exit.Exit<A, unknown>): duplex.Outcome<A> =>
  Exit.isSuccess(exit)
    ? { _tag: "Success", value: exit.value }
    : Exit.isInterrupted(exit)
    ? { _tag: "Interrupted" }
    : { _tag: "Failure", error: toError(exit.cause) }

type Running = Fiber.RuntimeFiber<unknown, unknown>

/** Runs the Duplex's calls as fibers of the runtime that made it. */
const driver = (stream: TcpStream.TcpStream, runtime: Runtime.Runtime<never>): duplex.Driver<Running> => {
  const runFork = Runtime.runFork(runtime)
  const run = <A>(effect: Effect.Effect<A, NetError.NetError>, done: (outcome: duplex.Outcome<A>) => void) => {
    const fiber = runFork(effect)
    fiber.addObserver((exit) => done(outcome(exit)))
    return fiber
  }
  return {
    read: (buf, done) => run(stream.read(buf), done),
    writeAll: (chunks, done) => run(Effect.forEach(chunks, (chunk) => stream.writeAll(chunk), { discard: true }), done),
    shutdownWrite: (done) => run(stream.shutdown("write"), done),
    interruptAndClose: (running, done) =>
      runFork(Effect.zipRight(Fiber.interruptAll(running), stream.close)).addObserver(done)
  }
}

/** Destroys the Duplex unless it is closed already, and waits until its fd work is done. */
const destroyAndWait = (duplex: Duplex): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    if (duplex.closed) return resume(Effect.void)
    duplex.once("close", () => resume(Effect.void))
    duplex.destroy()
  })

export const toDuplex = (
  stream: TcpStream.TcpStream,
  options?: TcpStream.DuplexOptions
): Effect.Effect<Duplex, never, Scope.Scope> =>
  Effect.suspend(() => {
    const size = options?.chunkSize ?? duplex.DEFAULT_CHUNK_SIZE
    if (!duplex.isChunkSize(size)) return Effect.die(invalidChunkSize(size))
    return Effect.flatMap(Effect.runtime<never>(), (runtime) =>
      Effect.acquireRelease(
        Effect.sync((): Duplex => new duplex.TcpDuplex(driver(stream, runtime), size, options?.allowHalfOpen ?? true)),
        destroyAndWait
      ))
  })
