/**
 * Bad arguments to the public functions: each is a defect whose message names
 * the public option and what it accepts, returned as an Effect (never thrown
 * at the call), and no fd is left open. Shared by both lines.
 */
import { expect } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Netpoll from "../src/Netpoll.js"
import * as TcpListener from "../src/TcpListener.js"
import * as TcpStream from "../src/TcpStream.js"
import { loopTurns, openFds } from "./utils/fds.js"
import { defects } from "./utils/line.js"
import { pair } from "./utils/peers.js"
import { layer } from "./utils/runners.js"

/** The message of the TypeError an effect dies with (fails the test otherwise). */
const defectMessage = (effect: Effect.Effect<unknown, unknown, any>) =>
  Effect.map(Effect.exit(effect), (exit) => {
    expect(Exit.isFailure(exit)).toBe(true)
    const [defect] = Exit.isFailure(exit) ? defects(exit.cause) : []
    expect(defect).toBeInstanceOf(TypeError)
    return (defect as TypeError).message
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
})
