/**
 * Stress part 1: connect/accept/read/write/close cycles on loopback, each
 * interrupted at random points (connect, accept, read, readExact, writeAll,
 * close, the whole cycle), with bounded concurrency. Afterwards the process's
 * fds, the Netpoll's owned fds and parked fibers are back to their baseline,
 * and the heap (after full collections) is within a bound of its baseline.
 *
 * The protocol makes lost or duplicated bytes visible: the client sends a
 * pseudo-random message, half-closes and reads the echo to its end; whatever it
 * reads must be an exact prefix of what it sent, and the whole of it when
 * nothing destructive happened to that cycle. Interrupted reads and readExacts
 * are not destructive (they consume nothing; a readExact keeps its part for the
 * next read), so the client goes on reading after them; an interrupted
 * writeAll or connect, a server told to misbehave, or a deadline on the whole
 * cycle are destructive, and only the prefix rule holds then.
 */
import { expect } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Netpoll from "../../src/Netpoll.js"
import * as TcpListener from "../../src/TcpListener.js"
import * as TcpStream from "../../src/TcpStream.js"
import { timeoutFail } from "../utils/line.js"
import { layer } from "../utils/runners.js"
import {
  chaos,
  describeDefect,
  firstDifference,
  heapUsed,
  int,
  isPrefix,
  labelOf,
  MB,
  type Outcome,
  outcomeOf,
  rng,
  sequence,
  settlesTo,
  snapshot,
  Tally
} from "./harness.js"
import { type Scale, seed } from "./scale.js"

const LISTENERS = 4
/** The first byte of a message: 1 tells the server to misbehave on this connection. */
const DESTRUCTIVE = 1

/** What went wrong, kept for the assertion (the first few only). */
class Findings {
  readonly list: Array<string> = []
  count = 0
  add(what: string): void {
    this.count++
    if (this.list.length < 20) this.list.push(what)
  }
}

/**
 * The server side of one connection: echoes until end of stream. Reads are
 * interrupted at random and retried (that loses nothing); on a connection whose
 * first byte says so, writes are interrupted too and the handler may close
 * early, both of which end the connection.
 */
const serveConnection = (
  stream: TcpStream.TcpStream,
  random: () => number,
  tally: Tally,
  findings: Findings
) =>
  Effect.gen(function*() {
    const buf = new Uint8Array(int(random, 1, 16 * 1024))
    let destructive: boolean | undefined = undefined
    while (true) {
      const read = yield* chaos(random, 0.1, stream.read(buf))
      if (read._tag === "Interrupted") continue
      if (read._tag !== "Done") return record(read, "server read", tally, findings)
      const n = read.value
      if (n === 0) return tally.add("server: end of stream")
      destructive ??= (buf[0]! & DESTRUCTIVE) !== 0
      if (destructive && random() < 0.1) return tally.add("server: closed early")
      const chunk = buf.subarray(0, n)
      const written = destructive ? yield* chaos(random, 0.3, stream.writeAll(chunk)) : outcomeOf(yield* Effect.exit(stream.writeAll(chunk)))
      if (written._tag !== "Done") return record(written, "server writeAll", tally, findings)
    }
  })

const record = (outcome: Outcome<unknown>, where: string, tally: Tally, findings: Findings): void => {
  tally.add(`${where}: ${labelOf(outcome)}`)
  if (outcome._tag === "Died") findings.add(`${where} died: ${describeDefect(outcome.defect)}`)
}

/** Accepts forever, each accept interrupted at random, serving each connection in turn. */
const acceptor = (listener: TcpListener.TcpListener, random: () => number, tally: Tally, findings: Findings) =>
  Effect.forever(Effect.scoped(Effect.gen(function*() {
    const accepted = yield* chaos(random, 0.2, listener.accept)
    if (accepted._tag !== "Done") return record(accepted, "accept", tally, findings)
    yield* serveConnection(accepted.value, random, tally, findings)
  })))

/**
 * Reads the echo of a `length`-byte message until end of stream, with `read`
 * and `readExact` in turn, each interrupted at random and then retried.
 * Yields the bytes read and how reading ended.
 */
interface Echo {
  readonly got: Uint8Array
  /** "end of stream", "UnexpectedEof", "overflow", or the label of the outcome that ended reading. */
  readonly end: string
  readonly outcome: Outcome<unknown> | undefined
}

const readEcho = (stream: TcpStream.TcpStream, random: () => number, length: number): Effect.Effect<Echo> =>
  Effect.gen(function*() {
    // Room past the message: bytes duplicated by the library would land there.
    const got = new Uint8Array(length + 64)
    let n = 0
    const ended = (end: string, outcome?: Outcome<unknown>): Echo => ({ got: got.subarray(0, n), end, outcome })
    while (true) {
      if (n >= got.length) return ended("overflow")
      const remaining = length - n
      if (remaining > 0 && random() < 0.4) {
        const part = got.subarray(n, n + int(random, 1, Math.min(remaining, 32 * 1024)))
        const exact = yield* chaos(random, 0.15, stream.readExact(part))
        if (exact._tag === "Done") n += part.length
        else if (exact._tag === "Interrupted") continue // its bytes, if any, go to the next read
        else if (exact._tag === "Failed" && exact.error._tag === "UnexpectedEof") {
          n += exact.error.bytesRead
          return ended("UnexpectedEof")
        } else return ended(labelOf(exact), exact)
      } else {
        const part = got.subarray(n, n + int(random, 1, 32 * 1024))
        const read = yield* chaos(random, 0.15, stream.read(part))
        if (read._tag === "Interrupted") continue
        if (read._tag !== "Done") return ended(labelOf(read), read)
        if (read.value === 0) return ended("end of stream")
        n += read.value
      }
    }
  })

/** What cycle `i` sends and how: the same for the same seed and index. */
const plan = (i: number, listeners: number) => {
  const random = rng(seed ^ Math.imul(i + 1, 0x9e3779b1))
  const destructiveServer = random() < 0.25
  const large = random() < 0.03
  const length = large ? int(random, 16 * 1024, 256 * 1024) : int(random, 1, 4096)
  const message = sequence(seed + i, length)
  message[0] = destructiveServer ? DESTRUCTIVE : 0
  const listener = int(random, 0, listeners - 1)
  const deadline = random() < 0.05 ? int(random, 0, 5) : undefined
  return { random, destructiveServer, large, length, message, listener, deadline }
}

/**
 * Where the 16 bytes received at `at` come from, for a failure message: this
 * message at another offset (reordered or duplicated), another cycle's message
 * (bytes of another connection), or nowhere known.
 */
const originOf = (got: Uint8Array, at: number, i: number, listeners: number): string => {
  const window = Buffer.from(got.subarray(at, Math.min(at + 16, got.length)))
  if (window.length < 4) return "too few bytes to tell where they come from"
  const find = (j: number) => Buffer.from(plan(j, listeners).message).indexOf(window)
  const own = find(i)
  if (own >= 0) return `they are this cycle's bytes ${own}.. (reordered or duplicated)`
  for (let d = 1; d <= 400; d++) {
    for (const j of [i - d, i + d]) {
      if (j < 0) continue
      const offset = find(j)
      if (offset >= 0) return `they are cycle ${j}'s bytes ${offset}.. (another connection's)`
    }
  }
  return "they are in no message of the cycles around it"
}

const cycle = (
  i: number,
  addrs: ReadonlyArray<string>,
  tally: Tally,
  findings: Findings
) => {
  const { deadline, destructiveServer, large, length, listener, message, random } = plan(i, addrs.length)
  const addr = addrs[listener]!
  const readRandom = rng(seed ^ Math.imul(i + 1, 0x85ebca6b))

  const body = Effect.scoped(Effect.gen(function*() {
    const connected = yield* chaos(random, 0.1, TcpStream.connect(addr))
    if (connected._tag !== "Done") return record(connected, "connect", tally, findings)
    const stream = connected.value
    let wroteAll = false
    const writer = Effect.gen(function*() {
      const written = yield* chaos(random, 0.1, stream.writeAll(message))
      wroteAll = written._tag === "Done"
      if (!wroteAll) record(written, "client writeAll", tally, findings)
      const shut = outcomeOf(yield* Effect.exit(stream.shutdown("write")))
      if (shut._tag !== "Done") record(shut, "client shutdown", tally, findings)
    })
    const reader = readEcho(stream, readRandom, length)
    // A large message is echoed while it is written; a small one fits in the socket buffers.
    const [, echo] = large
      ? yield* Effect.all([writer, reader], { concurrency: 2 })
      : [yield* writer, yield* reader]
    if (echo.outcome?._tag === "Died") findings.add(`cycle ${i}: client read died: ${describeDefect(echo.outcome.defect)}`)
    if (!isPrefix(echo.got, message)) {
      let at = 0
      while (at < echo.got.length && echo.got[at] === message[at]) at++
      findings.add(
        `cycle ${i}: echo is not a prefix of the message: ${firstDifference(echo.got, message)}; ` +
          originOf(echo.got, at, i, addrs.length)
      )
    } else if (wroteAll && !destructiveServer) {
      if (echo.end !== "end of stream" || echo.got.length !== length) {
        findings.add(
          `cycle ${i}: nothing destructive happened, yet the echo ended with ${echo.end} after ${echo.got.length} of ${length} bytes`
        )
      } else tally.add("cycle: whole echo")
    } else tally.add(`cycle: partial echo, ${echo.end}`)
    yield* chaos(random, 0.2, stream.close)
  }))

  return deadline === undefined
    ? Effect.flatMap(
      Effect.exit(timeoutFail(body, "20000 millis", () => "hung")),
      (exit) =>
        Effect.sync(() => {
          const outcome = outcomeOf(exit)
          if (outcome._tag === "Died") findings.add(`cycle ${i}: ${describeDefect(outcome.defect)}`)
        })
    )
    : Effect.flatMap(Effect.exit(timeoutFail(body, `${deadline} millis`, () => "deadline")), (exit) =>
      Effect.sync(() => {
        const outcome = outcomeOf(exit)
        if (outcome._tag === "Died" && outcome.defect !== "deadline") {
          findings.add(`cycle ${i} (deadline ${deadline} ms): ${describeDefect(outcome.defect)}`)
        } else tally.add(outcome._tag === "Done" ? "cycle: done before its deadline" : "cycle: deadline")
      }))
}

/** Registers part 1 at `scale`, on both backends. */
export const cyclesSuite = (scale: Scale): void => {
  const backends = [
    ["epoll", Netpoll.layer, scale.cycles.epoll],
    ["uv_poll", Netpoll.layerUvPoll, scale.cycles.uvPoll]
  ] as const
  for (const [backend, netpollLayer, count] of backends) {
    const { concurrency } = scale.cycles
    layer(netpollLayer)(`stress: interrupted cycles (${backend})`, (it) => {
      it.effect(
        `${count} connect/accept/read/write/close cycles, ${concurrency} at a time, interrupted at random, ` +
          "lose and duplicate no byte and leave fds, Netpoll and heap at their baseline",
        () =>
          Effect.gen(function*() {
            const tally = new Tally()
            const findings = new Findings()
            const warmup = Math.min(1000, Math.floor(count / 10))
            const before = yield* snapshot
            let heapBase = 0
            let heapEnd = 0
            let seconds = 0

            yield* Effect.scoped(Effect.gen(function*() {
              const listeners = yield* Effect.forEach(
                Array.from({ length: LISTENERS }, (_, i) => i),
                () => TcpListener.bind("127.0.0.1:0", { backlog: 1024 })
              )
              const addrs: Array<string> = []
              for (const listener of listeners) addrs.push(String(yield* listener.localAddr))
              const perListener = Math.ceil(concurrency / LISTENERS) + 2
              for (const [l, listener] of listeners.entries()) {
                for (let k = 0; k < perListener; k++) {
                  yield* Effect.forkScoped(acceptor(listener, rng(seed + 7919 * (l * perListener + k + 1)), tally, findings))
                }
              }
              const run = (from: number, to: number) =>
                Effect.forEach(
                  Array.from({ length: to - from }, (_, k) => from + k),
                  (i) => cycle(i, addrs, tally, findings),
                  { concurrency, discard: true }
                )
              yield* run(0, warmup)
              heapBase = yield* heapUsed
              const start = performance.now()
              yield* run(warmup, count)
              seconds = (performance.now() - start) / 1000
              heapEnd = yield* heapUsed
            }))

            const after = yield* settlesTo(before)
            const heapClosed = yield* heapUsed
            const rate = Math.round((count - warmup) / seconds)
            console.log(
              `[stress ${scale.name}, ${backend}] ${count} cycles (${warmup} warm-up), ${rate} cycles/s; ` +
                `heap ${(heapBase / MB).toFixed(1)} MB -> ${(heapEnd / MB).toFixed(1)} MB (open) -> ` +
                `${(heapClosed / MB).toFixed(1)} MB (closed); fds ${before.fds} -> ${after.fds}; seed ${seed}\n  ${tally}`
            )
            expect(findings.list, `${findings.count} findings, seed ${seed}`).toEqual([])
            expect(after).toEqual(before)
            expect(tally.get("cycle: whole echo")).toBeGreaterThan(count / 4)
            expect(heapEnd - heapBase).toBeLessThan(scale.heapSlackBytes)
            expect(heapClosed - heapBase).toBeLessThan(scale.heapSlackBytes)
          }),
        scale.name === "full" ? 600_000 : 60_000
      )
    })
  }
}
