/**
 * Bad arguments to the public functions: each is a defect whose message names
 * the public option and what it accepts, returned as an Effect (never thrown
 * at the call), and no fd is left open. Shared by both lines.
 */
import { expect } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Netpoll from "../src/Netpoll.js"
import * as TcpListener from "../src/TcpListener.js"
import * as TcpStream from "../src/TcpStream.js"
import { loopTurns, openFds } from "./utils/fds.js"
import { defects, fork } from "./utils/line.js"
import { bytes, eventually, pair, text } from "./utils/peers.js"
import { layer } from "./utils/runners.js"

/** The message of the error (a TypeError unless said) an effect dies with; fails the test otherwise. */
const defectMessage = (effect: Effect.Effect<unknown, unknown, any>, kind: new() => Error = TypeError) =>
  Effect.map(Effect.exit(effect), (exit) => {
    expect(Exit.isFailure(exit)).toBe(true)
    const [defect] = Exit.isFailure(exit) ? defects(exit.cause) : []
    expect(defect).toBeInstanceOf(kind)
    return (defect as Error).message
  })

const nullPrototype = Object.create(null) as never

layer(Netpoll.layer)("bad arguments", (it) => {
  it.effect("bind options of the wrong type or range die naming the option, before any fd exists", () =>
    Effect.gen(function*() {
      yield* loopTurns
      const before = openFds()
      const cases: ReadonlyArray<readonly [unknown, string]> = [
        [{ backlog: 1.5 }, "bind: backlog must be a whole number from 0 to 2147483647, got 1.5"],
        [{ backlog: -1 }, "bind: backlog must be a whole number from 0 to 2147483647, got -1"],
        [{ backlog: "x" }, "bind: backlog must be a whole number from 0 to 2147483647, got \"x\""],
        [{ ipv6Only: null }, "bind: ipv6Only must be a boolean, got null"],
        [{ reusePort: 1 }, "bind: reusePort must be a boolean, got 1"],
        [{ noDelay: Symbol("x") }, "bind: noDelay must be a boolean, got Symbol(x)"],
        [42, "bind options must be an object, got 42"]
      ]
      for (const [options, message] of cases) {
        expect(yield* defectMessage(Effect.scoped(TcpListener.bind("[::1]:0", options as never)))).toBe(message)
      }
      expect(openFds()).toBe(before)
    }))

  it.effect("connect options of the wrong type or range die naming the option, before any fd exists", () =>
    Effect.gen(function*() {
      const listener = yield* TcpListener.bind("127.0.0.1:0")
      const { port } = yield* listener.localAddr
      yield* loopTurns
      const before = openFds()
      const cases: ReadonlyArray<readonly [unknown, string]> = [
        [{ noDelay: "x" }, "connect: noDelay must be a boolean, got \"x\""],
        [
          { keepAlive: Infinity },
          "connect: keepAlive must be a boolean or a delay in milliseconds (a finite number, 0 or more), got Infinity"
        ],
        [
          { keepAlive: -5 },
          "connect: keepAlive must be a boolean or a delay in milliseconds (a finite number, 0 or more), got -5"
        ]
      ]
      for (const [options, message] of cases) {
        const connect = TcpStream.connect({ host: "127.0.0.1", port }, options as never)
        expect(yield* defectMessage(Effect.scoped(connect))).toBe(message)
      }
      expect(openFds()).toBe(before)
    }))

  it.effect("read, write, readExact and writeAll return an Effect that dies for a buffer that is no Uint8Array", () =>
    Effect.gen(function*() {
      const { client } = yield* pair()
      const proxy = new Proxy(new Uint8Array(4), {})
      for (const buf of [null, undefined, {}, [1, 2], proxy, nullPrototype]) {
        // The calls themselves never throw: the defect is in the returned Effect.
        const calls = [client.read(buf as never), client.write(buf as never), client.readExact(buf as never), client.writeAll(buf as never)]
        const messages: Array<string> = []
        for (const call of calls) messages.push(yield* defectMessage(call))
        expect(messages.map((message) => message.split(":")[0])).toEqual(["read", "write", "readExact", "writeAll"])
        for (const message of messages) expect(message).toContain("buf must be a Uint8Array")
      }
    }))

  it.effect("shutdown, setNoDelay and setKeepAlive die naming the argument they refuse", () =>
    Effect.gen(function*() {
      const { client } = yield* pair()
      expect(yield* defectMessage(client.shutdown("sideways" as never))).toBe(
        "shutdown: how must be \"read\", \"write\" or \"both\", got \"sideways\""
      )
      expect(yield* defectMessage(client.setNoDelay("yes" as never))).toBe("setNoDelay: on must be a boolean, got \"yes\"")
      expect(yield* defectMessage(client.setKeepAlive(1 as never))).toBe("setKeepAlive: on must be a boolean, got 1")
      expect(yield* defectMessage(client.setKeepAlive(true, NaN))).toBe(
        "setKeepAlive: initialDelayMillis must be a delay in milliseconds (a finite number, 0 or more), got NaN"
      )
    }))

  it.effect("a buffer detached or shrunk while its read waits is a defect, not an end of stream, and loses no byte", () =>
    Effect.gen(function*() {
      const netpoll = yield* Netpoll.Netpoll
      const { client, server } = yield* pair()
      // Detached by a transfer while `read` waits: the wake-up must not read 0 bytes into it.
      const detached = new Uint8Array(16)
      const reading = yield* fork(client.read(detached))
      yield* eventually(() => netpoll.waiting >= 1, "read parking")
      structuredClone(detached, { transfer: [detached.buffer] })
      yield* server.writeAll(bytes("kept"))
      const defect = yield* defectMessage(Fiber.join(reading), Error)
      expect(defect).toBe("read: buf was detached or resized while the call waited; nothing more was moved")
      const fresh = new Uint8Array(16)
      const n = yield* client.read(fresh)
      expect(text(fresh.subarray(0, n))).toBe("kept")
      // Shrunk (a resizable ArrayBuffer) while `readExact` waits for the rest of its message.
      // ES2024's resizable ArrayBuffer (Node 20 has it; this project's lib is ES2022).
      const resizable = new (ArrayBuffer as unknown as new(n: number, o: { maxByteLength: number }) => ArrayBuffer)(8, {
        maxByteLength: 8
      })
      const exact = new Uint8Array(resizable)
      const exactly = yield* fork(client.readExact(exact))
      yield* server.writeAll(bytes("abc"))
      yield* eventually(() => exact[2] === 0x63 && netpoll.waiting >= 1, "readExact parking after reading \"abc\"")
      ;(resizable as ArrayBuffer & { resize: (n: number) => void }).resize(2)
      yield* server.writeAll(bytes("defgh"))
      expect(yield* defectMessage(Fiber.join(exactly), Error)).toBe(
        "read: buf was detached or resized while the call waited; nothing more was moved"
      )
      const rest = new Uint8Array(16)
      const m = yield* client.read(rest)
      expect(text(rest.subarray(0, m))).toBe("defgh")
    }))
})
