/**
 * What differs between the lines' test APIs, behind one set of names: the tests
 * shared by both lines live once in test/ (effect3/test links to them) and are
 * compiled against each line's `effect`; where Effect 3 and 4 spell a thing
 * differently, they call this module. It does not load vitest, so the fixtures
 * that child processes run use it too; @effect/vitest's runners are in
 * ./runners.ts. This is the Effect 3 side; test/utils/line.ts is the other.
 */
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import type * as Socket from "@effect/platform/Socket"
import type * as SocketServer from "@effect/platform/SocketServer"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import type * as LogLevel from "effect/LogLevel"
import type * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Tracer from "effect/Tracer"
import type * as SocketAddr from "../../src/SocketAddr.js"

// Running: where this line is, and how child processes run it.

/** The line's package directory (effect3/), holding its src/, test/ and examples/. */
export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")

/**
 * The node options that run this line's TypeScript (a fixture, an example) in a
 * child process: files linked to the root line's resolve their imports from
 * where the link is (this line's src/ and `effect`), the entry file included.
 */
export const tsxArgs: ReadonlyArray<string> = ["--preserve-symlinks", "--preserve-symlinks-main", "--import", "tsx"]

// Services and layers.

/**
 * A class-style service key, as in `class Db extends Service<Db, Shape>()("app/Db") {}`:
 * `Context.Service<Self, Shape>()(key)` on Effect 4, `Context.Tag(key)<Self, Shape>()` here.
 */
export const Service = <Self, Shape>() => <const Key extends string>(key: Key) => Context.Tag(key)<Self, Shape>()

/**
 * A layer of one service made by an effect that may acquire resources in the
 * layer's scope: `Layer.effect` on Effect 4 (it gives the effect the layer's scope),
 * `Layer.scoped` here (where `Layer.effect` gives it none).
 */
export const layerScoped: typeof Layer.scoped = Layer.scoped

/** The layer an effect makes, built when the layer is: `Layer.unwrap` on Effect 4, `Layer.unwrapEffect` here. */
export const layerUnwrap: typeof Layer.unwrapEffect = Layer.unwrapEffect

// Effects and fibers.

/** Suspends until `resume` is called; an effect returned by `register` cancels. */
export const async: <A, E = never>(
  register: (resume: (effect: Effect.Effect<A, E>) => void) => void | Effect.Effect<void>
) => Effect.Effect<A, E> = Effect.async

/** Starts a child fiber of the current one. */
export const fork: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<Fiber.RuntimeFiber<A, E>, never, R> =
  Effect.fork

/** Fails with `onTimeout()` when `self` has not finished within `duration`. */
export const timeoutFail = <A, E, R, E2>(
  self: Effect.Effect<A, E, R>,
  duration: `${number} ${"millis" | "seconds"}`,
  onTimeout: () => E2
): Effect.Effect<A, E | E2, R> => Effect.timeoutFail(self, { duration, onTimeout })

/**
 * `self` with a deadline of `millis`, failing with `onTimeout()` when it did
 * not finish. Not `Effect.timeout`: on Effect 3 its race decides when the timer
 * fires and interrupts `self` a little later, dropping the result of a call
 * that completed in between (README: Effect 3, deadlines). This interrupts the
 * fiber instead, and `Fiber.interrupt` returns a completed call's result.
 */
export const deadline = <A, E, R, E2>(
  self: Effect.Effect<A, E, R>,
  millis: number,
  onTimeout: () => E2
): Effect.Effect<A, E | E2, R> =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(self)
    const done = yield* Effect.timeoutOption(Fiber.await(fiber), `${millis} millis`)
    const exit = done._tag === "Some" ? done.value : yield* Fiber.interrupt(fiber)
    return yield* (Exit.isInterrupted(exit) ? Effect.fail(onTimeout()) : exit)
  })

/**
 * Runs `self`, then again every `spaced` until `until` holds for its result,
 * and returns that result: on Effect 4 `Effect.repeat(self, { schedule, until })`,
 * where a failed run ends the repeat with its failure. Here (filterOrFail
 * then retry) a failed run is run again too.
 */
export const repeatUntil = <A, E, R>(
  self: Effect.Effect<A, E, R>,
  spaced: `${number} ${"millis" | "second" | "seconds"}`,
  until: (a: A) => boolean
): Effect.Effect<A, E | Cause.NoSuchElementException, R> =>
  self.pipe(
    Effect.filterOrFail(until, () => new Cause.NoSuchElementException("not yet")),
    Effect.retry(Schedule.spaced(spaced))
  )

/** Yields to other fibers once. */
export const yieldNow: Effect.Effect<void> = Effect.yieldNow()

/** Runs `self` with a budget of `ops` operations before a fiber yields. */
export const withMaxOpsBeforeYield = (ops: number) => <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.withMaxOpsBeforeYield(self, ops)

/** Runs `f` with the fiber running it. */
export const withFiber = <A>(f: (fiber: Fiber.RuntimeFiber<unknown, unknown>) => Effect.Effect<A>): Effect.Effect<A> =>
  Effect.withFiberRuntime((fiber) => f(fiber))

/** The fiber's exit if it has finished, `undefined` while it runs. */
export const poll = <A, E>(fiber: Fiber.Fiber<A, E>): Effect.Effect<Exit.Exit<A, E> | undefined> =>
  Effect.map(fiber.poll, (exit) => exit._tag === "Some" ? exit.value : undefined)

/** Interrupts `fiber` from a detached fiber and goes on at once, without waiting for it to finish. */
export const interruptFork: <A, E>(fiber: Fiber.Fiber<A, E>) => Effect.Effect<void> = Fiber.interruptFork

/** Completes a Deferred from a callback, outside any fiber (as the README's TLS helper does). */
export const doneUnsafe = <A, E>(self: Deferred.Deferred<A, E>, effect: Effect.Effect<A, E>): void => {
  Deferred.unsafeDone(self, effect)
}

/** Dials a Socket once, as its users do (`@effect/platform`: a `run`), until the connection ends. */
export const dialSocket = (socket: Socket.Socket): Effect.Effect<void, unknown> => socket.run(() => {})

// Exits and causes.

/** Whether an exit is an interruption and nothing else. */
export const isInterrupted = (exit: Exit.Exit<unknown, unknown>): boolean =>
  Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause)

/** The typed failures of a cause, in order. */
export const failures = <E>(cause: Cause.Cause<E>): Array<E> => Array.from(Cause.failures(cause))

/** The defects of a cause, in order. */
export const defects = (cause: Cause.Cause<unknown>): Array<unknown> => Array.from(Cause.defects(cause))

/**
 * The message of a defect raised with one: the defect itself on Effect 4
 * (`Effect.die(message)` dies with the string), the message of the
 * RuntimeException that `Effect.dieMessage(message)` dies with here.
 */
export const dieMessage = (defect: unknown): unknown => (defect as Error).message

// Addresses (a SocketAddr here; `String(addr)` and `.port` are the same on both lines).

/** "IPv4" or "IPv6". */
export const familyOf = (addr: SocketAddr.SocketAddr): "IPv4" | "IPv6" => addr.family

/** The IP address, without brackets or port. */
export const hostOf = (addr: SocketAddr.SocketAddr): string => addr.address

// Logs.

/** A level spelled as Effect 4 does: the same strings on both lines. */
type Level = "All" | "Fatal" | "Error" | "Warn" | "Info" | "Debug" | "Trace" | "None"

const levels: Record<LogLevel.LogLevel["_tag"], Level> = {
  All: "All",
  Fatal: "Fatal",
  Error: "Error",
  Warning: "Warn",
  Info: "Info",
  Debug: "Debug",
  Trace: "Trace",
  None: "None"
}

/** A log entry as a test sees it; `level` is spelled as Effect 4 does ("Error", "Warn", ...). */
export interface LogEntry {
  readonly level: Level
  readonly message: ReadonlyArray<unknown>
  readonly cause: Cause.Cause<unknown>
}

/** A logger that records every entry, and the layer that installs it in place of the default one. */
export const captureLogs = (): { readonly entries: Array<LogEntry>; readonly layer: Layer.Layer<never> } => {
  const entries: Array<LogEntry> = []
  const logger = Logger.make<unknown, void>(({ cause, logLevel, message }) => {
    entries.push({
      level: levels[logLevel._tag],
      message: Array.isArray(message) ? message : [message],
      cause
    })
  })
  return { entries, layer: Logger.replace(Logger.defaultLogger, logger) }
}

// Tracing.

/** A span that records its attributes and the exit it ended with (Effect 3 exports no span class to extend). */
export class RecordedSpan implements Tracer.Span {
  readonly _tag = "Span"
  readonly spanId: string
  readonly traceId = "trace"
  readonly attributes = new Map<string, unknown>()
  status: Tracer.SpanStatus

  constructor(
    readonly name: string,
    readonly parent: Option.Option<Tracer.AnySpan>,
    readonly context: Tracer.Span["context"],
    readonly links: ReadonlyArray<Tracer.SpanLink>,
    startTime: bigint,
    readonly kind: Tracer.SpanKind,
    id: number,
    readonly sampled: boolean
  ) {
    this.spanId = `span-${id}`
    this.status = { _tag: "Started", startTime }
  }

  get exit(): Exit.Exit<unknown, unknown> | undefined {
    return this.status._tag === "Ended" ? this.status.exit : undefined
  }

  end(endTime: bigint, exit: Exit.Exit<unknown, unknown>): void {
    this.status = { _tag: "Ended", startTime: this.status.startTime, endTime, exit }
  }

  attribute(key: string, value: unknown): void {
    this.attributes.set(key, value)
  }

  event(): void {}

  addLinks(): void {}
}

/**
 * A tracer that keeps every span it starts, in order. With `sampled: false` it
 * acts as a sampler that drops them all: every span it makes is unsampled.
 */
export const recordingTracer = (sampled = true) => {
  const spans: Array<RecordedSpan> = []
  const tracer = Tracer.make({
    span: (name, parent, context, links, startTime, kind) => {
      const span = new RecordedSpan(name, parent, context, links, startTime, kind, spans.length + 1, sampled)
      spans.push(span)
      return span
    },
    context: (f) => f()
  })
  return { spans, tracer }
}

// Unix sockets: the line's address record and its Socket API.

/** The `_tag` of a Unix socket's address on this line (@effect/platform's SocketServer.UnixAddress). */
export const unixTag = "UnixAddress"

/** The line's Unix address record for a path, as `connect` and `bind` take it. */
export const unixInput = (path: string): { readonly _tag: "UnixAddress"; readonly path: string } => ({
  _tag: "UnixAddress",
  path
})

/** A SocketServer handler that echoes until the client's end of stream. */
export const socketEchoHandler = (socket: Socket.Socket): Effect.Effect<void> =>
  Effect.ignore(Effect.scoped(Effect.gen(function*() {
    const write = yield* socket.writer
    yield* socket.run((chunk) => write(chunk))
  })))

/** Sends `message` over a Socket (one run) and reads as many bytes back. */
export const socketRoundTrip = (socket: Socket.Socket, message: string): Effect.Effect<string, unknown> =>
  Effect.scoped(Effect.gen(function*() {
    const decoder = new TextDecoder()
    const done = yield* Deferred.make<string>()
    let got = ""
    const write = yield* socket.writer
    const running = yield* Effect.fork(socket.run((chunk) => {
      got += decoder.decode(chunk)
      if (got.length >= message.length) Deferred.unsafeDone(done, Effect.succeed(got))
    }))
    yield* write(message)
    const result = yield* Deferred.await(done)
    yield* Fiber.interrupt(running)
    return result
  }))

/**
 * What a test compares of a SocketServer's address: its text on Effect 4 (an
 * effect/net address prints as host:port), the address record itself here.
 */
export const serverAddress = (address: SocketServer.Address): unknown => address

/** The `serverAddress` of a TCP server listening on `host`:`port` (an IPv4 host). */
export const tcpServerAddress = (host: string, port: number): unknown => ({ _tag: "TcpAddress", hostname: host, port })

/** The line's Socket service tag. */
export { Socket as socketTag } from "@effect/platform/Socket"

/** The line's SocketServer service tag. */
export { SocketServer as socketServerTag } from "@effect/platform/SocketServer"
