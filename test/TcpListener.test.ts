import { spawn } from "node:child_process"
import * as path from "node:path"
import { describe, expect } from "@effect/vitest"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Equal from "effect/Equal"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Queue from "effect/Queue"
import * as Ref from "effect/Ref"
import * as Scope from "effect/Scope"
import * as Netpoll from "../src/Netpoll.js"
import * as TcpListener from "../src/TcpListener.js"
import * as TcpStream from "../src/TcpStream.js"
import { addon } from "../src/internal/core.js"
import { isOpen } from "./utils/fds.js"
import { async, captureLogs, familyOf, fork, hostOf, root, tsxArgs } from "./utils/line.js"
import {
  bound,
  bytes,
  defects,
  echo,
  echoOf,
  failures,
  failureTag,
  interruptAndAwait,
  isInterrupted,
  poll,
  readAfterPeerEnded,
  text
} from "./utils/peers.js"
import { layer } from "./utils/runners.js"

/** Waits until at least `count` more fibers than `base` are parked on the Netpoll. */
const awaitParked = (base: number, count = 1) =>
  Effect.flatMap(Netpoll.Netpoll, (netpoll) =>
    bound(
      Effect.repeat(Effect.sleep("1 millis"), { until: () => netpoll.waiting >= base + count }),
      "parking"
    ))

const parkedNow = Effect.map(Netpoll.Netpoll, (netpoll) => netpoll.waiting)

class ChildFailed extends Data.TaggedError("ChildFailed")<{ readonly message: string }> {}

/** Runs `command`, killing it and failing when it has not exited within `millis`. */
const runChild = (command: string, args: ReadonlyArray<string>, millis: number) =>
  async<{ readonly code: number | null; readonly stdout: string; readonly stderr: string }, ChildFailed>(
    (resume) => {
      let stdout = ""
      let stderr = ""
      let done = false
      const child = spawn(command, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"] })
      child.stdout.on("data", (chunk) => stdout += String(chunk))
      child.stderr.on("data", (chunk) => stderr += String(chunk))
      const timer = setTimeout(() => {
        done = true
        child.kill("SIGKILL")
        resume(Effect.fail(new ChildFailed({ message: `${command} did not exit within ${millis} ms:\n${stdout}\n${stderr}` })))
      }, millis)
      child.on("error", (error) => {
        if (done) return
        done = true
        clearTimeout(timer)
        resume(Effect.fail(new ChildFailed({ message: String(error) })))
      })
      child.on("close", (code) => {
        if (done) return
        done = true
        clearTimeout(timer)
        resume(Effect.succeed({ code, stdout, stderr }))
      })
      return Effect.sync(() => {
        done = true
        clearTimeout(timer)
        child.kill("SIGKILL")
      })
    }
  )

layer(Netpoll.layer)("TcpListener", (it) => {
  describe("bind", () => {
    it.effect("binding 127.0.0.1:0 listens on an IPv4 address with a port the kernel chose", () =>
      Effect.gen(function*() {
        const listener = yield* TcpListener.bind("127.0.0.1:0")
        const addr = yield* listener.localAddr
        expect(familyOf(addr)).toBe("IPv4")
        expect(hostOf(addr)).toBe("127.0.0.1")
        expect(addr.port).toBeGreaterThan(0)
        expect(String(addr)).toBe(`127.0.0.1:${addr.port}`)
        expect(isOpen(listener.fd)).toBe(true)
      }))

    it.effect("binding [::1]:0 listens on an IPv6 address with a port the kernel chose", () =>
      Effect.gen(function*() {
        const listener = yield* TcpListener.bind("[::1]:0")
        const addr = yield* listener.localAddr
        expect(familyOf(addr)).toBe("IPv6")
        expect(hostOf(addr)).toBe("::1")
        expect(addr.port).toBeGreaterThan(0)
        expect(String(addr)).toBe(`[::1]:${addr.port}`)
      }))

    it.effect("binding localhost:0 listens on a loopback address", () =>
      Effect.gen(function*() {
        const listener = yield* TcpListener.bind("localhost:0")
        const addr = yield* listener.localAddr
        expect(["127.0.0.1", "::1"]).toContain(hostOf(addr))
        expect(addr.port).toBeGreaterThan(0)
        const client = yield* bound(TcpStream.connect(addr))
        const server = yield* bound(listener.accept)
        expect(String(yield* server.peerAddr)).toBe(String(yield* client.localAddr))
      }))

    for (const input of ["", "nope", "127.0.0.1:99999", "::1:80"]) {
      it.effect(`binding ${JSON.stringify(input)} fails with InvalidAddress`, () =>
        Effect.gen(function*() {
          const error = yield* Effect.flip(TcpListener.bind(input))
          expect(error._tag).toBe("InvalidAddress")
        }))
    }

    it.effect("binding an address that is not this host's fails with AddressNotAvailable", () =>
      Effect.gen(function*() {
        // TEST-NET-1: bind(2) only, no packet is ever sent.
        const error = yield* Effect.flip(TcpListener.bind("192.0.2.1:0"))
        expect(error._tag).toBe("AddressNotAvailable")
        expect(error.errno).toBe("EADDRNOTAVAIL")
        expect(error.syscall).toBe("bind")
      }))

    it.effect("binding a port whose listener is still open fails with AddressInUse", () =>
      Effect.gen(function*() {
        const first = yield* TcpListener.bind("127.0.0.1:0")
        const { port } = yield* first.localAddr
        const error = yield* Effect.flip(TcpListener.bind({ host: "127.0.0.1", port }))
        expect(error._tag).toBe("AddressInUse")
        expect(error.errno).toBe("EADDRINUSE")
      }))

    it.effect("a port can be bound again at once after its listener closed, with a connection in TIME_WAIT", () =>
      Effect.gen(function*() {
        const port = yield* Effect.scoped(Effect.gen(function*() {
          const listener = yield* TcpListener.bind("127.0.0.1:0")
          const { port } = yield* listener.localAddr
          const client = yield* bound(TcpStream.connect({ host: "127.0.0.1", port }))
          const server = yield* bound(listener.accept)
          // The accepting side closes first, so it is the one left in TIME_WAIT.
          yield* server.close
          expect(yield* bound(client.read(new Uint8Array(8)))).toBe(0)
          return port
        }))
        const again = yield* TcpListener.bind({ host: "127.0.0.1", port })
        expect((yield* again.localAddr).port).toBe(port)
      }))

    it.effect("a port can be bound again at once after its listener closed, while an accepted connection stays open", () =>
      Effect.gen(function*() {
        const outer = yield* Effect.scope
        const { client, port, server } = yield* Effect.scoped(Effect.gen(function*() {
          const listener = yield* TcpListener.bind("127.0.0.1:0")
          const { port } = yield* listener.localAddr
          const client = yield* bound(TcpStream.connect({ host: "127.0.0.1", port })).pipe(Effect.provideService(Scope.Scope, outer))
          const server = yield* bound(listener.accept).pipe(Effect.provideService(Scope.Scope, outer))
          return { client, port, server }
        }))
        const again = yield* TcpListener.bind({ host: "127.0.0.1", port })
        expect((yield* again.localAddr).port).toBe(port)
        // The old connection still works, and the new listener takes new ones.
        yield* client.writeAll(bytes("old"))
        const buf = new Uint8Array(3)
        yield* bound(server.readExact(buf))
        expect(text(buf)).toBe("old")
        const next = yield* bound(TcpStream.connect({ host: "127.0.0.1", port }))
        const accepted = yield* bound(again.accept)
        expect(String(yield* accepted.peerAddr)).toBe(String(yield* next.localAddr))
      }))

    it.effect("reusePort lets two listeners bind the same port, and a connection reaches one of them", () =>
      Effect.gen(function*() {
        const first = yield* TcpListener.bind("127.0.0.1:0", { reusePort: true })
        const { port } = yield* first.localAddr
        const second = yield* TcpListener.bind({ host: "127.0.0.1", port }, { reusePort: true })
        expect((yield* second.localAddr).port).toBe(port)
        const client = yield* bound(TcpStream.connect({ host: "127.0.0.1", port }))
        const server = yield* bound(Effect.raceAll([first.accept, second.accept]))
        expect(String(yield* server.peerAddr)).toBe(String(yield* client.localAddr))
      }))

    it.effect("ipv6Only: false lets an IPv6 listener on ::ffff:127.0.0.1 take IPv4 connections", () =>
      Effect.gen(function*() {
        const listener = yield* TcpListener.bind({ host: "::ffff:127.0.0.1", port: 0 }, { ipv6Only: false })
        const addr = yield* listener.localAddr
        expect(familyOf(addr)).toBe("IPv6")
        expect(hostOf(addr)).toBe("::ffff:127.0.0.1")
        const client = yield* bound(TcpStream.connect({ host: "127.0.0.1", port: addr.port }))
        const server = yield* bound(listener.accept)
        const peer = yield* server.peerAddr
        expect(familyOf(peer)).toBe("IPv6")
        expect(hostOf(peer)).toBe("::ffff:127.0.0.1")
        expect(peer.port).toBe((yield* client.localAddr).port)
      }))

    it.effect("ipv6Only: true refuses an IPv4-mapped address", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(TcpListener.bind({ host: "::ffff:127.0.0.1", port: 0 }, { ipv6Only: true }))
        expect(error._tag).toBe("SystemError")
        expect(error.errno).toBe("EINVAL")
        expect(error.syscall).toBe("bind")
      }))

    it.effect("ipv6Only: true still listens on ::1", () =>
      Effect.gen(function*() {
        const listener = yield* TcpListener.bind("[::1]:0", { ipv6Only: true })
        const addr = yield* listener.localAddr
        const client = yield* bound(TcpStream.connect(addr))
        const server = yield* bound(listener.accept)
        expect(String(yield* server.peerAddr)).toBe(String(yield* client.localAddr))
      }))
  })

  describe("accept", () => {
    for (const host of ["127.0.0.1", "::1"]) {
      it.effect(`accept returns a stream whose peerAddr is the client's localAddr (${host})`, () =>
        Effect.gen(function*() {
          const listener = yield* TcpListener.bind({ host, port: 0 })
          const addr = yield* listener.localAddr
          const client = yield* bound(TcpStream.connect(addr))
          const server = yield* bound(listener.accept)
          const peer = yield* server.peerAddr
          const local = yield* client.localAddr
          expect(Equal.equals(peer, local)).toBe(true)
          expect(String(peer)).toBe(String(local))
          expect(String(yield* server.localAddr)).toBe(String(addr))
          yield* client.writeAll(bytes("hi"))
          const buf = new Uint8Array(2)
          yield* bound(server.readExact(buf))
          expect(text(buf)).toBe("hi")
        }))
    }

    it.effect("accepted streams have TCP_NODELAY on by default, and off with noDelay: false", () =>
      Effect.gen(function*() {
        for (const noDelay of [undefined, true, false]) {
          const listener = yield* TcpListener.bind("127.0.0.1:0", noDelay === undefined ? {} : { noDelay })
          yield* bound(TcpStream.connect(yield* listener.localAddr))
          const server = yield* bound(listener.accept)
          expect([noDelay, addon.noDelay(server.fd)]).toEqual([noDelay, noDelay === false ? 0 : 1])
        }
      }))

    it.effect("an accept interrupted while waiting consumes nothing: the next accept gets the connection", () =>
      Effect.gen(function*() {
        const listener = yield* TcpListener.bind("127.0.0.1:0")
        const addr = yield* listener.localAddr
        const base = yield* parkedNow
        const waiting = yield* fork(listener.accept)
        yield* awaitParked(base)
        const exit = yield* bound(interruptAndAwait(waiting), "interruption")
        expect(isInterrupted(exit)).toBe(true)
        expect(yield* parkedNow).toBe(base)
        const client = yield* bound(TcpStream.connect(addr))
        const server = yield* bound(listener.accept)
        expect(String(yield* server.peerAddr)).toBe(String(yield* client.localAddr))
        yield* client.writeAll(bytes("x"))
        const buf = new Uint8Array(1)
        yield* bound(server.readExact(buf))
        expect(text(buf)).toBe("x")
      }))

    it.effect("concurrent accepts from several fibers each get a distinct connection", () =>
      Effect.gen(function*() {
        const listener = yield* TcpListener.bind("127.0.0.1:0")
        const addr = yield* listener.localAddr
        const count = 8
        const acceptors = yield* Effect.forEach(
          Array.from({ length: count }),
          () => fork(listener.accept)
        )
        const clients = yield* Effect.forEach(
          Array.from({ length: count }),
          () => bound(TcpStream.connect(addr))
        )
        const servers = yield* bound(Fiber.joinAll(acceptors))
        const peers = yield* Effect.forEach(servers, (s) => Effect.map(s.peerAddr, String))
        const locals = yield* Effect.forEach(clients, (c) => Effect.map(c.localAddr, String))
        expect(new Set(peers).size).toBe(count)
        expect([...peers].sort()).toEqual([...locals].sort())
        expect(new Set(servers.map((s) => s.fd)).size).toBe(count)
      }))

    it.effect("accept puts the stream in the caller's Scope: it closes when that Scope closes", () =>
      Effect.gen(function*() {
        const listener = yield* TcpListener.bind("127.0.0.1:0")
        const client = yield* bound(TcpStream.connect(yield* listener.localAddr))
        const fd = yield* Effect.scoped(Effect.gen(function*() {
          const server = yield* bound(listener.accept)
          expect(isOpen(server.fd)).toBe(true)
          return server.fd
        }))
        expect(isOpen(fd)).toBe(false)
        expect(yield* bound(client.read(new Uint8Array(8)))).toBe(0)
      }))

    it.effect("close wakes a parked accept with SocketClosed, and later accepts fail with SocketClosed", () =>
      Effect.gen(function*() {
        const listener = yield* TcpListener.bind("127.0.0.1:0")
        const fd = listener.fd
        const base = yield* parkedNow
        const waiting = yield* fork(Effect.flip(listener.accept))
        yield* awaitParked(base)
        yield* listener.close
        const woken = yield* bound(Fiber.join(waiting))
        expect(woken._tag).toBe("SocketClosed")
        expect(isOpen(fd)).toBe(false)
        const later = yield* Effect.flip(listener.accept)
        expect(later._tag).toBe("SocketClosed")
        const addr = yield* Effect.flip(listener.localAddr)
        expect(addr._tag).toBe("SocketClosed")
        yield* listener.close
        expect(yield* parkedNow).toBe(base)
      }))
  })

  describe("serve", () => {
    it.effect("serve runs the handler for each connection: an echo server answers several clients", () =>
      Effect.gen(function*() {
        const listener = yield* TcpListener.bind("127.0.0.1:0")
        const addr = yield* listener.localAddr
        yield* Effect.forkScoped(TcpListener.serve(listener, echo))
        const replies = yield* Effect.forEach(
          Array.from({ length: 10 }, (_, i) => i),
          (i) =>
            Effect.scoped(Effect.gen(function*() {
              const client = yield* bound(TcpStream.connect(addr))
              const first = yield* echoOf(client, `hello ${i}`)
              const second = yield* echoOf(client, `again ${i}`)
              return [first, second]
            })),
          { concurrency: "unbounded" }
        )
        expect(replies).toEqual(Array.from({ length: 10 }, (_, i) => [`hello ${i}`, `again ${i}`]))
      }))

    it.effect("a handler that fails or dies ends only its own connection, and the failure is logged", () =>
      Effect.gen(function*() {
        const logs = captureLogs()
        const listener = yield* TcpListener.bind("127.0.0.1:0")
        const addr = yield* listener.localAddr
        const kaput = new Error("kaput")
        const handler = (stream: TcpStream.TcpStream) =>
          Effect.gen(function*() {
            const first = new Uint8Array(1)
            yield* stream.readExact(first)
            const command = text(first)
            if (command === "f") return yield* Effect.fail("boom")
            if (command === "d") return yield* Effect.die(kaput)
            yield* stream.writeAll(first)
            yield* echo(stream)
          })
        yield* Effect.forkScoped(TcpListener.serve(listener, handler).pipe(Effect.provide(logs.layer)))

        const survivor = yield* bound(TcpStream.connect(addr))
        expect(yield* echoOf(survivor, "e")).toBe("e")

        const failing = yield* bound(TcpStream.connect(addr))
        yield* failing.writeAll(bytes("f"))
        expect(yield* bound(failing.read(new Uint8Array(8)))).toBe(0)
        const failed = logs.entries.filter((e) => e.level === "Error")
        expect(failed.length).toBe(1)
        expect(failures(failed[0]!.cause)).toEqual(["boom"])

        const dying = yield* bound(TcpStream.connect(addr))
        yield* dying.writeAll(bytes("d"))
        expect(yield* bound(dying.read(new Uint8Array(8)))).toBe(0)
        const errors = logs.entries.filter((e) => e.level === "Error")
        expect(errors.length).toBe(2)
        expect(defects(errors[1]!.cause)).toEqual([kaput])

        expect(yield* echoOf(survivor, "still here")).toBe("still here")
        const later = yield* bound(TcpStream.connect(addr))
        expect(yield* echoOf(later, "e")).toBe("e")
        expect(yield* echoOf(later, "and later")).toBe("and later")
      }))

    it.effect("maxConnections: a connection beyond the limit is served only once an earlier one ends", () =>
      Effect.gen(function*() {
        const listener = yield* TcpListener.bind("127.0.0.1:0")
        const addr = yield* listener.localAddr
        const started = yield* Queue.unbounded<string>()
        const handler = (stream: TcpStream.TcpStream) =>
          Effect.gen(function*() {
            const id = new Uint8Array(1)
            yield* stream.readExact(id)
            yield* Queue.offer(started, text(id))
            yield* stream.writeAll(id)
            yield* echo(stream)
          })
        yield* Effect.forkScoped(TcpListener.serve(listener, handler, { maxConnections: 2 }))

        const a = yield* bound(TcpStream.connect(addr))
        expect(yield* echoOf(a, "a")).toBe("a")
        const b = yield* bound(TcpStream.connect(addr))
        expect(yield* echoOf(b, "b")).toBe("b")
        expect(Array.from(yield* bound(Queue.takeAll(started)))).toEqual(["a", "b"])

        // The kernel completes the third handshake from its backlog...
        const c = yield* bound(TcpStream.connect(addr))
        yield* c.writeAll(bytes("c"))
        const released = yield* Deferred.make<void>()
        const reply = new Uint8Array(1)
        const served = yield* fork(Effect.andThen(c.readExact(reply), Deferred.isDone(released)))

        // ...but no handler runs for it while both slots are taken, however long the others talk.
        for (let i = 0; i < 20; i++) {
          expect(yield* echoOf(a, `a${i}`)).toBe(`a${i}`)
          expect(yield* echoOf(b, `b${i}`)).toBe(`b${i}`)
        }
        yield* Effect.sleep("50 millis")
        expect(yield* poll(served)).toBe(undefined)
        expect(yield* Queue.size(started)).toBe(0)

        // Ending one connection frees a slot.
        yield* Deferred.succeed(released, undefined)
        yield* a.close
        expect(yield* bound(Fiber.join(served), "third connection")).toBe(true)
        expect(text(reply)).toBe("c")
        expect(yield* bound(Queue.take(started))).toBe("c")
        expect(yield* echoOf(c, "served")).toBe("served")
        expect(yield* echoOf(b, "b still")).toBe("b still")
      }))

    it.effect("maxConnections: a handler that fails frees its slot for the next connection", () =>
      Effect.gen(function*() {
        const logs = captureLogs()
        const listener = yield* TcpListener.bind("127.0.0.1:0")
        const addr = yield* listener.localAddr
        const handler = (stream: TcpStream.TcpStream) =>
          Effect.gen(function*() {
            const first = new Uint8Array(1)
            yield* stream.readExact(first)
            if (text(first) === "f") return yield* Effect.fail("boom")
            yield* stream.writeAll(first)
            yield* echo(stream)
          })
        yield* Effect.forkScoped(
          TcpListener.serve(listener, handler, { maxConnections: 1 }).pipe(Effect.provide(logs.layer))
        )
        for (let i = 0; i < 3; i++) {
          const failing = yield* bound(TcpStream.connect(addr))
          yield* failing.writeAll(bytes("f"))
          expect(yield* bound(failing.read(new Uint8Array(8)))).toBe(0)
        }
        const next = yield* bound(TcpStream.connect(addr))
        expect(yield* echoOf(next, "e")).toBe("e")
        expect(yield* echoOf(next, "served")).toBe("served")
        expect(logs.entries.filter((e) => e.level === "Error").length).toBe(3)
      }))

    it.effect("interrupting serve interrupts every handler and closes every accepted stream", () =>
      Effect.gen(function*() {
        const listener = yield* TcpListener.bind("127.0.0.1:0")
        const addr = yield* listener.localAddr
        const started = yield* Queue.unbounded<number>()
        const interrupted = yield* Ref.make(0)
        const finalized = yield* Ref.make(0)
        const scopeFinalized = yield* Ref.make(0)
        const handler = (stream: TcpStream.TcpStream) =>
          Effect.gen(function*() {
            yield* Effect.addFinalizer(() => Ref.update(scopeFinalized, (n) => n + 1))
            yield* Queue.offer(started, stream.fd)
            yield* stream.read(new Uint8Array(16))
            return yield* Effect.never
          }).pipe(
            Effect.onInterrupt(() => Ref.update(interrupted, (n) => n + 1)),
            Effect.ensuring(Ref.update(finalized, (n) => n + 1))
          )
        const server = yield* fork(TcpListener.serve(listener, handler))
        const clients = yield* Effect.forEach(Array.from({ length: 3 }), () => bound(TcpStream.connect(addr)))
        const fds = yield* bound(Effect.forEach(clients, () => Queue.take(started)))
        for (const fd of fds) expect(isOpen(fd)).toBe(true)

        const exit = yield* bound(interruptAndAwait(server))
        expect(isInterrupted(exit)).toBe(true)
        expect(yield* Ref.get(interrupted)).toBe(3)
        expect(yield* Ref.get(finalized)).toBe(3)
        expect(yield* Ref.get(scopeFinalized)).toBe(3)
        for (const fd of fds) expect(isOpen(fd)).toBe(false)
        for (const client of clients) {
          expect(["end of stream", "ConnectionReset"]).toContain(yield* readAfterPeerEnded(client))
        }
        // The listener outlives serve: it is still the caller's.
        expect(isOpen(listener.fd)).toBe(true)
      }))

    it.effect("serve fails with SocketClosed when its listener closes, and interrupts its handlers", () =>
      Effect.gen(function*() {
        const listener = yield* TcpListener.bind("127.0.0.1:0")
        const addr = yield* listener.localAddr
        const started = yield* Deferred.make<void>()
        const interrupted = yield* Deferred.make<void>()
        const handler = (stream: TcpStream.TcpStream) =>
          Effect.andThen(Deferred.succeed(started, undefined), stream.read(new Uint8Array(16))).pipe(
            Effect.andThen(Effect.never),
            Effect.onInterrupt(() => Deferred.succeed(interrupted, undefined))
          )
        const server = yield* fork(TcpListener.serve(listener, handler))
        const client = yield* bound(TcpStream.connect(addr))
        yield* bound(Deferred.await(started))
        yield* listener.close
        const exit = yield* bound(Fiber.await(server))
        expect(failureTag(exit)).toBe("SocketClosed")
        expect(yield* Deferred.isDone(interrupted)).toBe(true)
        expect(["end of stream", "ConnectionReset"]).toContain(yield* readAfterPeerEnded(client))
      }))

    it.effect("transient accept errors (EMFILE) are logged and retried with a backoff that never spins", () =>
      Effect.gen(function*() {
        const fixture = path.join(root, "test", "fixtures", "acceptEmfile.ts")
        const script = `ulimit -n 256 && exec "$0" ${tsxArgs.join(" ")} "$@"`
        for (const backend of ["epoll", "uv_poll"]) {
          const result = yield* runChild("bash", ["-c", script, process.execPath, fixture, backend], 60_000)
          expect(result.stderr).not.toMatch(/Error/)
          expect(result.code).toBe(0)
          const lines = result.stdout.trim().split("\n")
          const report = JSON.parse(lines[lines.length - 1]!) as {
            readonly backend: string
            readonly errnos: ReadonlyArray<string | null>
            readonly warningsDuringSecond: number
            readonly cpuMillisDuringSecond: number
            readonly echoed: string
            readonly directAccept: unknown
          }
          expect(report.backend).toBe(backend)
          expect(report.errnos.length).toBeGreaterThan(0)
          expect(new Set(report.errnos)).toEqual(new Set(["EMFILE"]))
          // Backoff from 5 ms doubling: about 8 retries in the first second, not thousands.
          expect(report.warningsDuringSecond).toBeGreaterThan(0)
          expect(report.warningsDuringSecond).toBeLessThan(20)
          expect(report.cpuMillisDuringSecond).toBeLessThan(500)
          expect(report.echoed).toBe("ping")
          expect(report.directAccept).toEqual({ tag: "SystemError", errno: "EMFILE" })
        }
      }), 150_000)
  })

  it.effect("serve rejects a maxConnections that is not a positive integer as a defect naming the option", () =>
    Effect.gen(function*() {
      const listener = yield* TcpListener.bind("127.0.0.1:0")
      for (const maxConnections of [0, -1, 1.5, Number.NaN]) {
        const exit = yield* bound(Effect.exit(TcpListener.serve(listener, () => Effect.void, { maxConnections })))
        expect([maxConnections, Exit.isFailure(exit) && defects(exit.cause).length > 0]).toEqual([maxConnections, true])
        const [defect] = Exit.isFailure(exit) ? defects(exit.cause) : []
        expect(String((defect as Error | undefined)?.message)).toContain("maxConnections")
      }
    }))

  it.effect("errors on an accepted stream name its peer", () =>
    Effect.gen(function*() {
      const listener = yield* TcpListener.bind("127.0.0.1:0")
      const client = yield* TcpStream.connect(yield* listener.localAddr)
      const server = yield* listener.accept
      yield* client.shutdown("write")
      const error = yield* Effect.flip(bound(server.readExact(new Uint8Array(1))))
      expect(error).toMatchObject({ _tag: "UnexpectedEof", address: String(yield* client.localAddr) })
    }))
})
