import type { Duplex } from "node:stream"
import { Readable, Writable } from "node:stream"
import { pipeline } from "node:stream/promises"
import { describe, expect } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as NetError from "../src/NetError.js"
import * as Netpoll from "../src/Netpoll.js"
import * as TcpStream from "../src/TcpStream.js"
import { isOpen, loopTurns, openFds } from "./utils/fds.js"
import { async, fork } from "./utils/line.js"
import {
  bound,
  bytes,
  echo,
  interruptAndAwait,
  isInterrupted,
  netServer,
  pair,
  poll,
  readToEnd,
  text
} from "./utils/peers.js"
import { layer } from "./utils/runners.js"

/** Waits until more than `base` fibers are parked on `netpoll`. */
const awaitParked = (netpoll: Netpoll.Netpoll.Service, base: number) =>
  bound(Effect.repeat(Effect.sleep("1 millis"), { until: () => netpoll.waiting > base }), "parking")

/** Bytes whose value depends on their position, so that lost, doubled or reordered bytes show. */
const pattern = (size: number): Uint8Array => {
  const data = new Uint8Array(size)
  for (let i = 0; i < size; i++) data[i] = (i * 7 + (i >> 13)) & 0xff
  return data
}

const concat = (chunks: Iterable<Uint8Array>): Uint8Array => Buffer.concat(Array.from(chunks))

/** Resolves with the first `event` of `emitter`, bounded. */
const onceEvent = <A = unknown>(emitter: NodeJS.EventEmitter, event: string) =>
  bound(
    async<A>((resume) => void emitter.once(event, (value: A) => resume(Effect.succeed(value)))),
    `'${event}'`
  )

/**
 * Listens for the first `event` of `emitter` at once (an 'error' with no listener
 * would throw) and yields an Effect that waits for it, bounded. A forked
 * `onceEvent` would not do: a forked fiber starts later, when the event may be gone.
 */
const listenOnce = <A = unknown>(emitter: NodeJS.EventEmitter, event: string) =>
  Effect.map(Deferred.make<A>(), (deferred) => {
    emitter.once(event, (value: A) => Effect.runSync(Deferred.succeed(deferred, value)))
    return bound(Deferred.await(deferred), `'${event}'`)
  })

/**
 * Everything a Node readable yields until its end, bounded; fails with its error.
 * (Not `for await`, which destroys the stream when it ends.)
 */
const collect = (readable: NodeJS.ReadableStream) =>
  bound(
    async<Buffer, unknown>((resume) => {
      const chunks: Array<Buffer> = []
      readable.on("data", (chunk: Buffer) => chunks.push(chunk))
      readable.once("end", () => resume(Effect.succeed(Buffer.concat(chunks))))
      readable.once("error", (error) => resume(Effect.fail(error)))
      readable.resume()
    }),
    "reading the duplex"
  )

/** Waits for the duplex's 'close', which may have been emitted already. */
const awaitClose = (duplex: Duplex) =>
  bound(
    async<void>((resume) => {
      if (duplex.closed) return resume(Effect.void)
      duplex.once("close", () => resume(Effect.void))
    }),
    "'close'"
  )

layer(Netpoll.layer)("adapters", (it) => {
  describe("toStream", () => {
    it.effect("emits what the peer wrote and ends at the peer's end of stream", () =>
      Effect.gen(function*() {
        const { client, server } = yield* pair()
        yield* client.writeAll(bytes("hello, "))
        yield* client.writeAll(bytes("world"))
        yield* client.shutdown("write")
        const chunks = yield* bound(Stream.runCollect(TcpStream.toStream(server)))
        expect(text(concat(chunks))).toBe("hello, world")
      }))

    it.effect("no element is larger than chunkSize", () =>
      Effect.gen(function*() {
        const { client, server } = yield* pair()
        const data = pattern(10_000)
        yield* client.writeAll(data)
        yield* client.shutdown("write")
        const chunks = Array.from(yield* bound(Stream.runCollect(TcpStream.toStream(server, { chunkSize: 1000 }))))
        expect(chunks.length).toBeGreaterThanOrEqual(10)
        for (const chunk of chunks) expect(chunk.length).toBeLessThanOrEqual(1000)
        expect(Buffer.compare(concat(chunks), data)).toBe(0)
      }))

    it.effect("each element is its own copy, untouched by later reads", () =>
      Effect.gen(function*() {
        const { client, server } = yield* pair()
        const pull = yield* Stream.toPull(TcpStream.toStream(server))
        yield* client.writeAll(bytes("first"))
        const first = Array.from(yield* bound(pull))
        yield* client.writeAll(bytes("SECOND"))
        const second = Array.from(yield* bound(pull))
        expect(first.map(text)).toEqual(["first"])
        expect(second.map(text)).toEqual(["SECOND"])
        // A view into a reused 64 KiB buffer would share its ArrayBuffer and see "SECON".
        expect(first[0]!.buffer).not.toBe(second[0]!.buffer)
        expect(first[0]!.buffer.byteLength).toBe(5)
        second[0]!.fill(0)
        expect(text(first[0]!)).toBe("first")
      }))

    it.effect("reads only when pulled: the peer's writeAll stays parked until the consumer pulls", () =>
      Effect.gen(function*() {
        const netpoll = yield* Netpoll.Netpoll
        const { client, server } = yield* pair()
        const data = pattern(32 * 1024 * 1024)
        const pull = yield* Stream.toPull(TcpStream.toStream(server))
        const base = netpoll.waiting
        const writer = yield* fork(client.writeAll(data))
        const received: Array<Uint8Array> = [...(yield* bound(pull))]
        // Nobody pulls now: the kernel's buffers fill and the writer parks, and stays parked;
        // the Stream reads nothing ahead (a read parked on its behalf would count as a second waiter).
        yield* awaitParked(netpoll, base)
        yield* Effect.sleep("100 millis")
        expect(yield* poll(writer)).toBeUndefined()
        expect(netpoll.waiting).toBe(base + 1)
        let total = received.reduce((sum, chunk) => sum + chunk.length, 0)
        while (total < data.length) {
          for (const chunk of yield* bound(pull)) {
            received.push(chunk)
            total += chunk.length
          }
        }
        yield* bound(Fiber.join(writer))
        expect(Buffer.compare(concat(received), data)).toBe(0)
      }))

    it.effect("a consumer that stops early leaves the unread bytes to the next reader", () =>
      Effect.gen(function*() {
        const { client, server } = yield* pair()
        yield* client.writeAll(bytes("abcdefgh"))
        yield* client.shutdown("write")
        const head = Array.from(
          yield* bound(Stream.runCollect(Stream.take(TcpStream.toStream(server, { chunkSize: 4 }), 1)))
        )
        expect(head.length).toBe(1)
        expect(head[0]!.length).toBeGreaterThanOrEqual(1)
        expect(head[0]!.length).toBeLessThanOrEqual(4)
        // Whatever the one read did not take is still in the kernel, not in a hidden buffer.
        const rest = yield* bound(readToEnd(server))
        expect(text(head[0]!) + text(rest)).toBe("abcdefgh")
      }))

    it.effect("a consumer interrupted while it waits consumed nothing: the stream stays usable", () =>
      Effect.gen(function*() {
        const netpoll = yield* Netpoll.Netpoll
        const { client, server } = yield* pair()
        const base = netpoll.waiting
        const consumer = yield* fork(Stream.runCollect(TcpStream.toStream(server)))
        yield* awaitParked(netpoll, base)
        const exit = yield* bound(interruptAndAwait(consumer), "interruption")
        expect(isInterrupted(exit)).toBe(true)
        expect(netpoll.waiting).toBe(base)
        yield* client.writeAll(bytes("after"))
        yield* client.shutdown("write")
        expect(text(yield* bound(readToEnd(server)))).toBe("after")
      }))

    it.effect("a peer that resets the connection fails the Stream with ConnectionReset", () =>
      Effect.gen(function*() {
        const port = yield* netServer((socket) => socket.once("data", () => socket.resetAndDestroy()))
        const stream = yield* TcpStream.connect({ host: "127.0.0.1", port })
        yield* stream.writeAll(bytes("reset me"))
        const error = yield* Effect.flip(bound(Stream.runDrain(TcpStream.toStream(stream))))
        expect(error).toBeInstanceOf(NetError.ConnectionReset)
        expect(error).toMatchObject({ _tag: "ConnectionReset", errno: "ECONNRESET", syscall: "read" })
      }))

    it.effect("a closed stream fails the Stream with SocketClosed", () =>
      Effect.gen(function*() {
        const { client } = yield* pair()
        yield* client.close
        const error = yield* Effect.flip(Stream.runDrain(TcpStream.toStream(client)))
        expect(error._tag).toBe("SocketClosed")
        expect(error).toBeInstanceOf(NetError.SocketClosed)
      }))

    it.effect("a chunkSize that is not a positive integer is a defect", () =>
      Effect.gen(function*() {
        const { server } = yield* pair()
        for (const chunkSize of [0, -1, 1.5, Number.NaN]) {
          const exit = yield* Effect.exit(Stream.runDrain(TcpStream.toStream(server, { chunkSize })))
          expect(Exit.isFailure(exit) && Cause.squash(exit.cause)).toBeInstanceOf(RangeError)
        }
      }))
  })

  describe("toSink", () => {
    it.effect("writes every element, small and large, in order", () =>
      Effect.gen(function*() {
        const { client, server } = yield* pair()
        const data = pattern(3 * 1024 * 1024 + 17)
        // Tiny elements (joined into one write) and large ones (written one by one), mixed.
        const pieces: Array<Uint8Array> = []
        for (let offset = 0, i = 0; offset < data.length; i++) {
          const size = i % 3 === 0 ? 200_000 : 1 + (i % 97)
          pieces.push(data.subarray(offset, offset + size))
          offset += size
        }
        const reader = yield* fork(readToEnd(server))
        yield* bound(Stream.fromIterable(pieces).pipe(Stream.rechunk(64), Stream.run(TcpStream.toSink(client))))
        yield* client.shutdown("write")
        const received = yield* bound(Fiber.join(reader))
        expect(Buffer.compare(received, data)).toBe(0)
      }))

    it.effect("toStream into toSink relays a connection through another", () =>
      Effect.gen(function*() {
        const a = yield* pair()
        const b = yield* pair()
        const data = pattern(2 * 1024 * 1024)
        // a.server -> b.client: everything the first peer sends reaches the second.
        const relay = yield* fork(
          Effect.andThen(Stream.run(TcpStream.toStream(a.server), TcpStream.toSink(b.client)), b.client.shutdown("write"))
        )
        const reader = yield* fork(readToEnd(b.server))
        yield* a.client.writeAll(data)
        yield* a.client.shutdown("write")
        yield* bound(Fiber.join(relay))
        expect(Buffer.compare(yield* bound(Fiber.join(reader)), data)).toBe(0)
      }))

    it.effect("a peer that went away fails the sink with ConnectionReset or BrokenPipe", () =>
      Effect.gen(function*() {
        const port = yield* netServer((socket) => socket.once("data", () => socket.resetAndDestroy()))
        const stream = yield* TcpStream.connect({ host: "127.0.0.1", port })
        const block = new Uint8Array(64 * 1024)
        const error = yield* Effect.flip(
          bound(Stream.run(Stream.forever(Stream.succeed(block)), TcpStream.toSink(stream)))
        )
        expect(["ConnectionReset", "BrokenPipe"]).toContain(error._tag)
        expect(NetError.isNetError(error)).toBe(true)
      }))
  })

  describe("toDuplex", () => {
    it.effect("reads what the peer wrote, then ends at the peer's end of stream", () =>
      Effect.gen(function*() {
        const { client, server } = yield* pair()
        const duplex = yield* TcpStream.toDuplex(server)
        yield* client.writeAll(bytes("from the peer"))
        yield* client.shutdown("write")
        expect(text(yield* collect(duplex))).toBe("from the peer")
      }))

    it.effect("writes reach the peer in order, and end() shuts down the write direction", () =>
      Effect.gen(function*() {
        const { client, server } = yield* pair()
        const duplex = yield* TcpStream.toDuplex(client)
        duplex.write("one ")
        duplex.write(Buffer.from("two "))
        duplex.end("three")
        yield* onceEvent(duplex, "finish")
        expect(text(yield* bound(readToEnd(server)))).toBe("one two three")
      }))

    it.effect("corked writes, a small batch and a large one, reach the peer whole and in order", () =>
      Effect.gen(function*() {
        const { client, server } = yield* pair()
        const duplex = yield* TcpStream.toDuplex(client)
        const data = pattern(300_000)
        // Node hands corked writes to _writev in one batch: first tiny pieces, then 100 KB ones.
        duplex.cork()
        for (let offset = 0; offset < 1000; offset += 10) duplex.write(data.subarray(offset, offset + 10))
        duplex.uncork()
        duplex.cork()
        for (let offset = 1000; offset < data.length; offset += 100_000) {
          duplex.write(data.subarray(offset, offset + 100_000))
        }
        duplex.uncork()
        duplex.end()
        const received = yield* bound(readToEnd(server))
        expect(Buffer.compare(received, data)).toBe(0)
      }))

    it.effect("with allowHalfOpen: false, the peer's end of stream ends our writes too", () =>
      Effect.gen(function*() {
        const { client, server } = yield* pair()
        const duplex = yield* TcpStream.toDuplex(server, { allowHalfOpen: false })
        yield* client.shutdown("write")
        expect(text(yield* collect(duplex))).toBe("")
        expect(yield* bound(client.read(new Uint8Array(1)))).toBe(0)
        yield* awaitClose(duplex)
        expect(isOpen(server.fd)).toBe(false)
      }))

    it.effect("stream.pipeline carries 8 MiB through the duplex to an echo peer and back", () =>
      Effect.gen(function*() {
        const { client, server } = yield* pair()
        yield* fork(Effect.andThen(echo(server), server.shutdown("write")))
        const duplex = yield* TcpStream.toDuplex(client)
        const data = pattern(8 * 1024 * 1024)
        const received: Array<Buffer> = []
        const source = Readable.from(
          (function*() {
            for (let offset = 0; offset < data.length; offset += 100_000) yield data.subarray(offset, offset + 100_000)
          })()
        )
        const sink = new Writable({
          write(chunk: Buffer, _encoding, callback) {
            received.push(chunk)
            callback()
          }
        })
        yield* bound(
          Effect.tryPromise(() => Promise.all([pipeline(source, duplex), pipeline(duplex, sink)])),
          "the pipelines"
        )
        expect(Buffer.compare(Buffer.concat(received), data)).toBe(0)
      }))

    it.effect("half-close: the peer's end of stream ends the readable side while writes go on", () =>
      Effect.gen(function*() {
        const { client, server } = yield* pair()
        const duplex = yield* TcpStream.toDuplex(server)
        yield* client.writeAll(bytes("bye"))
        yield* client.shutdown("write")
        expect(text(yield* collect(duplex))).toBe("bye")
        expect(duplex.writable).toBe(true)
        duplex.end("still writing")
        expect(text(yield* bound(readToEnd(client)))).toBe("still writing")
      }))

    it.effect("reads only when Node asks: a paused duplex leaves the peer's writeAll parked", () =>
      Effect.gen(function*() {
        const netpoll = yield* Netpoll.Netpoll
        const { client, server } = yield* pair()
        const chunkSize = 64 * 1024
        const duplex = yield* TcpStream.toDuplex(server, { chunkSize })
        const data = pattern(32 * 1024 * 1024)
        const base = netpoll.waiting
        const writer = yield* fork(client.writeAll(data))
        // A readable with no consumer fills to its highWaterMark, then stops calling _read.
        duplex.pause()
        duplex.read(0)
        yield* awaitParked(netpoll, base)
        yield* Effect.sleep("100 millis")
        expect(yield* poll(writer)).toBeUndefined()
        expect(netpoll.waiting).toBe(base + 1)
        expect(duplex.readableLength).toBeLessThan(duplex.readableHighWaterMark + chunkSize)
        const received = yield* fork(collect(duplex))
        yield* bound(Fiber.join(writer))
        yield* client.shutdown("write")
        expect(Buffer.compare(yield* Fiber.join(received), data)).toBe(0)
      }))

    it.effect("write() reports a full send buffer; every byte arrives once the peer reads", () =>
      Effect.gen(function*() {
        const netpoll = yield* Netpoll.Netpoll
        const { client, server } = yield* pair()
        const duplex = yield* TcpStream.toDuplex(client)
        const chunk = pattern(256 * 1024)
        const base = netpoll.waiting
        let written = 0
        // Write while Node's buffer drains; the kernel takes a few MiB, then the write parks.
        for (let i = 0; i < 1024 && netpoll.waiting === base; i++) {
          written += chunk.length
          duplex.write(chunk)
          yield* bound(
            Effect.repeat(Effect.sleep("1 millis"), {
              until: () => !duplex.writableNeedDrain || netpoll.waiting > base
            }),
            "a drain or a parked write"
          )
        }
        expect(netpoll.waiting).toBe(base + 1)
        expect(duplex.writableNeedDrain).toBe(true)
        const finished = yield* listenOnce(duplex, "finish")
        duplex.end()
        const received = yield* bound(readToEnd(server))
        yield* finished
        expect(received.length).toBe(written)
        for (let offset = 0; offset < written; offset += chunk.length) {
          expect(Buffer.compare(received.subarray(offset, offset + chunk.length), chunk)).toBe(0)
        }
      }))

    it.effect("a peer reset destroys the duplex: 'error' carries the ConnectionReset, an Error", () =>
      Effect.gen(function*() {
        const port = yield* netServer((socket) => socket.once("data", () => socket.resetAndDestroy()))
        const stream = yield* TcpStream.connect({ host: "127.0.0.1", port })
        const duplex = yield* TcpStream.toDuplex(stream)
        const failed = yield* listenOnce<Error>(duplex, "error")
        duplex.resume()
        duplex.write("reset me")
        const error = yield* failed
        expect(error).toBeInstanceOf(Error)
        expect(error).toBeInstanceOf(NetError.ConnectionReset)
        expect(NetError.isNetError(error)).toBe(true)
        expect(error).toMatchObject({ _tag: "ConnectionReset", errno: "ECONNRESET" })
        yield* awaitClose(duplex)
        expect(isOpen(stream.fd)).toBe(false)
      }))

    it.effect("destroy() interrupts a pending read, closes the stream, and the peer sees the end", () =>
      Effect.gen(function*() {
        const netpoll = yield* Netpoll.Netpoll
        const { client, server } = yield* pair()
        const duplex = yield* TcpStream.toDuplex(client)
        const base = netpoll.waiting
        duplex.resume()
        yield* awaitParked(netpoll, base)
        duplex.destroy()
        yield* awaitClose(duplex)
        expect(netpoll.waiting).toBe(base)
        expect(isOpen(client.fd)).toBe(false)
        expect((yield* Effect.flip(client.read(new Uint8Array(1))))._tag).toBe("SocketClosed")
        expect(yield* bound(server.read(new Uint8Array(1)))).toBe(0)
      }))

    it.effect("destroy() during a parked write ends with 'close' and loses nothing already sent", () =>
      Effect.gen(function*() {
        const netpoll = yield* Netpoll.Netpoll
        const { client, server } = yield* pair()
        const duplex = yield* TcpStream.toDuplex(client)
        const base = netpoll.waiting
        const errors: Array<unknown> = []
        duplex.on("error", (error) => errors.push(error))
        duplex.write(new Uint8Array(64 * 1024 * 1024))
        yield* awaitParked(netpoll, base)
        duplex.destroy()
        yield* awaitClose(duplex)
        expect(errors).toEqual([])
        expect(netpoll.waiting).toBe(base)
        expect(isOpen(client.fd)).toBe(false)
        const received = yield* bound(readToEnd(server))
        expect(received.length).toBeGreaterThan(0)
        expect(received.length).toBeLessThan(64 * 1024 * 1024)
        expect(received.every((byte) => byte === 0)).toBe(true)
      }))

    it.effect("closing the Scope destroys the duplex and closes the stream", () =>
      Effect.gen(function*() {
        const { client, server } = yield* pair()
        const duplex = yield* Effect.scoped(
          Effect.tap(TcpStream.toDuplex(client), (duplex) => Effect.sync(() => duplex.resume()))
        )
        expect(duplex.destroyed).toBe(true)
        expect(duplex.closed).toBe(true)
        expect(isOpen(client.fd)).toBe(false)
        expect(yield* bound(server.read(new Uint8Array(1)))).toBe(0)
      }))

    it.effect("a stream whose Scope closed first fails the duplex with SocketClosed; its fd is not touched again", () =>
      Effect.gen(function*() {
        const streamScope = yield* Scope.make()
        const { client } = yield* Effect.provideService(pair(), Scope.Scope, streamScope)
        const fd = client.fd
        const duplex = yield* TcpStream.toDuplex(client)
        const failed = yield* listenOnce<Error>(duplex, "error")
        duplex.resume()
        yield* Scope.close(streamScope, Exit.void)
        const error = yield* failed
        expect(error).toBeInstanceOf(NetError.SocketClosed)
        expect(error).toMatchObject({ _tag: "SocketClosed" })
        yield* awaitClose(duplex)
        // The kernel hands out the lowest free fd: a new connection likely reuses the number,
        // and must keep working after the duplex (which once owned that number) is gone.
        const next = yield* pair()
        const reused = [next.client, next.server, next.listener].some((handle) => handle.fd === fd)
        duplex.destroy()
        yield* next.client.writeAll(bytes("alive"))
        const buf = new Uint8Array(5)
        yield* bound(next.server.readExact(buf))
        expect(text(buf)).toBe("alive")
        expect(reused).toBe(true)
      }))

    it.effect("NetErrors are Error instances, as Node's destroy(err) expects", () =>
      Effect.sync(() => {
        const error = new NetError.BrokenPipe({ syscall: "write", errno: "EPIPE" })
        expect(error).toBeInstanceOf(Error)
        expect(error.message).toBe("write: broken pipe")
      }))
  })

  describe("resources", () => {
    it.effect("streams, sinks and duplexes leave no fd behind once their Scope closes", () =>
      Effect.gen(function*() {
        const netpoll = yield* Netpoll.Netpoll
        yield* loopTurns
        const before = { fds: openFds(), owned: netpoll.size, waiting: netpoll.waiting }
        for (let i = 0; i < 20; i++) {
          yield* Effect.scoped(Effect.gen(function*() {
            const { client, server } = yield* pair()
            const duplex: Duplex = yield* TcpStream.toDuplex(client)
            duplex.write("ping")
            const head = yield* bound(Stream.runCollect(Stream.take(TcpStream.toStream(server), 1)))
            expect(text(concat(head))).toBe("ping")
            yield* Stream.run(Stream.make(bytes("pong")), TcpStream.toSink(server))
            // A pending read and a pending stream pull, both torn down by the Scope.
            duplex.resume()
            yield* Effect.forkScoped(Stream.runDrain(TcpStream.toStream(server)))
          }))
        }
        yield* loopTurns
        expect({ fds: openFds(), owned: netpoll.size, waiting: netpoll.waiting }).toEqual(before)
      }))
  })
})
