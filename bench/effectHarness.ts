/**
 * The measuring harness the Effect implementations share, for both lines
 * (effect3/bench/effectHarness.ts links here and is compiled against Effect 3). On the server:
 * counting finished connections and bytes, timing the CPU window from
 * listening to the last connection's end, and the idle memory figures. On the
 * client: the round-trip scenarios around each library's own ping-pong, and
 * pipeline's batches around each library's own send and receive.
 */
import type * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { ClientReport, Params, ServerReport, TcpScenario } from "./protocol.js"
import { expectedConnections, IDLE_SETTLE_MILLIS, memorySnapshot, startWindow } from "./protocol.js"

/** What a server's handlers report back to the harness. */
export interface Tally {
  /** Marks one connection as finished. */
  readonly finishOne: Effect.Effect<void>
  /** Adds `n` bytes received; returns the total so far. */
  readonly count: (n: number) => number
  /** Adds one command checked and answered (pipeline). */
  readonly countCommand: () => void
  /** Fails the measurement with a handler's cause. */
  readonly fail: (cause: Cause.Cause<unknown>) => Effect.Effect<void>
}

/**
 * Runs one server measurement: `start` listens (already bound, so that the
 * memory baseline excludes the listener), forks the accept loop and returns
 * the port; the report resolves once every expected connection has finished.
 */
export const runServer = (
  scenario: TcpScenario,
  params: Params,
  listening: (port: number) => void,
  start: (tally: Tally) => Effect.Effect<number, never, Scope.Scope>
): Effect.Effect<ServerReport, unknown, Scope.Scope> =>
  Effect.gen(function*() {
    const done = yield* Deferred.make<void, unknown>()
    const expected = expectedConnections(scenario, params)
    let finished = 0
    let bytes = 0
    let commands = 0
    const tally: Tally = {
      finishOne: Effect.suspend(() => ++finished === expected ? Deferred.succeed(done, undefined) : Effect.void),
      count: (n) => bytes += n,
      countCommand: () => {
        commands++
      },
      fail: (cause) => Deferred.failCause(done, cause)
    }
    const baseline = memorySnapshot()
    const window = startWindow()
    listening(yield* start(tally))
    yield* Deferred.await(done)
    const { cpu } = window.stop()
    if (scenario === "pipeline") return { cpu, connections: finished, bytes, commands }
    if (scenario !== "idle") return { cpu, connections: finished, bytes }
    yield* Effect.sleep(IDLE_SETTLE_MILLIS)
    const after = memorySnapshot()
    const memory = { rssBefore: baseline.rss, rssAfter: after.rss, heapBefore: baseline.heap, heapAfter: after.heap }
    return { cpu, connections: finished, bytes, memory }
  })

/**
 * `pingpong` (one connection) and `many` (all connected first, then all at
 * once), timed from after connecting to the last echo.
 */
export const roundTrips = <C, E, R>(
  scenario: "pingpong" | "many",
  params: Params,
  open: Effect.Effect<C, E, R>,
  pingPong: (connection: C, rounds: number) => Effect.Effect<void, E, R>
): Effect.Effect<ClientReport, E, R> =>
  Effect.gen(function*() {
    const connections = scenario === "pingpong" ? 1 : params.manyConnections
    const rounds = scenario === "pingpong" ? params.roundTrips : params.manyRoundTrips
    const opened = yield* Effect.all(Array.from({ length: connections }, () => open), { concurrency: "unbounded" })
    const window = startWindow()
    yield* Effect.forEach(opened, (connection) => pingPong(connection, rounds), {
      concurrency: "unbounded",
      discard: true
    })
    return { ...window.stop(), operations: connections * rounds }
  })

/**
 * `pipeline`: on one connection, `pipelineBatches` times, `send` a batch of
 * commands, then `receive` the batch's replies (checking each one); timed from
 * after connecting to the last batch's last reply.
 */
export const pipelineBatches = <C, E, R>(
  params: Params,
  open: Effect.Effect<C, E, R>,
  send: (connection: C) => Effect.Effect<void, E, R>,
  receive: (connection: C, replies: number) => Effect.Effect<void, E, R>
): Effect.Effect<ClientReport, E, R> =>
  Effect.gen(function*() {
    const connection = yield* open
    const window = startWindow()
    for (let batch = 0; batch < params.pipelineBatches; batch++) {
      yield* send(connection)
      yield* receive(connection, params.pipelineCommands)
    }
    return { ...window.stop(), operations: params.pipelineBatches * params.pipelineCommands }
  })

/**
 * `accept`: short-lived connections, `acceptConcurrency` at a time, each one
 * opened and read to its end by `receive`, which returns the bytes it got
 * (the server sends exactly one before closing).
 */
export const shortConnections = <E, R>(
  params: Params,
  receive: Effect.Effect<number, E, R | Scope.Scope>
): Effect.Effect<ClientReport, E, Exclude<R, Scope.Scope>> =>
  Effect.gen(function*() {
    const window = startWindow()
    yield* Effect.forEach(
      Array.from({ length: params.acceptConnections }),
      () =>
        Effect.flatMap(Effect.scoped(receive), (received) =>
          received === 1 ? Effect.void : Effect.die(new Error(`expected 1 byte before EOF, got ${received}`))),
      { concurrency: params.acceptConcurrency, discard: true }
    )
    return { ...window.stop(), operations: params.acceptConnections }
  })
