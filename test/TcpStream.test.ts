import { spawn } from "node:child_process"
import * as dns from "node:dns"
import { describe, expect } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import type * as Scope from "effect/Scope"
import type * as NetError from "../src/NetError.js"
import * as Netpoll from "../src/Netpoll.js"
import * as TcpListener from "../src/TcpListener.js"
import * as TcpStream from "../src/TcpStream.js"
import { addon } from "../src/internal/core.js"
import { epollWatched, isOpen } from "./utils/fds.js"
import { familyOf, fork, hostOf } from "./utils/line.js"
import {
  bound,
  bytes,
  eventually,
  interruptFork,
  isInterrupted,
  netServer,
  pair,
  poll,
  readToEnd,
  text
} from "./utils/peers.js"
import { layer } from "./utils/runners.js"

const backends = [["epoll", Netpoll.layer], ["uv_poll", Netpoll.layerUvPoll]] as const

/** A port with nothing listening: bound once, then released. */
const closedPort = Effect.scoped(
  Effect.flatMap(TcpListener.bind("127.0.0.1:0"), (listener) => Effect.map(listener.localAddr, (a) => a.port))
)

/**
 * Forks `op` on a stream whose send buffer is full, so that it parks: fills the
 * buffer first, and fills again whenever the kernel found more room after all.
 * Returns the parked fiber and how many bytes were written, `op` excluded.
 */
const parkBehindFullBuffer = <A, E>(stream: TcpStream.TcpStream, op: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const chunk = new Uint8Array(64 * 1024)
    let written = 0
    for (let attempt = 0; attempt < 50; attempt++) {
      while (true) {
        const n = yield* Effect.option(Effect.timeout(stream.write(chunk), "100 millis"))
        if (n._tag === "None") break
        written += n.value
      }
      const fiber = yield* fork(op)
      yield* Effect.sleep("50 millis")
      const done = yield* poll(fiber)
      if (done === undefined) return { fiber, written }
      if (Exit.isSuccess(done) && typeof done.value === "number") written += done.value
    }
    return yield* Effect.die(new Error("the send buffer never filled"))
  })

/** A peer that sends "abc", one byte of TCP urgent data (MSG_OOB), then "def", and stays connected. */
const urgentDataPeer = (port: number) =>
  Effect.acquireRelease(
    Effect.sync(() =>
      spawn("python3", [
        "-c",
        [
          "import socket, time",
          `s = socket.create_connection(("127.0.0.1", ${port}))`,
          "s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)",
          "s.sendall(b'abc'); s.send(b'X', socket.MSG_OOB); s.sendall(b'def')",
          "time.sleep(30)"
        ].join("\n")
      ], { stdio: "ignore" })
    ),
    (child) => Effect.sync(() => child.kill())
  )

for (const [backend, netpollLayer] of backends) {
  layer(netpollLayer)(`TcpStream (${backend})`, (it) => {
    it.effect("the layer reports its backend", () =>
      Effect.gen(function*() {
        const service = yield* Netpoll.Netpoll
        expect(service.backend).toBe(backend)
      }))

    describe("read and write", () => {
      it.effect("bytes written on one side are read on the other, over IPv4", () =>
        Effect.gen(function*() {
          const { client, server } = yield* pair("127.0.0.1")
          yield* client.writeAll(bytes("hello"))
          const buf = new Uint8Array(5)
          yield* bound(server.readExact(buf))
          expect(text(buf)).toBe("hello")
          yield* server.writeAll(bytes("world"))
          yield* bound(client.readExact(buf))
          expect(text(buf)).toBe("world")
        }))

      it.effect("bytes written on one side are read on the other, over IPv6", () =>
        Effect.gen(function*() {
          const { client, server } = yield* pair("::1")
          expect(familyOf(yield* client.peerAddr)).toBe("IPv6")
          yield* client.writeAll(bytes("over v6"))
          const buf = new Uint8Array(7)
          yield* bound(server.readExact(buf))
          expect(text(buf)).toBe("over v6")
        }))

      it.effect("read resolves with what is available, not a full buffer", () =>
        Effect.gen(function*() {
          const { client, server } = yield* pair()
          yield* client.writeAll(bytes("abc"))
          const buf = new Uint8Array(1024)
          const n = yield* bound(server.read(buf))
          expect(n).toBe(3)
          expect(text(buf.subarray(0, n))).toBe("abc")
        }))

      it.effect("small reads that find more queued than they ask for return it all, in order, and nothing twice", () =>
        Effect.gen(function*() {
          const { client, server } = yield* pair()
          const sent = Uint8Array.from({ length: 20_000 }, (_, i) => (i * 7) % 251)
          yield* client.writeAll(sent)
          yield* client.shutdown("write")
          yield* Effect.sleep("20 millis")
          const received = new Uint8Array(sent.length)
          let at = 0
          const exact = new Uint8Array(10)
          const small = new Uint8Array(3)
          for (let i = 0; at < sent.length; i++) {
            if (i % 2 === 0 && at + exact.length <= sent.length) {
              yield* bound(server.readExact(exact))
              received.set(exact, at)
              at += exact.length
            } else {
              const n = yield* bound(server.read(small))
              expect(n).toBeGreaterThan(0)
              received.set(small.subarray(0, n), at)
              at += n
            }
          }
          expect(received).toEqual(sent)
          expect(yield* bound(server.read(small))).toBe(0)
        }))

      it.effect("what a small read took beyond its buffer goes to the clone's next read too", () =>
        Effect.gen(function*() {
          const { client, server } = yield* pair()
          const clone = yield* server.tryClone
          yield* client.writeAll(bytes("AAAABBBBCCCC"))
          yield* Effect.sleep("20 millis")
          const buf = new Uint8Array(4)
          yield* bound(server.readExact(buf))
          expect(text(buf)).toBe("AAAA")
          yield* bound(clone.readExact(buf))
          expect(text(buf)).toBe("BBBB")
          yield* bound(server.readExact(buf))
          expect(text(buf)).toBe("CCCC")
          yield* client.writeAll(bytes("DDDD"))
          yield* bound(clone.readExact(buf), "a read once the kept bytes are gone")
          expect(text(buf)).toBe("DDDD")
        }))

      it.effect("bytes that arrived before a socket's first wait wake that wait", () =>
        Effect.gen(function*() {
          const { client, server } = yield* pair()
          const buf = new Uint8Array(16)
          yield* client.writeAll(bytes("a"))
          yield* Effect.sleep("20 millis")
          // A short read: the socket is drained, so the next read waits without a recv.
          expect(yield* bound(server.read(buf))).toBe(1)
          yield* client.writeAll(bytes("b"))
          yield* Effect.sleep("20 millis")
          const n = yield* bound(server.read(buf), "a first wait on bytes already there")
          expect(text(buf.subarray(0, n))).toBe("b")
        }))

      it.effect("read returns 0 at end of stream, and again after", () =>
        Effect.gen(function*() {
          const { client, server } = yield* pair()
          yield* client.writeAll(bytes("last"))
          yield* client.close
          const buf = new Uint8Array(16)
          expect(yield* bound(server.read(buf))).toBe(4)
          expect(yield* bound(server.read(buf))).toBe(0)
          expect(yield* bound(server.read(buf))).toBe(0)
        }))

      it.effect("an empty read returns 0 at once and never latches end of stream", () =>
        Effect.gen(function*() {
          const { client, server } = yield* pair()
          expect(yield* server.read(new Uint8Array(0))).toBe(0)
          yield* client.writeAll(bytes("x"))
          const buf = new Uint8Array(1)
          expect(yield* bound(server.read(buf))).toBe(1)
          expect(text(buf)).toBe("x")
        }))

      it.effect("an empty write returns 0 at once", () =>
        Effect.gen(function*() {
          const { client } = yield* pair()
          expect(yield* client.write(new Uint8Array(0))).toBe(0)
          yield* client.writeAll(new Uint8Array(0))
        }))

      it.effect("write may write fewer bytes than asked when the send buffer fills", () =>
        Effect.gen(function*() {
          const { client } = yield* pair()
          const big = new Uint8Array(64 * 1024 * 1024)
          const n = yield* bound(client.write(big))
          expect(n).toBeGreaterThan(0)
          expect(n).toBeLessThan(big.length)
        }))

      it.effect("writeAll and readExact move 32 MiB intact while both sides run", () =>
        Effect.gen(function*() {
          const { client, server } = yield* pair()
          const data = new Uint8Array(32 * 1024 * 1024)
          for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >> 13)) & 0xff
          const received = new Uint8Array(data.length)
          yield* bound(Effect.all([client.writeAll(data), server.readExact(received)], { concurrency: 2 }))
          expect(Buffer.compare(received, data)).toBe(0)
        }))

      it.effect("readExact fails with UnexpectedEof carrying the bytes it read", () =>
        Effect.gen(function*() {
          const { client, server } = yield* pair()
          yield* client.writeAll(bytes("short"))
          yield* client.shutdown("write")
          const error = yield* Effect.flip(bound(server.readExact(new Uint8Array(10))))
          expect(error._tag).toBe("UnexpectedEof")
          expect(error._tag === "UnexpectedEof" && error.bytesRead).toBe(5)
        }))

      it.effect("a parked read suspends the fiber, not the event loop", () =>
        Effect.gen(function*() {
          const { client, server } = yield* pair()
          const reader = yield* fork(server.read(new Uint8Array(8)))
          const timerFired = yield* bound(
            Effect.promise(() => new Promise<boolean>((r) => setTimeout(() => r(true), 20))),
            "a timer while a read is parked"
          )
          expect(timerFired).toBe(true)
          expect(yield* poll(reader)).toBe(undefined)
          yield* client.writeAll(bytes("ok"))
          expect(yield* bound(Fiber.join(reader))).toBe(2)
        }))
    })

    describe("cancellation", () => {
      it.effect("an interrupted read consumes nothing and never writes into its buffer", () =>
        Effect.gen(function*() {
          const { client, server } = yield* pair()
          const first = new Uint8Array(16)
          const fiber = yield* fork(server.read(first))
          yield* Effect.sleep("20 millis")
          yield* Fiber.interrupt(fiber)
          yield* client.writeAll(bytes("for the next one"))
          const second = new Uint8Array(16)
          yield* bound(server.readExact(second))
          expect(text(second)).toBe("for the next one")
          expect(first.every((b) => b === 0)).toBe(true)
        }))

      it.effect("a read that times out leaves the connection usable", () =>
        Effect.gen(function*() {
          const { client, server } = yield* pair()
          const timedOut = yield* Effect.option(Effect.timeout(server.read(new Uint8Array(4)), "30 millis"))
          expect(timedOut._tag).toBe("None")
          yield* client.writeAll(bytes("late"))
          const buf = new Uint8Array(4)
          yield* bound(server.readExact(buf))
          expect(text(buf)).toBe("late")
        }))

      it.effect("an interrupted write sends nothing: the peer gets exactly the bytes reported written", () =>
        Effect.gen(function*() {
          const { client, server } = yield* pair()
          const { fiber, written } = yield* parkBehindFullBuffer(client, client.write(new Uint8Array(1024).fill(1)))
          yield* Fiber.interrupt(fiber)
          yield* client.shutdown("write")
          const received = yield* bound(readToEnd(server))
          expect(received.length).toBe(written)
        }))

      it.effect("an interrupted connect closes its socket at once", () =>
        Effect.gen(function*() {
          // 192.0.2.1 (TEST-NET-1) is unroutable; a connect to it never completes,
          // so this only ever sends a SYN that goes nowhere, if a route exists at all.
          const exit = yield* Effect.exit(Effect.scoped(
            Effect.timeout(TcpStream.connect("192.0.2.1:9"), "50 millis")
          ))
          expect(Exit.isFailure(exit)).toBe(true)
          const service = yield* Netpoll.Netpoll
          expect(service.size).toBe(0)
        }))
    })

    describe("tryClone", () => {
      it.effect("both handles see one byte stream, and the clone is a new fd", () =>
        Effect.gen(function*() {
          const { client, server } = yield* pair()
          const clone = yield* client.tryClone
          expect(clone.fd).not.toBe(client.fd)
          yield* client.writeAll(bytes("ab"))
          yield* clone.writeAll(bytes("cd"))
          const buf = new Uint8Array(4)
          yield* bound(server.readExact(buf))
          expect(text(buf)).toBe("abcd")
          yield* server.writeAll(bytes("xy"))
          const one = new Uint8Array(1)
          yield* bound(clone.readExact(one))
          expect(text(one)).toBe("x")
          yield* bound(client.readExact(one))
          expect(text(one)).toBe("y")
        }))

      it.effect("closing one handle leaves the other open; the peer sees EOF only after both", () =>
        Effect.gen(function*() {
          const { client, server } = yield* pair()
          const clone = yield* client.tryClone
          yield* client.close
          expect(isOpen(client.fd) && client.fd === clone.fd).toBe(false)
          expect(isOpen(clone.fd)).toBe(true)
          yield* clone.writeAll(bytes("still here"))
          const buf = new Uint8Array(10)
          yield* bound(server.readExact(buf))
          expect(text(buf)).toBe("still here")
          const eof = yield* fork(server.read(buf))
          yield* Effect.sleep("20 millis")
          expect(yield* poll(eof)).toBe(undefined)
          yield* clone.close
          expect(yield* bound(Fiber.join(eof))).toBe(0)
        }))

      it.effect("a reader fiber on the clone and a writer on the original run full duplex", () =>
        Effect.gen(function*() {
          const { client, server } = yield* pair()
          const reader = yield* client.tryClone
          const size = 4 * 1024 * 1024
          const echo = Effect.gen(function*() {
            const buf = new Uint8Array(64 * 1024)
            let total = 0
            while (total < size) {
              const n = yield* server.read(buf)
              total += n
              yield* server.writeAll(buf.subarray(0, n))
            }
          })
          const received = new Uint8Array(size)
          yield* bound(Effect.all([
            echo,
            client.writeAll(new Uint8Array(size).fill(7)),
            reader.readExact(received)
          ], { concurrency: 3 }))
          expect(received.every((b) => b === 7)).toBe(true)
        }))

      it.effect("the clone belongs to the Scope that asked for it", () =>
        Effect.gen(function*() {
          const { client } = yield* pair()
          const cloneFd = yield* Effect.scoped(Effect.map(client.tryClone, (clone) => clone.fd))
          expect(isOpen(cloneFd)).toBe(false)
          expect(isOpen(client.fd)).toBe(true)
        }))
    })

    describe("shutdown", () => {
      it.effect("shutdown(\"write\"): the peer reads 0 and our reads go on", () =>
        Effect.gen(function*() {
          const { client, server } = yield* pair()
          yield* client.shutdown("write")
          expect(yield* bound(server.read(new Uint8Array(4)))).toBe(0)
          yield* server.writeAll(bytes("back"))
          const buf = new Uint8Array(4)
          yield* bound(client.readExact(buf))
          expect(text(buf)).toBe("back")
        }))

      it.effect("a write after our own shutdown(\"write\") fails with BrokenPipe", () =>
        Effect.gen(function*() {
          const { client } = yield* pair()
          yield* client.shutdown("write")
          const error = yield* Effect.flip(client.write(bytes("no")))
          expect(error._tag).toBe("BrokenPipe")
          expect(error.syscall).toBe("write")
          expect(error.errno).toBe("EPIPE")
        }))

      it.effect("shutdown(\"read\"): our reads return what is buffered, then 0", () =>
        Effect.gen(function*() {
          const { client, server } = yield* pair()
          yield* client.writeAll(bytes("buffered"))
          const peek = new Uint8Array(1)
          yield* bound(server.readExact(peek))
          yield* server.shutdown("read")
          const rest = yield* bound(readToEnd(server))
          expect(text(rest)).toBe("uffered")
        }))

      it.effect("shutdown(\"read\") wakes a parked reader with 0", () =>
        Effect.gen(function*() {
          const { server } = yield* pair()
          const reader = yield* fork(server.read(new Uint8Array(4)))
          yield* Effect.sleep("20 millis")
          yield* server.shutdown("read")
          expect(yield* bound(Fiber.join(reader))).toBe(0)
        }))

      it.effect("shutdown is idempotent and succeeds on a connection already gone", () =>
        Effect.gen(function*() {
          const { client, server } = yield* pair()
          yield* client.shutdown("write")
          yield* client.shutdown("write")
          yield* client.shutdown("both")
          yield* server.close
          yield* client.shutdown("both")
        }))
    })

    describe("close", () => {
      it.effect("close is idempotent and closes the fd", () =>
        Effect.gen(function*() {
          const { client } = yield* pair()
          const fd = client.fd
          yield* client.close
          yield* client.close
          expect(isOpen(fd)).toBe(false)
        }))

      it.effect("fibers parked on a handle wake at once with SocketClosed when it closes", () =>
        Effect.gen(function*() {
          const { client } = yield* pair()
          const reader = yield* fork(Effect.flip(client.read(new Uint8Array(4))))
          const { fiber: writer } = yield* parkBehindFullBuffer(client, Effect.flip(client.write(new Uint8Array(4))))
          expect(yield* poll(reader)).toBe(undefined)
          yield* client.close
          const [readError, writeError] = yield* bound(Fiber.joinAll([reader, writer]))
          expect(readError!._tag).toBe("SocketClosed")
          expect(writeError!._tag).toBe("SocketClosed")
        }))

      it.effect("every call after close fails with SocketClosed, empty ones included", () =>
        Effect.gen(function*() {
          const { client } = yield* pair()
          yield* client.close
          const calls = [
            ["read", client.read(new Uint8Array(4))],
            ["empty read", client.read(new Uint8Array(0))],
            ["write", client.write(new Uint8Array(4))],
            ["empty write", client.write(new Uint8Array(0))],
            ["empty readExact", client.readExact(new Uint8Array(0))],
            ["writeAll", client.writeAll(new Uint8Array(4))],
            ["tryClone", client.tryClone],
            ["peerAddr", client.peerAddr],
            ["localAddr", client.localAddr],
            ["shutdown", client.shutdown("both")],
            ["setNoDelay", client.setNoDelay(true)],
            ["setKeepAlive", client.setKeepAlive(true, 1000)]
          ] as ReadonlyArray<readonly [string, Effect.Effect<unknown, NetError.NetError, Scope.Scope>]>
          for (const [name, call] of calls) {
            const error = yield* Effect.flip(Effect.scoped(call))
            expect([name, error._tag]).toEqual([name, "SocketClosed"])
          }
        }))

      it.effect("a closed handle never touches the fd number the kernel reuses", () =>
        Effect.gen(function*() {
          const first = yield* pair()
          const fd = first.client.fd
          yield* first.client.close
          let reused: TcpStream.TcpStream | TcpListener.TcpListener | undefined
          for (let i = 0; i < 8 && reused === undefined; i++) {
            const next = yield* pair()
            for (const s of [next.listener, next.client, next.server]) if (s.fd === fd) reused = s
          }
          expect(reused).toBeDefined()
          expect((yield* Effect.flip(first.client.write(bytes("x"))))._tag).toBe("SocketClosed")
          expect((yield* Effect.flip(first.client.shutdown("both")))._tag).toBe("SocketClosed")
          yield* first.client.close
          expect(isOpen(fd)).toBe(true)
          expect((yield* reused!.localAddr).port).toBeGreaterThan(0)
        }))
    })

    describe("concurrent callers", () => {
      it.effect("two writeAlls never interleave their bytes", () =>
        Effect.gen(function*() {
          const { client, server } = yield* pair()
          const size = 2 * 1024 * 1024
          yield* fork(Effect.all([
            client.writeAll(new Uint8Array(size).fill(0x61)),
            client.writeAll(new Uint8Array(size).fill(0x62))
          ], { concurrency: 2 }).pipe(Effect.andThen(client.shutdown("write"))))
          const received = yield* bound(readToEnd(server))
          expect(received.length).toBe(2 * size)
          const first = received[0]!
          expect(received.subarray(0, size).every((b) => b === first)).toBe(true)
          expect(received.subarray(size).every((b) => b === (first === 0x61 ? 0x62 : 0x61))).toBe(true)
        }))

      it.effect("two readExacts never split one message between them", () =>
        Effect.gen(function*() {
          const { client, server } = yield* pair()
          const a = new Uint8Array(6)
          const b = new Uint8Array(6)
          const readers = yield* fork(
            Effect.all([server.readExact(a), server.readExact(b)], { concurrency: 2 })
          )
          for (const piece of ["AAA", "AAAB", "BBBBB"]) {
            yield* client.writeAll(bytes(piece))
            yield* Effect.sleep("5 millis")
          }
          yield* bound(Fiber.join(readers))
          expect([text(a), text(b)].sort()).toEqual(["AAAAAA", "BBBBBB"])
        }))
    })

    if (backend === "epoll") {
      it.effect("a socket joins the epoll set on its first wait, not when it opens, and leaves it when it closes", () =>
        Effect.gen(function*() {
          const { client, server } = yield* pair()
          yield* server.writeAll(bytes("x"))
          expect(epollWatched().has(server.fd)).toBe(false)
          const fd = client.fd
          // The connect waited for the handshake: the client was added then.
          expect(epollWatched().has(fd)).toBe(true)
          const reader = yield* fork(server.read(new Uint8Array(8)))
          yield* eventually(() => epollWatched().has(server.fd), "the server socket in the epoll set")
          yield* client.writeAll(bytes("y"))
          expect(yield* bound(Fiber.join(reader))).toBe(1)
          yield* client.close
          expect(epollWatched().has(fd)).toBe(false)
        }))
    }

    describe("parking and locks", () => {
      it.effect("a readExact interrupted halfway through a message frees the direction and keeps its bytes: the next readExact gets them, then what follows", () =>
        Effect.gen(function*() {
          const { client, server } = yield* pair()
          const netpoll = yield* Netpoll.Netpoll
          const first = new Uint8Array(6)
          const reader = yield* fork(server.readExact(first))
          yield* client.writeAll(bytes("AAA"))
          // Half the message is in `first` and the reader is parked, holding the read lock.
          yield* eventually(() => first[2] === 65 && netpoll.waiting === 1, "half a message read")
          yield* Fiber.interrupt(reader)
          expect(netpoll.waiting).toBe(0)
          const next = new Uint8Array(6)
          yield* client.writeAll(bytes("BBB"))
          yield* bound(server.readExact(next), "a readExact after the interrupted one")
          expect(text(next)).toBe("AAABBB")
        }))

      it.effect("a fiber that goes on after its read was interrupted, and waits elsewhere, leaves no waiter behind", () =>
        Effect.gen(function*() {
          const one = yield* pair()
          const two = yield* pair()
          const netpoll = yield* Netpoll.Netpoll
          let movedOn = false
          let second = -1
          // Uninterruptible but for the first read: the interruption ends that read
          // only, and takes effect on the fiber once the second read is done.
          const fiber = yield* fork(Effect.uninterruptibleMask((restore) =>
            restore(one.server.read(new Uint8Array(8))).pipe(
              Effect.exit,
              Effect.tap(() => Effect.sync(() => movedOn = true)),
              Effect.andThen(two.server.read(new Uint8Array(8))),
              Effect.tap((n) => Effect.sync(() => second = n))
            )
          ))
          yield* eventually(() => netpoll.waiting === 1, "the first read parking")
          yield* interruptFork(fiber)
          // Parked on `two` now: its wait on `one` was settled when it parked again.
          yield* eventually(() => movedOn && netpoll.waiting === 1, "the second read parking")
          yield* Effect.sleep("20 millis")
          expect(netpoll.waiting).toBe(1)
          yield* two.client.writeAll(bytes("hi"))
          const exit = yield* bound(Fiber.await(fiber))
          expect(isInterrupted(exit)).toBe(true)
          expect(second).toBe(2)
          expect(netpoll.waiting).toBe(0)
          // Nothing was read from `one`: its bytes go to the next reader.
          yield* one.client.writeAll(bytes("kept"))
          const buf = new Uint8Array(4)
          yield* bound(one.server.readExact(buf))
          expect(text(buf)).toBe("kept")
        }))

      it.effect("a read after a short read that stopped at TCP urgent data still gets the bytes that follow", () =>
        Effect.gen(function*() {
          const listener = yield* TcpListener.bind("127.0.0.1:0")
          const { port } = yield* listener.localAddr
          yield* urgentDataPeer(port)
          const server = yield* bound(listener.accept)
          const buf = new Uint8Array(100)
          // recv stops at the urgent mark: "abc" is a short read, with "def" already queued.
          let first = ""
          while (first.length < 3) first += text(buf.subarray(0, yield* bound(server.read(buf))))
          expect(first).toBe("abc")
          expect(text(buf.subarray(0, yield* bound(server.read(buf), "the read after the urgent mark")))).toBe("def")
        }))

      it.effect("a writeAll interrupted while it holds the write lock hands it on at once, though its fiber is still finalizing", () =>
        Effect.gen(function*() {
          const { client, server } = yield* pair()
          const netpoll = yield* Netpoll.Netpoll
          const finalizing = yield* Deferred.make<void>()
          const writerDone = yield* Deferred.make<void>()
          // More than the socket buffers hold: part goes out, then it parks holding the lock. Its
          // finalizer waits for the other writer, which a lock kept until the fiber's end would deadlock.
          const big = yield* fork(
            Effect.onInterrupt(
              client.writeAll(new Uint8Array(16 * 1024 * 1024).fill(0x61)),
              () => Effect.andThen(Deferred.succeed(finalizing, undefined), Deferred.await(writerDone))
            )
          )
          yield* eventually(() => netpoll.waiting === 1, "the big writeAll parking")
          const small = yield* fork(
            client.writeAll(bytes("W")).pipe(Effect.ensuring(Deferred.succeed(writerDone, undefined)))
          )
          yield* interruptFork(big)
          yield* bound(Deferred.await(finalizing))
          const drain = yield* fork(Effect.forever(server.read(new Uint8Array(1024 * 1024))))
          yield* bound(Fiber.join(small), "the writer behind the interrupted writeAll")
          yield* bound(Fiber.await(big))
          yield* Fiber.interrupt(drain)
          expect(netpoll.waiting).toBe(0)
        }))

      it.effect("a readExact interrupted while it holds the read lock hands it and its bytes on at once, though its fiber is still finalizing", () =>
        Effect.gen(function*() {
          const { client, server } = yield* pair()
          const netpoll = yield* Netpoll.Netpoll
          const finalizing = yield* Deferred.make<void>()
          const readerDone = yield* Deferred.make<void>()
          const first = new Uint8Array(6)
          const holder = yield* fork(
            Effect.onInterrupt(
              server.readExact(first),
              () => Effect.andThen(Deferred.succeed(finalizing, undefined), Deferred.await(readerDone))
            )
          )
          yield* client.writeAll(bytes("AAA"))
          yield* eventually(() => first[2] === 65 && netpoll.waiting === 1, "half a message read")
          const buf = new Uint8Array(16)
          const reader = yield* fork(
            server.read(buf).pipe(Effect.ensuring(Deferred.succeed(readerDone, undefined)))
          )
          yield* eventually(() => netpoll.waiting === 2, "the second reader waiting")
          yield* interruptFork(holder)
          yield* bound(Deferred.await(finalizing))
          // The interrupted readExact's bytes come first, before its fiber has finished finalizing.
          const n = yield* bound(Fiber.join(reader), "the reader behind the interrupted readExact")
          expect(text(buf.subarray(0, n))).toBe("AAA")
          yield* bound(Fiber.await(holder))
          expect(netpoll.waiting).toBe(0)
        }))

      it.effect("the effects read and readExact return can run again, each run a call of its own", () =>
        Effect.gen(function*() {
          const { client, server } = yield* pair()
          const buf = new Uint8Array(3)
          const readThree = server.readExact(buf)
          const seen: Array<string> = []
          yield* client.writeAll(bytes("onetwo"))
          yield* bound(readThree)
          seen.push(text(buf))
          yield* bound(readThree)
          seen.push(text(buf))
          const writeHi = client.writeAll(bytes("hi"))
          yield* writeHi
          yield* writeHi
          const readSome = server.read(buf)
          let got = ""
          while (got.length < 4) got += text(buf.subarray(0, yield* bound(readSome)))
          expect(seen).toEqual(["one", "two"])
          expect(got).toBe("hihi")
        }))

      it.effect("a reset that arrives after a short read fails the next read at once with ConnectionReset", () =>
        Effect.gen(function*() {
          const port = yield* netServer((socket) =>
            socket.once("data", () => socket.write("partial", () => setTimeout(() => socket.resetAndDestroy(), 20)))
          )
          const stream = yield* TcpStream.connect({ host: "127.0.0.1", port })
          yield* stream.writeAll(bytes("x"))
          const buf = new Uint8Array(64 * 1024)
          expect(text(buf.subarray(0, yield* bound(stream.read(buf))))).toBe("partial")
          const error = yield* Effect.flip(bound(stream.read(buf), "the read after the reset"))
          expect(error).toMatchObject({ _tag: "ConnectionReset", errno: "ECONNRESET", syscall: "read" })
        }))
    })

    describe("addresses and options", () => {
      it.effect("peerAddr and localAddr of the two ends mirror each other", () =>
        Effect.gen(function*() {
          const { client, listener, server } = yield* pair()
          const listenAddr = yield* listener.localAddr
          expect(String(yield* client.peerAddr)).toBe(String(listenAddr))
          expect(String(yield* server.peerAddr)).toBe(String(yield* client.localAddr))
          expect(hostOf(yield* client.localAddr)).toBe("127.0.0.1")
        }))

      it.effect("setNoDelay and setKeepAlive succeed on a live connection", () =>
        Effect.gen(function*() {
          const { client } = yield* pair()
          yield* client.setNoDelay(false)
          expect(addon.noDelay(client.fd)).toBe(0)
          yield* client.setNoDelay(true)
          expect(addon.noDelay(client.fd)).toBe(1)
          yield* client.setKeepAlive(true, 1500)
          yield* client.setKeepAlive(false)
        }))

      it.effect("connect accepts noDelay and keepAlive options", () =>
        Effect.gen(function*() {
          const listener = yield* TcpListener.bind("127.0.0.1:0")
          const addr = yield* listener.localAddr
          const stream = yield* TcpStream.connect(addr, { noDelay: false, keepAlive: 10_000 })
          expect(String(yield* stream.peerAddr)).toBe(String(addr))
          expect(addon.noDelay(stream.fd)).toBe(0)
          expect(addon.noDelay((yield* TcpStream.connect(addr)).fd)).toBe(1)
          yield* stream.setNoDelay(true)
          expect(addon.noDelay(stream.fd)).toBe(1)
        }))
    })

    describe("errors", () => {
      it.effect("connecting to a closed port fails with ConnectionRefused", () =>
        Effect.gen(function*() {
          const port = yield* closedPort
          const error = yield* Effect.flip(bound(TcpStream.connect({ host: "127.0.0.1", port })))
          expect(error).toMatchObject({
            _tag: "ConnectionRefused",
            syscall: "connect",
            errno: "ECONNREFUSED",
            address: `127.0.0.1:${port}`
          })
          expect(error.message).toBe(`connect 127.0.0.1:${port}: connection refused`)
        }))

      it.effect("a peer that resets the connection gives ConnectionReset", () =>
        Effect.gen(function*() {
          const port = yield* netServer((socket) => socket.once("data", () => socket.resetAndDestroy()))
          const stream = yield* TcpStream.connect({ host: "127.0.0.1", port })
          yield* stream.writeAll(bytes("x"))
          const error = yield* Effect.flip(bound(readToEnd(stream)))
          expect(error).toMatchObject({ _tag: "ConnectionReset", errno: "ECONNRESET", syscall: "read" })
        }))

      it.effect("writing to a peer that went away gives BrokenPipe or ConnectionReset, never SIGPIPE", () =>
        Effect.gen(function*() {
          const port = yield* netServer((socket) => socket.destroy())
          const stream = yield* TcpStream.connect({ host: "127.0.0.1", port })
          expect(yield* bound(stream.read(new Uint8Array(1)))).toBe(0)
          const error = yield* Effect.flip(bound(Effect.forever(stream.write(new Uint8Array(1024)))))
          expect(["BrokenPipe", "ConnectionReset"]).toContain(error._tag)
        }))

      it.effect("malformed addresses fail with InvalidAddress before any syscall", () =>
        Effect.gen(function*() {
          const inputs = ["", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:http",
            "::1:80", "[::1]", "bad host:80", "[127.0.0.1:80"]
          for (const input of inputs) {
            const error = yield* Effect.flip(Effect.scoped(TcpStream.connect(input)))
            expect([input, error._tag]).toEqual([input, "InvalidAddress"])
          }
          const records = [{ host: "127.0.0.1", port: 1.5 }, { host: "", port: 80 }, { host: "127.0.0.1", port: 70000 }]
          for (const input of records) {
            const error = yield* Effect.flip(Effect.scoped(TcpStream.connect(input)))
            expect([input, error._tag]).toEqual([input, "InvalidAddress"])
          }
          const service = yield* Netpoll.Netpoll
          expect(service.size).toBe(0)
        }))

      it.effect("a name that cannot resolve fails with HostNotFound", () =>
        Effect.gen(function*() {
          const error = yield* bound(Effect.flip(Effect.scoped(TcpStream.connect("no-such-host.invalid:80"))), "resolution")
          expect(error._tag).toBe("HostNotFound")
          expect(error.address).toBe("no-such-host.invalid:80")
        }), 60_000)

      it.effect("a host name is resolved and each address tried in turn", () =>
        Effect.gen(function*() {
          // A listener on 127.0.0.1 only: if localhost resolves to ::1 first, that
          // attempt is refused and the next address connects.
          const listener = yield* TcpListener.bind("127.0.0.1:0")
          const { port } = yield* listener.localAddr
          const resolved = yield* bound(
            Effect.promise(() => dns.promises.lookup("localhost", { all: true, verbatim: true })),
            "lookup(localhost)"
          )
          expect(resolved.some((a) => a.address === "127.0.0.1")).toBe(true)
          const stream = yield* bound(TcpStream.connect(`localhost:${port}`))
          expect(hostOf(yield* stream.peerAddr)).toBe("127.0.0.1")
        }))

      it.effect("the error is the last one met when every address fails", () =>
        Effect.gen(function*() {
          const port = yield* closedPort
          const error = yield* Effect.flip(bound(TcpStream.connect(`localhost:${port}`)))
          expect(error._tag).toBe("ConnectionRefused")
        }))
    })

    it.effect("talks to a peer written with Node's net", () =>
      Effect.gen(function*() {
        const port = yield* netServer((socket) => socket.pipe(socket))
        const stream = yield* TcpStream.connect(`127.0.0.1:${port}`)
        yield* stream.writeAll(bytes("node peer"))
        const buf = new Uint8Array(9)
        yield* bound(stream.readExact(buf))
        expect(text(buf)).toBe("node peer")
      }))
  })
}
