/**
 * A buffered writer over any `Io.Writer` (a `TcpStream`, say), as Go's
 * `bufio.Writer`: small writes are gathered in one buffer and sent with one
 * syscall when it fills or on `flush`; a write of the capacity or more goes
 * out together with what is buffered, in one writev.
 *
 * The buffer is flushed when the writer's Scope closes after a success. A
 * flush that fails is a typed error from `flush`, and a defect at the Scope's
 * close: buffered bytes are never dropped silently. A BufWriter serves one
 * fiber at a time; a call made while another is running is a defect.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { BufWriter, TcpStream } from "effect-netpoll"
 *
 * // A pipeline of Redis commands: one send for all of them.
 * const pipeline = (stream: TcpStream.TcpStream, keys: ReadonlyArray<string>) =>
 *   Effect.scoped(Effect.gen(function*() {
 *     const writer = yield* BufWriter.make(stream)
 *     const encoder = new TextEncoder()
 *     for (const key of keys) yield* writer.writeAll(encoder.encode(`GET ${key}\r\n`))
 *     yield* writer.flush
 *   }))
 * ```
 *
 * @since 0.4.0
 */
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as internal from "./internal/bufWriter.js"
import type * as Io from "./Io.js"
import type * as NetError from "./NetError.js"

/**
 * @since 0.4.0
 * @category type ids
 */
export const TypeId: unique symbol = internal.TypeId

/**
 * @since 0.4.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * A writer with a buffer. It is itself an `Io.Writer` whose writes take all
 * their bytes: `write` resolves with `buf.length`. Interrupted, a write or
 * flush leaves in the buffer exactly the bytes not yet sent; of a write it
 * interrupted, nothing was taken, except for a buffer of the capacity or more,
 * of which a prefix may have been sent (as `writeAll` does).
 *
 * @since 0.4.0
 * @category models
 */
export interface BufWriter extends Io.Writer {
  readonly [TypeId]: TypeId
  /** The writer it writes to. */
  readonly writer: Io.Writer
  /** The buffer's size, fixed at `make`. */
  readonly capacity: number
  /** How many bytes wait in the buffer now. */
  readonly buffered: number
  /** Sends everything buffered. */
  readonly flush: Effect.Effect<void, NetError.NetError>
  /**
   * Appends one frame: its length as a prefix (see `BufReader.FrameOptions`),
   * then `payload`. A payload longer than the prefix can say fails with
   * `LimitExceeded`.
   */
  readonly writeFrame: (payload: Uint8Array, options: FramePrefix) => Effect.Effect<void, NetError.NetError>
}

/**
 * @since 0.4.0
 * @category models
 */
export interface Options {
  /** The buffer's size in bytes, a positive integer; 16 KiB by default. */
  readonly capacity?: number | undefined
}

/**
 * The length prefix `writeFrame` puts before a payload: 1, 2 or 4 bytes,
 * big-endian by default.
 *
 * @since 0.4.0
 * @category models
 */
export interface FramePrefix {
  readonly prefix: 1 | 2 | 4
  readonly endian?: "big" | "little" | undefined
}

/**
 * A BufWriter over `writer`, flushed when the Scope closes after a success.
 *
 * @since 0.4.0
 * @category constructors
 */
export const make: (writer: Io.Writer, options?: Options) => Effect.Effect<BufWriter, never, Scope.Scope> =
  internal.make

/**
 * Whether a value is a BufWriter.
 *
 * @since 0.4.0
 * @category guards
 */
export const isBufWriter: (u: unknown) => u is BufWriter = internal.isBufWriter
