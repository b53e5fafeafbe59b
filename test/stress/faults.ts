/**
 * Stress part 2: traffic through the fault-injecting proxy (./faultProxy.ts).
 * Both ends are effect-netpoll streams; each sends a known pseudo-random byte
 * sequence with writeAll (in random pieces) while it reads the other's with
 * read and readExact (random sizes). Whatever arrives is an exact prefix of
 * what was sent, and all of it where the fault destroys nothing; a reset is a
 * typed NetError on each side (never a defect, never a hang); a blackhole is
 * bounded by a deadline that interrupts cleanly and releases every fd.
 */
import { expect } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Netpoll from "../../src/Netpoll.js"
import * as TcpListener from "../../src/TcpListener.js"
import * as TcpStream from "../../src/TcpStream.js"
import { timeoutFail } from "../utils/line.js"
import { bound } from "../utils/peers.js"
import { layer } from "../utils/runners.js"
import { type FaultMode, faultProxy, type FaultOptions } from "./faultProxy.js"
import {
  describeDefect,
  firstDifference,
  int,
  isPrefix,
  labelOf,
  type Outcome,
  outcomeOf,
  rng,
  sequence,
  settlesTo,
  snapshot
} from "./harness.js"
import { type Scale, seed } from "./scale.js"

interface Received {
  readonly got: Uint8Array
  /** "end of stream", or the label of the outcome that ended reading. */
  readonly end: string
  readonly outcome: Outcome<unknown> | undefined
}

/** Reads until end of stream or an error, with read and readExact of random sizes. */
const receive = (stream: TcpStream.TcpStream, random: () => number, expected: number): Effect.Effect<Received> =>
  Effect.gen(function*() {
    const got = new Uint8Array(expected + 64)
    let n = 0
    const ended = (end: string, outcome?: Outcome<unknown>): Received => ({ got: got.subarray(0, n), end, outcome })
    while (n < got.length) {
      const remaining = expected - n
      if (remaining > 0 && random() < 0.4) {
        const part = got.subarray(n, n + int(random, 1, Math.min(remaining, 64 * 1024)))
        const exact = outcomeOf(yield* Effect.exit(stream.readExact(part)))
        if (exact._tag === "Done") n += part.length
        else {
          if (exact._tag === "Failed" && exact.error._tag === "UnexpectedEof") {
            n += exact.error.bytesRead
            return ended("end of stream", exact)
          }
          return ended(labelOf(exact), exact)
        }
      } else {
        const read = outcomeOf(yield* Effect.exit(stream.read(got.subarray(n, n + int(random, 1, 64 * 1024)))))
        if (read._tag !== "Done") return ended(labelOf(read), read)
        if (read.value === 0) return ended("end of stream")
        n += read.value
      }
    }
    return ended("overflow")
  })

/**
 * Writes `data` with writeAll in random pieces, then shuts its writing down:
 * the client at once, the server only once it has read to its end. A server
 * that never reaches its end (a reset) never sends end of stream, so the
 * client's reading can end only by the fault.
 */
const send = (
  stream: TcpStream.TcpStream,
  random: () => number,
  data: Uint8Array,
  readDone: Deferred.Deferred<void> | undefined
): Effect.Effect<Outcome<void>> =>
  Effect.gen(function*() {
    let offset = 0
    while (offset < data.length) {
      const piece = data.subarray(offset, offset + int(random, 1, 64 * 1024))
      const written = outcomeOf(yield* Effect.exit(stream.writeAll(piece)))
      if (written._tag !== "Done") return written
      offset += piece.length
    }
    if (readDone !== undefined) yield* Deferred.await(readDone)
    return outcomeOf(yield* Effect.exit(stream.shutdown("write")))
  })

interface Side {
  readonly received: Received
  readonly sent: Outcome<void>
}

/** One connection through a proxy in `options.mode`: both sides send and receive at once, bounded. */
const exchange = (listener: TcpListener.TcpListener, options: FaultOptions, bytes: number, round: number) =>
  Effect.scoped(Effect.gen(function*() {
    const addr = yield* listener.localAddr
    const proxy = yield* faultProxy({ host: "127.0.0.1", port: addr.port }, options)
    const toServer = sequence(seed + 2 * round, bytes)
    const toClient = sequence(seed + 2 * round + 1, bytes)
    const [client, server] = yield* bound(
      Effect.all([TcpStream.connect({ host: "127.0.0.1", port: proxy.port }), listener.accept], { concurrency: 2 }),
      "connect and accept through the proxy"
    )
    const side = (stream: TcpStream.TcpStream, data: Uint8Array, expected: number, salt: number, waitForRead: boolean) =>
      Effect.gen(function*() {
        const readDone = yield* Deferred.make<void>()
        const [received, sent] = yield* Effect.all([
          Effect.ensuring(receive(stream, rng(seed + salt), expected), Deferred.succeed(readDone, undefined)),
          send(stream, rng(seed + salt + 1), data, waitForRead ? readDone : undefined)
        ], { concurrency: 2 })
        return { received, sent } satisfies Side
      })
    const [atClient, atServer] = yield* bound(
      Effect.all([side(client, toServer, toClient.length, 4 * round, false),
        side(server, toClient, toServer.length, 4 * round + 2, true)
      ], {
        concurrency: 2
      }),
      `an exchange through the ${options.mode} proxy`,
      "40 seconds"
    )
    return { atClient, atServer, toServer, toClient, proxy }
  }))

const describeSide = (name: string, side: Side, sent: Uint8Array) =>
  `${name}: received ${side.received.got.length} bytes (${firstDifference(side.received.got, sent)}), ended by ${side.received.end}; ` +
  `its sending: ${labelOf(side.sent)}`

const deathsOf = (side: Side): Array<string> =>
  [side.received.outcome, side.sent].flatMap((outcome) => outcome?._tag === "Died" ? [describeDefect(outcome.defect)] : [])

/** Registers part 2 at `scale`, on both backends. */
export const faultsSuite = (scale: Scale): void => {
  const { bytes, rounds, sliceBytes } = scale.proxy
  const backends = [["epoll", Netpoll.layer], ["uv_poll", Netpoll.layerUvPoll]] as const
  for (const [backend, netpollLayer] of backends) {
    layer(netpollLayer)(`stress: fault proxy (${backend})`, (it) => {
      const lossless = (mode: FaultMode, size: number) =>
        it.effect(
          `${mode}: ${rounds} round(s) of ${size} bytes each way arrive whole, in order, once`,
          () =>
            Effect.gen(function*() {
              const before = yield* snapshot
              yield* Effect.scoped(Effect.gen(function*() {
                const listener = yield* TcpListener.bind("127.0.0.1:0")
                for (let round = 0; round < rounds; round++) {
                  const r = yield* exchange(listener, { mode, seed: seed + round }, size, round)
                  const context = `${mode} round ${round}, seed ${seed}\n${describeSide("client", r.atClient, r.toClient)}\n${
                    describeSide("server", r.atServer, r.toServer)
                  }\nproxy errors: ${r.proxy.errors.join(", ") || "none"}`
                  expect(deathsOf(r.atClient).concat(deathsOf(r.atServer)), context).toEqual([])
                  expect(r.atServer.received.end, context).toBe("end of stream")
                  expect(r.atClient.received.end, context).toBe("end of stream")
                  expect(firstDifference(r.atServer.received.got, r.toServer), context).toBe("equal")
                  expect(firstDifference(r.atClient.received.got, r.toClient), context).toBe("equal")
                  expect([labelOf(r.atClient.sent), labelOf(r.atServer.sent)], context).toEqual(["done", "done"])
                }
              }))
              expect(yield* settlesTo(before)).toEqual(before)
            }),
          scale.name === "full" ? 300_000 : 60_000
        )
      lossless("slices", sliceBytes)
      lossless("stalls", bytes)

      it.effect(`halfClose: ${2 * rounds} round(s): the ended direction carries an exact prefix, then end of stream; the other all`, () =>
        Effect.gen(function*() {
          const before = yield* snapshot
          yield* Effect.scoped(Effect.gen(function*() {
            const listener = yield* TcpListener.bind("127.0.0.1:0")
            const random = rng(seed + 17)
            for (let round = 0; round < 2 * rounds; round++) {
              const direction = round % 2 === 0 ? "toServer" as const : "toClient" as const
              const after = int(random, 0, bytes - 1)
              const r = yield* exchange(listener, { mode: "halfClose", seed: seed + round, after, direction }, bytes, round)
              const context = `halfClose ${direction} after ${after} bytes, round ${round}, seed ${seed}\n${
                describeSide("client", r.atClient, r.toClient)
              }\n${describeSide("server", r.atServer, r.toServer)}`
              expect(deathsOf(r.atClient).concat(deathsOf(r.atServer)), context).toEqual([])
              const [cut, whole] = direction === "toServer"
                ? [[r.atServer, r.toServer], [r.atClient, r.toClient]] as const
                : [[r.atClient, r.toClient], [r.atServer, r.toServer]] as const
              expect(cut[0].received.end, context).toBe("end of stream")
              expect(firstDifference(cut[0].received.got, cut[1].subarray(0, after)), context).toBe("equal")
              expect(whole[0].received.end, context).toBe("end of stream")
              expect(firstDifference(whole[0].received.got, whole[1]), context).toBe("equal")
              expect([labelOf(r.atClient.sent), labelOf(r.atServer.sent)], context).toEqual(["done", "done"])
            }
          }))
          expect(yield* settlesTo(before)).toEqual(before)
        }), scale.name === "full" ? 300_000 : 60_000)

      it.effect(`reset: ${2 * rounds} round(s) mid-stream: each side gets a typed NetError, and only a prefix of what was sent`, () =>
        Effect.gen(function*() {
          const before = yield* snapshot
          yield* Effect.scoped(Effect.gen(function*() {
            const listener = yield* TcpListener.bind("127.0.0.1:0")
            const random = rng(seed + 23)
            for (let round = 0; round < 2 * rounds; round++) {
              const after = int(random, 0, bytes - 1)
              const r = yield* exchange(listener, { mode: "reset", seed: seed + round, after }, bytes, round)
              const context = `reset after ${after} bytes, round ${round}, seed ${seed}\n${describeSide("client", r.atClient, r.toClient)}\n${
                describeSide("server", r.atServer, r.toServer)
              }`
              expect(deathsOf(r.atClient).concat(deathsOf(r.atServer)), context).toEqual([])
              expect(isPrefix(r.atClient.received.got, r.toClient), context).toBe(true)
              expect(isPrefix(r.atServer.received.got, r.toServer), context).toBe(true)
              expect(r.atServer.received.got.length, context).toBeLessThanOrEqual(after)
              for (const side of [r.atClient, r.atServer]) {
                const errors = [side.received.outcome, side.sent].filter((o) => o?._tag === "Failed")
                expect(errors.length, context).toBeGreaterThan(0)
              }
            }
          }))
          expect(yield* settlesTo(before)).toEqual(before)
        }), scale.name === "full" ? 300_000 : 60_000)

      it.effect("blackhole: reads and writes are bounded by a deadline that interrupts cleanly and releases every fd", () =>
        Effect.gen(function*() {
          const netpoll = yield* Netpoll.Netpoll
          const blackholeRounds = Math.min(rounds, 3)
          const before = yield* snapshot
          yield* Effect.scoped(Effect.gen(function*() {
            const listener = yield* TcpListener.bind("127.0.0.1:0")
            const addr = yield* listener.localAddr
            const proxy = yield* faultProxy({ host: "127.0.0.1", port: addr.port }, { mode: "blackhole", seed })
            for (let round = 0; round < blackholeRounds; round++) {
              yield* Effect.scoped(Effect.gen(function*() {
                const stream = yield* bound(TcpStream.connect({ host: "127.0.0.1", port: proxy.port }))
                yield* stream.writeAll(sequence(seed, 1024))
                const deadline = 100 + 50 * round
                const attempts: ReadonlyArray<readonly [string, Effect.Effect<unknown, unknown>]> = [
                  ["readExact", stream.readExact(new Uint8Array(16))],
                  ["read", stream.read(new Uint8Array(16))],
                  ["writeAll of 64 MiB", stream.writeAll(new Uint8Array(64 * 1024 * 1024))]
                ]
                for (const [what, attempt] of attempts) {
                  const start = performance.now()
                  const outcome = outcomeOf(
                    yield* Effect.exit(timeoutFail(attempt, `${deadline} millis`, () => "deadline" as const))
                  )
                  const took = performance.now() - start
                  expect([what, outcome._tag === "Died" ? outcome.defect : labelOf(outcome)]).toEqual([what, "deadline"])
                  expect(took, what).toBeGreaterThanOrEqual(deadline - 5)
                  expect(took, what).toBeLessThan(deadline + 2_000)
                  expect(netpoll.waiting, `${what}: parked fibers after the deadline`).toBe(before.waiting)
                }
                // The stream is still usable after the interruptions, and closes at once.
                expect(yield* stream.write(new Uint8Array(0))).toBe(0)
              }))
            }
            expect(proxy.accepted()).toBe(blackholeRounds)
            expect(proxy.forwarded()).toBe(0)
          }))
          expect(yield* settlesTo(before)).toEqual(before)
        }), 60_000)
    })
  }
}
