/**
 * Stress part 3: fast-check fuzzes the arguments of every public function
 * (DESIGN §4.11). For each call the property is:
 *
 * - calling never throws synchronously, and returns an Effect (a Layer for the layers);
 * - running it (bounded; an interruption by that bound counts as still running)
 *   succeeds, fails with a NetError (the socket adapters: a SocketError or
 *   SocketServerError, as their contract says) whose message is a string, or
 *   dies with a defect whose message is a string;
 * - afterwards (its Scope closed) the process has exactly the fds it had before,
 *   and the Netpoll owns exactly as many.
 *
 * The seed is fixed (./scale.ts, STRESS_SEED to change it); fast-check prints it
 * with the path of the shrunk counterexample on failure, so a failure repeats
 * with `fc.assert(..., { seed, path })`.
 */
import * as fc from "fast-check"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as Sink from "effect/Sink"
import * as Stream from "effect/Stream"
import * as NetError from "../../src/NetError.js"
import * as Netpoll from "../../src/Netpoll.js"
import * as TcpListener from "../../src/TcpListener.js"
import * as TcpStream from "../../src/TcpStream.js"
import { loopTurns, openFds } from "../utils/fds.js"
import { captureLogs, defects, failures, fork, isInterrupted, timeoutFail } from "../utils/line.js"
import { describeNewFds, fdSet } from "./harness.js"
import { type Scale, seed } from "./scale.js"
import { dialLayer, dialSocket, isSocketError } from "./socketLine.js"

type NetpollService = (typeof Netpoll.Netpoll)["Service"]

/** A value built only when a run uses it (a Proxy, a detached buffer), printed by what it is. */
class Special {
  constructor(readonly kind: string, readonly arg?: unknown) {}
  [fc.toStringMethod](): string {
    return this.arg === undefined ? `<${this.kind}>` : `<${this.kind} ${fc.stringify(this.arg)}>`
  }
}

const OPTION_NAMES = [
  "noDelay",
  "keepAlive",
  "backlog",
  "reusePort",
  "ipv6Only",
  "maxConnections",
  "chunkSize",
  "allowHalfOpen",
  "openTimeout",
  "host",
  "port"
]

const throwingProxy = () =>
  new Proxy({}, {
    get: () => {
      throw new Error("fuzz: get trap")
    },
    has: () => {
      throw new Error("fuzz: has trap")
    },
    ownKeys: () => {
      throw new Error("fuzz: ownKeys trap")
    },
    getPrototypeOf: () => {
      throw new Error("fuzz: getPrototypeOf trap")
    },
    getOwnPropertyDescriptor: () => {
      throw new Error("fuzz: getOwnPropertyDescriptor trap")
    }
  })

const throwingGetters = () =>
  Object.defineProperties(
    {},
    Object.fromEntries(OPTION_NAMES.map((name) => [name, {
      enumerable: true,
      get: () => {
        throw new Error(`fuzz: getter ${name}`)
      }
    }]))
  )

const buffer = (kind: string, n: number): unknown => {
  switch (kind) {
    case "Buffer":
      return Buffer.alloc(n, 7)
    case "subarray":
      return new Uint8Array(n + 16).subarray(8, 8 + n)
    case "shared":
      return new Uint8Array(new SharedArrayBuffer(Math.max(n, 1))).subarray(0, n)
    case "detached": {
      const bytes = new Uint8Array(n)
      structuredClone(bytes.buffer, { transfer: [bytes.buffer] })
      return bytes
    }
    case "resizable": {
      const Resizable = ArrayBuffer as unknown as new(length: number, options: { maxByteLength: number }) => ArrayBuffer
      return new Uint8Array(new Resizable(n, { maxByteLength: 2 * n + 16 }))
    }
    case "Int16Array":
      return new Int16Array(n)
    case "Uint8ClampedArray":
      return new Uint8ClampedArray(n)
    case "Float64Array":
      return new Float64Array(n)
    case "DataView":
      return new DataView(new ArrayBuffer(n))
    case "ArrayBuffer":
      return new ArrayBuffer(n)
    case "array":
      return Array.from({ length: Math.min(n, 64) }, (_, i) => i & 0xff)
    case "string":
      return "x".repeat(Math.min(n, 64))
    default:
      return new Uint8Array(n)
  }
}

/** What a run shares with its calls: a listener that accepts and closes at once. */
interface Env {
  /** Its address as `localAddr` gives it (an InetAddress; a SocketAddr on Effect 3). */
  readonly live: { readonly port: number }
}

/** Builds the value a Special stands for; other values as they are (records field by field). */
const materialize = (env: Env, value: unknown): unknown => {
  if (!(value instanceof Special)) return value
  const fields = () =>
    Object.fromEntries(
      Object.entries((value.arg ?? {}) as Record<string, unknown>).map(([key, field]) => [key, materialize(env, field)])
    )
  switch (value.kind) {
    case "record":
      return fields()
    case "nullProto":
      return Object.assign(Object.create(null), fields())
    case "frozen":
      return Object.freeze(fields())
    case "throwingProxy":
      return throwingProxy()
    case "throwingGetters":
      return throwingGetters()
    case "symbol":
      return Symbol("fuzz")
    case "function":
      return () => 1
    case "date":
      return new Date(0)
    case "promise":
      return Promise.resolve(1)
    case "effect":
      return Effect.succeed(1)
    case "buffer": {
      const { kind, n } = value.arg as { kind: string; n: number }
      return buffer(kind, n)
    }
    case "live": {
      const { host, port } = { host: "127.0.0.1", port: env.live.port }
      switch (value.arg) {
        case "string":
          return `${host}:${port}`
        case "localhost":
          return `localhost:${port}`
        case "object":
          return { host, port }
        default:
          return env.live
      }
    }
    default:
      throw new Error(`fuzz: unknown special ${value.kind}`)
  }
}

// Arbitraries.

const primitive: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(
    undefined, null, true, false, 0, -0, 1, -1, 1.5, Number.NaN, Infinity, -Infinity,
    2 ** 31, 2 ** 32, 2 ** 53, Number.MAX_VALUE, Number.MIN_VALUE,
    "", "0", "1", "true", "read", "write", "both", "none", "1 second", "127.0.0.1:0"
  ),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 24 }),
  fc.bigInt()
)

const bufferArb: fc.Arbitrary<unknown> = fc.tuple(
  fc.constantFrom(
    "Uint8Array", "Buffer", "subarray", "shared", "detached", "resizable",
    "Int16Array", "Uint8ClampedArray", "Float64Array", "DataView", "ArrayBuffer", "array", "string"
  ),
  fc.oneof(fc.nat({ max: 64 }), fc.nat({ max: 4096 }), fc.constant(1 << 20))
).map(([kind, n]) => new Special("buffer", { kind, n }))

const special: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom("throwingProxy", "throwingGetters", "symbol", "function", "date", "promise", "effect").map((kind) =>
    new Special(kind)
  ),
  bufferArb
)

/** Anything a caller might pass by mistake, or on purpose. */
const hostile: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: primitive },
  { weight: 3, arbitrary: special },
  { weight: 1, arbitrary: fc.anything({ maxDepth: 2 }) }
)

/** A value that is right for the option half of the time, anything otherwise. */
const field = (valid: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> => fc.oneof(valid, hostile)

/** An options object made of `fields` (each may be left out), in one of its shapes, or anything at all. */
const options = (fields: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<unknown> => {
  const record = fc.record(fields, { requiredKeys: [] })
  return fc.oneof(
    { weight: 6, arbitrary: record.map((r) => new Special("record", r)) },
    { weight: 1, arbitrary: record.map((r) => new Special("nullProto", r)) },
    { weight: 1, arbitrary: record.map((r) => new Special("frozen", r)) },
    { weight: 2, arbitrary: hostile },
    { weight: 2, arbitrary: fc.constant(undefined) }
  )
}

const port = fc.oneof(fc.constant(0), fc.integer({ min: -2, max: 70_000 }), hostile)

const addressString = fc.oneof(
  fc.constantFrom(
    "127.0.0.1:0", "[::1]:0", "localhost:0", "0.0.0.0:0", "127.0.0.1", "127.0.0.1:", ":0", "[::1]", "::1:0",
    "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:1.5", "http://127.0.0.1:0", "127.0.0.1:0x10", " 127.0.0.1:0",
    "[127.0.0.1]:0", "[::1:0", "1.2.3.4.5:80", "999.0.0.1:0", "", "[fe80::1%lo]:0", "127.0.0.1:1"
  ),
  fc.tuple(fc.constantFrom("127.0.0.1", "[::1]", "localhost"), fc.integer({ min: -1, max: 70_000 })).map(([host, p]) => `${host}:${p}`),
  fc.string({ maxLength: 24 })
)

const address = (live: boolean): fc.Arbitrary<unknown> =>
  fc.oneof(
    { weight: live ? 3 : 0, arbitrary: fc.constantFrom("string", "localhost", "object", "value").map((form) => new Special("live", form)) },
    { weight: 3, arbitrary: addressString },
    {
      weight: 2,
      arbitrary: fc.record({ host: field(fc.constantFrom("127.0.0.1", "::1", "localhost", "0.0.0.0", "")), port }, {
        requiredKeys: []
      }).map((r) => new Special("record", r))
    },
    { weight: 2, arbitrary: hostile }
  )

const connectOptions = options({
  noDelay: field(fc.boolean()),
  keepAlive: field(fc.oneof(fc.boolean(), fc.nat({ max: 100_000 })))
})

const bindOptions = options({
  backlog: field(fc.nat({ max: 2048 })),
  reusePort: field(fc.boolean()),
  ipv6Only: field(fc.boolean()),
  noDelay: field(fc.boolean())
})

const chunkSizeOptions = (extra: Record<string, fc.Arbitrary<unknown>> = {}) =>
  options({ chunkSize: field(fc.integer({ min: 1, max: 1 << 17 })), ...extra })

const openTimeout = field(fc.oneof(fc.constantFrom("10 millis", "1 second", 5, 0), fc.nat({ max: 100 })))

// Running one call.

/** An unbounded Effect is given this long; an interruption by this bound counts as still running. */
const RUN_BOUND = "100 millis"
const Bound = Symbol("Bound")

/** A violation of the property, as text; undefined when the call kept it. */
type Verdict = string | undefined

const messageOf = (value: unknown): unknown => {
  try {
    return (value as { readonly message?: unknown } | null)?.message
  } catch (error) {
    return new Error(`reading message threw ${String(error)}`)
  }
}

const describeThrown = (error: unknown): string => {
  try {
    return error instanceof Error ? `${error.name}: ${error.message}` : String(error)
  } catch {
    return Object.prototype.toString.call(error)
  }
}

interface Call {
  /** Calls the public function: must not throw. */
  readonly make: () => unknown
  /** Runs what it returned, bounded; by default as an Effect. */
  readonly run?: (made: unknown) => Effect.Effect<unknown, unknown, Netpoll.Netpoll | Scope.Scope>
  /** Which typed failures the function may fail with: NetErrors by default. */
  readonly expected?: (error: unknown) => boolean
  /** What `make` must return: an Effect by default (a Stream or Sink: any object, judged by running it). */
  readonly returns?: "Effect" | "Layer" | "Stream" | "Sink"
}

/** Calls, runs and judges one call. */
const judge = (call: Call): Effect.Effect<Verdict, never, Netpoll.Netpoll | Scope.Scope> =>
  Effect.gen(function*() {
    let made: unknown
    try {
      made = call.make()
    } catch (error) {
      return `threw synchronously: ${describeThrown(error)}`
    }
    const returns = call.returns ?? "Effect"
    const isObject = (typeof made === "object" && made !== null) || typeof made === "function"
    if (returns === "Effect" ? !Effect.isEffect(made) : returns === "Layer" ? !Layer.isLayer(made) : !isObject) {
      return `returned no ${returns}: ${describeThrown(made)}`
    }
    const run = call.run ?? ((effect) => effect as Effect.Effect<unknown, unknown, Netpoll.Netpoll | Scope.Scope>)
    const exit = yield* Effect.exit(timeoutFail(Effect.suspend(() => run(made)), RUN_BOUND, () => Bound))
    if (Exit.isSuccess(exit) || isInterrupted(exit)) return undefined
    const [error] = failures(exit.cause)
    if (error === Bound) return undefined
    if (error !== undefined) {
      if (!(call.expected ?? NetError.isNetError)(error)) return `failed with something unexpected: ${describeThrown(error)}`
      const message = messageOf(error)
      return typeof message === "string" ? undefined : `failed with an error whose message is ${describeThrown(message)}`
    }
    const [defect] = defects(exit.cause)
    if (defect === undefined) return `ended with an unexpected cause: ${String(exit.cause)}`
    const message = messageOf(defect)
    return typeof message === "string" ? undefined : `died with a defect whose message is not a string: ${describeThrown(defect)}`
  })

/** A connected pair for the stream methods: the client calls; the server sends 4 KiB and then reads everything. */
const pair = (listener: TcpListener.TcpListener) =>
  Effect.gen(function*() {
    const [client, server] = yield* Effect.all([TcpStream.connect(yield* listener.localAddr), listener.accept], {
      concurrency: 2
    })
    yield* Effect.forkScoped(Effect.gen(function*() {
      yield* server.writeAll(new Uint8Array(4096).fill(1))
      const buf = new Uint8Array(64 * 1024)
      while ((yield* server.read(buf)) > 0) {
        // drain
      }
    }).pipe(Effect.ignore))
    return client
  })

interface Target {
  readonly name: string
  readonly args: fc.Arbitrary<ReadonlyArray<unknown>>
  readonly call: (
    env: Env,
    args: ReadonlyArray<unknown>,
    listener: TcpListener.TcpListener
  ) => Effect.Effect<Call, unknown, Netpoll.Netpoll | Scope.Scope>
}

const plain = (make: () => unknown, rest: Omit<Call, "make"> = {}): Effect.Effect<Call> => Effect.succeed({ make, ...rest })

/** A stream method call on a fresh connected stream, or on one closed just before (one run in eight). */
const method = (
  name: string,
  args: fc.Arbitrary<ReadonlyArray<unknown>>,
  invoke: (stream: TcpStream.TcpStream, args: ReadonlyArray<unknown>) => unknown
): Target => ({
  name: `stream.${name}`,
  args: fc.tuple(fc.boolean(), fc.boolean(), fc.boolean(), args).map(([a, b, c, rest]) => [a && b && c, ...rest]),
  call: (env, [closed, ...rest], listener) =>
    Effect.gen(function*() {
      const stream = yield* pair(listener)
      if (closed === true) yield* stream.close
      return { make: () => invoke(stream, rest.map((arg) => materialize(env, arg))) }
    })
})

const targets: ReadonlyArray<Target> = [
  {
    name: "TcpStream.connect(address, options)",
    args: fc.tuple(address(true), connectOptions),
    call: (env, [addr, opts]) => plain(() => TcpStream.connect(materialize(env, addr) as never, materialize(env, opts) as never))
  },
  {
    name: "TcpListener.bind(address, options)",
    args: fc.tuple(address(false), bindOptions),
    call: (env, [addr, opts]) => plain(() => TcpListener.bind(materialize(env, addr) as never, materialize(env, opts) as never))
  },
  {
    name: "TcpListener.serve(listener, handler, options)",
    args: fc.tuple(
      fc.oneof(fc.constant(new Special("listener")), hostile),
      fc.oneof(fc.constantFrom("echo", "fails", "dies", "throws"), hostile),
      options({ maxConnections: field(fc.integer({ min: 1, max: 64 })) })
    ),
    call: (env, [listenerArg, handlerArg, opts]) =>
      Effect.gen(function*() {
        const own = yield* TcpListener.bind("127.0.0.1:0")
        const handlers: Record<string, (stream: TcpStream.TcpStream) => unknown> = {
          echo: (stream) => Effect.asVoid(stream.read(new Uint8Array(16))),
          fails: () => Effect.fail("handler failed"),
          dies: () => Effect.die(new Error("handler died")),
          throws: () => {
            throw new Error("handler threw")
          }
        }
        const listener = listenerArg instanceof Special && listenerArg.kind === "listener" ? own : materialize(env, listenerArg)
        const handler = typeof handlerArg === "string" && handlerArg in handlers ? handlers[handlerArg] : materialize(env, handlerArg)
        return {
          make: () => TcpListener.serve(listener as never, handler as never, materialize(env, opts) as never),
          // serve runs until interrupted: give it a connection, then interrupt it.
          run: (made) =>
            Effect.gen(function*() {
              const fiber = yield* fork(made as Effect.Effect<never, unknown>)
              yield* Effect.scoped(Effect.gen(function*() {
                const client = yield* TcpStream.connect(yield* own.localAddr)
                yield* client.writeAll(new Uint8Array([1]))
                yield* Effect.sleep("10 millis")
              })).pipe(Effect.ignore)
              yield* Fiber.interrupt(fiber)
              const exit = yield* Fiber.await(fiber)
              return yield* (exit as Exit.Exit<unknown, unknown>)
            })
        }
      })
  },
  {
    name: "TcpListener.layerSocketServer(address, options)",
    args: fc.tuple(address(false), options({
      backlog: field(fc.nat({ max: 2048 })),
      reusePort: field(fc.boolean()),
      noDelay: field(fc.boolean()),
      maxConnections: field(fc.integer({ min: 1, max: 64 }))
    })),
    call: (env, [addr, opts]) =>
      plain(() => TcpListener.layerSocketServer(materialize(env, addr) as never, materialize(env, opts) as never), {
        returns: "Layer",
        run: (made) => Layer.build(made as Layer.Layer<unknown, unknown, Netpoll.Netpoll>),
        expected: (error) => isSocketError(error) || NetError.isNetError(error)
      })
  },
  {
    name: "TcpStream.layerSocket(address, options)",
    args: fc.tuple(address(true), options({
      noDelay: field(fc.boolean()),
      keepAlive: field(fc.oneof(fc.boolean(), fc.nat({ max: 100_000 }))),
      openTimeout,
      chunkSize: field(fc.integer({ min: 1, max: 1 << 17 }))
    })),
    call: (env, [addr, opts]) =>
      plain(() => TcpStream.layerSocket(materialize(env, addr) as never, materialize(env, opts) as never), {
        returns: "Layer",
        run: (made) => dialLayer(made as Parameters<typeof dialLayer<Netpoll.Netpoll>>[0]),
        expected: (error) => isSocketError(error) || NetError.isNetError(error)
      })
  },
  {
    name: "TcpStream.makeSocket(open, options)",
    args: fc.tuple(
      fc.oneof(fc.constant(new Special("connect")), hostile),
      options({ openTimeout, chunkSize: field(fc.integer({ min: 1, max: 1 << 17 })) })
    ),
    call: (env, [open, opts]) =>
      plain(() =>
        TcpStream.makeSocket(
          (open instanceof Special && open.kind === "connect" ? TcpStream.connect(env.live as never) : materialize(env, open)) as never,
          materialize(env, opts) as never
        ), {
        run: (made) => Effect.flatMap(made as Effect.Effect<unknown>, (socket) => dialSocket(socket)),
        expected: (error) => isSocketError(error) || NetError.isNetError(error)
      })
  },
  {
    name: "TcpStream.toStream(stream, options)",
    args: fc.tuple(fc.oneof({ weight: 4, arbitrary: fc.constant(new Special("stream")) }, hostile), chunkSizeOptions()),
    call: (env, [streamArg, opts], listener) =>
      Effect.gen(function*() {
        const stream = streamArg instanceof Special && streamArg.kind === "stream" ? yield* pair(listener) : materialize(env, streamArg)
        return {
          make: () => TcpStream.toStream(stream as never, materialize(env, opts) as never),
          returns: "Stream" as const,
          run: (made: unknown) => Stream.runDrain(Stream.take(made as Stream.Stream<Uint8Array, unknown>, 1))
        }
      })
  },
  {
    name: "TcpStream.toSink(stream) fed any elements",
    args: fc.tuple(
      fc.oneof({ weight: 4, arbitrary: fc.constant(new Special("stream")) }, hostile),
      fc.array(fc.oneof(bufferArb, hostile), { maxLength: 4 })
    ),
    call: (env, [streamArg, elements], listener) =>
      Effect.gen(function*() {
        const stream = streamArg instanceof Special && streamArg.kind === "stream" ? yield* pair(listener) : materialize(env, streamArg)
        return {
          make: () => TcpStream.toSink(stream as never),
          returns: "Sink" as const,
          run: (made: unknown) =>
            Stream.run(
              Stream.fromIterable((elements as ReadonlyArray<unknown>).map((e) => materialize(env, e))),
              made as Sink.Sink<void, unknown, never, unknown>
            )
        }
      })
  },
  {
    name: "TcpStream.toDuplex(stream, options)",
    args: fc.tuple(
      fc.oneof({ weight: 4, arbitrary: fc.constant(new Special("stream")) }, hostile),
      chunkSizeOptions({ allowHalfOpen: field(fc.boolean()) })
    ),
    call: (env, [streamArg, opts], listener) =>
      Effect.gen(function*() {
        const stream = streamArg instanceof Special && streamArg.kind === "stream" ? yield* pair(listener) : materialize(env, streamArg)
        return { make: () => TcpStream.toDuplex(stream as never, materialize(env, opts) as never) }
      })
  },
  method("read(buf)", fc.tuple(fc.oneof(bufferArb, hostile)), (s, [buf]) => s.read(buf as never)),
  method("write(buf)", fc.tuple(fc.oneof(bufferArb, hostile)), (s, [buf]) => s.write(buf as never)),
  method("readExact(buf)", fc.tuple(fc.oneof(bufferArb, hostile)), (s, [buf]) => s.readExact(buf as never)),
  method("writeAll(buf)", fc.tuple(fc.oneof(bufferArb, hostile)), (s, [buf]) => s.writeAll(buf as never)),
  method(
    "shutdown(how)",
    fc.tuple(fc.oneof(fc.constantFrom("read", "write", "both"), hostile)),
    (s, [how]) => s.shutdown(how as never)
  ),
  method("setNoDelay(on)", fc.tuple(fc.oneof(fc.boolean(), hostile)), (s, [on]) => s.setNoDelay(on as never)),
  method(
    "setKeepAlive(on, initialDelayMillis)",
    fc.tuple(fc.oneof(fc.boolean(), hostile), fc.oneof(fc.constant(undefined), fc.nat({ max: 1 << 20 }), hostile)),
    (s, [on, delay]) => s.setKeepAlive(on as never, delay as never)
  )
]

/** Every error class the NetError module exports, found by what it is, so a new one is fuzzed too. */
const NET_ERRORS: ReadonlyArray<string> = Object.keys(NetError).filter((name) => {
  const value = (NetError as Record<string, unknown>)[name]
  return typeof value === "function" && value.prototype instanceof Error
})

/** What a run is judged against: the fds open and owned before it. */
interface Baseline {
  fds: Map<string, string>
  count: number
  owned: number
}

/**
 * Whether the process and the Netpoll are back to `baseline`, waiting up to 0.5 s
 * for closes in flight. A leak is described (which sockets, their addresses),
 * and the baseline moves to it, so that the runs after it (and the shrinking)
 * are judged by their own leaks only.
 */
const settled = (netpoll: NetpollService, baseline: Baseline) =>
  Effect.gen(function*() {
    const start = Date.now()
    while (true) {
      yield* loopTurns
      if (openFds() === baseline.count && netpoll.size === baseline.owned) return undefined
      if (Date.now() - start > 500) {
        const leak = `fds: ${openFds()} open, ${baseline.count} before; the Netpoll owns ${netpoll.size}, ` +
          `${baseline.owned} before; new fds: ${describeNewFds(baseline.fds)}`
        baseline.fds = fdSet()
        baseline.count = openFds()
        baseline.owned = netpoll.size
        return leak
      }
      yield* Effect.sleep("2 millis")
    }
  })

/** Registers part 3 at `scale`. */
export const fuzzSuite = (scale: Scale): void => {
  describe(`stress: fuzzed arguments of every public function (fast-check seed ${seed}, ${scale.fuzzRuns} runs each)`, () => {
    for (const target of targets) {
      it(`${target.name}: never throws, fails typed or dies with a message, leaks no fd`, async () => {
        const logs = captureLogs()
        const program = Effect.gen(function*() {
          const netpoll = yield* Netpoll.Netpoll
          // The live listener accepts and closes every connection at once.
          const live = yield* TcpListener.bind("127.0.0.1:0")
          yield* Effect.forkScoped(TcpListener.serve(live, () => Effect.void))
          const liveAddr = yield* live.localAddr
          const env: Env = { live: liveAddr }
          const listener = yield* TcpListener.bind("127.0.0.1:0")
          yield* loopTurns
          const baseline: Baseline = { fds: fdSet(), count: openFds(), owned: netpoll.size }
          let firstFailure: string | undefined

          const runOne = (args: ReadonlyArray<unknown>) =>
            Effect.gen(function*() {
              const exit = yield* Effect.exit(Effect.scoped(Effect.flatMap(target.call(env, args, listener), judge)))
              if (Exit.isFailure(exit)) return `the harness failed: ${String(exit.cause)}`
              return exit.value ?? (yield* settled(netpoll, baseline))
            }).pipe(Effect.provideService(Netpoll.Netpoll, netpoll), Effect.provide(logs.layer))

          yield* Effect.promise(() =>
            fc.assert(
              fc.asyncProperty(target.args, async (args) => {
                const verdict = await Effect.runPromise(runOne(args))
                if (verdict === undefined) return
                // Shrinking looks for a smaller input that fails too: the first one is kept as well.
                firstFailure ??= `${fc.stringify(args)}: ${verdict}`
                throw new Error(verdict)
              }),
              { seed, numRuns: scale.fuzzRuns, endOnFailure: false }
            ).then(
              () => undefined,
              (error: unknown) => {
                console.log(
                  `[stress fuzz] ${target.name}: failed with fast-check seed ${seed}; the first failing input: ${firstFailure}`
                )
                return error
              }
            )
          ).pipe(Effect.flatMap((error) => error === undefined ? Effect.void : Effect.die(error)))
        }).pipe(Effect.scoped, Effect.provide(Netpoll.layer))
        await Effect.runPromise(program)
      }, scale.name === "full" ? 600_000 : 60_000)
    }

    // A getter that throws in the fields throws from the constructor, as any class that copies its fields does: not fuzzed.
    it("NetError constructors take any field values, and then their message is a string and never throws", () => {
      fc.assert(
        fc.property(fc.constantFrom(...NET_ERRORS), fc.oneof(
          fc.record({
            syscall: field(fc.string()),
            errno: field(fc.constantFrom("ECONNRESET", "EMFILE")),
            address: field(fc.string()),
            reason: field(fc.string()),
            bytesRead: field(fc.nat())
          }, { requiredKeys: [] }).map((r) => new Special("record", r)),
          fc.constant(new Special("nullProto", { errno: new Special("symbol") }))
        ), (name, fields) => {
          const Constructor = (NetError as Record<string, unknown>)[name] as new(fields: unknown) => NetError.NetError
          const error = new Constructor(materialize({ live: { port: 1 } }, fields))
          expect(error._tag).toBe(name)
          expect(NetError.isNetError(error)).toBe(true)
          expect(typeof messageOf(error)).toBe("string")
        }),
        { seed, numRuns: scale.fuzzRuns * 4 }
      )
    })

    it("NetError.isNetError answers a boolean for anything", () => {
      fc.assert(
        fc.property(hostile, (value) => {
          expect(typeof NetError.isNetError(materialize({ live: { port: 1 } }, value))).toBe("boolean")
        }),
        { seed, numRuns: scale.fuzzRuns * 4 }
      )
    })
  })
}
