/**
 * Reading and writing bytes, as Rust's `Read` and `Write` traits and Go's
 * `io.Reader` and `io.Writer` describe them: what a `TcpStream` does, and what
 * `BufReader` and `BufWriter` take, so that they work over any stream of bytes.
 *
 * @since 0.4.0
 */
import type * as Effect from "effect/Effect"
import type * as NetError from "./NetError.js"

/**
 * A source of bytes.
 *
 * Every method leaves the source consistent when its fiber is interrupted
 * while it waits: `read` and `readVectored` have read nothing; `readExact` and
 * `readToEnd` keep what they had read for the next read, so no byte is lost.
 *
 * @since 0.4.0
 * @category models
 */
export interface Reader {
  /**
   * Reads what is available into `buf`, suspending until at least one byte is:
   * resolves with 1..buf.length, or 0 at end of stream (and at once for an empty buffer).
   */
  readonly read: (buf: Uint8Array) => Effect.Effect<number, NetError.NetError>
  /**
   * One read scattered over `bufs`, filled in order (readv): resolves with the
   * total count, as `read` does. At most 1024 buffers take part in one call.
   */
  readonly readVectored: (bufs: ReadonlyArray<Uint8Array>) => Effect.Effect<number, NetError.NetError>
  /** Fills `buf` entirely, or fails with `UnexpectedEof` carrying how many bytes it read. */
  readonly readExact: (buf: Uint8Array) => Effect.Effect<void, NetError.NetError>
  /**
   * Reads until end of stream. Fails with `LimitExceeded` once more than
   * `maxBytes` arrive, so a peer cannot make it hold unbounded memory.
   */
  readonly readToEnd: (options: ReadToEndOptions) => Effect.Effect<Uint8Array, NetError.NetError>
  /** `readToEnd`, decoded as UTF-8 (an invalid sequence becomes U+FFFD). */
  readonly readToString: (options: ReadToEndOptions) => Effect.Effect<string, NetError.NetError>
}

/**
 * A sink of bytes.
 *
 * `write` and `writeVectored` interrupted while they wait have written
 * nothing; `writeAll` and `writeAllVectored` interrupted have written a prefix
 * of their bytes, and the next write starts after it.
 *
 * @since 0.4.0
 * @category models
 */
export interface Writer {
  /** Writes from `buf`, suspending while the send buffer is full; may write fewer than buf.length bytes. */
  readonly write: (buf: Uint8Array) => Effect.Effect<number, NetError.NetError>
  /**
   * One write gathered from `bufs` in order (writev): a header and a body, or a
   * batch of commands, in one syscall. Resolves with the total count, which
   * may be less than all of them, as `write` does.
   */
  readonly writeVectored: (bufs: ReadonlyArray<Uint8Array>) => Effect.Effect<number, NetError.NetError>
  /** Writes all of `buf`; two concurrent `writeAll`s never interleave their bytes. */
  readonly writeAll: (buf: Uint8Array) => Effect.Effect<void, NetError.NetError>
  /** Writes all of `bufs`, in order, with as few syscalls as the socket allows. */
  readonly writeAllVectored: (bufs: ReadonlyArray<Uint8Array>) => Effect.Effect<void, NetError.NetError>
}

/**
 * @since 0.4.0
 * @category models
 */
export interface ReadToEndOptions {
  /** The most bytes to accept: a whole number, 0 or more. */
  readonly maxBytes: number
}
