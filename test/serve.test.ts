import { describe, expect } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Ref from "effect/Ref"
import * as Netpoll from "../src/Netpoll.js"
import * as TcpListener from "../src/TcpListener.js"
import * as TcpStream from "../src/TcpStream.js"
import * as runtime from "../src/internal/runtime.js"
import { isOpen, loopTurns, openFds } from "./utils/fds.js"
import { captureLogs, fork, withFiber, withMaxOpsBeforeYield, yieldNow } from "./utils/line.js"
import {
  bound,
  bytes,
  defects,
  echo,
  failures,
  failureTag,
  interruptAndAwait,
  isInterrupted,
  readAfterPeerEnded,
  readToEnd,
  text
} from "./utils/peers.js"
import { layer } from "./utils/runners.js"
import { loopbackAttributes, recordingTracer } from "./utils/tracer.js"

// How `serve` runs a connection: the handler's Scope, the stream's close, the
// handler's exit, the accept spans. test/TcpListener.test.ts covers the rest.

/** Reads one byte: the command a test client sends first. */
const command = (stream: TcpStream.TcpStream) =>
  Effect.map(Effect.tap(Effect.succeed(new Uint8Array(1)), (buf) => stream.readExact(buf)), text)

layer(Netpoll.layer)("serve", (it) => {
  describe("connections", () => {
    it.effect("a handler's finalizers run before its stream closes: one can still write a goodbye", () =>
      Effect.gen(function*() {
        const listener = yield* TcpListener.bind("127.0.0.1:0")
        const addr = yield* listener.localAddr
        yield* Effect.forkScoped(TcpListener.serve(listener, (stream) =>
          Effect.gen(function*() {
            yield* Effect.addFinalizer(() => Effect.orDie(stream.writeAll(bytes(" bye"))))
            yield* stream.writeAll(bytes("hello"))
          })))
        const client = yield* bound(TcpStream.connect(addr))
        expect(text(yield* bound(readToEnd(client)))).toBe("hello bye")
      }))

    it.effect("the connection's Scope closes with the handler's exit: success, failure or interruption", () =>
      Effect.gen(function*() {
        const listener = yield* TcpListener.bind("127.0.0.1:0")
        const addr = yield* listener.localAddr
        const exits = yield* Queue.unbounded<Exit.Exit<unknown, unknown>>()
        const waiting = yield* Deferred.make<void>()
        const handler = (stream: TcpStream.TcpStream) =>
          Effect.gen(function*() {
            yield* Effect.addFinalizer((exit) => Effect.asVoid(Queue.offer(exits, exit)))
            const what = yield* command(stream)
            if (what === "f") return yield* Effect.fail("boom")
            if (what === "w") {
              yield* Deferred.succeed(waiting, undefined)
              return yield* Effect.never
            }
          })
        const server = yield* fork(
          TcpListener.serve(listener, handler).pipe(Effect.provide(captureLogs().layer))
        )

        for (const what of ["s", "f"]) {
          const client = yield* bound(TcpStream.connect(addr))
          yield* client.writeAll(bytes(what))
          expect(yield* bound(client.read(new Uint8Array(1)))).toBe(0)
        }
        const [succeeded, failed] = yield* bound(Effect.all([Queue.take(exits), Queue.take(exits)]))
        expect(Exit.isSuccess(succeeded)).toBe(true)
        expect(Exit.isFailure(failed) && failures(failed.cause)).toEqual(["boom"])

        const waiter = yield* bound(TcpStream.connect(addr))
        yield* waiter.writeAll(bytes("w"))
        yield* bound(Deferred.await(waiting))
        yield* bound(interruptAndAwait(server))
        const interrupted = yield* bound(Queue.take(exits))
        expect(isInterrupted(interrupted)).toBe(true)
        expect(yield* Queue.size(exits)).toBe(0)
      }))

    it.effect("a handler that throws instead of returning an effect ends only its connection, and is logged", () =>
      Effect.gen(function*() {
        const logs = captureLogs()
        const listener = yield* TcpListener.bind("127.0.0.1:0")
        const addr = yield* listener.localAddr
        const kaput = new Error("kaput")
        let calls = 0
        const handler = (stream: TcpStream.TcpStream) => {
          if (++calls === 1) throw kaput
          return echo(stream)
        }
        yield* Effect.forkScoped(TcpListener.serve(listener, handler).pipe(Effect.provide(logs.layer)))

        const thrown = yield* bound(TcpStream.connect(addr))
        expect(yield* bound(thrown.read(new Uint8Array(8)))).toBe(0)
        const errors = logs.entries.filter((entry) => entry.level === "Error")
        expect(errors.map((entry) => defects(entry.cause))).toEqual([[kaput]])

        const next = yield* bound(TcpStream.connect(addr))
        yield* next.writeAll(bytes("still serving"))
        const reply = new Uint8Array(13)
        yield* bound(next.readExact(reply))
        expect(text(reply)).toBe("still serving")
      }))

    it.effect("handlers that end at once close their streams: every peer reads EOF, and no fd is left", () =>
      Effect.gen(function*() {
        const listener = yield* TcpListener.bind("127.0.0.1:0")
        const addr = yield* listener.localAddr
        const served = yield* Ref.make(0)
        yield* Effect.forkScoped(TcpListener.serve(listener, () => Ref.update(served, (n) => n + 1)))
        yield* loopTurns
        const before = openFds()
        yield* Effect.forEach(Array.from({ length: 100 }), () =>
          Effect.scoped(Effect.gen(function*() {
            const client = yield* bound(TcpStream.connect(addr))
            expect(yield* bound(client.read(new Uint8Array(8)))).toBe(0)
          })), { concurrency: 8, discard: true })
        yield* loopTurns
        expect(yield* Ref.get(served)).toBe(100)
        expect(openFds()).toBe(before)
      }))

    it.effect("interrupting serve while every slot is taken interrupts the handlers and closes their streams", () =>
      Effect.gen(function*() {
        const listener = yield* TcpListener.bind("127.0.0.1:0")
        const addr = yield* listener.localAddr
        const started = yield* Queue.unbounded<number>()
        const interrupted = yield* Ref.make(0)
        const handler = (stream: TcpStream.TcpStream) =>
          Effect.andThen(Queue.offer(started, stream.fd), Effect.never).pipe(
            Effect.onInterrupt(() => Ref.update(interrupted, (n) => n + 1))
          )
        const server = yield* fork(TcpListener.serve(listener, handler, { maxConnections: 1 }))
        const first = yield* bound(TcpStream.connect(addr))
        const fd = yield* bound(Queue.take(started))
        // Connected from the kernel's backlog, never accepted while the one slot is taken.
        yield* bound(TcpStream.connect(addr))

        const exit = yield* bound(interruptAndAwait(server))
        expect(isInterrupted(exit)).toBe(true)
        expect(yield* Ref.get(interrupted)).toBe(1)
        expect(yield* Queue.size(started)).toBe(0)
        expect(isOpen(fd)).toBe(false)
        expect(["end of stream", "ConnectionReset"]).toContain(yield* readAfterPeerEnded(first))
      }))
  })

  describe("slots and failures", () => {
    it.effect("a handler that ends while the accept loop yields between its slot check and its wait still frees the slot", () =>
      Effect.gen(function*() {
        // A small yield budget makes the serve fiber yield at every point of its loop in turn.
        const stalled: Array<number> = []
        for (let budget = 10; budget <= 30; budget++) {
          const served = yield* Effect.scoped(Effect.gen(function*() {
            const listener = yield* TcpListener.bind("127.0.0.1:0")
            const addr = yield* listener.localAddr
            yield* Effect.forkScoped(
              TcpListener.serve(listener, () => yieldNow, { maxConnections: 1 }).pipe(
                withMaxOpsBeforeYield(budget)
              )
            )
            for (let i = 0; i < 20; i++) {
              const eof = yield* Effect.scoped(
                Effect.flatMap(TcpStream.connect(addr), (c) => c.read(new Uint8Array(1)))
              ).pipe(
                Effect.timeout("5 seconds"),
                Effect.option
              )
              if (eof._tag === "None") return false
            }
            return true
          }))
          if (!served) stalled.push(budget)
        }
        expect(stalled).toEqual([])
      }), { timeout: 240_000 })

    it.effect("a handler whose finalizer dies is logged as failed, and its stream still closes", () =>
      Effect.gen(function*() {
        const { entries, layer: logs } = captureLogs()
        const listener = yield* TcpListener.bind("127.0.0.1:0")
        const addr = yield* listener.localAddr
        const kaput = new Error("finalizer kaput")
        yield* Effect.forkScoped(
          TcpListener.serve(listener, () => Effect.addFinalizer(() => Effect.die(kaput))).pipe(Effect.provide(logs))
        )
        const client = yield* bound(TcpStream.connect(addr))
        expect(yield* bound(client.read(new Uint8Array(1)))).toBe(0)
        expect(entries.map((entry) => [entry.level, defects(entry.cause)])).toEqual([["Error", [kaput]]])
      }))
  })

  describe("spans", () => {
    it.effect("a span is made only for a tracer that records it: not under Effect's native tracer, nor with tracing off", () =>
      Effect.gen(function*() {
        const traced = withFiber((fiber) => Effect.succeed(runtime.isTraced(fiber)))
        const { tracer } = recordingTracer()
        expect(yield* traced).toBe(false)
        expect(yield* Effect.withTracer(traced, tracer)).toBe(true)
        expect(yield* traced.pipe(Effect.withTracerEnabled(false), Effect.withTracer(tracer))).toBe(false)
      }))

    it.effect("with a tracer installed, each accepted connection ends an accept span with its peer", () =>
      Effect.gen(function*() {
        const { spans, tracer } = recordingTracer()
        const listener = yield* TcpListener.bind("127.0.0.1:0")
        const { port } = yield* listener.localAddr
        const handled = yield* Queue.unbounded<void>()
        yield* Effect.forkScoped(
          TcpListener.serve(listener, () => Effect.withSpan(Queue.offer(handled, undefined), "handler")).pipe(
            Effect.withSpan("server"),
            Effect.withTracer(tracer)
          )
        )
        const clientPorts: Array<number> = []
        for (let i = 0; i < 3; i++) {
          const client = yield* bound(TcpStream.connect(`127.0.0.1:${port}`))
          clientPorts.push((yield* client.localAddr).port)
          expect(yield* bound(client.read(new Uint8Array(8)))).toBe(0)
          yield* bound(Queue.take(handled))
        }
        const accepts = spans.filter((span) => span.name === "effect-netpoll.accept" && span.exit !== undefined)
        expect(accepts.map((span) => Object.fromEntries(span.attributes))).toEqual(
          clientPorts.map((clientPort) => loopbackAttributes(port, clientPort))
        )
        expect(accepts.every((span) => span.kind === "server" && Exit.isSuccess(span.exit!))).toBe(true)
        // Handlers run under serve's span, not under the accept that brought their connection.
        const [server] = spans.filter((span) => span.name === "server")
        const handlers = spans.filter((span) => span.name === "handler")
        expect(handlers.length).toBe(3)
        expect(handlers.every((span) => Option.getOrUndefined(span.parent) === server)).toBe(true)
      }))

    it.effect("with a tracer installed, serve on a closed listener fails with SocketClosed, as its accept span does", () =>
      Effect.gen(function*() {
        const { spans, tracer } = recordingTracer()
        const listener = yield* TcpListener.bind("127.0.0.1:0")
        yield* listener.close
        const exit = yield* bound(Effect.exit(TcpListener.serve(listener, () => Effect.void).pipe(Effect.withTracer(tracer))))
        expect(failureTag(exit)).toBe("SocketClosed")
        expect(spans.map((span) => span.name)).toEqual(["effect-netpoll.accept"])
        expect(failureTag(spans[0]!.exit)).toBe("SocketClosed")
      }))
  })
})
