/**
 * The buffered reader: the core's window and framing rules, the inner reader's
 * reads as effects. Shared by both Effect lines.
 *
 * Cancel safety: the window changes only synchronously, after a read has
 * returned or once a call has everything it needs. A call interrupted while a
 * read waits leaves the window as that read found it, so the bytes it had
 * looked at are still there for the next call.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as BufReader from "../BufReader.js"
import type * as Io from "../Io.js"
import * as NetError from "../NetError.js"
import { buffered as core, stream, validate } from "./core.js"
import * as runtime from "./runtime.js"
import { badInput } from "./tcpStream.js"

export const TypeId: BufReader.TypeId = Symbol.for("effect-netpoll/BufReader") as BufReader.TypeId

const decoder = new TextDecoder()

/** A copy of the window's next `n` bytes. */
const copyOf = (window: core.Window, n: number): Uint8Array => window.view(n).slice()

const limit = (operation: string, limit: number) => Effect.fail(new NetError.LimitExceeded({ operation, limit }))

/** A step's answer that may wait (it reads from the inner reader): the call is guarded while it runs. */
class Waiting<A> {
  constructor(readonly effect: Effect.Effect<A, NetError.NetError>) {}
}

/**
 * What a step says: the call's result now (an effect that does not wait),
 * an effect that may wait, or undefined: read more, then ask again.
 */
type Answer<A> = Effect.Effect<A, NetError.NetError> | Waiting<A> | undefined

class BufReaderImpl implements BufReader.BufReader {
  readonly [TypeId]: BufReader.TypeId = TypeId
  private readonly window: core.Window
  /** A call is running: another fiber's call now would see a window in use. */
  private busy = false
  private readonly idle = Effect.sync(() => {
    this.busy = false
  })

  constructor(readonly reader: Io.Reader, capacity: number) {
    this.window = new core.Window(capacity)
  }

  get capacity(): number {
    return this.window.capacity
  }

  get buffered(): number {
    return this.window.available
  }

  /**
   * Runs `step` (synchronous, on the window) until it answers with the call's
   * end; between tries, one read of the inner reader adds to the window, and
   * `step` is told whether that read met end of stream. A call answered at
   * once from the window costs no guard; one that waits is the reader's only
   * call until it ends.
   */
  private run<A>(method: string, step: (eof: boolean) => Answer<A>): Effect.Effect<A, NetError.NetError> {
    return Effect.suspend(() => {
      if (this.busy) return Effect.die(new Error(validate.concurrentUse("BufReader", method)))
      const now = step(false)
      if (now !== undefined && !(now instanceof Waiting)) return now
      this.busy = true
      const loop: Effect.Effect<A, NetError.NetError> = Effect.flatMap(this.fill(), (n) => {
        const next = step(n === 0)
        return next === undefined ? loop : next instanceof Waiting ? next.effect : next
      })
      return Effect.ensuring(now === undefined ? loop : now.effect, this.idle)
    })
  }

  /** One read into the window's free space; 0 at end of stream. */
  private fill(): Effect.Effect<number, NetError.NetError> {
    return Effect.suspend(() => {
      const free = this.window.free()
      return Effect.map(this.reader.read(free), (n) => {
        this.window.filled(n)
        return n
      })
    })
  }

  read(buf: Uint8Array): Effect.Effect<number, NetError.NetError> {
    if (!stream.isBytes(buf)) return badInput(validate.notBytes("BufReader.read", buf))
    const window = this.window
    return this.run("read", (eof) => {
      if (window.available > 0 || eof || buf.length === 0) {
        const n = window.copyOut(buf)
        window.consume(n)
        return Effect.succeed(n)
      }
      // Nothing buffered and a buffer as large as ours: the read goes straight into it.
      return buf.length >= window.capacity ? new Waiting(this.reader.read(buf)) : undefined
    })
  }

  readVectored(bufs: ReadonlyArray<Uint8Array>): Effect.Effect<number, NetError.NetError> {
    const defect = validate.vector("BufReader.readVectored", bufs)
    if (defect !== undefined) return badInput(defect)
    const vector = Array.from(bufs)
    const window = this.window
    return this.run("readVectored", (eof) => {
      const total = stream.vector.length(vector)
      if (window.available > 0 || eof || total === 0) {
        const n = stream.vector.copyIn(vector, 0, window.view())
        window.consume(n)
        return Effect.succeed(n)
      }
      return total >= window.capacity ? new Waiting(this.reader.readVectored(vector)) : undefined
    })
  }

  readExact(buf: Uint8Array): Effect.Effect<void, NetError.NetError> {
    if (!stream.isBytes(buf)) return badInput(validate.notBytes("BufReader.readExact", buf))
    return this.readExactAfter("readExact", 0, buf)
  }

  /**
   * Fills `buf` with the bytes that follow the first `skip` buffered ones, then
   * consumes both. What does not fit in the window is read straight into
   * `buf` with the inner reader's `readExact`, whose interruption keeps what it
   * read for its next read, after our window's bytes.
   */
  private readExactAfter(method: string, skip: number, buf: Uint8Array): Effect.Effect<void, NetError.NetError> {
    const window = this.window
    const want = skip + buf.length
    if (want > window.capacity) {
      return this.run(method, () => {
        const have = window.available - skip
        buf.set(window.view().subarray(skip, skip + have))
        return new Waiting(Effect.matchEffect(this.reader.readExact(buf.subarray(have)), {
          onFailure: (error): Effect.Effect<void, NetError.NetError> => {
            if (error._tag !== "UnexpectedEof") return Effect.fail(error)
            window.consume(skip + have)
            return Effect.fail(new NetError.UnexpectedEof({ ...error, bytesRead: have + error.bytesRead }))
          },
          onSuccess: () => Effect.sync(() => window.consume(skip + have))
        }))
      })
    }
    return this.run(method, (eof) => {
      if (window.available >= want) {
        buf.set(window.view(want).subarray(skip))
        window.consume(want)
        return Effect.void
      }
      if (!eof) return undefined
      const bytesRead = Math.max(0, window.available - skip)
      buf.set(window.view().subarray(skip))
      window.consume(window.available)
      return Effect.fail(new NetError.UnexpectedEof({ syscall: "read", bytesRead }))
    })
  }

  readToEnd(options: Io.ReadToEndOptions): Effect.Effect<Uint8Array, NetError.NetError> {
    const defect = validate.maxBytes("BufReader.readToEnd", options)
    if (defect !== undefined) return badInput(defect)
    const maxBytes = options.maxBytes
    const window = this.window
    return this.run("readToEnd", () => {
      const held = window.available
      if (held > maxBytes) return limit("readToEnd", maxBytes)
      // The window's bytes are consumed only once the rest has been read.
      return new Waiting(Effect.map(this.reader.readToEnd({ maxBytes: maxBytes - held }), (rest) => {
        const all = new Uint8Array(held + rest.length)
        all.set(window.view())
        all.set(rest, held)
        window.consume(held)
        return all
      }))
    })
  }

  readToString(options: Io.ReadToEndOptions): Effect.Effect<string, NetError.NetError> {
    return Effect.map(this.readToEnd(options), (bytes) => decoder.decode(bytes))
  }

  readUntil(
    delimiter: number | Uint8Array,
    options?: BufReader.LineOptions
  ): Effect.Effect<Option.Option<Uint8Array>, NetError.NetError> {
    const defect = validate.delimiter("BufReader.readUntil", delimiter) ??
      validate.maxLength("BufReader.readUntil", options, this.window.capacity)
    if (defect !== undefined) return badInput(defect)
    const bytes = typeof delimiter === "number" ? new Uint8Array([delimiter]) : delimiter.slice()
    return this.until("readUntil", bytes, options?.maxLength ?? this.window.capacity, copyOf)
  }

  readLine(options?: BufReader.LineOptions): Effect.Effect<Option.Option<string>, NetError.NetError> {
    const defect = validate.maxLength("BufReader.readLine", options, this.window.capacity)
    if (defect !== undefined) return badInput(defect)
    return this.until("readLine", core.NEWLINE, options?.maxLength ?? this.window.capacity, core.lineText)
  }

  /**
   * Up to and including the first `delimiter`, at most `maxLength` bytes; at
   * end of stream, what is left (None when nothing is).
   */
  private until<A>(
    method: string,
    delimiter: Uint8Array,
    maxLength: number,
    finish: (window: core.Window, n: number) => A
  ): Effect.Effect<Option.Option<A>, NetError.NetError> {
    const window = this.window
    let scanned = 0
    return this.run(method, (eof) => {
      const end = window.find(delimiter, core.rescanFrom(scanned, delimiter))
      if (end >= 0 && end <= maxLength) {
        const found = finish(window, end)
        window.consume(end)
        return Effect.succeed(Option.some(found))
      }
      // No delimiter within maxLength bytes (this also keeps the window from filling up).
      if (end > maxLength || window.available >= maxLength) return limit(method, maxLength)
      scanned = window.available
      if (!eof) return undefined
      if (window.available === 0) return Effect.succeed(Option.none())
      const n = window.available
      const rest = finish(window, n)
      window.consume(n)
      return Effect.succeed(Option.some(rest))
    })
  }

  peek(n: number): Effect.Effect<Uint8Array, NetError.NetError> {
    const defect = validate.peekLength(n, this.window.capacity)
    if (defect !== undefined) return badInput(defect)
    const window = this.window
    return this.run("peek", (eof) =>
      window.available >= n
        ? Effect.succeed(window.view(n).slice())
        : eof
        ? Effect.fail(new NetError.UnexpectedEof({ syscall: "read", bytesRead: window.available }))
        : undefined)
  }

  readFrame(options: BufReader.FrameOptions): Effect.Effect<Option.Option<Uint8Array>, NetError.NetError> {
    const defect = validate.frameOptions("BufReader.readFrame", options)
    if (defect !== undefined) return badInput(defect)
    const prefix: core.Prefix = { size: options.prefix, littleEndian: options.endian === "little" }
    const maxLength = options.maxLength
    const window = this.window
    return Effect.flatMap(
      this.run("readFrame", (eof): Effect.Effect<number | undefined, NetError.NetError> | undefined => {
        if (window.available >= prefix.size) {
          const length = core.readPrefix(window.view(prefix.size), prefix)
          return length > maxLength ? limit("readFrame", maxLength) : Effect.succeed(length)
        }
        if (!eof) return undefined
        return window.available === 0
          ? Effect.succeed(undefined)
          : Effect.fail(new NetError.UnexpectedEof({ syscall: "read", bytesRead: window.available }))
      }),
      (length) => {
        if (length === undefined) return Effect.succeed(Option.none())
        const frame = new Uint8Array(length)
        return Effect.as(this.readExactAfter("readFrame", prefix.size, frame), Option.some(frame))
      }
    )
  }

  get takeBuffered(): Effect.Effect<Uint8Array> {
    return Effect.suspend(() => {
      if (this.busy) return Effect.die(new Error(validate.concurrentUse("BufReader", "takeBuffered")))
      const bytes = this.window.view().slice()
      this.window.consume(bytes.length)
      return Effect.succeed(bytes)
    })
  }
}

export const make = (reader: Io.Reader, options?: BufReader.Options): Effect.Effect<BufReader.BufReader> =>
  Effect.suspend(() => {
    const defect = validate.reader("BufReader.make", reader) ?? validate.capacity("BufReader.make", options)
    return defect !== undefined
      ? badInput(defect)
      : Effect.succeed(new BufReaderImpl(reader, options?.capacity ?? core.DEFAULT_CAPACITY))
  })

export const isBufReader = (u: unknown): u is BufReader.BufReader => validate.hasTypeId(u, TypeId)

const notReader = (what: string, reader: unknown): string | undefined =>
  isBufReader(reader) ? undefined : validate.notBufReader(what, reader)

export const lines = (reader: BufReader.BufReader, options?: BufReader.LineOptions) =>
  runtime.repeatSome(Effect.suspend(() => {
    const defect = notReader("BufReader.lines", reader)
    return defect !== undefined ? badInput(defect) : reader.readLine(options)
  }))

export const frames = (reader: BufReader.BufReader, options: BufReader.FrameOptions) =>
  runtime.repeatSome(Effect.suspend(() => {
    const defect = notReader("BufReader.frames", reader)
    return defect !== undefined ? badInput(defect) : reader.readFrame(options)
  }))
