/**
 * A Node `stream.Duplex` over a stream's reads and writes, once for both
 * Effect lines: each line's `Driver` runs the calls as fibers of its runtime.
 */
import { Duplex } from "node:stream"

/** How a call run by a `Driver` ended: its value, its failure as an Error, or interrupted. */
export type Outcome<A> =
  | { readonly _tag: "Success"; readonly value: A }
  | { readonly _tag: "Failure"; readonly error: Error }
  | { readonly _tag: "Interrupted" }

/** The calls a Duplex makes, each run in a fiber of the line's runtime. */
export interface Driver<Running> {
  readonly read: (buf: Uint8Array, done: (outcome: Outcome<number>) => void) => Running
  readonly writeAll: (chunks: ReadonlyArray<Uint8Array>, done: (outcome: Outcome<void>) => void) => Running
  readonly shutdownWrite: (done: (outcome: Outcome<void>) => void) => Running
  /** Interrupts the running calls, then closes the stream, then calls `done`. */
  readonly interruptAndClose: (running: ReadonlyArray<Running>, done: () => void) => void
}

/** Batches up to this size are joined into one buffer: one syscall instead of one per piece. */
const COALESCE_LIMIT = 64 * 1024

/** The pieces to write in order: a small batch joined into one buffer, a large one as it is. */
export const coalesce = (pieces: ReadonlyArray<Uint8Array>): ReadonlyArray<Uint8Array> => {
  if (pieces.length <= 1) return pieces
  let total = 0
  for (const piece of pieces) total += piece.length
  if (total > COALESCE_LIMIT) return pieces
  const joined = new Uint8Array(total)
  let offset = 0
  for (const piece of pieces) {
    joined.set(piece, offset)
    offset += piece.length
  }
  return [joined]
}

/** The default read size of the adapters: libuv hands net.Socket 64 KiB reads. */
export const DEFAULT_CHUNK_SIZE = 64 * 1024

/**
 * `_read` and `_write` each run one call, so Node's own buffering limits drive
 * the socket: nothing is read until Node asks, and a write's callback waits
 * until the kernel took every byte.
 */
export class TcpDuplex<Running> extends Duplex {
  private reading: Running | undefined = undefined
  private writing: Running | undefined = undefined
  private readonly buf: Uint8Array

  constructor(private readonly driver: Driver<Running>, chunkSize: number, allowHalfOpen: boolean) {
    super({ allowHalfOpen })
    this.buf = new Uint8Array(chunkSize)
  }

  override _read(): void {
    // Node calls _read again only after a push, and stops calling once push returns false.
    this.reading = this.driver.read(this.buf, (outcome) => {
      this.reading = undefined
      // An interrupted read consumed nothing; a destroyed Duplex takes no more data.
      if (this.destroyed || outcome._tag === "Interrupted") return
      if (outcome._tag === "Failure") return void this.destroy(outcome.error)
      this.push(outcome.value === 0 ? null : Buffer.from(this.buf.subarray(0, outcome.value)))
    })
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.writing = this.driver.writeAll([chunk], this.written(callback))
  }

  override _writev(
    chunks: Array<{ chunk: Buffer; encoding: BufferEncoding }>,
    callback: (error?: Error | null) => void
  ): void {
    this.writing = this.driver.writeAll(coalesce(chunks.map(({ chunk }) => chunk)), this.written(callback))
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.writing = this.driver.shutdownWrite(this.written(callback))
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const pending = [this.reading, this.writing].filter((running) => running !== undefined)
    // Interrupted calls consumed nothing and touch the fd no more; close is idempotent, so the
    // owning Scope closing the stream later (or having closed it already) never closes twice.
    this.driver.interruptAndClose(pending, () => callback(error))
  }

  private written(callback: (error?: Error | null) => void) {
    return (outcome: Outcome<void>): void => {
      this.writing = undefined
      if (outcome._tag === "Success") return callback()
      // A write interrupted by destroy ends with the Duplex; Node expects no callback then.
      if (outcome._tag === "Failure") callback(outcome.error)
    }
  }
}
