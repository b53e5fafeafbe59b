/**
 * The buffered writer: small writes gathered in one buffer and sent with one
 * syscall, large ones sent with the buffer in one writev. Shared by both
 * Effect lines.
 *
 * The buffer holds exactly the bytes not yet sent: a flush sends with single
 * writes, each of which either moved its count or (interrupted while it
 * waited) nothing, and drops from the buffer only what the kernel took.
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Scope from "effect/Scope"
import type * as BufWriter from "../BufWriter.js"
import type * as Io from "../Io.js"
import * as NetError from "../NetError.js"
import { buffered as core, stream, validate } from "./core.js"
import { badInput } from "./tcpStream.js"

export const TypeId: BufWriter.TypeId = Symbol.for("effect-netpoll/BufWriter") as BufWriter.TypeId

class BufWriterImpl implements BufWriter.BufWriter {
  readonly [TypeId]: BufWriter.TypeId = TypeId
  private readonly bytes: Uint8Array
  private end = 0
  private busy = false
  private readonly idle = Effect.sync(() => {
    this.busy = false
  })

  constructor(readonly writer: Io.Writer, capacity: number) {
    this.bytes = new Uint8Array(capacity)
  }

  get capacity(): number {
    return this.bytes.length
  }

  get buffered(): number {
    return this.end
  }

  /** The defect of a call made while another runs. */
  private concurrent(method: string): Effect.Effect<never> {
    return Effect.die(new Error(validate.concurrentUse("BufWriter", method)))
  }

  /** Runs `effect`, which may wait, as the writer's only call until it ends. */
  private guarded<A>(effect: Effect.Effect<A, NetError.NetError>): Effect.Effect<A, NetError.NetError> {
    this.busy = true
    return Effect.ensuring(effect, this.idle)
  }

  /**
   * Appends `bufs` as the writer's one call: copied at once, with no guard,
   * when they all fit in the buffer; otherwise `append` runs guarded.
   */
  private appendAll<A>(method: string, bufs: ReadonlyArray<Uint8Array>, result: A): Effect.Effect<A, NetError.NetError> {
    return Effect.suspend(() => {
      if (this.busy) return this.concurrent(method)
      let total = 0
      for (const buf of bufs) total += buf.length
      if (this.end + total > this.bytes.length) return Effect.as(this.guarded(this.append(bufs, 0)), result)
      for (const buf of bufs) {
        this.bytes.set(buf, this.end)
        this.end += buf.length
      }
      return Effect.succeed(result)
    })
  }

  /** Drops the first `n` buffered bytes: the kernel has them. */
  private sent(n: number): void {
    this.bytes.copyWithin(0, n, this.end)
    this.end -= n
  }

  private readonly drain: Effect.Effect<void, NetError.NetError> = Effect.suspend(() =>
    this.end === 0
      ? Effect.void
      : Effect.flatMap(this.writer.write(this.bytes.subarray(0, this.end)), (n) => {
        this.sent(n)
        return this.drain
      })
  )

  get flush(): Effect.Effect<void, NetError.NetError> {
    return Effect.suspend(() =>
      this.busy ? this.concurrent("flush") : this.end === 0 ? Effect.void : this.guarded(this.drain)
    )
  }

  /**
   * Appends `bufs` whole. What fits is copied; otherwise the buffer is sent
   * first, and then buffers of the capacity or more go out with it in
   * writevs (the buffer's bytes first), smaller ones are copied.
   */
  private append(bufs: ReadonlyArray<Uint8Array>, index: number): Effect.Effect<void, NetError.NetError> {
    for (; index < bufs.length; index++) {
      const buf = bufs[index]!
      if (this.end + buf.length <= this.bytes.length) {
        this.bytes.set(buf, this.end)
        this.end += buf.length
        continue
      }
      if (buf.length < this.bytes.length) {
        const next = index
        return Effect.flatMap(this.drain, () => this.append(bufs, next))
      }
      const next = index + 1
      return Effect.flatMap(this.sendWith(buf), () => this.append(bufs, next))
    }
    return Effect.void
  }

  /** Sends the buffer and then `buf`, gathered into writevs while the buffer is not empty. */
  private sendWith(buf: Uint8Array): Effect.Effect<void, NetError.NetError> {
    return Effect.suspend(() => {
      if (this.end === 0) return this.writer.writeAll(buf)
      const held = this.end
      return Effect.flatMap(this.writer.writeVectored([this.bytes.subarray(0, held), buf]), (n) => {
        if (n < held) {
          this.sent(n)
          return this.sendWith(buf)
        }
        this.end = 0
        return n - held === buf.length ? Effect.void : this.writer.writeAll(buf.subarray(n - held))
      })
    })
  }

  write(buf: Uint8Array): Effect.Effect<number, NetError.NetError> {
    if (!stream.isBytes(buf)) return badInput(validate.notBytes("BufWriter.write", buf))
    return this.appendAll("write", [buf], buf.length)
  }

  writeAll(buf: Uint8Array): Effect.Effect<void, NetError.NetError> {
    if (!stream.isBytes(buf)) return badInput(validate.notBytes("BufWriter.writeAll", buf))
    return this.appendAll("writeAll", [buf], undefined)
  }

  writeVectored(bufs: ReadonlyArray<Uint8Array>): Effect.Effect<number, NetError.NetError> {
    const defect = validate.vector("BufWriter.writeVectored", bufs)
    if (defect !== undefined) return badInput(defect)
    const vector = Array.from(bufs)
    return this.appendAll("writeVectored", vector, stream.vector.length(vector))
  }

  writeAllVectored(bufs: ReadonlyArray<Uint8Array>): Effect.Effect<void, NetError.NetError> {
    const defect = validate.vector("BufWriter.writeAllVectored", bufs)
    if (defect !== undefined) return badInput(defect)
    const vector = Array.from(bufs)
    return this.appendAll("writeAllVectored", vector, undefined)
  }

  writeFrame(payload: Uint8Array, options: BufWriter.FramePrefix): Effect.Effect<void, NetError.NetError> {
    const defect = (stream.isBytes(payload) ? undefined : validate.notBytes("BufWriter.writeFrame", payload)) ??
      validate.framePrefix("BufWriter.writeFrame", options)
    if (defect !== undefined) return badInput(defect)
    const prefix: core.Prefix = { size: options.prefix, littleEndian: options.endian === "little" }
    const max = core.prefixMax(prefix)
    if (payload.length > max) return Effect.fail(new NetError.LimitExceeded({ operation: "writeFrame", limit: max }))
    const frame = [core.writePrefix(payload.length, prefix), payload]
    return this.appendAll("writeFrame", frame, undefined)
  }

  /**
   * The Scope's end: after a success the buffer is flushed, and bytes that
   * cannot be are a defect (never a silent drop); after a failure or an
   * interruption nothing more is sent (the peer may be gone, and a flush could
   * wait for ever), and the bytes dropped are logged.
   */
  close(exit: Exit.Exit<unknown, unknown>): Effect.Effect<void> {
    return Effect.suspend(() => {
      const held = this.end
      if (held === 0) return Effect.void
      if (Exit.isFailure(exit)) {
        this.end = 0
        return Effect.logWarning(`BufWriter: ${held} buffered bytes dropped: its scope ended without success`)
      }
      return Effect.flatMap(Effect.exit(this.drain), (flushed) =>
        Exit.isSuccess(flushed) ? Effect.void : Effect.die(
          new Error(`BufWriter: ${this.end} of ${held} buffered bytes could not be flushed as its scope closed`, {
            cause: flushed.cause
          })
        ))
    })
  }
}

export const make = (
  writer: Io.Writer,
  options?: BufWriter.Options
): Effect.Effect<BufWriter.BufWriter, never, Scope.Scope> =>
  Effect.suspend(() => {
    const defect = validate.writer("BufWriter.make", writer) ?? validate.capacity("BufWriter.make", options)
    if (defect !== undefined) return badInput(defect)
    const self = new BufWriterImpl(writer, options?.capacity ?? core.DEFAULT_CAPACITY)
    return Effect.as(Effect.addFinalizer((exit) => self.close(exit)), self as BufWriter.BufWriter)
  })

export const isBufWriter = (u: unknown): u is BufWriter.BufWriter => validate.hasTypeId(u, TypeId)
