/**
 * What an interrupted call leaves behind (issue 9, item 6): an interrupted
 * `readExact` loses no byte it had read. Shared by both lines.
 */
import { expect } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Netpoll from "../src/Netpoll.js"
import { fork } from "./utils/line.js"
import { bound, bytes, eventually, interruptAndAwait, isInterrupted, pair, text } from "./utils/peers.js"
import { layer } from "./utils/runners.js"

for (const [backend, netpollLayer] of [["epoll", Netpoll.layer], ["uv_poll", Netpoll.layerUvPoll]] as const) {
  layer(netpollLayer)(`cancellation (${backend})`, (it) => {
    it.effect("an interrupted readExact keeps the bytes it had read for the next read, in order", () =>
      Effect.gen(function*() {
        const netpoll = yield* Netpoll.Netpoll
        const { client, server } = yield* pair()
        const message = new Uint8Array(10)
        const reading = yield* fork(client.readExact(message))
        yield* server.writeAll(bytes("hello"))
        yield* eventually(() => message[4] === 0x6f && netpoll.waiting >= 1, "readExact waiting for the rest of \"hello\"")
        expect(isInterrupted(yield* interruptAndAwait(reading))).toBe(true)
        yield* server.writeAll(bytes("world!"))
        // A read takes the kept bytes first (at most its buffer's length), then the socket's.
        const small = new Uint8Array(3)
        expect(text(small.subarray(0, yield* client.read(small)))).toBe("hel")
        const again = new Uint8Array(8)
        yield* bound(client.readExact(again), "readExact after the kept bytes")
        expect(text(again)).toBe("loworld!")
      }))

    it.effect("a readExact waiting behind an interrupted one gets the kept bytes first", () =>
      Effect.gen(function*() {
        const netpoll = yield* Netpoll.Netpoll
        const { client, server } = yield* pair()
        const firstBuf = new Uint8Array(6)
        const first = yield* fork(client.readExact(firstBuf))
        yield* server.writeAll(bytes("abc"))
        yield* eventually(() => firstBuf[2] === 0x63 && netpoll.waiting >= 1, "the first readExact holding the direction")
        const second = new Uint8Array(6)
        const waiting = yield* fork(client.readExact(second))
        yield* eventually(() => netpoll.waiting >= 2, "the second readExact waiting its turn")
        yield* interruptAndAwait(first)
        yield* server.writeAll(bytes("def"))
        yield* bound(Fiber.join(waiting), "the second readExact")
        expect(text(second)).toBe("abcdef")
      }))

    it.effect("bytes an interrupted readExact kept come next on the handle's clones too, in order", () =>
      Effect.gen(function*() {
        const netpoll = yield* Netpoll.Netpoll
        const { client, server } = yield* pair()
        const message = new Uint8Array(10)
        const reading = yield* fork(client.readExact(message))
        yield* server.writeAll(bytes("abcde"))
        yield* eventually(() => message[4] === 0x65 && netpoll.waiting >= 1, "readExact waiting for the rest")
        expect(isInterrupted(yield* interruptAndAwait(reading))).toBe(true)
        // A clone reads the same byte stream: the kept bytes are its next ones, before the socket's.
        const clone = yield* client.tryClone
        yield* server.writeAll(bytes("fgh"))
        const first = new Uint8Array(6)
        yield* bound(clone.readExact(first))
        expect(text(first)).toBe("abcdef")
        const rest = new Uint8Array(2)
        yield* bound(client.readExact(rest))
        expect(text(rest)).toBe("gh")
      }))
  })
}
