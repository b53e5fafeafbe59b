/**
 * UDP sockets on real loopback sockets (127.0.0.1 and ::1), on both pollers.
 * Shared by both lines.
 */
import * as dgram from "node:dgram"
import * as os from "node:os"
import { describe, expect } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Netpoll from "../src/Netpoll.js"
import * as UdpSocket from "../src/UdpSocket.js"
import { isOpen, loopTurns, openFds } from "./utils/fds.js"
import { fork, hostOf } from "./utils/line.js"
import { bound, bytes, eventually, failureTag, interruptAndAwait, isInterrupted, text } from "./utils/peers.js"
import { layer } from "./utils/runners.js"

const backends = [["epoll", Netpoll.layer], ["uv_poll", Netpoll.layerUvPoll]] as const

/** A port with nothing bound: bound once, then released. */
const closedPort = (host: string) =>
  Effect.scoped(Effect.flatMap(UdpSocket.bind(`${host}:0`), (s) => Effect.map(s.localAddr, (a) => a.port)))

const ipv6 = Object.values(os.networkInterfaces()).some((list) =>
  list?.some((a) => a.family === "IPv6" && a.internal && a.address === "::1")
)

for (const [backend, netpollLayer] of backends) {
  layer(netpollLayer)(`UdpSocket (${backend})`, (it) => {
    for (const [family, host, bracketed] of [["IPv4", "127.0.0.1", "127.0.0.1"], ["IPv6", "::1", "[::1]"]] as const) {
      if (family === "IPv6" && !ipv6) continue
      it.effect(`sendTo/recvFrom move exact bytes and name the sender (${family})`, () =>
        Effect.gen(function*() {
          const a = yield* UdpSocket.bind(`${bracketed}:0`)
          const b = yield* UdpSocket.bind(`${bracketed}:0`)
          const aAddr = yield* a.localAddr
          const bAddr = yield* b.localAddr
          expect(hostOf(bAddr)).toBe(host)
          const payload = new Uint8Array([0, 1, 2, 255, 254, 128, 7])
          expect(yield* a.sendTo(payload, bAddr)).toBe(7)
          const buf = new Uint8Array(64)
          const got = yield* bound(b.recvFrom(buf), "recvFrom")
          expect(got.bytes).toBe(7)
          expect(got.truncated).toBe(false)
          expect(Array.from(buf.subarray(0, 7))).toEqual([0, 1, 2, 255, 254, 128, 7])
          expect(String(got.address)).toBe(String(aAddr))
          expect(got.address.port).toBe(aAddr.port)
          // A reply to the sender, with the address as received; a string address works too.
          expect(yield* b.sendTo(bytes("pong"), got.address)).toBe(4)
          const reply = yield* bound(a.recvFrom(buf), "recvFrom reply")
          expect([text(buf.subarray(0, reply.bytes)), String(reply.address)]).toEqual(["pong", String(bAddr)])
          expect(yield* a.sendTo(bytes("str"), `${bracketed}:${bAddr.port}`)).toBe(3)
          const third = yield* bound(b.recvFrom(buf), "recvFrom third")
          expect(text(buf.subarray(0, third.bytes))).toBe("str")
        }))

      it.effect(`a datagram longer than the buffer is truncated and its rest discarded (${family})`, () =>
        Effect.gen(function*() {
          const a = yield* UdpSocket.bind(`${bracketed}:0`)
          const b = yield* UdpSocket.bind(`${bracketed}:0`)
          const to = yield* b.localAddr
          yield* a.sendTo(bytes("0123456789"), to)
          yield* a.sendTo(bytes("next"), to)
          const small = new Uint8Array(4)
          const first = yield* bound(b.recvFrom(small), "recvFrom")
          expect([first.bytes, first.truncated, text(small)]).toEqual([4, true, "0123"])
          const buf = new Uint8Array(16)
          const second = yield* bound(b.recvFrom(buf), "recvFrom")
          expect([second.bytes, second.truncated, text(buf.subarray(0, 4))]).toEqual([4, false, "next"])
        }))

      it.effect(`connect + send/recv talk to the peer only (${family})`, () =>
        Effect.gen(function*() {
          const a = yield* UdpSocket.bind(`${bracketed}:0`)
          const b = yield* UdpSocket.bind(`${bracketed}:0`)
          const other = yield* UdpSocket.bind(`${bracketed}:0`)
          const aAddr = yield* a.localAddr
          const bAddr = yield* b.localAddr
          yield* a.connect(bAddr)
          expect(String(yield* a.peerAddr)).toBe(String(bAddr))
          // A datagram from a stranger is filtered by the kernel; the peer's arrives.
          yield* other.sendTo(bytes("stranger"), aAddr)
          yield* b.sendTo(bytes("peer"), aAddr)
          const buf = new Uint8Array(8)
          const got = yield* bound(a.recv(buf), "recv")
          expect([got.bytes, got.truncated, text(buf.subarray(0, got.bytes))]).toEqual([4, false, "peer"])
          expect(yield* a.send(bytes("hi"))).toBe(2)
          const back = yield* bound(b.recvFrom(buf), "recvFrom")
          expect([text(buf.subarray(0, back.bytes)), String(back.address)]).toEqual(["hi", String(aAddr)])
          const small = new Uint8Array(2)
          yield* b.sendTo(bytes("long"), aAddr)
          expect(yield* bound(a.recv(small), "recv")).toEqual({ bytes: 2, truncated: true })
          yield* a.disconnect
          expect(failureTag(yield* Effect.exit(a.peerAddr))).toBe("SystemError")
          // Linux forgets a port the kernel chose when a socket disconnects: the
          // next send binds a new one, which the stranger's reply goes to.
          yield* a.sendTo(bytes("hello"), yield* other.localAddr)
          const hello = yield* bound(other.recvFrom(buf), "recvFrom by the stranger")
          yield* other.sendTo(bytes("anyone"), hello.address)
          const anyone = yield* bound(a.recvFrom(buf), "recvFrom after disconnect")
          expect(text(buf.subarray(0, anyone.bytes))).toBe("anyone")
          expect(String(anyone.address)).toBe(String(yield* other.localAddr))
        }))

      it.effect(`recv on a connected socket whose peer port is closed fails with ConnectionRefused (${family})`, () =>
        Effect.gen(function*() {
          const port = yield* closedPort(bracketed)
          const a = yield* UdpSocket.bind(`${bracketed}:0`)
          yield* a.connect(`${bracketed}:${port}`)
          yield* a.send(bytes("anyone there?"))
          const exit = yield* bound(Effect.exit(a.recv(new Uint8Array(8))), "recv")
          expect(failureTag(exit)).toBe("ConnectionRefused")
          if (Exit.isFailure(exit)) expect(String(exit.cause)).toContain(`[${host}]:${port}`.replace(`[127.0.0.1]`, "127.0.0.1"))
        }))

      it.effect(`sendMany/recvMany move 100 datagrams in order (${family})`, () =>
        Effect.gen(function*() {
          const a = yield* UdpSocket.bind(`${bracketed}:0`, { recvBufferSize: 1 << 20 })
          const b = yield* UdpSocket.bind(`${bracketed}:0`, { recvBufferSize: 1 << 20 })
          const to = yield* b.localAddr
          const from = yield* a.localAddr
          const datagrams = Array.from({ length: 100 }, (_, i) => ({ payload: bytes(`datagram ${i}`), address: to }))
          let sent = 0
          while (sent < 100) sent += yield* a.sendMany(datagrams.slice(sent))
          expect(sent).toBe(100)
          const got: Array<string> = []
          const bufs = Array.from({ length: 32 }, () => new Uint8Array(32))
          while (got.length < 100) {
            const batch = yield* bound(b.recvMany(bufs), "recvMany")
            expect(batch.length).toBeGreaterThanOrEqual(1)
            batch.forEach((r, i) => {
              expect([r.truncated, String(r.address)]).toEqual([false, String(from)])
              got.push(text(bufs[i]!.subarray(0, r.bytes)))
            })
          }
          expect(got).toEqual(datagrams.map((_, i) => `datagram ${i}`))
          // A connected socket's batch needs no addresses; an empty batch sends nothing.
          yield* a.connect(to)
          expect(yield* a.sendMany([{ payload: bytes("x") }, { payload: bytes("yz") }])).toBe(2)
          expect(yield* a.sendMany([])).toBe(0)
          const two = yield* bound(b.recvMany(bufs), "recvMany")
          const more = two.length === 2 ? [] : yield* bound(b.recvMany(bufs.slice(1)), "recvMany")
          expect([...two, ...more].map((r) => r.bytes)).toEqual([1, 2])
        }))
    }

    it.effect("one sendMany batch reaches several destinations, given as addresses or strings", () =>
      Effect.gen(function*() {
        const a = yield* UdpSocket.bind("127.0.0.1:0")
        const b = yield* UdpSocket.bind("127.0.0.1:0")
        const c = yield* UdpSocket.bind("127.0.0.1:0")
        const toB = yield* b.localAddr
        const toC = yield* c.localAddr
        // Runs of one address object (parsed once by the addon), alternations, and a string.
        const targets = [toB, toB, toC, toB, toC, toC, `127.0.0.1:${toB.port}`]
        const sent = yield* a.sendMany(targets.map((address, i) => ({ payload: bytes(`d${i}`), address })))
        expect(sent).toBe(7)
        const drain = (s: UdpSocket.UdpSocket, n: number) =>
          Effect.gen(function*() {
            const got: Array<string> = []
            const bufs = [new Uint8Array(8), new Uint8Array(8), new Uint8Array(8), new Uint8Array(8)]
            while (got.length < n) {
              const batch = yield* bound(s.recvMany(bufs), "recvMany")
              batch.forEach((r, i) => got.push(text(bufs[i]!.subarray(0, r.bytes))))
            }
            return got
          })
        expect(yield* drain(b, 4)).toEqual(["d0", "d1", "d3", "d6"])
        expect(yield* drain(c, 3)).toEqual(["d2", "d4", "d5"])
        // A bad address in a batch fails it before anything is sent.
        const bad = yield* Effect.exit(a.sendMany([{ payload: bytes("x"), address: toB }, { payload: bytes("y"), address: "nope" }]))
        expect(failureTag(bad)).toBe("InvalidAddress")
      }))

    it.effect("the options of bind and the setters take effect (TTL, broadcast, buffer sizes)", () =>
      Effect.gen(function*() {
        const s = yield* UdpSocket.bind("127.0.0.1:0", { ttl: 9, broadcast: true, reuseAddr: true, sendBufferSize: 65536 })
        expect(yield* s.ttl).toBe(9)
        yield* s.setTtl(200)
        expect(yield* s.ttl).toBe(200)
        yield* s.setBroadcast(false)
        yield* s.setBroadcast(true)
        // With SO_BROADCAST the kernel lets a datagram go to the limited broadcast address.
        const exit = yield* Effect.exit(s.sendTo(bytes("hello all"), "255.255.255.255:9"))
        const without = yield* UdpSocket.bind("127.0.0.1:0")
        const refused = yield* Effect.exit(without.sendTo(bytes("hello all"), "255.255.255.255:9"))
        // EACCES without the option; with it, success (or no route in a sandbox without one).
        expect(failureTag(refused)).toBe("SystemError")
        if (Exit.isFailure(refused)) expect(String(refused.cause)).toContain("EACCES")
        expect(Exit.isSuccess(exit) ? "sent" : failureTag(exit)).toMatch(/^(sent|NetworkUnreachable)$/)
        yield* s.setMulticastTtl(0)
        yield* s.setMulticastLoop(true)
      }))

    it.effect("multicast: a joined group's datagrams arrive on loopback; after leave they do not", () =>
      Effect.gen(function*() {
        const group = "239.255.77.77"
        const receiver = yield* UdpSocket.bind("0.0.0.0:0", { reuseAddr: true })
        const port = (yield* receiver.localAddr).port
        const sender = yield* UdpSocket.bind("127.0.0.1:0")
        yield* sender.setMulticastLoop(true)
        yield* sender.setMulticastTtl(1)
        const joined = yield* Effect.exit(receiver.joinMulticast(group, "127.0.0.1"))
        if (Exit.isFailure(joined)) {
          console.log(`multicast skipped: joining ${group} on 127.0.0.1 failed here (${String(joined.cause)})`)
          return
        }
        // The egress interface of the sender: loopback, through a route or IP_MULTICAST_IF's default.
        const sent = yield* Effect.exit(sender.sendTo(bytes("to the group"), `${group}:${port}`))
        if (Exit.isFailure(sent)) {
          console.log(`multicast skipped: no multicast route here (${String(sent.cause)})`)
          return
        }
        const buf = new Uint8Array(32)
        const got = yield* Effect.timeout(receiver.recvFrom(buf), "2 seconds").pipe(Effect.option)
        if (got._tag === "None") {
          console.log("multicast skipped: the kernel routed the group's datagram off loopback (no multicast route on lo)")
          return
        }
        expect(text(buf.subarray(0, got.value.bytes))).toBe("to the group")
        yield* receiver.leaveMulticast(group, "127.0.0.1")
        yield* sender.sendTo(bytes("after leave"), `${group}:${port}`)
        const after = yield* Effect.timeout(receiver.recvFrom(buf), "300 millis").pipe(Effect.option)
        expect(after._tag).toBe("None")
        // Leaving twice is the kernel's EADDRNOTAVAIL.
        expect(failureTag(yield* Effect.exit(receiver.leaveMulticast(group, "127.0.0.1")))).toBe("AddressNotAvailable")
        expect(failureTag(yield* Effect.exit(receiver.joinMulticast("not-an-ip")))).toBe("InvalidAddress")
      }))

    it.effect("multicast over IPv6: a group joined on an interface gets what this host sends to it", () =>
      Effect.gen(function*() {
        // lo has no multicast: the first interface with an IPv6 address carries the group.
        const iface = Object.entries(os.networkInterfaces()).find(([, list]) =>
          list?.some((a) => a.family === "IPv6" && !a.internal)
        )?.[0]
        if (iface === undefined) {
          console.log("IPv6 multicast skipped: no interface with an IPv6 address here")
          return
        }
        const group = "ff02::1:7777"
        const receiver = yield* UdpSocket.bind("[::]:0", { reuseAddr: true })
        const port = (yield* receiver.localAddr).port
        const joined = yield* Effect.exit(receiver.joinMulticast(group, iface))
        if (Exit.isFailure(joined)) {
          console.log(`IPv6 multicast skipped: joining ${group} on ${iface} failed here (${String(joined.cause)})`)
          return
        }
        const sender = yield* UdpSocket.bind("[::]:0")
        yield* sender.setMulticastLoop(true)
        yield* sender.setMulticastTtl(1)
        const sent = yield* Effect.exit(sender.sendTo(bytes("six"), `[${group}%${iface}]:${port}`))
        if (Exit.isFailure(sent)) {
          console.log(`IPv6 multicast skipped: no route for ${group} on ${iface} (${String(sent.cause)})`)
          return
        }
        const buf = new Uint8Array(8)
        const got = yield* Effect.timeout(receiver.recvFrom(buf), "2 seconds").pipe(Effect.option)
        if (got._tag === "None") {
          console.log(`IPv6 multicast skipped: the kernel did not loop ${group} back on ${iface}`)
          return
        }
        expect(text(buf.subarray(0, got.value.bytes))).toBe("six")
        yield* receiver.leaveMulticast(group, iface)
      }))

    it.effect("an interrupted recvFrom consumes nothing: the next recvFrom gets the datagram", () =>
      Effect.gen(function*() {
        const netpoll = yield* Netpoll.Netpoll
        const a = yield* UdpSocket.bind("127.0.0.1:0")
        const b = yield* UdpSocket.bind("127.0.0.1:0")
        const parkedBuf = new Uint8Array(16)
        const waiting = netpoll.waiting
        const parked = yield* fork(b.recvFrom(parkedBuf))
        yield* eventually(() => netpoll.waiting === waiting + 1, "recvFrom parked")
        expect(isInterrupted(yield* interruptAndAwait(parked))).toBe(true)
        yield* a.sendTo(bytes("kept"), yield* b.localAddr)
        const buf = new Uint8Array(16)
        const got = yield* bound(b.recvFrom(buf), "recvFrom")
        expect(text(buf.subarray(0, got.bytes))).toBe("kept")
        expect(Array.from(parkedBuf)).toEqual(new Array(16).fill(0))
        // recvMany too.
        const many = yield* fork(b.recvMany([parkedBuf]))
        yield* eventually(() => netpoll.waiting === waiting + 1, "recvMany parked")
        expect(isInterrupted(yield* interruptAndAwait(many))).toBe(true)
        yield* a.sendTo(bytes("again"), yield* b.localAddr)
        const again = yield* bound(b.recvMany([buf]), "recvMany")
        expect(text(buf.subarray(0, again[0]!.bytes))).toBe("again")
        expect(Array.from(parkedBuf)).toEqual(new Array(16).fill(0))
      }))

    it.effect("a buffer detached while its recvFrom waits is a defect naming recvFrom; the datagram stays for the next call", () =>
      Effect.gen(function*() {
        const netpoll = yield* Netpoll.Netpoll
        const a = yield* UdpSocket.bind("127.0.0.1:0")
        const b = yield* UdpSocket.bind("127.0.0.1:0")
        const detached = new Uint8Array(16)
        const waiting = netpoll.waiting
        const receiving = yield* fork(b.recvFrom(detached))
        yield* eventually(() => netpoll.waiting === waiting + 1, "recvFrom parked")
        structuredClone(detached, { transfer: [detached.buffer] })
        yield* a.sendTo(bytes("stays"), yield* b.localAddr)
        const exit = yield* bound(Fiber.await(receiving), "the recvFrom")
        expect(Exit.isFailure(exit) && String(exit.cause)).toContain(
          "recvFrom: buf was detached or resized while the call waited; nothing more was moved"
        )
        const buf = new Uint8Array(16)
        const got = yield* bound(b.recvFrom(buf), "recvFrom")
        expect(text(buf.subarray(0, got.bytes))).toBe("stays")
      }))

    it.effect("concurrent receivers each get whole datagrams, every datagram once", () =>
      Effect.gen(function*() {
        const a = yield* UdpSocket.bind("127.0.0.1:0")
        const b = yield* UdpSocket.bind("127.0.0.1:0")
        const to = yield* b.localAddr
        const receive = Effect.flatMap(Effect.sync(() => new Uint8Array(16)), (buf) =>
          Effect.map(b.recvFrom(buf), (r) => text(buf.subarray(0, r.bytes))))
        const fibers = yield* Effect.forEach([0, 1, 2, 3], () => fork(receive))
        yield* Effect.forEach([0, 1, 2, 3], (i) => a.sendTo(bytes(`m${i}`), to))
        const got = yield* Effect.forEach(fibers, (f) => bound(Fiber.join(f), "receiver"))
        expect([...got].sort()).toEqual(["m0", "m1", "m2", "m3"])
      }))

    it.effect("close wakes a parked recvFrom with SocketClosed, is idempotent, and closes the fd once", () =>
      Effect.gen(function*() {
        const netpoll = yield* Netpoll.Netpoll
        const s = yield* UdpSocket.bind("127.0.0.1:0")
        const waiting = netpoll.waiting
        const parked = yield* fork(s.recvFrom(new Uint8Array(8)))
        yield* eventually(() => netpoll.waiting === waiting + 1, "recvFrom parked")
        yield* s.close
        yield* s.close
        const exit = yield* bound(Fiber.await(parked), "the parked recvFrom")
        expect(failureTag(exit)).toBe("SocketClosed")
        expect(isOpen(s.fd)).toBe(false)
        expect(failureTag(yield* Effect.exit(s.sendTo(bytes("x"), "127.0.0.1:9")))).toBe("SocketClosed")
        expect(failureTag(yield* Effect.exit(s.recvMany([new Uint8Array(1)])))).toBe("SocketClosed")
        expect(failureTag(yield* Effect.exit(s.setTtl(5)))).toBe("SocketClosed")
        expect(failureTag(yield* Effect.exit(s.sendMany([])))).toBe("SocketClosed")
      }))

    it.effect("MessageTooLarge for a datagram over the UDP limit; nothing sent", () =>
      Effect.gen(function*() {
        const s = yield* UdpSocket.bind("127.0.0.1:0")
        const exit = yield* Effect.exit(s.sendTo(new Uint8Array(70_000), "127.0.0.1:9"))
        expect(failureTag(exit)).toBe("MessageTooLarge")
      }))

    it.effect("bind fails with AddressInUse on a taken port, and the fd count and Netpoll.size return to the start", () =>
      Effect.gen(function*() {
        const netpoll = yield* Netpoll.Netpoll
        yield* loopTurns
        const fds = openFds()
        const size = netpoll.size
        yield* Effect.scoped(Effect.gen(function*() {
          const s = yield* UdpSocket.bind("127.0.0.1:0")
          const port = (yield* s.localAddr).port
          expect(failureTag(yield* Effect.exit(UdpSocket.bind(`127.0.0.1:${port}`)))).toBe("AddressInUse")
          const t = yield* UdpSocket.bind("[::1]:0").pipe(Effect.orElseSucceed(() => undefined))
          expect(netpoll.size).toBe(size + (t === undefined ? 1 : 2))
        }))
        yield* loopTurns
        expect([openFds(), netpoll.size]).toEqual([fds, size])
      }))

    it.effect("a node:dgram peer talks to a UdpSocket", () =>
      Effect.gen(function*() {
        const s = yield* UdpSocket.bind("127.0.0.1:0")
        const port = (yield* s.localAddr).port
        const peer = yield* Effect.acquireRelease(
          Effect.sync(() => dgram.createSocket("udp4")),
          (p) => Effect.sync(() => p.close())
        )
        peer.on("message", (msg, rinfo) => peer.send(Buffer.from(`echo ${msg}`), rinfo.port, rinfo.address))
        yield* Effect.promise(() => new Promise<void>((resolve) => peer.bind(0, "127.0.0.1", resolve)))
        yield* s.sendTo(bytes("hi"), `127.0.0.1:${peer.address().port}`)
        const buf = new Uint8Array(16)
        const got = yield* bound(s.recvFrom(buf), "recvFrom")
        expect(text(buf.subarray(0, got.bytes))).toBe("echo hi")
        expect(got.address.port).toBe(peer.address().port)
        expect(port).toBeGreaterThan(0)
      }))
  })
}

describe("UdpSocket bad input", () => {
  layer(Netpoll.layer)("UdpSocket bad input", (it) => {
    it.effect("bad bind options are defects naming the option, before any fd exists", () =>
      Effect.gen(function*() {
        const fds = openFds()
        const cases: ReadonlyArray<readonly [unknown, string]> = [
          [{ ttl: 0 }, "bind: ttl must be a whole number from 1 to 255, got 0"],
          [{ ttl: 1.5 }, "bind: ttl must be a whole number from 1 to 255, got 1.5"],
          [{ broadcast: "yes" }, "bind: broadcast must be a boolean, got \"yes\""],
          [{ recvBufferSize: -1 }, "bind: recvBufferSize must be a whole number of bytes from 1 to 2147483647, got -1"],
          [42, "bind options must be an object, got 42"]
        ]
        for (const [options, message] of cases) {
          const exit = yield* Effect.exit(UdpSocket.bind("127.0.0.1:0", options as UdpSocket.BindOptions))
          expect(Exit.isFailure(exit) && String(exit.cause)).toContain(message)
        }
        expect(failureTag(yield* Effect.exit(UdpSocket.bind("nonsense")))).toBe("InvalidAddress")
        expect(openFds()).toBe(fds)
      }))

    it.effect("bad method arguments are defects naming the method", () =>
      Effect.gen(function*() {
        const s = yield* UdpSocket.bind("127.0.0.1:0")
        const defect = (effect: Effect.Effect<unknown, unknown>) =>
          Effect.map(Effect.exit(effect), (exit) => Exit.isFailure(exit) ? String(exit.cause) : "succeeded")
        expect(yield* defect(s.recvFrom("x" as never))).toContain("recvFrom: buf must be a Uint8Array")
        expect(yield* defect(s.sendTo(null as never, "127.0.0.1:9"))).toContain("sendTo: buf must be a Uint8Array")
        expect(yield* defect(s.recvMany([]))).toContain("recvMany: bufs must be a non-empty array of Uint8Array")
        expect(yield* defect(s.sendMany([{ payload: "x" } as never]))).toContain("sendMany: each datagram must be")
        expect(yield* defect(s.setTtl(256))).toContain("setTtl: ttl must be a whole number from 1 to 255, got 256")
        expect(yield* defect(s.setBroadcast(1 as never))).toContain("setBroadcast: on must be a boolean, got 1")
        expect(yield* defect(s.joinMulticast(5 as never))).toContain("joinMulticast: group must be an IP address string")
        expect(failureTag(yield* Effect.exit(s.sendTo(new Uint8Array(1), "no port")))).toBe("InvalidAddress")
        // A datagram whose address getter throws: the call still returns an Effect, which fails.
        const hostile = { payload: new Uint8Array(1), get address(): string { throw new Error("boom") } }
        expect(failureTag(yield* Effect.exit(s.sendMany([hostile])))).toBe("InvalidAddress")
        // A payload getter that passes the check, then gives undefined: a defect, never a throw at the call.
        let reads = 0
        const changing = { get payload() { return reads++ === 0 ? new Uint8Array(3) : undefined }, address: "127.0.0.1:9" }
        let sent: Effect.Effect<number, unknown> | undefined
        expect(() => {
          sent = s.sendMany([changing as never])
        }).not.toThrow()
        expect(Exit.isFailure(yield* Effect.exit(sent!))).toBe(true)
      }))
  })
})
