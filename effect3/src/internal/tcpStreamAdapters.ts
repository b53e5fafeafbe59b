import { Duplex } from "node:stream"
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

const DEFAULT_CHUNK_SIZE = 64 * 1024

/** Batches up to this size are joined into one buffer: one syscall instead of one per piece. */
const COALESCE_LIMIT = 64 * 1024

const invalidChunkSize = (size: number): RangeError =>
  new RangeError(`chunkSize must be a positive integer, got ${size}`)

const isValidChunkSize = (size: number): boolean => Number.isSafeInteger(size) && size > 0

/** Writes the pieces in order, joining small batches so they leave in one write. */
const writeAllOf = (
  stream: TcpStream.TcpStream,
  pieces: ReadonlyArray<Uint8Array>
): Effect.Effect<void, NetError.NetError> => {
  if (pieces.length === 1) return stream.writeAll(pieces[0]!)
  let total = 0
  for (const piece of pieces) total += piece.length
  if (total > COALESCE_LIMIT) return Effect.forEach(pieces, (piece) => stream.writeAll(piece), { discard: true })
  const joined = new Uint8Array(total)
  let offset = 0
  for (const piece of pieces) {
    joined.set(piece, offset)
    offset += piece.length
  }
  return stream.writeAll(joined)
}

export const toStream = (
  stream: TcpStream.TcpStream,
  options?: TcpStream.StreamOptions
): Stream.Stream<Uint8Array, NetError.NetError> =>
  Stream.suspend(() => {
    const size = options?.chunkSize ?? DEFAULT_CHUNK_SIZE
    if (!isValidChunkSize(size)) return Stream.die(invalidChunkSize(size))
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

/**
 * A Node Duplex whose `_read` and `_write` each run one Effect on the captured
 * runtime, so Node's own buffering limits drive the socket: nothing is read
 * until Node asks, and a write's callback waits until the kernel took every byte.
 */
class TcpDuplex extends Duplex {
  private reading: Fiber.RuntimeFiber<number, NetError.NetError> | undefined = undefined
  private writing: Fiber.RuntimeFiber<void, NetError.NetError> | undefined = undefined
  private readonly buf: Uint8Array
  private readonly runFork: <A, E>(effect: Effect.Effect<A, E>) => Fiber.RuntimeFiber<A, E>

  constructor(
    private readonly stream: TcpStream.TcpStream,
    runtime: Runtime.Runtime<never>,
    chunkSize: number,
    allowHalfOpen: boolean
  ) {
    super({ allowHalfOpen })
    this.buf = new Uint8Array(chunkSize)
    this.runFork = Runtime.runFork(runtime)
  }

  override _read(): void {
    // Node calls _read again only after a push, and stops calling once push returns false.
    const fiber = this.runFork(this.stream.read(this.buf))
    this.reading = fiber
    fiber.addObserver((exit) => {
      this.reading = undefined
      // An interrupted read consumed nothing; a destroyed Duplex takes no more data.
      if (this.destroyed || Exit.isInterrupted(exit)) return
      if (Exit.isFailure(exit)) return void this.destroy(toError(exit.cause))
      this.push(exit.value === 0 ? null : Buffer.from(this.buf.subarray(0, exit.value)))
    })
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.runWrite(this.stream.writeAll(chunk), callback)
  }

  override _writev(
    chunks: Array<{ chunk: Buffer; encoding: BufferEncoding }>,
    callback: (error?: Error | null) => void
  ): void {
    this.runWrite(writeAllOf(this.stream, chunks.map(({ chunk }) => chunk)), callback)
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.runWrite(this.stream.shutdown("write"), callback)
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const pending = [this.reading, this.writing].filter((fiber) => fiber !== undefined)
    // Interrupted calls consumed nothing and touch the fd no more; close is idempotent, so the
    // owning Scope closing the stream later (or having closed it already) never closes twice.
    this.runFork(Effect.zipRight(Fiber.interruptAll(pending), this.stream.close)).addObserver(() => callback(error))
  }

  private runWrite(effect: Effect.Effect<void, NetError.NetError>, callback: (error?: Error | null) => void): void {
    const fiber = this.runFork(effect)
    this.writing = fiber
    fiber.addObserver((exit) => {
      this.writing = undefined
      if (Exit.isSuccess(exit)) return callback()
      // A write interrupted by destroy ends with the Duplex; Node expects no callback then.
      if (!Exit.isInterrupted(exit)) callback(toError(exit.cause))
    })
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
    const size = options?.chunkSize ?? DEFAULT_CHUNK_SIZE
    if (!isValidChunkSize(size)) return Effect.die(invalidChunkSize(size))
    return Effect.flatMap(Effect.runtime<never>(), (runtime) =>
      Effect.acquireRelease(
        Effect.sync((): Duplex => new TcpDuplex(stream, runtime, size, options?.allowHalfOpen ?? true)),
        destroyAndWait
      ))
  })
