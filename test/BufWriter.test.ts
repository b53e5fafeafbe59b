/**
 * BufWriter (issue 10): small writes gathered and sent on flush, large ones
 * sent with the buffer in one writev, a buffer that holds exactly what was not
 * sent when a flush is interrupted, and a Scope close that flushes after a
 * success and never drops bytes silently. Shared by both lines.
 */
import { expect } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as BufReader from "../src/BufReader.js"
import * as BufWriter from "../src/BufWriter.js"
import * as Netpoll from "../src/Netpoll.js"
import { captureLogs, defects, fork } from "./utils/line.js"
import { bound, bytes, eventually, interruptAndAwait, isInterrupted, pair, text } from "./utils/peers.js"
import { layer } from "./utils/runners.js"

const defectMessage = (exit: Exit.Exit<unknown, unknown>): string =>
  Exit.isFailure(exit) ? String((defects(exit.cause)[0] as Error | undefined)?.message) : "no defect"

layer(Netpoll.layer)("BufWriter", (it) => {
  it.effect("small writes wait in the buffer until flush, then arrive together and in order", () =>
    Effect.gen(function*() {
      const { client, server } = yield* pair()
      const writer = yield* BufWriter.make(client, { capacity: 64 })
      for (const word of ["SET", " ", "k", " ", "v", "\r\n"]) expect(yield* writer.write(bytes(word))).toBe(word.length)
      expect(writer.buffered).toBe(9)
      // Nothing has been sent: the peer's read finds nothing yet.
      const early = yield* Effect.timeoutOption(server.read(new Uint8Array(64)), "50 millis")
      expect(Option.isNone(early)).toBe(true)
      yield* writer.flush
      expect(writer.buffered).toBe(0)
      const buf = new Uint8Array(9)
      yield* bound(server.readExact(buf))
      expect(text(buf)).toBe("SET k v\r\n")
    }))

  it.effect("a full buffer is sent before a write that does not fit; a large write goes out with it in order", () =>
    Effect.gen(function*() {
      const { client, server } = yield* pair()
      const writer = yield* BufWriter.make(client, { capacity: 8 })
      yield* writer.writeAll(bytes("abcde"))
      yield* writer.writeAll(bytes("fghij"))
      expect(writer.buffered).toBe(5)
      const big = new Uint8Array(1 << 20).fill(0x78)
      const received = new Uint8Array(10 + big.length + 3)
      const reading = yield* fork(server.readExact(received))
      yield* writer.writeAll(big)
      expect(writer.buffered).toBe(0)
      yield* writer.writeVectored([bytes("x"), bytes("yz")])
      yield* writer.flush
      yield* bound(Fiber.join(reading))
      expect(text(received.subarray(0, 10))).toBe("abcdefghij")
      expect(received.subarray(10, 10 + big.length).every((byte) => byte === 0x78)).toBe(true)
      expect(text(received.subarray(10 + big.length))).toBe("xyz")
    }))

  it.effect("bytes arrive exactly once and in order through a mix of writes (checked byte by byte)", () =>
    Effect.gen(function*() {
      const { client, server } = yield* pair()
      const writer = yield* BufWriter.make(client, { capacity: 100 })
      const expected: Array<number> = []
      let seed = 1
      for (let i = 0; i < 400; i++) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff
        const size = seed % 3 === 0 ? 150 + (seed % 300) : 1 + (seed % 60)
        const piece = new Uint8Array(size).map((_, j) => (i + j) & 0xff)
        expected.push(...piece)
        if (seed % 5 === 0) yield* writer.writeAllVectored([piece.subarray(0, 1), piece.subarray(1)])
        else yield* writer.writeAll(piece)
      }
      const received = new Uint8Array(expected.length)
      const reading = yield* fork(server.readExact(received))
      yield* writer.flush
      yield* bound(Fiber.join(reading))
      expect(Buffer.compare(received, Uint8Array.from(expected))).toBe(0)
    }))

  it.effect("an interrupted flush keeps exactly the bytes the kernel did not take; the next flush sends them once", () =>
    Effect.gen(function*() {
      const netpoll = yield* Netpoll.Netpoll
      const { client, server } = yield* pair()
      const capacity = 8 << 20
      const writer = yield* BufWriter.make(client, { capacity })
      const data = new Uint8Array(capacity).map((_, i) => (i * 7 + (i >> 10)) & 0xff)
      yield* writer.writeAll(data)
      const flushing = yield* fork(writer.flush)
      yield* eventually(() => netpoll.waiting >= 1, "the flush waiting on a full socket")
      expect(isInterrupted(yield* interruptAndAwait(flushing))).toBe(true)
      const left = writer.buffered
      expect(left).toBeGreaterThan(0)
      expect(left).toBeLessThan(capacity)
      const received = new Uint8Array(capacity)
      const reading = yield* fork(server.readExact(received))
      yield* bound(writer.flush, "the second flush")
      yield* bound(Fiber.join(reading))
      expect(Buffer.compare(received, data)).toBe(0)
      // Nothing more: every byte arrived once.
      yield* client.shutdown("write")
      expect((yield* bound(server.readToEnd({ maxBytes: 10 }))).length).toBe(0)
    }))

  it.effect("writeFrame writes what readFrame reads; a payload too long for its prefix is LimitExceeded", () =>
    Effect.gen(function*() {
      const { client, server } = yield* pair()
      const writer = yield* BufWriter.make(client)
      yield* writer.writeFrame(bytes("alpha"), { prefix: 2 })
      yield* writer.writeFrame(bytes("beta"), { prefix: 4, endian: "little" })
      const error = yield* Effect.flip(writer.writeFrame(new Uint8Array(256), { prefix: 1 }))
      expect(error).toMatchObject({ _tag: "LimitExceeded", operation: "writeFrame", limit: 255 })
      yield* writer.flush
      const reader = yield* BufReader.make(server)
      expect(Option.map(yield* bound(reader.readFrame({ prefix: 2, maxLength: 10 })), text)).toEqual(Option.some("alpha"))
      expect(Option.map(yield* bound(reader.readFrame({ prefix: 4, endian: "little", maxLength: 10 })), text))
        .toEqual(Option.some("beta"))
    }))

  it.effect("the Scope's close flushes after a success", () =>
    Effect.gen(function*() {
      const { client, server } = yield* pair()
      yield* Effect.scoped(Effect.gen(function*() {
        const writer = yield* BufWriter.make(client)
        yield* writer.writeAll(bytes("sent at close"))
      }))
      const buf = new Uint8Array(13)
      yield* bound(server.readExact(buf))
      expect(text(buf)).toBe("sent at close")
    }))

  it.effect("after a failure the Scope's close sends nothing and logs what it dropped", () =>
    Effect.gen(function*() {
      const { client, server } = yield* pair()
      const logs = captureLogs()
      const exit = yield* Effect.exit(Effect.scoped(Effect.gen(function*() {
        const writer = yield* BufWriter.make(client)
        yield* writer.writeAll(bytes("never sent"))
        return yield* Effect.fail("handler failed")
      })).pipe(Effect.provide(logs.layer)))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(logs.entries.some((entry) => entry.message.join(" ").includes("10 buffered bytes dropped"))).toBe(true)
      yield* client.shutdown("write")
      expect(yield* bound(server.readToEnd({ maxBytes: 100 }))).toEqual(new Uint8Array(0))
    }))

  it.effect("a flush that fails at the Scope's close is a defect, not a silent drop", () =>
    Effect.gen(function*() {
      const { client } = yield* pair()
      const scope = yield* Scope.make()
      const writer = yield* BufWriter.make(client).pipe(Effect.provideService(Scope.Scope, scope))
      yield* writer.writeAll(bytes("nowhere to go"))
      yield* client.shutdown("write")
      const exit = yield* Effect.exit(Scope.close(scope, Exit.void))
      expect(defectMessage(exit)).toMatch(/^BufWriter: 13 of 13 buffered bytes could not be flushed as its scope closed$/)
    }))

  it.effect("bad arguments are defects naming the parameter", () =>
    Effect.gen(function*() {
      const { client } = yield* pair()
      const writer = yield* BufWriter.make(client, { capacity: 16 })
      const cases: ReadonlyArray<readonly [Effect.Effect<unknown, unknown, Scope.Scope>, RegExp]> = [
        [BufWriter.make({ write: () => Effect.void } as never), /^BufWriter\.make: writer must be an Io\.Writer/],
        [BufWriter.make(client, { capacity: 1.5 }), /^BufWriter\.make: capacity must be a whole number/],
        [writer.write(null as never), /^BufWriter\.write: buf must be a Uint8Array, got null$/],
        [writer.writeAllVectored([1] as never), /^BufWriter\.writeAllVectored: bufs must be an array of Uint8Array/],
        [writer.writeFrame(bytes("x"), { prefix: 8 } as never), /^BufWriter\.writeFrame: prefix must be 1, 2 or 4/]
      ]
      for (const [effect, message] of cases) expect(defectMessage(yield* Effect.exit(effect))).toMatch(message)
    }))
})
