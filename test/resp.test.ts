/**
 * The redis-ping example's RESP2 codec (examples/resp.ts) over a real
 * connection: replies read through a BufReader whole, split at any byte, and
 * pipelined; bytes that are not RESP2 fail with ProtocolError. Shared by both
 * lines (each runs it with its own BufReader).
 */
import { expect } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { encodeCommand, ProtocolError, readReply, RedisError } from "../examples/resp.js"
import * as BufReader from "../src/BufReader.js"
import * as Netpoll from "../src/Netpoll.js"
import { bound, bytes, pair, text } from "./utils/peers.js"
import { layer } from "./utils/runners.js"

const cases: ReadonlyArray<readonly [string, unknown]> = [
  ["+PONG\r\n", "PONG"],
  ["-ERR unknown command 'FOO'\r\n", new RedisError({ message: "ERR unknown command 'FOO'" })],
  [":-42\r\n", -42n],
  [":9223372036854775807\r\n", 9223372036854775807n],
  ["$5\r\nhello\r\n", bytes("hello")],
  ["$0\r\n\r\n", bytes("")],
  ["$4\r\na\r\nb\r\n", bytes("a\r\nb")],
  ["$-1\r\n", null],
  ["*-1\r\n", null],
  ["*0\r\n", []],
  [
    "*4\r\n$3\r\none\r\n$-1\r\n*2\r\n:1\r\n-WRONGTYPE no\r\n+OK\r\n",
    [bytes("one"), null, [1n, new RedisError({ message: "WRONGTYPE no" })], "OK"]
  ]
]

layer(Netpoll.layer)("examples/resp.ts", (it) => {
  it.effect("decodes each kind of reply, whole or split at any byte", () =>
    Effect.gen(function*() {
      const { client, server } = yield* pair()
      const reader = yield* BufReader.make(server, { capacity: 64 })
      for (const [wire, expected] of cases) {
        const encoded = bytes(wire)
        for (let cut = 0; cut <= encoded.length; cut += 3) {
          yield* client.writeAll(encoded.subarray(0, cut))
          const decoding = readReply(reader)
          const rest = client.writeAll(encoded.subarray(cut))
          const [value] = yield* bound(Effect.all([decoding, rest], { concurrency: 2 }), `${JSON.stringify(wire)} cut at ${cut}`)
          expect(value).toEqual(expected)
        }
      }
    }))

  it.effect("decodes pipelined replies one after another", () =>
    Effect.gen(function*() {
      const { client, server } = yield* pair()
      const reader = yield* BufReader.make(server)
      yield* client.writeAll(bytes(cases.map(([reply]) => reply).join("")))
      const values = yield* bound(Effect.forEach(cases, () => readReply(reader)))
      expect(values).toEqual(cases.map(([, value]) => value))
    }))

  it.effect("rejects bytes that are not RESP2 with ProtocolError", () =>
    Effect.gen(function*() {
      for (const [wire, message] of [
        ["?what\r\n", "unknown reply type"],
        [":12x\r\n", "not an integer"],
        ["$3\r\nabcd\r\n", "not followed by CRLF"],
        ["$99999999999\r\n", "bad length"]
      ] as const) {
        const { client, server } = yield* pair()
        yield* client.writeAll(bytes(wire))
        const error = yield* bound(Effect.flip(readReply(yield* BufReader.make(server))))
        expect(error).toBeInstanceOf(ProtocolError)
        expect(error.message).toContain(message)
      }
    }))

  it.effect("encodes a command as an array of bulk strings, lengths in bytes", () =>
    Effect.sync(() => {
      expect(text(encodeCommand(["SET", "k", "héllo"]))).toBe("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$6\r\nhéllo\r\n")
    }))
})
