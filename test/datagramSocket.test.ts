/**
 * The `effect/socket` `DatagramSocket` contract, written once and run against
 * our backend (`UdpSocket.makeDatagramSocket`) and against
 * `@effect/platform-node`'s `NodeDatagramSocket` as the reference. Effect 4
 * only: Effect 3's @effect/platform has no datagram contract.
 */
import * as NodeDatagramSocket from "@effect/platform-node/NodeDatagramSocket"
import { expect } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as NetAddress from "effect/net/NetAddress"
import * as Scope from "effect/Scope"
import type * as DatagramSocket from "effect/socket/DatagramSocket"
import * as Netpoll from "../src/Netpoll.js"
import * as UdpSocket from "../src/UdpSocket.js"
import { bound, bytes, text } from "./utils/peers.js"
import { layer } from "./utils/runners.js"

interface Endpoint {
  readonly host: string
  readonly port: number
}

interface Options {
  readonly reuse?: boolean
  readonly connect?: Endpoint
  readonly onError?: (error: DatagramSocket.DatagramSocketError) => void
}

/** How a backend makes a socket bound at `bind`. */
type Make = (bind: Endpoint, options?: Options) => Effect.Effect<DatagramSocket.DatagramSocket, never, Netpoll.Netpoll>

const netpollBackend: Make = (bind, options) =>
  UdpSocket.makeDatagramSocket(bind.host.includes(":") ? `[${bind.host}]:${bind.port}` : `${bind.host}:${bind.port}`, {
    reuseAddr: options?.reuse,
    connect: options?.connect === undefined ? undefined : { host: options.connect.host, port: options.connect.port },
    onError: options?.onError
  })

const nodeBackend: Make = (bind, options) =>
  NodeDatagramSocket.make({
    bind: { address: bind.host, port: bind.port },
    reuseAddress: options?.reuse,
    onError: options?.onError,
    ...(options?.connect === undefined ? {} : { connect: { address: options.connect.host, port: options.connect.port } })
  })

const reason = (exit: Exit.Exit<unknown, unknown>): { readonly _tag?: string; readonly kind?: string } | undefined => {
  if (Exit.isSuccess(exit)) return undefined
  const error = exit.cause.reasons.find((r) => r._tag === "Fail") as { readonly error: { readonly reason?: object } } | undefined
  return error?.error.reason as { readonly _tag?: string; readonly kind?: string } | undefined
}

/** A port with nothing bound. */
const freePort = (make: Make) =>
  Effect.scoped(Effect.gen(function*() {
    const socket = yield* make({ host: "127.0.0.1", port: 0 })
    const reader = yield* socket.reader
    return reader.address.port
  }))

const contract = (name: string, make: Make) =>
  layer(Netpoll.layer)(`DatagramSocket contract: ${name}`, (it) => {
    it.effect("a datagram arrives with its payload and its sender's address", () =>
      Effect.gen(function*() {
        const server = yield* make({ host: "127.0.0.1", port: 0 })
        const client = yield* make({ host: "127.0.0.1", port: 0 })
        const serverReader = yield* server.reader
        const clientReader = yield* client.reader
        const writer = yield* client.writer
        yield* writer.write({ payload: bytes("ping"), address: serverReader.address })
        const [received] = yield* bound(serverReader.pull, "pull")
        expect(text(received.payload)).toBe("ping")
        expect(String(received.address)).toBe(String(clientReader.address))
        expect(NetAddress.formatHost(serverReader.address)).toBe("127.0.0.1")
      }))

    it.effect("a reply to the received datagram reaches its sender; string payloads are UTF-8", () =>
      Effect.gen(function*() {
        const server = yield* make({ host: "127.0.0.1", port: 0 })
        const client = yield* make({ host: "127.0.0.1", port: 0 })
        const serverReader = yield* server.reader
        const clientReader = yield* client.reader
        yield* (yield* client.writer).write({ payload: "héllo", address: serverReader.address })
        const [received] = yield* bound(serverReader.pull, "pull")
        yield* (yield* server.writer).write({ payload: received.payload, address: received })
        const [reply] = yield* bound(clientReader.pull, "pull reply")
        expect(text(reply.payload)).toBe("héllo")
        expect(String(reply.address)).toBe(String(serverReader.address))
      }))

    it.effect("writeAll sends every datagram in order", () =>
      Effect.gen(function*() {
        const server = yield* make({ host: "127.0.0.1", port: 0 })
        const client = yield* make({ host: "127.0.0.1", port: 0 })
        const serverReader = yield* server.reader
        yield* client.reader
        const address = serverReader.address
        yield* (yield* client.writer).writeAll([
          { payload: "a", address },
          { payload: "b", address },
          { payload: "c", address }
        ])
        const got: Array<string> = []
        while (got.length < 3) for (const d of yield* bound(serverReader.pull, "pull")) got.push(text(d.payload))
        expect(got).toEqual(["a", "b", "c"])
      }))

    it.effect("a connected socket writes without an address; an ICMP refusal is a ConnectionRefused", () =>
      Effect.gen(function*() {
        const port = yield* freePort(make)
        const refused = yield* Deferred.make<DatagramSocket.DatagramSocketError>()
        const socket = yield* make({ host: "127.0.0.1", port: 0 }, {
          connect: { host: "127.0.0.1", port },
          onError: (error) => Deferred.doneUnsafe(refused, Effect.succeed(error))
        })
        yield* socket.reader
        const writer = yield* socket.writer
        // The port's refusal comes back as ICMP: the receive side reports it
        // (onError), or the next write takes it, whichever reaches the socket first.
        let seen: DatagramSocket.DatagramSocketError | undefined = undefined
        for (let i = 0; i < 20 && seen === undefined; i++) {
          const exit = yield* Effect.exit(writer.write({ payload: "anyone?" }))
          if (Exit.isFailure(exit)) seen = (exit.cause.reasons[0] as { readonly error: DatagramSocket.DatagramSocketError }).error
          seen ??= yield* Effect.timeout(Deferred.await(refused), "20 millis").pipe(Effect.option, Effect.map((o) => o._tag === "Some" ? o.value : undefined))
        }
        expect(seen).toBeDefined()
        expect(["DatagramSocketReadError", "DatagramSocketWriteError"]).toContain(seen!.reason._tag)
        expect((seen!.reason as DatagramSocket.DatagramSocketReadError).kind).toBe("ConnectionRefused")
      }))

    it.effect("a datagram over the UDP limit fails its write with MessageTooLarge", () =>
      Effect.gen(function*() {
        const socket = yield* make({ host: "127.0.0.1", port: 0 })
        const reader = yield* socket.reader
        const exit = yield* Effect.exit((yield* socket.writer).write({ payload: new Uint8Array(70_000), address: reader.address }))
        expect(reason(exit)).toMatchObject({ _tag: "DatagramSocketWriteError", kind: "MessageTooLarge" })
      }))

    it.effect("binding a taken port fails the reader with an open error of kind AddressInUse", () =>
      Effect.gen(function*() {
        const first = yield* make({ host: "127.0.0.1", port: 0 })
        const port = (yield* first.reader).address.port
        const second = yield* make({ host: "127.0.0.1", port })
        const exit = yield* Effect.exit(second.reader)
        expect(reason(exit)).toMatchObject({ _tag: "DatagramSocketOpenError", kind: "AddressInUse" })
      }))

    it.effect("a joined multicast group's datagrams arrive on loopback", () =>
      Effect.gen(function*() {
        const group = NetAddress.ipFromStringUnsafe("239.255.78.78")
        if (!NetAddress.isMulticast(group) || !NetAddress.isIpv4Address(group)) return
        const receiver = yield* make({ host: "0.0.0.0", port: 0 }, { reuse: true })
        const reader = yield* receiver.reader
        yield* reader.joinMulticast({ group, interface: NetAddress.ipv4Loopback })
        const sender = yield* make({ host: "127.0.0.1", port: 0 })
        yield* sender.reader
        const to = NetAddress.inetAddressFromIpStringUnsafe("239.255.78.78", reader.address.port)
        yield* (yield* sender.writer).write({ payload: "group", address: to })
        const got = yield* Effect.timeout(reader.pull, "2 seconds").pipe(Effect.option)
        if (got._tag === "None") {
          console.log(`${name}: multicast skipped, the kernel routed the group's datagram off loopback`)
          return
        }
        expect(text(got.value[0].payload)).toBe("group")
      }))

    it.effect("closing the reader's scope fails a waiting pull with DatagramSocketClosedError", () =>
      Effect.gen(function*() {
        const socket = yield* make({ host: "127.0.0.1", port: 0 })
        const scope = yield* Scope.make()
        const reader = yield* Scope.provide(socket.reader, scope)
        const pulling = yield* Effect.forkChild(reader.pull)
        yield* Effect.sleep("20 millis")
        yield* Scope.close(scope, Exit.void)
        const exit = yield* bound(Fiber.await(pulling), "the waiting pull")
        expect(reason(exit)).toMatchObject({ _tag: "DatagramSocketClosedError" })
        // A new reader opens a new socket.
        const again = yield* socket.reader
        expect(again.address.port).toBeGreaterThan(0)
      }))
  })

contract("UdpSocket.makeDatagramSocket", netpollBackend)
contract("NodeDatagramSocket (reference)", nodeBackend)
