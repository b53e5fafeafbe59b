/**
 * The rest of Read and Write on a TcpStream (issue 10): readVectored and
 * writeVectored straight into and out of the caller's buffers, writeAllVectored,
 * and readToEnd / readToString bounded by maxBytes. Shared by both lines.
 */
import { expect } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Netpoll from "../src/Netpoll.js"
import { defects, fork } from "./utils/line.js"
import { bound, bytes, eventually, interruptAndAwait, isInterrupted, pair, text } from "./utils/peers.js"
import { layer } from "./utils/runners.js"

/** `n` bytes of a pattern that shows a lost, repeated or reordered byte. */
const pattern = (n: number, seed = 0): Uint8Array => {
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed * 7 + (i >> 8)) & 0xff
  return out
}

const concat = (parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0))
  let at = 0
  for (const part of parts) {
    out.set(part, at)
    at += part.length
  }
  return out
}

for (const [backend, netpollLayer] of [["epoll", Netpoll.layer], ["uv_poll", Netpoll.layerUvPoll]] as const) {
  layer(netpollLayer)(`vectored I/O and readToEnd (${backend})`, (it) => {
    it.effect("writeVectored sends a header and a body in one call; readVectored scatters into the caller's buffers", () =>
      Effect.gen(function*() {
        const { client, server } = yield* pair()
        const n = yield* client.writeVectored([bytes("HEAD"), new Uint8Array(0), bytes("body!")])
        expect(n).toBe(9)
        const head = new Uint8Array(4)
        const body = new Uint8Array(16)
        let got = 0
        while (got < 9) got += yield* bound(server.readVectored([head.subarray(Math.min(got, 4)), body.subarray(Math.max(0, got - 4))]))
        // The first read may take all nine bytes, or only some: what arrived is in order across the buffers.
        expect(text(head)).toBe("HEAD")
        expect(text(body.subarray(0, 5))).toBe("body!")
      }))

    it.effect("readVectored fills its buffers in order and resolves with the count, 0 at end of stream", () =>
      Effect.gen(function*() {
        const { client, server } = yield* pair()
        yield* client.writeAll(bytes("abcdefgh"))
        const a = new Uint8Array(3)
        const b = new Uint8Array(2)
        const c = new Uint8Array(10)
        const first = yield* bound(server.readVectored([a, b, c]))
        expect(first).toBeGreaterThan(0)
        const all = concat([a, b, c]).subarray(0, first)
        expect(text(all)).toBe("abcdefgh".slice(0, first))
        yield* client.shutdown("write")
        const rest = new Uint8Array(16)
        let total = first
        while (true) {
          const n = yield* bound(server.readVectored([rest.subarray(0, 4), rest.subarray(4)]))
          if (n === 0) break
          total += n
        }
        expect(total).toBe(8)
        expect(yield* server.readVectored([])).toBe(0)
        expect(yield* server.readVectored([new Uint8Array(0)])).toBe(0)
      }))

    it.effect("writeAllVectored sends 3,000 buffers (more than one writev takes) whole and in order", () =>
      Effect.gen(function*() {
        const { client, server } = yield* pair()
        const parts = Array.from({ length: 3000 }, (_, i) => pattern(1 + (i % 700), i))
        const expected = concat(parts)
        const received = new Uint8Array(expected.length)
        const reader = yield* fork(server.readExact(received))
        yield* bound(client.writeAllVectored(parts), "writeAllVectored")
        yield* bound(Fiber.join(reader), "the reader")
        expect(Buffer.compare(received, expected)).toBe(0)
      }))

    it.effect("writeVectored with more than 1,024 buffers moves a prefix and says how much", () =>
      Effect.gen(function*() {
        const { client, server } = yield* pair()
        const parts = Array.from({ length: 2000 }, (_, i) => pattern(3, i))
        const n = yield* bound(client.writeVectored(parts))
        expect(n).toBeGreaterThan(0)
        expect(n).toBeLessThanOrEqual(1024 * 3)
        const received = new Uint8Array(n)
        yield* bound(server.readExact(received))
        expect(Buffer.compare(received, concat(parts).subarray(0, n))).toBe(0)
      }))

    it.effect("readToEnd returns everything up to end of stream; readToString decodes it", () =>
      Effect.gen(function*() {
        const { client, server } = yield* pair()
        const body = pattern(300_000)
        yield* fork(client.writeAll(body).pipe(Effect.andThen(client.shutdown("write"))))
        const all = yield* bound(server.readToEnd({ maxBytes: 300_000 }), "readToEnd")
        expect(all.length).toBe(300_000)
        expect(Buffer.compare(all, body)).toBe(0)

        const other = yield* pair()
        yield* other.client.writeAll(bytes("héllo, wörld"))
        yield* other.client.shutdown("write")
        expect(yield* bound(other.server.readToString({ maxBytes: 100 }))).toBe("héllo, wörld")
        expect(yield* other.server.readToEnd({ maxBytes: 0 })).toEqual(new Uint8Array(0))
      }))

    it.effect("readToEnd past maxBytes fails with LimitExceeded and keeps every byte it read for the next read", () =>
      Effect.gen(function*() {
        const { client, server } = yield* pair()
        const body = pattern(5000)
        yield* client.writeAll(body)
        yield* client.shutdown("write")
        const error = yield* bound(Effect.flip(server.readToEnd({ maxBytes: 1000 })))
        expect(error).toMatchObject({ _tag: "LimitExceeded", operation: "readToEnd", limit: 1000 })
        expect(error.message).toBe("readToEnd: more than the limit of 1000 bytes")
        const again = yield* bound(server.readToEnd({ maxBytes: 5000 }))
        expect(Buffer.compare(again, body)).toBe(0)
      }))

    it.effect("an interrupted readToEnd keeps what it had read for the next read", () =>
      Effect.gen(function*() {
        const netpoll = yield* Netpoll.Netpoll
        const { client, server } = yield* pair()
        // Already there when it starts, so it has read them before it waits.
        yield* client.writeAll(bytes("first part "))
        yield* Effect.sleep("20 millis")
        const reading = yield* fork(server.readToEnd({ maxBytes: 1 << 20 }))
        yield* eventually(() => netpoll.waiting >= 1, "readToEnd waiting after its first bytes")
        expect(isInterrupted(yield* interruptAndAwait(reading))).toBe(true)
        yield* client.writeAll(bytes("second part"))
        yield* client.shutdown("write")
        expect(yield* bound(server.readToString({ maxBytes: 100 }))).toBe("first part second part")
      }))

    it.effect("an interrupted writeVectored has written nothing; one waiting on a full socket moves nothing", () =>
      Effect.gen(function*() {
        const netpoll = yield* Netpoll.Netpoll
        const { client, server } = yield* pair()
        // Fill the send and receive buffers, then park a writeVectored.
        const chunk = new Uint8Array(1 << 16)
        let sent = 0
        while (true) {
          const n = yield* Effect.timeoutOption(client.write(chunk), "50 millis")
          if (n._tag === "None") break
          sent += n.value
        }
        const parked = yield* fork(client.writeVectored([bytes("AAAA"), bytes("BBBB")]))
        yield* eventually(() => netpoll.waiting >= 1, "writeVectored parked")
        expect(isInterrupted(yield* interruptAndAwait(parked))).toBe(true)
        yield* client.shutdown("write")
        const all = yield* bound(server.readToEnd({ maxBytes: sent + 8 }))
        expect(all.length).toBe(sent)
      }))

    it.effect("bad arguments are defects naming the method's parameter, before any syscall", () =>
      Effect.gen(function*() {
        const { client } = yield* pair()
        const cases: ReadonlyArray<readonly [Effect.Effect<unknown, unknown>, RegExp]> = [
          [client.readVectored(null as never), /^readVectored: bufs must be an array of Uint8Array, got null$/],
          [client.writeVectored([bytes("a"), "b"] as never), /^writeVectored: bufs must be an array of Uint8Array/],
          [client.writeAllVectored(new Proxy([], { get: () => { throw new Error("trap") } }) as never), /^writeAllVectored: bufs/],
          [client.readToEnd(undefined as never), /^readToEnd: options must be an object with maxBytes/],
          [client.readToEnd({ maxBytes: -1 }), /^readToEnd: maxBytes must be a whole number, 0 or more, got -1$/],
          [client.readToString({ maxBytes: 1.5 }), /^readToString: maxBytes must be a whole number/]
        ]
        for (const [effect, message] of cases) {
          const exit = yield* Effect.exit(effect)
          expect(Exit.isFailure(exit)).toBe(true)
          if (Exit.isFailure(exit)) expect(String((defects(exit.cause)[0] as Error).message)).toMatch(message)
        }
      }))
  })
}
