/**
 * A buffered reader over any `Io.Reader` (a `TcpStream`, say), as Go's
 * `bufio.Reader` and tokio's `BufReader`: lines, delimited messages,
 * length-prefixed frames and exact reads served from one buffer of the
 * caller's size, which never grows.
 *
 * Every call is cancel safe: interrupted, it loses nothing, and what it had
 * read stays buffered for the next call. A BufReader serves one fiber at a
 * time; a call made while another is running is a defect.
 *
 * @example
 * ```ts
 * import { Effect, Option } from "effect"
 * import { BufReader, TcpStream } from "effect-netpoll"
 *
 * // The status line and the headers of an HTTP/1.1 response.
 * const head = (stream: TcpStream.TcpStream) =>
 *   Effect.gen(function*() {
 *     const reader = yield* BufReader.make(stream)
 *     const lines: Array<string> = []
 *     while (true) {
 *       const line = yield* reader.readLine({ maxLength: 8192 })
 *       if (Option.isNone(line) || line.value === "") return lines
 *       lines.push(line.value)
 *     }
 *   })
 * ```
 *
 * @since 0.4.0
 */
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type * as Stream from "effect/Stream"
import * as internal from "./internal/bufReader.js"
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
 * A reader with a buffer. It is itself an `Io.Reader`: `read` drains the
 * buffer before it reads again, and a `read` into a buffer at least as large as
 * its own skips the copy.
 *
 * @since 0.4.0
 * @category models
 */
export interface BufReader extends Io.Reader {
  readonly [TypeId]: TypeId
  /** The reader it reads from. Reading it directly skips what is buffered: see `takeBuffered`. */
  readonly reader: Io.Reader
  /** The buffer's size, fixed at `make`. */
  readonly capacity: number
  /** How many bytes are buffered now. */
  readonly buffered: number
  /**
   * The next line, without its LF or CRLF, decoded as UTF-8; at end of
   * stream, the last unterminated line, then None. Fails with
   * `LimitExceeded` when no line ends within `maxLength` bytes (the bytes stay
   * buffered).
   */
  readonly readLine: (options?: LineOptions) => Effect.Effect<Option.Option<string>, NetError.NetError>
  /**
   * The bytes up to and including the first `delimiter` (a byte, or a
   * sequence such as `"\r\n\r\n"`'s bytes); at end of stream, what is left,
   * then None. `LimitExceeded` as for `readLine`.
   */
  readonly readUntil: (
    delimiter: number | Uint8Array,
    options?: LineOptions
  ) => Effect.Effect<Option.Option<Uint8Array>, NetError.NetError>
  /**
   * A copy of the next `n` bytes (at most `capacity`), left buffered. Fails
   * with `UnexpectedEof` when the stream ends first.
   */
  readonly peek: (n: number) => Effect.Effect<Uint8Array, NetError.NetError>
  /**
   * The next length-prefixed frame's payload; None at end of stream between
   * frames, `UnexpectedEof` inside one. A prefix above `maxLength` fails with
   * `LimitExceeded` before any of the frame is read (and stays buffered).
   */
  readonly readFrame: (options: FrameOptions) => Effect.Effect<Option.Option<Uint8Array>, NetError.NetError>
  /**
   * Takes what is buffered (possibly nothing) without reading: with it, the
   * caller can go on with `reader` itself and lose no byte.
   */
  readonly takeBuffered: Effect.Effect<Uint8Array>
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
 * @since 0.4.0
 * @category models
 */
export interface LineOptions {
  /** The longest line or message accepted, its delimiter included; the capacity by default, and at most it. */
  readonly maxLength?: number | undefined
}

/**
 * A length prefix before each frame: 1, 2 or 4 bytes, unsigned, big-endian by
 * default. The length counts the payload only.
 *
 * @since 0.4.0
 * @category models
 */
export interface FrameOptions {
  readonly prefix: 1 | 2 | 4
  readonly endian?: "big" | "little" | undefined
  /** The largest payload accepted, in bytes. Frames larger than the buffer are read straight into their own array. */
  readonly maxLength: number
}

/**
 * A BufReader over `reader`.
 *
 * @since 0.4.0
 * @category constructors
 */
export const make: (reader: Io.Reader, options?: Options) => Effect.Effect<BufReader> = internal.make

/**
 * Whether a value is a BufReader.
 *
 * @since 0.4.0
 * @category guards
 */
export const isBufReader: (u: unknown) => u is BufReader = internal.isBufReader

/**
 * The reader's lines as a Stream (see `readLine`). It reads only when pulled:
 * a consumer that stops early (`Stream.take`, a timeout) leaves every line it
 * did not take in the reader.
 *
 * @since 0.4.0
 * @category streams
 */
export const lines: (reader: BufReader, options?: LineOptions) => Stream.Stream<string, NetError.NetError> =
  internal.lines

/**
 * The reader's length-prefixed frames as a Stream (see `readFrame`), read
 * only when pulled, as `lines` is.
 *
 * @since 0.4.0
 * @category streams
 */
export const frames: (reader: BufReader, options: FrameOptions) => Stream.Stream<Uint8Array, NetError.NetError> =
  internal.frames
