/**
 * Unix-domain streams and listeners on real sockets in a temporary directory:
 * DESIGN §4 as it applies to them, abstract names, the socket file's removal,
 * peer credentials and the Socket/SocketServer layers. Shared by both lines.
 */
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, expect } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as BufReader from "../src/BufReader.js"
import * as BufWriter from "../src/BufWriter.js"
import * as Netpoll from "../src/Netpoll.js"
import * as UnixListener from "../src/UnixListener.js"
import * as UnixStream from "../src/UnixStream.js"
import { loopTurns, openFds } from "./utils/fds.js"
import { addon } from "../src/internal/core.js"
import {
  deadline,
  fork,
  socketEchoHandler,
  socketRoundTrip,
  socketServerTag,
  socketTag,
  unixInput,
  unixTag
} from "./utils/line.js"
import {
  bound,
  bytes,
  eventually,
  failureTag,
  interruptAndAwait,
  isInterrupted,
  poll,
  text
} from "./utils/peers.js"
import { layer } from "./utils/runners.js"
import { named, recordingTracer } from "./utils/tracer.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "netpoll-unix-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

let counter = 0
/** A fresh socket path in the test's temporary directory. */
const freshPath = (): string => path.join(dir, `s${counter++}.sock`)

/** A fresh abstract name (Linux), unique to this process. */
const freshAbstract = (): string => `\0netpoll-test-${process.pid}-${counter++}`

/** A listener on a fresh path and a connected client/server pair through it. */
const unixPair = (at: string = freshPath()) =>
  Effect.gen(function*() {
    const listener = yield* UnixListener.bind(at)
    const [client, server] = yield* bound(
      Effect.all([UnixStream.connect(at), listener.accept], { concurrency: 2 }),
      "connect and accept"
    )
    return { client, server, listener, path: at }
  })

/** Reads once into a buffer of `size` and returns the text. */
const readText = (stream: UnixStream.UnixStream, size = 64) =>
  Effect.map(Effect.flatMap(Effect.succeed(new Uint8Array(size)), (buf) =>
    Effect.map(stream.read(buf), (n) => buf.subarray(0, n))), text)

/** Fills the stream's send buffer until a write would wait. */
const fill = (stream: UnixStream.UnixStream) =>
  Effect.gen(function*() {
    const chunk = new Uint8Array(64 * 1024)
    let written = 0
    while (true) {
      // `deadline` never drops the count of a write that completed as its timer fired.
      const n = yield* Effect.match(deadline(stream.write(chunk), 50, () => "full"), {
        onFailure: () => -1,
        onSuccess: (n) => n
      })
      if (n < 0) return written
      written += n
    }
  })

layer(Netpoll.layer)("UnixStream", (it) => {
  it.effect("echoes through a listener on a path; addresses are the line's path records", () =>
    Effect.gen(function*() {
      const { client, path: at, server } = yield* unixPair()
      yield* client.writeAll(bytes("hello"))
      const buf = new Uint8Array(5)
      yield* server.readExact(buf)
      yield* server.writeAll(buf)
      const back = new Uint8Array(5)
      yield* client.readExact(back)
      expect(text(back)).toBe("hello")
      const peer = yield* client.peerAddr
      expect(peer._tag).toBe(unixTag)
      expect(peer.path).toBe(at)
      expect((yield* client.localAddr).path).toBe("")
      expect((yield* server.localAddr).path).toBe(at)
      expect((yield* server.peerAddr).path).toBe("")
    }))

  it.effect("connect and bind take the line's address record", () =>
    Effect.gen(function*() {
      const at = freshPath()
      const listener = yield* UnixListener.bind(unixInput(at))
      expect((yield* listener.localAddr).path).toBe(at)
      const [client] = yield* Effect.all([UnixStream.connect(unixInput(at)), listener.accept], { concurrency: 2 })
      expect((yield* client.peerAddr).path).toBe(at)
    }))

  it.effect("read returns 0 at end of stream, and 0 at once for an empty buffer", () =>
    Effect.gen(function*() {
      const { client, server } = yield* unixPair()
      expect(yield* client.read(new Uint8Array(0))).toBe(0)
      yield* server.writeAll(bytes("last"))
      yield* server.shutdown("write")
      expect(text(yield* bound(client.readToEnd({ maxBytes: 1 << 26 }), "end of stream"))).toBe("last")
      expect(yield* client.read(new Uint8Array(8))).toBe(0)
    }))

  it.effect("readExact fails with UnexpectedEof and bytesRead when the peer ends early", () =>
    Effect.gen(function*() {
      const { client, server } = yield* unixPair()
      yield* server.writeAll(bytes("abc"))
      yield* server.close
      const error = yield* Effect.flip(client.readExact(new Uint8Array(10)))
      expect(error._tag).toBe("UnexpectedEof")
      expect(error._tag === "UnexpectedEof" ? error.bytesRead : -1).toBe(3)
    }))

  it.effect("writeAll of several MB arrives whole through a reader with a small buffer", () =>
    Effect.gen(function*() {
      const { client, server } = yield* unixPair()
      const size = 6 * 1024 * 1024 + 7
      const data = new Uint8Array(size)
      for (let i = 0; i < size; i++) data[i] = (i * 31 + 7) & 0xff
      const writer = yield* fork(Effect.andThen(client.writeAll(data), client.shutdown("write")))
      const got = new Uint8Array(size)
      const buf = new Uint8Array(1000)
      let at = 0
      while (true) {
        const n = yield* server.read(buf)
        if (n === 0) break
        got.set(buf.subarray(0, n), at)
        at += n
      }
      yield* Fiber.join(writer)
      expect(at).toBe(size)
      expect(Buffer.compare(got, data)).toBe(0)
    }), 60_000)

  it.effect("tryClone runs full duplex, and the peer sees end of stream only once both handles are closed", () =>
    Effect.gen(function*() {
      const { client, server } = yield* unixPair()
      const clone = yield* client.tryClone
      expect(clone.fd).not.toBe(client.fd)
      const reading = yield* fork(readText(clone))
      yield* client.writeAll(bytes("to server"))
      expect(yield* readText(server)).toBe("to server")
      yield* server.writeAll(bytes("to clone"))
      expect(yield* Fiber.join(reading)).toBe("to clone")
      yield* client.close
      const ended = yield* fork(server.read(new Uint8Array(8)))
      yield* Effect.sleep("30 millis")
      expect(yield* poll(ended)).toBeUndefined()
      yield* clone.close
      expect(yield* bound(Fiber.join(ended), "end of stream")).toBe(0)
    }))

  it.effect("shutdown(write): the peer reads 0 and ours go on; shutdown(read): buffered bytes, then 0", () =>
    Effect.gen(function*() {
      const { client, server } = yield* unixPair()
      yield* client.shutdown("write")
      yield* client.shutdown("write")
      expect(yield* server.read(new Uint8Array(8))).toBe(0)
      yield* server.writeAll(bytes("still"))
      expect(yield* readText(client)).toBe("still")
      const error = yield* Effect.flip(client.write(bytes("x")))
      expect(error._tag).toBe("BrokenPipe")
      yield* server.writeAll(bytes("kept"))
      yield* Effect.sleep("20 millis")
      yield* client.shutdown("read")
      yield* client.shutdown("read")
      const rest = yield* bound(client.readToEnd({ maxBytes: 1 << 26 }), "end of stream after shutdown(read)")
      expect(text(rest)).toBe("kept")
      expect(yield* client.read(new Uint8Array(8))).toBe(0)
    }))

  it.effect("close wakes a parked reader with SocketClosed; later calls fail with SocketClosed", () =>
    Effect.gen(function*() {
      const netpoll = yield* Netpoll.Netpoll
      const { client } = yield* unixPair()
      const waiting = netpoll.waiting
      const reading = yield* fork(client.read(new Uint8Array(8)))
      yield* eventually(() => netpoll.waiting > waiting, "read parking")
      yield* client.close
      const exit = yield* bound(Fiber.await(reading), "the parked read")
      expect(failureTag(exit)).toBe("SocketClosed")
      expect(failureTag(yield* Effect.exit(client.write(new Uint8Array(0))))).toBe("SocketClosed")
      expect(failureTag(yield* Effect.exit(client.peerCred))).toBe("SocketClosed")
      yield* client.close
    }))

  it.effect("an interrupted read consumed nothing: the bytes go to the next read", () =>
    Effect.gen(function*() {
      const netpoll = yield* Netpoll.Netpoll
      const { client, server } = yield* unixPair()
      const waiting = netpoll.waiting
      const buf = new Uint8Array(8)
      const reading = yield* fork(client.read(buf))
      yield* eventually(() => netpoll.waiting > waiting, "read parking")
      const exit = yield* interruptAndAwait(reading)
      expect(isInterrupted(exit)).toBe(true)
      yield* server.writeAll(bytes("next"))
      yield* Effect.sleep("20 millis")
      expect(Array.from(buf)).toEqual([0, 0, 0, 0, 0, 0, 0, 0])
      expect(yield* readText(client)).toBe("next")
    }))

  it.effect("a write parked behind a full buffer is woken when the peer reads", () =>
    Effect.gen(function*() {
      const { client, server } = yield* unixPair()
      const written = yield* fill(client)
      const last = yield* fork(client.writeAll(bytes("end")))
      yield* Effect.sleep("20 millis")
      expect(yield* poll(last)).toBeUndefined()
      yield* fork(Effect.andThen(Fiber.join(last), client.shutdown("write")))
      expect((yield* bound(server.readToEnd({ maxBytes: 1 << 26 }), "the whole stream")).length).toBe(written + 3)
    }))

  it.effect("toStream, toSink and toDuplex take a UnixStream", () =>
    Effect.gen(function*() {
      const { client, server } = yield* unixPair()
      yield* Stream.run(Stream.make(bytes("to "), bytes("sink")), UnixStream.toSink(client))
      yield* client.shutdown("write")
      const chunks = yield* Stream.runCollect(UnixStream.toStream(server, { chunkSize: 3 }))
      expect(text(Buffer.concat(Array.from(chunks)))).toBe("to sink")
      const duplex = yield* UnixStream.toDuplex(server)
      const echoed = new Promise<string>((resolve) => client.readToString({ maxBytes: 64 }).pipe(Effect.runPromise).then(resolve))
      duplex.end("via duplex")
      expect(yield* bound(Effect.promise(() => echoed), "the duplex's bytes")).toBe("via duplex")
    }))

  it.effect("BufReader and BufWriter take a UnixStream", () =>
    Effect.gen(function*() {
      const { client, server } = yield* unixPair()
      const writer = yield* BufWriter.make(client)
      yield* writer.write(bytes("one\ntwo\n"))
      yield* writer.flush
      const reader = yield* BufReader.make(server)
      const first = yield* reader.readLine()
      const second = yield* reader.readLine()
      expect([first, second].map((line) => line._tag === "Some" ? line.value : undefined)).toEqual(["one", "two"])
    }))

  it.effect("pair gives two connected streams, each the other's peer", () =>
    Effect.gen(function*() {
      const [left, right] = yield* UnixStream.pair
      yield* left.writeAll(bytes("ping"))
      expect(yield* readText(right)).toBe("ping")
      yield* right.writeAll(bytes("pong"))
      expect(yield* readText(left)).toBe("pong")
      expect((yield* left.peerAddr).path).toBe("")
      expect(yield* left.peerCred).toEqual({ pid: process.pid, uid: process.getuid!(), gid: process.getgid!() })
    }))

  it.effect("peerCred is the connecting process's pid, uid and gid, on both ends", () =>
    Effect.gen(function*() {
      const { client, server } = yield* unixPair()
      const self = { pid: process.pid, uid: process.getuid!(), gid: process.getgid!() }
      expect(yield* server.peerCred).toEqual(self)
      expect(yield* client.peerCred).toEqual(self)
    }))

  it.effect("talks to Node's net over a Unix path, both ways", () =>
    Effect.gen(function*() {
      const at = freshPath()
      const listener = yield* UnixListener.bind(at)
      const socket = net.connect(at)
      yield* Effect.addFinalizer(() => Effect.sync(() => socket.destroy()))
      const server = yield* bound(listener.accept, "accept")
      socket.write("from net")
      expect(yield* readText(server)).toBe("from net")
      const received = new Promise<string>((resolve) => socket.once("data", (data) => resolve(String(data))))
      yield* server.writeAll(bytes("from netpoll"))
      expect(yield* bound(Effect.promise(() => received), "net's data")).toBe("from netpoll")
    }))
})

layer(Netpoll.layer)("UnixListener", (it) => {
  it.effect("serve runs a fiber per connection: clients answered in reverse order", () =>
    Effect.gen(function*() {
      const at = freshPath()
      const listener = yield* UnixListener.bind(at)
      yield* Effect.forkScoped(UnixListener.serve(listener, (stream) =>
        Effect.gen(function*() {
          const buf = new Uint8Array(1024)
          let n: number
          while ((n = yield* stream.read(buf)) > 0) yield* stream.writeAll(buf.subarray(0, n))
        })))
      const clients = yield* Effect.forEach([0, 1, 2, 3], () => UnixStream.connect(at))
      const answers: Array<string> = []
      for (const i of [3, 2, 1, 0]) {
        yield* clients[i]!.writeAll(bytes(`client ${i}`))
        answers.push(yield* bound(readText(clients[i]!), "echo"))
      }
      expect(answers).toEqual(["client 3", "client 2", "client 1", "client 0"])
    }))

  it.effect("an abstract name binds, connects and is reported back with its leading NUL; no file is made", () =>
    Effect.gen(function*() {
      const name = freshAbstract()
      const { client, listener } = yield* unixPair(name)
      expect((yield* listener.localAddr).path).toBe(name)
      expect((yield* client.peerAddr).path).toBe(name)
      expect(fs.readdirSync(dir).some((entry) => entry.includes("netpoll-test"))).toBe(false)
      yield* listener.close
      // The name is free again once its socket is closed.
      yield* Effect.scoped(UnixListener.bind(name))
    }))

  it.effect("the socket file is removed when the listener's Scope closes", () =>
    Effect.gen(function*() {
      const at = freshPath()
      yield* Effect.scoped(Effect.gen(function*() {
        yield* UnixListener.bind(at)
        expect(fs.lstatSync(at).isSocket()).toBe(true)
      }))
      expect(fs.existsSync(at)).toBe(false)
      // And by close, idempotently.
      const listener = yield* UnixListener.bind(at)
      yield* listener.close
      yield* listener.close
      expect(fs.existsSync(at)).toBe(false)
    }))

  it.effect("a file put in the socket's place is not removed when the listener closes", () =>
    Effect.gen(function*() {
      const at = freshPath()
      const listener = yield* UnixListener.bind(at)
      fs.unlinkSync(at)
      fs.writeFileSync(at, "someone else's")
      yield* listener.close
      expect(fs.readFileSync(at, "utf8")).toBe("someone else's")
      fs.unlinkSync(at)
      // Another server's socket, bound at the path after ours was removed, stays too.
      const again = yield* UnixListener.bind(at)
      fs.unlinkSync(at)
      const other = addon.unixSocket()
      expect(addon.unixBind(other, at)).toBe(0)
      yield* again.close
      expect(fs.lstatSync(at).isSocket()).toBe(true)
      addon.close(other)
      fs.unlinkSync(at)
    }))

  it.effect("only the first close removes the file: the Scope's later close leaves a new socket at the path", () =>
    Effect.gen(function*() {
      const at = freshPath()
      let other = -1
      yield* Effect.scoped(Effect.gen(function*() {
        const listener = yield* UnixListener.bind(at)
        yield* listener.close
        expect(fs.existsSync(at)).toBe(false)
        // A new socket at the path, quite possibly on the inode number ours had.
        other = addon.unixSocket()
        expect(addon.unixBind(other, at)).toBe(0)
      }))
      expect(fs.lstatSync(at).isSocket()).toBe(true)
      addon.close(other)
      fs.unlinkSync(at)
    }))

  it.effect("binding over an existing file fails with AddressInUse and leaves the file", () =>
    Effect.gen(function*() {
      const at = freshPath()
      yield* UnixListener.bind(at)
      const taken = yield* Effect.flip(Effect.scoped(UnixListener.bind(at)))
      expect(taken._tag).toBe("AddressInUse")
      expect(taken.address).toBe(at)
      const file = freshPath()
      fs.writeFileSync(file, "data")
      const error = yield* Effect.flip(Effect.scoped(UnixListener.bind(file)))
      expect(error._tag).toBe("AddressInUse")
      expect(fs.readFileSync(file, "utf8")).toBe("data")
      const name = freshAbstract()
      yield* UnixListener.bind(name)
      expect((yield* Effect.flip(Effect.scoped(UnixListener.bind(name))))._tag).toBe("AddressInUse")
    }))

  it.effect("connect fails with a typed error: no file, a file nobody listens on", () =>
    Effect.gen(function*() {
      const missing = yield* Effect.flip(Effect.scoped(UnixStream.connect(freshPath())))
      expect(missing._tag).toBe("SystemError")
      expect(missing.errno).toBe("ENOENT")
      // A socket file with nobody listening on it: bound, never listened, closed.
      const orphan = freshPath()
      const fd = addon.unixSocket()
      expect(addon.unixBind(fd, orphan)).toBe(0)
      addon.close(fd)
      const refused = yield* Effect.flip(Effect.scoped(UnixStream.connect(orphan)))
      expect(refused._tag).toBe("ConnectionRefused")
      expect(refused.address).toBe(orphan)
    }))

  it.effect("bad paths are InvalidAddress before any syscall", () =>
    Effect.gen(function*() {
      yield* loopTurns
      const before = openFds()
      const cases: ReadonlyArray<readonly [unknown, string]> = [
        ["", "a Unix socket path must not be empty"],
        ["x".repeat(108), "a Unix socket path has at most 107 bytes (UTF-8), got 108"],
        ["é".repeat(54), "a Unix socket path has at most 107 bytes (UTF-8), got 108"],
        ["a\0b", "a Unix socket path must not contain a NUL byte (except the leading one of an abstract name)"],
        [42, "expected "]
      ]
      for (const [input, reason] of cases) {
        const viaConnect = yield* Effect.flip(Effect.scoped(UnixStream.connect(input as never)))
        const viaBind = yield* Effect.flip(Effect.scoped(UnixListener.bind(input as never)))
        for (const error of [viaConnect, viaBind]) {
          expect(error._tag).toBe("InvalidAddress")
          expect(error._tag === "InvalidAddress" ? error.reason : "").toContain(reason)
        }
      }
      // 107 bytes fit, and so does an abstract name of 107 bytes after its NUL.
      yield* Effect.scoped(UnixListener.bind(path.join(dir, "p".repeat(107 - dir.length - 1))))
      yield* Effect.scoped(UnixListener.bind(`\0${"a".repeat(106 - String(process.pid).length)}${process.pid}`))
      yield* loopTurns
      expect(openFds()).toBe(before)
    }))

  it.effect("layerSocket dials the path per acquisition; layerSocketServer serves it, its address the path", () =>
    Effect.gen(function*() {
      const at = freshPath()
      const context = yield* Layer.build(UnixListener.layerSocketServer(at))
      const server = Context.get(context, socketServerTag)
      expect(server.address._tag).toBe(unixTag)
      expect((server.address as { readonly path: string }).path).toBe(at)
      yield* Effect.forkScoped(server.run(socketEchoHandler))
      const socket = Context.get(yield* Layer.build(UnixStream.layerSocket(at)), socketTag)
      expect(yield* bound(socketRoundTrip(socket, "over the layers"), "the round trip")).toBe("over the layers")
      expect(yield* bound(socketRoundTrip(socket, "again"), "a second dial")).toBe("again")
    }))

  it.effect("connect and accept spans name the transport unix and the path as the server's address", () =>
    Effect.gen(function*() {
      const { spans, tracer } = recordingTracer()
      const name = freshAbstract()
      const listener = yield* UnixListener.bind(name)
      yield* bound(
        Effect.all([UnixStream.connect(name), listener.accept], { concurrency: 2 }).pipe(Effect.withTracer(tracer)),
        "connect and accept"
      )
      const expected = { "network.transport": "unix", "server.address": `@${name.slice(1)}` }
      const [connect, ...moreConnects] = named(spans, "effect-netpoll.connect")
      const [accept, ...moreAccepts] = named(spans, "effect-netpoll.accept")
      expect([moreConnects.length, moreAccepts.length]).toEqual([0, 0])
      expect([connect!.kind, Object.fromEntries(connect!.attributes)]).toEqual(["client", expected])
      expect([accept!.kind, Object.fromEntries(accept!.attributes)]).toEqual(["server", expected])
      expect(connect!.exit !== undefined && Exit.isSuccess(connect!.exit)).toBe(true)
    }))

  it.effect("fds and Netpoll.size come back to where they started", () =>
    Effect.gen(function*() {
      const netpoll = yield* Netpoll.Netpoll
      yield* loopTurns
      const fds = openFds()
      const size = netpoll.size
      yield* Effect.scoped(Effect.gen(function*() {
        const { client, server } = yield* unixPair()
        yield* client.tryClone
        yield* UnixStream.pair
        yield* client.writeAll(bytes("x"))
        yield* server.readExact(new Uint8Array(1))
        yield* Effect.exit(UnixListener.bind(freshAbstract()))
        yield* Effect.exit(UnixStream.connect(freshPath()))
        expect(netpoll.size).toBeGreaterThan(size)
      }))
      yield* loopTurns
      expect(netpoll.size).toBe(size)
      expect(openFds()).toBe(fds)
    }))

  it.effect("an interrupted accept leaves the pending connection to the next accept", () =>
    Effect.gen(function*() {
      const netpoll = yield* Netpoll.Netpoll
      const at = freshPath()
      const listener = yield* UnixListener.bind(at)
      const waiting = netpoll.waiting
      const accepting = yield* fork(Effect.scoped(listener.accept))
      yield* eventually(() => netpoll.waiting > waiting, "accept parking")
      const exit = yield* interruptAndAwait(accepting)
      expect(Exit.isFailure(exit) && isInterrupted(exit)).toBe(true)
      const client = yield* UnixStream.connect(at)
      const server = yield* bound(listener.accept, "accept")
      yield* client.writeAll(bytes("kept"))
      expect(yield* readText(server)).toBe("kept")
    }))
})
