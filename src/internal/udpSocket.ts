/**
 * UDP sockets: the core's datagram codes as effects. Shared by both Effect
 * lines: the Effect 3 line compiles this same file against its own `effect`
 * (and its own `address.ts`: `SocketAddr` there, `NetAddress` here).
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as NetError from "../NetError.js"
import { Netpoll } from "../Netpoll.js"
import type * as UdpSocket from "../UdpSocket.js"
import * as address from "./address.js"
import { datagram as core, stream as streamCore, validate } from "./core.js"
import * as errors from "./errors.js"
import * as netpoll from "./netpoll.js"
import * as runtime from "./runtime.js"
import { badInput, sockAddr, waitOrFail } from "./tcpStream.js"

export const TypeId: UdpSocket.TypeId = Symbol.for("effect-netpoll/UdpSocket") as UdpSocket.TypeId

/** Whether a value is a UdpSocket of this line (false, never a throw, for anything else). */
export const isUdpSocket = (u: unknown): u is UdpSocket.UdpSocket => validate.hasTypeId(u, TypeId)

/**
 * An address as the addon takes it, kept per address object: a sender of many
 * datagrams to one address (a batch, a loop) formats it once, and the addon
 * parses one target object once per batch.
 */
const natives = new WeakMap<object, streamCore.NativeAddress>()
const toNative = (addr: address.Address): streamCore.NativeAddress => {
  let native = natives.get(addr)
  if (native === undefined) {
    native = [address.family(addr), address.host(addr), addr.port]
    natives.set(addr, native)
  }
  return native
}

/**
 * One datagram syscall as an effect, which is also what a woken fiber runs
 * again: `attempt` returns the core's count or code, `done` turns a count into
 * the call's value (reading the core's result words at once, before any other
 * call can overwrite them).
 */
const call = <A>(
  direction: netpoll.Direction,
  syscall: string,
  peer: { readonly remote: string | undefined },
  attempt: () => number,
  done: (n: number) => A
): Effect.Effect<A, NetError.NetError> => {
  const run: Effect.Effect<A, NetError.NetError> = Effect.suspend(() => {
    if (runtime.yieldsSoon()) return Effect.andThen(runtime.yieldNow, run)
    const n = attempt()
    return n >= 0 ? Effect.succeed(done(n)) : waitOrFail(n, direction, run, syscall, peer, methods[syscall])
  })
  return run
}

const identity = (n: number): number => n

/** For errors of a socket whose peer is not known. */
const noPeer = { remote: undefined }

/** The method a defect names, by the syscall it ran. */
const methods: Readonly<Record<string, string>> = {
  sendto: "sendTo",
  recvfrom: "recvFrom",
  send: "send",
  recv: "recv",
  sendmmsg: "sendMany",
  recvmmsg: "recvMany"
}

const fromRc = (rc: number, syscall: string, where?: string): Effect.Effect<void, NetError.NetError> =>
  rc < 0 ? Effect.fail(errors.fromCode(rc, syscall, where)) : Effect.void

/** The sender of the last receive (datagram i of a batch) as this line's address. */
const senderAt = (self: UdpSocketImpl, i: number, batch: boolean): address.Address => {
  const [family, ip, port] = core.sender(i, batch)
  const last = self.lastSender
  if (last !== undefined && last.port === port && address.host(last) === ip && address.family(last) === family) {
    return last
  }
  return self.lastSender = address.fromNative([family, ip, port])
}

/**
 * The one address a datagram goes to: an address of this line as it is, else
 * resolved, the first of the socket's family (a socket of one family cannot
 * reach the other's addresses), else the first.
 */
const target = (self: UdpSocketImpl, input: address.Input): Effect.Effect<address.Address, NetError.NetError> => {
  if (address.isAddress(input)) return Effect.succeed(input)
  return Effect.map(address.resolve(input), (addrs) => addrs.find((a) => address.family(a) === self.family) ?? addrs[0]!)
}

/** Sets an int option after its argument's check (`defect`). */
const setOption = (
  self: UdpSocketImpl,
  defect: string | undefined,
  option: number,
  value: number
): Effect.Effect<void, NetError.NetError> =>
  Effect.suspend(() => badInput(defect) ?? fromRc(core.setOption(self.pollable, option, value), "setsockopt"))

/** Joins or leaves a group. */
const membership = (
  self: UdpSocketImpl,
  method: string,
  join: boolean,
  group: string,
  iface: string | undefined
): Effect.Effect<void, NetError.NetError> =>
  Effect.suspend(() => {
    const defect = badInput(core.multicastArgs(method, group, iface))
    if (defect !== undefined) return defect
    const family = core.groupFamily(group)
    if (family === 0) {
      return Effect.fail(new NetError.InvalidAddress({ address: group, reason: "a multicast group is an IP address" }))
    }
    return fromRc(core.membership(self.pollable, family, join, group, iface ?? ""), "setsockopt", group)
  })

class UdpSocketImpl implements UdpSocket.UdpSocket {
  readonly [TypeId]: UdpSocket.TypeId = TypeId
  /** The connected peer as text, for error messages. */
  peer: string | undefined = undefined
  /** The last sender seen, reused while datagrams keep coming from it. */
  lastSender: address.Address | undefined = undefined

  constructor(
    readonly pollable: netpoll.Pollable,
    readonly family: 4 | 6,
    readonly local: string
  ) {}

  get fd(): number {
    return this.pollable.fd
  }

  /** The connected peer as text, for error messages. */
  get remote(): string | undefined {
    return this.peer
  }

  sendTo(buf: Uint8Array, to: address.Input): Effect.Effect<number, NetError.NetError> {
    if (!streamCore.isBytes(buf)) return badInput(validate.notBytes("sendTo", buf))
    const length = buf.length
    const output = this.pollable.output
    const send = (addr: address.Address) => {
      const [family, ip, port] = toNative(addr)
      return call(output, "sendto", {
        get remote() {
          return String(addr)
        }
      }, () => core.sendTo(output, buf, length, family, ip, port), identity)
    }
    // An address needs no resolving: no step between the call and its syscall.
    return address.isAddress(to) ? send(to) : Effect.flatMap(target(this, to), send)
  }

  recvFrom(buf: Uint8Array): Effect.Effect<UdpSocket.Received, NetError.NetError> {
    if (!streamCore.isBytes(buf)) return badInput(validate.notBytes("recvFrom", buf))
    const length = buf.length
    const input = this.pollable.input
    return call(input, "recvfrom", this, () => core.recvFrom(input, buf, length, true), (bytes) => ({
      bytes,
      address: senderAt(this, 0, false),
      truncated: core.truncated()
    }))
  }

  connect(to: address.Input): Effect.Effect<void, NetError.NetError> {
    return Effect.flatMap(target(this, to), (addr) =>
      Effect.suspend(() => {
        const [family, ip, port] = toNative(addr)
        const rc = core.connect(this.pollable, family, ip, port)
        if (rc === 0) this.peer = String(addr)
        return fromRc(rc, "connect", String(addr))
      }))
  }

  get disconnect(): Effect.Effect<void, NetError.NetError> {
    return Effect.suspend(() => {
      const rc = core.disconnect(this.pollable)
      if (rc === 0) this.peer = undefined
      return fromRc(rc, "connect", this.peer)
    })
  }

  send(buf: Uint8Array): Effect.Effect<number, NetError.NetError> {
    if (!streamCore.isBytes(buf)) return badInput(validate.notBytes("send", buf))
    const length = buf.length
    const output = this.pollable.output
    return call(output, "send", this, () => core.send(output, buf, length), identity)
  }

  recv(buf: Uint8Array): Effect.Effect<UdpSocket.Recv, NetError.NetError> {
    if (!streamCore.isBytes(buf)) return badInput(validate.notBytes("recv", buf))
    const length = buf.length
    const input = this.pollable.input
    return call(input, "recv", this, () => core.recvFrom(input, buf, length, false), (bytes) => ({
      bytes,
      truncated: core.truncated()
    }))
  }

  sendMany(datagrams: ReadonlyArray<UdpSocket.OutgoingDatagram>): Effect.Effect<number, NetError.NetError> {
    return Effect.suspend(() => sendManyNow(this, datagrams))
  }


  recvMany(bufs: ReadonlyArray<Uint8Array>): Effect.Effect<ReadonlyArray<UdpSocket.Received>, NetError.NetError> {
    const defect = core.bufs("recvMany", bufs)
    if (defect !== undefined) return badInput(defect)
    const batch = bufs.slice(0, core.MAX_BATCH)
    const lengths = core.lengths(batch)
    const input = this.pollable.input
    return call(input, "recvmmsg", this, () => core.recvMany(input, batch, lengths, true), (n) => {
      const received: Array<UdpSocket.Received> = new Array(n)
      for (let i = 0; i < n; i++) {
        received[i] = { bytes: core.bytesAt(i), address: senderAt(this, i, true), truncated: core.truncatedAt(i) }
      }
      return received
    })
  }

  setBroadcast(on: boolean): Effect.Effect<void, NetError.NetError> {
    return setOption(this, core.flag("setBroadcast", on), core.Option.broadcast, on ? 1 : 0)
  }

  setTtl(ttl: number): Effect.Effect<void, NetError.NetError> {
    return setOption(this, core.ttl("setTtl", ttl, 1), core.ttlOption(this.family), ttl)
  }

  get ttl(): Effect.Effect<number, NetError.NetError> {
    return Effect.suspend(() => {
      const value = core.getOption(this.pollable, core.ttlOption(this.family))
      return value < 0 ? Effect.fail(errors.fromCode(value, "getsockopt")) : Effect.succeed(value)
    })
  }

  setMulticastTtl(ttl: number): Effect.Effect<void, NetError.NetError> {
    return setOption(this, core.ttl("setMulticastTtl", ttl, 0), core.multicastTtlOption(this.family), ttl)
  }

  setMulticastLoop(on: boolean): Effect.Effect<void, NetError.NetError> {
    return setOption(this, 
      core.flag("setMulticastLoop", on),
      core.multicastLoopOption(this.family),
      on ? 1 : 0
    )
  }

  joinMulticast(group: string, iface?: string): Effect.Effect<void, NetError.NetError> {
    return membership(this, "joinMulticast", true, group, iface)
  }

  leaveMulticast(group: string, iface?: string): Effect.Effect<void, NetError.NetError> {
    return membership(this, "leaveMulticast", false, group, iface)
  }

  get localAddr(): Effect.Effect<address.Address, NetError.NetError> {
    return sockAddr(this.pollable, "getsockname")
  }

  get peerAddr(): Effect.Effect<address.Address, NetError.NetError> {
    return sockAddr(this.pollable, "getpeername")
  }

  get close(): Effect.Effect<void> {
    return netpoll.close(this.pollable)
  }

  toString(): string {
    return `UdpSocket(fd ${this.pollable.fd} on ${this.local}${this.peer === undefined ? "" : ` -> ${this.peer}`})`
  }
}

/** The implementation, for the DatagramSocket backend (Effect 4). */
export type Impl = UdpSocketImpl

/** The error of a core code. */
export const codeError = (code: number, syscall: string): NetError.NetError => errors.fromCode(code, syscall)

/**
 * One recvmmsg into `bufs` (parking while none waits): each datagram's count,
 * index, sender IP and port go to `onEach` before the next call can overwrite
 * the core's result words. The count of datagrams.
 */
export const recvBatch = (
  socket: UdpSocketImpl,
  bufs: ReadonlyArray<Uint8Array>,
  onEach: (bytes: number, i: number, ip: string, port: number) => void
): Effect.Effect<number, NetError.NetError> => {
  const input = socket.pollable.input
  const lengths = core.lengths(bufs)
  return call(input, "recvmmsg", noPeer, () => core.recvMany(input, bufs, lengths, true), (n) => {
    for (let i = 0; i < n; i++) {
      const [, ip, port] = core.sender(i, true)
      onEach(core.bytesAt(i), i, ip, port)
    }
    return n
  })
}

/** `sendMany` itself, run suspended: the copies read the caller's values again, and a getter may throw then. */
const sendManyNow = (
  self: UdpSocketImpl,
  datagrams: ReadonlyArray<UdpSocket.OutgoingDatagram>
): Effect.Effect<number, NetError.NetError> => {
  const defect = core.datagrams("sendMany", datagrams)
  if (defect !== undefined) return badInput(defect)
  const output = self.pollable.output
  // Nothing to send: 0 at once (a park would wait for room that nothing needs).
  if (datagrams.length === 0) {
    return Effect.suspend(() => self.pollable.closed ? Effect.fail(errors.closed("sendmmsg")) : Effect.succeed(0))
  }
  // Copies of the first batch: the caller may change its array while the call waits.
  const count = Math.min(datagrams.length, core.MAX_BATCH)
  const payloads: Array<Uint8Array> = new Array(count)
  const lengths: Array<number> = new Array(count)
  const targets: Array<streamCore.NativeAddress | undefined> = new Array(count)
  let addressed = false
  let unresolved = false
  const addresses: Array<unknown> = new Array(count)
  for (let i = 0; i < count; i++) {
    // Read once each, through the checks' reader: a getter runs once and never throws here.
    const d = datagrams[i]!
    const payload = validate.field(d, "payload") as Uint8Array
    payloads[i] = payload
    lengths[i] = payload.length
    const to = addresses[i] = validate.field(d, "address")
    if (to === undefined) continue
    addressed = true
    if (address.isAddress(to)) targets[i] = toNative(to)
    else unresolved = true
  }
  const send = (resolved: ReadonlyArray<streamCore.NativeAddress | undefined> | undefined) =>
    call(output, "sendmmsg", self, () => core.sendMany(output, payloads, lengths, resolved), identity)
  if (!addressed) return send(undefined)
  if (!unresolved) return send(targets)
  return Effect.flatMap(
    Effect.forEach(addresses, (to) =>
      to === undefined ? Effect.succeed(undefined) : Effect.map(target(self, to as address.Input), toNative)),
    send
  )
}

/**
 * Opens and binds a socket for the first address the input stands for that
 * binds, closed when `scope` closes (or by `close`).
 */
export const bindIn = (
  poller: netpoll.Poller,
  input: address.Input,
  options: UdpSocket.BindOptions | undefined
): Effect.Effect<UdpSocketImpl, NetError.NetError> =>
  Effect.flatMap(address.resolve(input), (addrs) =>
    Effect.suspend(() => {
      let error: NetError.NetError = errors.closed("bind")
      for (const addr of addrs) {
        const [family, ip, port] = toNative(addr)
        const result = core.open(poller, family, ip, port, options)
        if (netpoll.isPollable(result)) {
          const local = streamCore.address(result, "getsockname")
          const name = typeof local === "number" ? String(addr) : String(address.fromNative(local))
          return Effect.succeed(new UdpSocketImpl(result, family, name))
        }
        error = errors.fromCode(result.code, result.syscall, String(addr))
      }
      return Effect.fail(error)
    }))

export const bind = (
  input: address.Input,
  options?: UdpSocket.BindOptions
): Effect.Effect<UdpSocket.UdpSocket, NetError.NetError, Netpoll | Scope.Scope> =>
  Effect.suspend(() =>
    badInput(core.bindOptions(options)) ??
      Effect.flatMap(Netpoll, (service) =>
        Effect.acquireRelease(bindIn(netpoll.fromService(service), input, options), (socket) => socket.close))
  )
