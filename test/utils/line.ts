/**
 * What differs between the lines' test APIs, behind one set of names: the tests
 * shared by both lines live once in test/ (effect3/test links to them) and are
 * compiled against each line's `effect`; where Effect 3 and 4 spell a thing
 * differently, they call this module. It does not load vitest, so the fixtures
 * that child processes run use it too; @effect/vitest's runners are in
 * ./runners.ts. This is the Effect 4 side; effect3/test/utils/line.ts is the other.
 */
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import type * as LogLevel from "effect/LogLevel"
import * as NetAddress from "effect/net/NetAddress"
import * as Schedule from "effect/Schedule"
import * as Scheduler from "effect/Scheduler"
import type * as Socket from "effect/socket/Socket"
import * as Tracer from "effect/Tracer"

// Running: where this line is, and how child processes run it.

/** The line's package directory (here the repository root), holding its src/, test/ and examples/. */
export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")

/** The node options that run this line's TypeScript (a fixture, an example) in a child process. */
export const tsxArgs: ReadonlyArray<string> = ["--import", "tsx"]

// Services and layers.

/**
 * A class-style service key, as in `class Db extends Service<Db, Shape>()("app/Db") {}`:
 * `Context.Service<Self, Shape>()(key)` here, `Context.Tag(key)<Self, Shape>()` on Effect 3.
 */
export const Service = <Self, Shape>() => <const Key extends string>(key: Key) => Context.Service<Self, Shape>()(key)

/**
 * A layer of one service made by an effect that may acquire resources in the
 * layer's scope: `Layer.effect` here (it gives the effect the layer's scope),
 * `Layer.scoped` on Effect 3 (where `Layer.effect` gives it none).
 */
export const layerScoped: typeof Layer.effect = Layer.effect

/** The layer an effect makes, built when the layer is: `Layer.unwrap` here, `Layer.unwrapEffect` on Effect 3. */
export const layerUnwrap: typeof Layer.unwrap = Layer.unwrap

// Effects and fibers.

/** Suspends until `resume` is called; an effect returned by `register` cancels. */
export const async: <A, E = never>(
  register: (resume: (effect: Effect.Effect<A, E>) => void) => void | Effect.Effect<void>
) => Effect.Effect<A, E> = Effect.callback

/** Starts a child fiber of the current one. */
export const fork: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<Fiber.Fiber<A, E>, never, R> =
  Effect.forkChild

/** Fails with `onTimeout()` when `self` has not finished within `duration`. */
export const timeoutFail = <A, E, R, E2>(
  self: Effect.Effect<A, E, R>,
  duration: `${number} ${"millis" | "seconds"}`,
  onTimeout: () => E2
): Effect.Effect<A, E | E2, R> => Effect.timeoutOrElse(self, { duration, orElse: () => Effect.fail(onTimeout()) })

/**
 * `self` with a deadline of `millis`, failing with `onTimeout()` when it did
 * not finish: `Effect.timeout`, which on this line never drops the result of a
 * call that completed (the Effect 3 twin interrupts the fiber instead).
 */
export const deadline = <A, E, R, E2>(
  self: Effect.Effect<A, E, R>,
  millis: number,
  onTimeout: () => E2
): Effect.Effect<A, E | E2, R> => timeoutFail(self, `${millis} millis`, onTimeout)

/**
 * Runs `self`, then again every `spaced` until `until` holds for its result,
 * and returns that result: `Effect.repeat(self, { schedule, until })` here,
 * where a failed run ends the repeat with its failure. On Effect 3 (filterOrFail
 * then retry) a failed run is run again too.
 */
export const repeatUntil = <A, E, R>(
  self: Effect.Effect<A, E, R>,
  spaced: `${number} ${"millis" | "second" | "seconds"}`,
  until: (a: A) => boolean
): Effect.Effect<A, E, R> => Effect.repeat(self, { schedule: Schedule.spaced(spaced), until })

/** Yields to other fibers once. */
export const yieldNow: Effect.Effect<void> = Effect.yieldNow

/** Runs `self` with a budget of `ops` operations before a fiber yields. */
export const withMaxOpsBeforeYield = (ops: number) => <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.provideService(self, Scheduler.MaxOpsBeforeYield, ops)

/** Runs `f` with the fiber running it. */
export const withFiber = <A>(f: (fiber: Fiber.Fiber<unknown, unknown>) => Effect.Effect<A>): Effect.Effect<A> =>
  Effect.withFiber(f)

/** The fiber's exit if it has finished, `undefined` while it runs. */
export const poll = <A, E>(fiber: Fiber.Fiber<A, E>): Effect.Effect<Exit.Exit<A, E> | undefined> =>
  Effect.sync(() => fiber.pollUnsafe())

/** Interrupts `fiber` from a detached fiber and goes on at once, without waiting for it to finish. */
export const interruptFork = <A, E>(fiber: Fiber.Fiber<A, E>): Effect.Effect<void> =>
  Effect.asVoid(Effect.forkDetach(Fiber.interrupt(fiber)))

/** Completes a Deferred from a callback, outside any fiber (as the README's TLS helper does). */
export const doneUnsafe = <A, E>(self: Deferred.Deferred<A, E>, effect: Effect.Effect<A, E>): void => {
  Deferred.doneUnsafe(self, effect)
}

/** Dials a Socket once, as its users do (`effect/socket`: acquiring `reader`), and lets it go. */
export const dialSocket = (socket: Socket.Socket): Effect.Effect<void, unknown> => Effect.scoped(Effect.asVoid(socket.reader))

// Exits and causes.

/** Whether an exit is an interruption and nothing else. */
export const isInterrupted = (exit: Exit.Exit<unknown, unknown>): boolean =>
  Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause)

/** The typed failures of a cause, in order. */
export const failures = <E>(cause: Cause.Cause<E>): Array<E> =>
  cause.reasons.filter(Cause.isFailReason).map((reason) => reason.error)

/** The defects of a cause, in order. */
export const defects = (cause: Cause.Cause<unknown>): Array<unknown> =>
  cause.reasons.filter(Cause.isDieReason).map((reason) => reason.defect)

/**
 * The message of a defect raised with one: the defect itself here
 * (`Effect.die(message)` dies with the string), the message of the
 * RuntimeException that `Effect.dieMessage(message)` dies with on Effect 3.
 */
export const dieMessage = (defect: unknown): unknown => defect

// Addresses (an effect/net InetAddress here; `String(addr)` and `.port` are the same on both lines).

/** "IPv4" or "IPv6". */
export const familyOf = (addr: NetAddress.InetAddress): "IPv4" | "IPv6" => NetAddress.familyOf(addr)

/** The IP address, without brackets or port. */
export const hostOf = (addr: NetAddress.InetAddress): string => NetAddress.formatHost(addr)

// Logs.

/** A log entry as a test sees it; `level` is spelled as Effect 4 does ("Error", "Warn", ...). */
export interface LogEntry {
  readonly level: LogLevel.LogLevel
  readonly message: ReadonlyArray<unknown>
  readonly cause: Cause.Cause<unknown>
}

/** A logger that records every entry, and the layer that installs it in place of the default one. */
export const captureLogs = (): { readonly entries: Array<LogEntry>; readonly layer: Layer.Layer<never> } => {
  const entries: Array<LogEntry> = []
  const logger = Logger.make<unknown, void>(({ cause, logLevel, message }) => {
    entries.push({ level: logLevel, message: Array.isArray(message) ? message : [message], cause })
  })
  return { entries, layer: Logger.layer([logger]) }
}

// Tracing.

/** Effect's own span, with the exit it ended with at hand. */
export class RecordedSpan extends Tracer.NativeSpan {
  get exit(): Exit.Exit<unknown, unknown> | undefined {
    return this.status._tag === "Ended" ? this.status.exit : undefined
  }
}

/**
 * A tracer that keeps every span it starts, in order. With `sampled: false` it
 * acts as a sampler that drops them all: every span it makes is unsampled.
 */
export const recordingTracer = (sampled = true) => {
  const spans: Array<RecordedSpan> = []
  const tracer = Tracer.make({
    span: (options) => {
      const span = new RecordedSpan(sampled ? options : { ...options, sampled: false })
      spans.push(span)
      return span
    }
  })
  return { spans, tracer }
}

// Unix sockets: the line's address record and its Socket API.

/** The `_tag` of a Unix socket's address on this line (effect/net's UnixPathAddress). */
export const unixTag = "UnixPathAddress"

/** The line's Unix address record for a path, as `connect` and `bind` take it. */
export const unixInput = (path: string): NetAddress.UnixPathAddress => NetAddress.unixPathAddress(path)

/** A SocketServer handler that echoes until the client's end of stream. */
export const socketEchoHandler = (socket: Socket.Socket): Effect.Effect<void> =>
  Effect.ignore(Effect.scoped(Effect.gen(function*() {
    const reader = yield* socket.reader
    const writer = yield* socket.writer
    while (true) yield* writer.writeAll(yield* reader.pull)
  })))

/** Sends `message` over a Socket (one dial) and reads as many bytes back. */
export const socketRoundTrip = (socket: Socket.Socket, message: string): Effect.Effect<string, unknown> =>
  Effect.scoped(Effect.gen(function*() {
    const reader = yield* socket.reader
    const writer = yield* socket.writer
    yield* writer.write(message)
    const decoder = new TextDecoder()
    let got = ""
    while (got.length < message.length) for (const chunk of yield* reader.pull) got += typeof chunk === "string" ? chunk : decoder.decode(chunk)
    return got
  }))

/**
 * What a test compares of a SocketServer's address: its text here (an effect/net
 * address prints as host:port), the address record itself on Effect 3.
 */
export const serverAddress = (address: NetAddress.SocketAddress): unknown => String(address)

/** The `serverAddress` of a TCP server listening on `host`:`port` (an IPv4 host). */
export const tcpServerAddress = (host: string, port: number): unknown => `${host}:${port}`

/** The line's Socket service tag. */
export { Socket as socketTag } from "effect/socket/Socket"

/** The line's SocketServer service tag. */
export { SocketServer as socketServerTag } from "effect/socket/SocketServer"
