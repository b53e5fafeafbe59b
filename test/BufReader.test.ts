/**
 * BufReader (issue 10): lines, delimited messages, peeks, exact reads and
 * length-prefixed frames from one bounded buffer, every call cancel safe, and
 * the Stream sources `lines` and `frames` that leave what they did not take.
 * Shared by both lines.
 */
import { expect } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as BufReader from "../src/BufReader.js"
import * as Netpoll from "../src/Netpoll.js"
import type * as TcpStream from "../src/TcpStream.js"
import { defects, fork } from "./utils/line.js"
import { bound, bytes, eventually, interruptAndAwait, isInterrupted, pair, text } from "./utils/peers.js"
import { layer } from "./utils/runners.js"

/** Writes `data` one byte at a time, each its own segment, so every read sees a piece. */
const trickle = (stream: TcpStream.TcpStream, data: Uint8Array) =>
  Effect.forEach(data, (byte) => stream.writeAll(new Uint8Array([byte])).pipe(Effect.andThen(Effect.sleep("1 millis"))), {
    discard: true
  })

const frame = (payload: Uint8Array, size: 1 | 2 | 4, littleEndian = false): Uint8Array => {
  const out = new Uint8Array(size + payload.length)
  const view = new DataView(out.buffer)
  if (size === 1) view.setUint8(0, payload.length)
  else if (size === 2) view.setUint16(0, payload.length, littleEndian)
  else view.setUint32(0, payload.length, littleEndian)
  out.set(payload, size)
  return out
}

const defectMessage = (exit: Exit.Exit<unknown, unknown>): string =>
  Exit.isFailure(exit) ? String((defects(exit.cause)[0] as Error | undefined)?.message) : "no defect"

layer(Netpoll.layer)("BufReader", (it) => {
  it.effect("readLine takes LF and CRLF lines, the last unterminated one, then None", () =>
    Effect.gen(function*() {
      const { client, server } = yield* pair()
      const reader = yield* BufReader.make(server, { capacity: 64 })
      yield* client.writeAll(bytes("one\r\ntwo\n\nthree"))
      yield* client.shutdown("write")
      const lines: Array<string> = []
      while (true) {
        const line = yield* bound(reader.readLine())
        if (Option.isNone(line)) break
        lines.push(line.value)
      }
      expect(lines).toEqual(["one", "two", "", "three"])
      expect(Option.isNone(yield* reader.readLine())).toBe(true)
    }))

  it.effect("lines that arrive a byte at a time, and a CRLF split between two reads", () =>
    Effect.gen(function*() {
      const { client, server } = yield* pair()
      const reader = yield* BufReader.make(server, { capacity: 16 })
      yield* fork(trickle(client, bytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n")))
      expect(yield* bound(reader.readLine())).toEqual(Option.some("GET / HTTP/1.1"))
      expect(yield* bound(reader.readLine())).toEqual(Option.some("Host: x"))
      expect(yield* bound(reader.readLine())).toEqual(Option.some(""))
    }))

  it.effect("a line longer than maxLength fails with LimitExceeded and its bytes stay buffered", () =>
    Effect.gen(function*() {
      const { client, server } = yield* pair()
      const reader = yield* BufReader.make(server, { capacity: 32 })
      yield* client.writeAll(bytes("0123456789abcdef-no-newline-here!!"))
      const error = yield* bound(Effect.flip(reader.readLine({ maxLength: 10 })))
      expect(error).toMatchObject({ _tag: "LimitExceeded", operation: "readLine", limit: 10 })
      // The default limit is the capacity; the window never grows past it.
      const again = yield* bound(Effect.flip(reader.readLine()))
      expect(again).toMatchObject({ _tag: "LimitExceeded", limit: 32 })
      expect(reader.buffered).toBe(32)
      expect(text(yield* reader.takeBuffered)).toBe("0123456789abcdef-no-newline-here")
      expect(reader.buffered).toBe(0)
      // takeBuffered leaves the rest in the stream, for the stream itself.
      const rest = new Uint8Array(2)
      yield* bound(server.readExact(rest))
      expect(text(rest)).toBe("!!")
    }))

  it.effect("lines + Stream.take(1) leaves the next line, which arrived in the same segment, in the reader", () =>
    Effect.gen(function*() {
      const { client, server } = yield* pair()
      const reader = yield* BufReader.make(server)
      yield* client.writeAll(bytes("first\nsecond\nthird\n"))
      const first = yield* bound(Stream.runCollect(Stream.take(BufReader.lines(reader), 1)))
      expect(Array.from(first)).toEqual(["first"])
      expect(yield* bound(reader.readLine())).toEqual(Option.some("second"))
      const rest = yield* bound(Stream.runCollect(Stream.take(BufReader.lines(reader), 1)))
      expect(Array.from(rest)).toEqual(["third"])
    }))

  it.effect("readUntil finds a delimiter of several bytes split across reads, and returns it with the message", () =>
    Effect.gen(function*() {
      const { client, server } = yield* pair()
      const reader = yield* BufReader.make(server, { capacity: 64 })
      yield* fork(trickle(client, bytes("a: 1\r\nb: 2\r\n\r\nbody")))
      const head = yield* bound(reader.readUntil(bytes("\r\n\r\n")))
      expect(Option.map(head, text)).toEqual(Option.some("a: 1\r\nb: 2\r\n\r\n"))
      const byte = yield* bound(reader.readUntil(0x64))
      expect(Option.map(byte, text)).toEqual(Option.some("bod"))
    }))

  it.effect("peek leaves the bytes it shows; a peek past end of stream fails with UnexpectedEof", () =>
    Effect.gen(function*() {
      const { client, server } = yield* pair()
      const reader = yield* BufReader.make(server, { capacity: 16 })
      yield* client.writeAll(bytes("abcdef"))
      expect(text(yield* bound(reader.peek(4)))).toBe("abcd")
      expect(text(yield* bound(reader.peek(2)))).toBe("ab")
      const buf = new Uint8Array(3)
      yield* bound(reader.readExact(buf))
      expect(text(buf)).toBe("abc")
      yield* client.shutdown("write")
      const error = yield* bound(Effect.flip(reader.peek(5)))
      expect(error).toMatchObject({ _tag: "UnexpectedEof", bytesRead: 3 })
      expect(text(yield* reader.takeBuffered)).toBe("def")
    }))

  it.effect("read drains the buffer first; a read as large as the capacity goes straight to the stream", () =>
    Effect.gen(function*() {
      const { client, server } = yield* pair()
      const reader = yield* BufReader.make(server, { capacity: 8 })
      yield* client.writeAll(bytes("line\nXYZ"))
      expect(yield* bound(reader.readLine())).toEqual(Option.some("line"))
      const small = new Uint8Array(2)
      expect(yield* reader.read(small)).toBe(2)
      expect(text(small)).toBe("XY")
      const big = new Uint8Array(100)
      expect(text(big.subarray(0, yield* reader.read(big)))).toBe("Z")
      yield* client.writeAll(bytes("direct to the caller's buffer"))
      let got = 0
      while (got < 29) got += yield* bound(reader.read(big.subarray(got)))
      expect(text(big.subarray(0, got))).toBe("direct to the caller's buffer")
      expect(reader.buffered).toBe(0)
    }))

  it.effect("readExact larger than the capacity: buffered bytes first, then the stream's, and UnexpectedEof counts both", () =>
    Effect.gen(function*() {
      const { client, server } = yield* pair()
      const reader = yield* BufReader.make(server, { capacity: 8 })
      yield* client.writeAll(bytes("hi\n0123456789ABCDEFGHIJ"))
      expect(yield* bound(reader.readLine())).toEqual(Option.some("hi"))
      const buf = new Uint8Array(20)
      yield* bound(reader.readExact(buf))
      expect(text(buf)).toBe("0123456789ABCDEFGHIJ")
      yield* client.writeAll(bytes("short"))
      yield* client.shutdown("write")
      const error = yield* bound(Effect.flip(reader.readExact(new Uint8Array(30))))
      expect(error).toMatchObject({ _tag: "UnexpectedEof", bytesRead: 5 })
    }))

  it.effect("an interrupted readLine loses nothing: the next readLine returns the whole line", () =>
    Effect.gen(function*() {
      const netpoll = yield* Netpoll.Netpoll
      const { client, server } = yield* pair()
      const reader = yield* BufReader.make(server, { capacity: 64 })
      yield* client.writeAll(bytes("hello, "))
      const waiting = yield* fork(reader.readLine())
      yield* eventually(() => reader.buffered === 7 && netpoll.waiting >= 1, "readLine waiting with part of its line")
      expect(isInterrupted(yield* interruptAndAwait(waiting))).toBe(true)
      yield* client.writeAll(bytes("world\n"))
      expect(yield* bound(reader.readLine())).toEqual(Option.some("hello, world"))
    }))

  it.effect("an interrupted readExact larger than the capacity loses nothing, buffered or read", () =>
    Effect.gen(function*() {
      const netpoll = yield* Netpoll.Netpoll
      const { client, server } = yield* pair()
      const reader = yield* BufReader.make(server, { capacity: 4 })
      yield* client.writeAll(bytes("ab"))
      expect(text(yield* bound(reader.peek(2)))).toBe("ab")
      const buf = new Uint8Array(12)
      const waiting = yield* fork(reader.readExact(buf))
      yield* client.writeAll(bytes("cdefg"))
      yield* eventually(() => buf[6] === 0x67 && netpoll.waiting >= 1, "readExact waiting for its last bytes")
      expect(isInterrupted(yield* interruptAndAwait(waiting))).toBe(true)
      yield* client.writeAll(bytes("hijkl"))
      const again = new Uint8Array(12)
      yield* bound(reader.readExact(again))
      expect(text(again)).toBe("abcdefghijkl")
    }))

  it.effect("frames with 1-, 2- and 4-byte prefixes, big- and little-endian, one larger than the buffer", () =>
    Effect.gen(function*() {
      const { client, server } = yield* pair()
      const reader = yield* BufReader.make(server, { capacity: 16 })
      const big = new Uint8Array(1000).map((_, i) => i & 0xff)
      yield* client.writeAll(frame(bytes("one"), 1))
      yield* client.writeAll(frame(bytes("two"), 2, true))
      yield* client.writeAll(frame(big, 4))
      yield* client.writeAll(frame(new Uint8Array(0), 2))
      yield* client.shutdown("write")
      expect(Option.map(yield* bound(reader.readFrame({ prefix: 1, maxLength: 100 })), text)).toEqual(Option.some("one"))
      expect(Option.map(yield* bound(reader.readFrame({ prefix: 2, endian: "little", maxLength: 100 })), text))
        .toEqual(Option.some("two"))
      const got = yield* bound(reader.readFrame({ prefix: 4, maxLength: 1000 }))
      expect(Option.isSome(got) && Buffer.compare(got.value, big)).toBe(0)
      expect(yield* bound(reader.readFrame({ prefix: 2, maxLength: 100 }))).toEqual(Option.some(new Uint8Array(0)))
      expect(Option.isNone(yield* bound(reader.readFrame({ prefix: 2, maxLength: 100 })))).toBe(true)
    }))

  it.effect("a frame over maxLength fails with LimitExceeded before its payload is read; one cut short is UnexpectedEof", () =>
    Effect.gen(function*() {
      const { client, server } = yield* pair()
      const reader = yield* BufReader.make(server, { capacity: 16 })
      yield* client.writeAll(frame(new Uint8Array(5000), 2))
      const error = yield* bound(Effect.flip(reader.readFrame({ prefix: 2, maxLength: 4096 })))
      expect(error).toMatchObject({ _tag: "LimitExceeded", operation: "readFrame", limit: 4096 })
      expect(text(yield* reader.peek(2))).toBe(text(new Uint8Array([0x13, 0x88])))

      const other = yield* pair()
      const cut = yield* BufReader.make(other.server, { capacity: 16 })
      yield* other.client.writeAll(frame(bytes("0123456789"), 4).subarray(0, 9))
      yield* other.client.shutdown("write")
      const eof = yield* bound(Effect.flip(cut.readFrame({ prefix: 4, maxLength: 100 })))
      expect(eof._tag).toBe("UnexpectedEof")
    }))

  it.effect("an interrupted readFrame loses nothing: the next one returns the whole frame", () =>
    Effect.gen(function*() {
      const netpoll = yield* Netpoll.Netpoll
      const { client, server } = yield* pair()
      const reader = yield* BufReader.make(server, { capacity: 64 })
      const whole = frame(bytes("a frame in two parts"), 2)
      yield* client.writeAll(whole.subarray(0, 8))
      const waiting = yield* fork(reader.readFrame({ prefix: 2, maxLength: 100 }))
      yield* eventually(() => reader.buffered === 8 && netpoll.waiting >= 1, "readFrame waiting for its payload")
      expect(isInterrupted(yield* interruptAndAwait(waiting))).toBe(true)
      yield* client.writeAll(whole.subarray(8))
      expect(Option.map(yield* bound(reader.readFrame({ prefix: 2, maxLength: 100 })), text))
        .toEqual(Option.some("a frame in two parts"))
    }))

  it.effect("frames as a Stream: take(2) leaves the third frame readable", () =>
    Effect.gen(function*() {
      const { client, server } = yield* pair()
      const reader = yield* BufReader.make(server)
      yield* client.writeAll(new Uint8Array([...frame(bytes("a"), 4), ...frame(bytes("bb"), 4), ...frame(bytes("ccc"), 4)]))
      const two = yield* bound(Stream.runCollect(Stream.take(BufReader.frames(reader, { prefix: 4, maxLength: 10 }), 2)))
      expect(Array.from(two).map(text)).toEqual(["a", "bb"])
      expect(Option.map(yield* bound(reader.readFrame({ prefix: 4, maxLength: 10 })), text)).toEqual(Option.some("ccc"))
    }))

  it.effect("readToEnd and readToString take the buffer, then the stream, bounded by maxBytes", () =>
    Effect.gen(function*() {
      const { client, server } = yield* pair()
      const reader = yield* BufReader.make(server, { capacity: 8 })
      yield* client.writeAll(bytes("head\nand the whole rest"))
      yield* client.shutdown("write")
      expect(yield* bound(reader.readLine())).toEqual(Option.some("head"))
      const error = yield* bound(Effect.flip(reader.readToString({ maxBytes: 5 })))
      expect(error._tag).toBe("LimitExceeded")
      expect(yield* bound(reader.readToString({ maxBytes: 100 }))).toBe("and the whole rest")
    }))

  it.effect("a second fiber's call while one waits is a defect that names the method; the first goes on", () =>
    Effect.gen(function*() {
      const netpoll = yield* Netpoll.Netpoll
      const { client, server } = yield* pair()
      const reader = yield* BufReader.make(server)
      const first = yield* fork(reader.readLine())
      yield* eventually(() => netpoll.waiting >= 1, "the first readLine waiting")
      const exit = yield* Effect.exit(reader.readExact(new Uint8Array(1)))
      expect(defectMessage(exit)).toMatch(/^BufReader\.readExact: another call of this BufReader is running/)
      yield* client.writeAll(bytes("ok\n"))
      expect(yield* bound(Fiber.join(first))).toEqual(Option.some("ok"))
    }))

  it.effect("bad arguments are defects naming the parameter", () =>
    Effect.gen(function*() {
      const { server } = yield* pair()
      const reader = yield* BufReader.make(server, { capacity: 16 })
      const cases: ReadonlyArray<readonly [Effect.Effect<unknown, unknown>, RegExp]> = [
        [BufReader.make(null as never), /^BufReader\.make: reader must be an Io\.Reader/],
        [BufReader.make(server, { capacity: 0 }), /^BufReader\.make: capacity must be a whole number from 1/],
        [reader.readLine({ maxLength: 17 }), /^BufReader\.readLine: maxLength must be a whole number from 1 to the reader's capacity \(16\), got 17$/],
        [reader.readUntil("x" as never), /^BufReader\.readUntil: delimiter must be a byte/],
        [reader.readUntil(new Uint8Array(0)), /^BufReader\.readUntil: delimiter/],
        [reader.peek(17), /^BufReader\.peek: n must be a whole number from 0 to the reader's capacity \(16\)/],
        [reader.readFrame({ prefix: 3 as never, maxLength: 1 }), /^BufReader\.readFrame: prefix must be 1, 2 or 4/],
        [reader.readFrame({ prefix: 2, endian: "middle" as never, maxLength: 1 }), /^BufReader\.readFrame: endian/],
        [reader.readFrame({ prefix: 2 } as never), /^BufReader\.readFrame: maxLength must be a whole number/],
        [reader.read("buf" as never), /^BufReader\.read: buf must be a Uint8Array/],
        [Stream.runDrain(BufReader.lines({} as never)), /^BufReader\.lines: reader must be a BufReader/]
      ]
      for (const [effect, message] of cases) expect(defectMessage(yield* Effect.exit(effect))).toMatch(message)
    }))
})
