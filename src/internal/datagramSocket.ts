/**
 * A backend for `effect/socket` `DatagramSocket` (Effect 4 only: Effect 3's
 * @effect/platform has no datagram contract). Each reader acquisition binds a
 * UdpSocket in the reader's Scope; a fiber of that Scope receives in batches
 * (recvmmsg) and hands each datagram to the contract's queue; sends run in
 * fibers of their own, which park while the socket's buffer is full.
 */
import * as os from "node:os"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as NetAddress from "effect/net/NetAddress"
import * as Scope from "effect/Scope"
import * as DatagramSocket from "effect/socket/DatagramSocket"
import type * as NetError from "../NetError.js"
import { Netpoll } from "../Netpoll.js"
import type * as UdpSocket from "../UdpSocket.js"
import * as address from "./address.js"
import { datagram as core, stream as streamCore, validate } from "./core.js"
import * as netpoll from "./netpoll.js"
import { badInput } from "./tcpStream.js"
import * as udpSocket from "./udpSocket.js"

/** Datagrams one receive takes at most; each buffer holds the largest UDP payload. */
const RECV_BATCH = 16
const MAX_PAYLOAD = 65536

const errnoOf = (error: NetError.NetError): string | undefined => "errno" in error ? error.errno : undefined

const openError = (error: NetError.NetError): DatagramSocket.DatagramSocketError =>
  new DatagramSocket.DatagramSocketError({
    reason: new DatagramSocket.DatagramSocketOpenError({
      kind: error._tag === "AddressInUse"
        ? "AddressInUse"
        : error._tag === "AddressNotAvailable" || error._tag === "InvalidAddress" || error._tag === "HostNotFound"
        ? "AddressNotAvailable"
        : errnoOf(error) === "EACCES" || errnoOf(error) === "EPERM"
        ? "PermissionDenied"
        : "Unknown",
      cause: error
    })
  })

/** The contract's kind of a send or receive failure, as Node's adapter names them. */
const ioKind = (error: NetError.NetError): DatagramSocket.IoErrorKind => {
  switch (error._tag) {
    case "MessageTooLarge":
      return "MessageTooLarge"
    case "HostUnreachable":
    case "NetworkUnreachable":
      return "Unreachable"
    case "ConnectionRefused":
      return "ConnectionRefused"
  }
  const name = errnoOf(error)
  return name === "EHOSTDOWN" || name === "ENETDOWN"
    ? "Unreachable"
    : name === "EACCES" || name === "EPERM"
    ? "PermissionDenied"
    : "Unknown"
}

const closedError = (): DatagramSocket.DatagramSocketError =>
  new DatagramSocket.DatagramSocketError({ reason: new DatagramSocket.DatagramSocketClosedError() })

const writeError = (error: NetError.NetError): DatagramSocket.DatagramSocketError =>
  error._tag === "SocketClosed" ? closedError() : new DatagramSocket.DatagramSocketError({
    reason: new DatagramSocket.DatagramSocketWriteError({ kind: ioKind(error), cause: error })
  })

const readError = (error: NetError.NetError): DatagramSocket.DatagramSocketError =>
  new DatagramSocket.DatagramSocketError({
    reason: new DatagramSocket.DatagramSocketReadError({ kind: ioKind(error), cause: error })
  })

const scopeIds = (): ReadonlyMap<string, number> => {
  try {
    return NetAddress.scopeIdsFromInterfaces(Object.entries(os.networkInterfaces()))
  } catch {
    return new Map()
  }
}

/** A destination of the contract as this line's address (the core hands over IP literals). */
const destinationOf = (destination: DatagramSocket.BackingAddress): address.Input =>
  ({ host: destination.host, port: destination.port })

/**
 * Receives until the socket closes: each datagram (a copy, safe to keep) goes
 * to the contract's queue. An ICMP report on a connected socket is no reason
 * to stop (the contract's `onError`); a close that is not the reader's own is
 * its `onClose`; any other error is terminal (`onReadError`).
 */
const receiveLoop = (
  socket: udpSocket.Impl,
  events: DatagramSocket.BackingEvents,
  closing: () => boolean
): Effect.Effect<void> => {
  const memory = new Uint8Array(RECV_BATCH * MAX_PAYLOAD)
  const bufs = Array.from({ length: RECV_BATCH }, (_, i) => memory.subarray(i * MAX_PAYLOAD, (i + 1) * MAX_PAYLOAD))
  const onPacket = (bytes: number, i: number, ip: string, port: number) =>
    events.onPacket(bufs[i]!.slice(0, bytes), ip, port)
  const next: Effect.Effect<void> = Effect.matchEffect(udpSocket.recvBatch(socket, bufs, onPacket), {
    onSuccess: () => next,
    onFailure: (error) => {
      if (error._tag === "SocketClosed") {
        if (!closing()) events.onClose()
        return Effect.void
      }
      if (error._tag === "ConnectionRefused" || error._tag === "HostUnreachable" || error._tag === "NetworkUnreachable") {
        events.onError(readError(error))
        return next
      }
      events.onReadError(readError(error))
      return Effect.void
    }
  })
  return next
}

const open = (
  input: address.Input,
  options: UdpSocket.DatagramSocketOptions | undefined,
  events: DatagramSocket.BackingEvents
): Effect.Effect<DatagramSocket.BackingSocket, DatagramSocket.DatagramSocketError, Netpoll | Scope.Scope> =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const service = yield* Netpoll
    let closing = false
    const closeIt = (socket: { readonly pollable: { close(): void } }) => () => {
      closing = true
      socket.pollable.close()
    }
    // The bind and its finalizer in one uninterruptible step: no interruption can leave the fd unowned.
    const socket = yield* Effect.uninterruptible(Effect.flatMap(
      Effect.mapError(udpSocket.bindIn(netpoll.fromService(service), input, options), openError),
      (socket) => Effect.as(Scope.addFinalizer(scope, Effect.sync(closeIt(socket))), socket)
    ))
    const close = closeIt(socket)
    const connect = options?.connect
    if (connect !== undefined) yield* Effect.mapError(socket.connect(connect), openError)
    const local = streamCore.address(socket.pollable, "getsockname")
    if (typeof local === "number") return yield* Effect.fail(openError(udpSocket.codeError(local, "getsockname")))
    const peer = connect === undefined ? undefined : streamCore.address(socket.pollable, "getpeername")
    yield* Effect.forkIn(receiveLoop(socket, events, () => closing), scope)
    const sendOne = (payload: Uint8Array, destination: DatagramSocket.BackingAddress | undefined) =>
      destination === undefined ? socket.send(payload) : socket.sendTo(payload, destinationOf(destination))
    const backing: DatagramSocket.BackingSocket = {
      address: { host: local[1], port: local[2] },
      scopeIds: scopeIds(),
      peer: peer === undefined || typeof peer === "number" ? undefined : { host: peer[1], port: peer[2] },
      connected: connect !== undefined,
      send: (payload, destination, done) => {
        // Read during the call: the contract may reuse the record.
        const effect = sendOne(payload, destination === undefined ? undefined : { ...destination })
        Effect.runFork(Effect.match(effect, { onFailure: (e) => done(writeError(e)), onSuccess: () => done() }))
      },
      sendMany: (payloads, destinations, done) => {
        const batch = payloads.map((payload, i) => {
          const d = destinations[i]
          return d === undefined ? { payload } : { payload, address: destinationOf(d) }
        })
        const from = (at: number): Effect.Effect<void, readonly [NetError.NetError, number]> =>
          at >= batch.length ? Effect.void : Effect.flatMap(
            Effect.mapError(socket.sendMany(batch.slice(at)), (e) => [e, at] as const),
            (n) => from(at + n)
          )
        Effect.runFork(Effect.match(from(0), {
          onFailure: ([e, at]) => done(writeError(e), at),
          onSuccess: () => done()
        }))
      },
      joinMulticast: ({ group, interface: ingress, source }) => {
        if (source !== undefined) {
          return Effect.fail(
            new DatagramSocket.DatagramSocketError({
              reason: new DatagramSocket.DatagramSocketUnsupportedError({
                capability: "source-specific multicast",
                runtime: "effect-netpoll"
              })
            })
          )
        }
        const groupText = NetAddress.formatIp(group)
        const iface = ingress === undefined ? undefined : typeof ingress === "number" ? String(ingress) : NetAddress.formatIp(ingress)
        return Effect.as(
          Effect.mapError(socket.joinMulticast(groupText, iface), openError),
          () => Effect.ignore(socket.leaveMulticast(groupText, iface))
        )
      },
      close
    }
    return backing
  })

const make = (
  what: string,
  input: address.Input,
  options: UdpSocket.DatagramSocketOptions | undefined
): Effect.Effect<DatagramSocket.DatagramSocket, never, Netpoll> =>
  Effect.suspend(() => {
    const defect = badInput(core.bindOptions(options, what)) ?? badInput(backendDefect(options, what))
    if (defect !== undefined) return defect
    // The contract reads its options once, here: a copy, so that getters run once and no later change counts.
    const contract = { receiveBuffer: options?.receiveBuffer, onError: options?.onError }
    return DatagramSocket.makeFromBackingSocket((events) => open(input, options, events), contract)
  })

export const makeDatagramSocket = (
  input: address.Input,
  options?: UdpSocket.DatagramSocketOptions
): Effect.Effect<DatagramSocket.DatagramSocket, never, Netpoll> => make("makeDatagramSocket", input, options)

export const layerDatagramSocket = (
  input: address.Input,
  options?: UdpSocket.DatagramSocketOptions
): Layer.Layer<DatagramSocket.DatagramSocket, never, Netpoll> =>
  Layer.effect(DatagramSocket.DatagramSocket, make("layerDatagramSocket", input, options))

/**
 * The backend's own options: `connect` an address input, `onError` a function,
 * `receiveBuffer` the contract's (checked here, so that its defect names this
 * function, not the contract's internals).
 */
const backendDefect = (options: unknown, what: string): string | undefined => {
  const connect = validate.field(options, "connect")
  if (connect !== undefined && typeof connect !== "string" && (typeof connect !== "object" || connect === null)) {
    return `${what}: connect must be an address ("host:port", { host, port } or an InetAddress), got ${validate.show(connect)}`
  }
  const onError = validate.field(options, "onError")
  if (onError !== undefined && typeof onError !== "function") {
    return `${what}: onError must be a function, got ${validate.show(onError)}`
  }
  const receiveBuffer = validate.field(options, "receiveBuffer")
  if (receiveBuffer === undefined) return undefined
  if (typeof receiveBuffer !== "object" || receiveBuffer === null) {
    return `${what}: receiveBuffer must be an object ({ capacity?, strategy? }), got ${validate.show(receiveBuffer)}`
  }
  const capacity = validate.field(receiveBuffer, "capacity")
  if (capacity !== undefined && !(typeof capacity === "number" && Number.isSafeInteger(capacity) && capacity >= 1)) {
    return `${what}: receiveBuffer.capacity must be a positive whole number, got ${validate.show(capacity)}`
  }
  const strategy = validate.field(receiveBuffer, "strategy")
  return strategy === undefined || strategy === "dropping" || strategy === "sliding"
    ? undefined
    : `${what}: receiveBuffer.strategy must be "dropping" or "sliding", got ${validate.show(strategy)}`
}
