/**
 * Connected streams: the core's codes as effects. Shared by both Effect lines:
 * the Effect 3 line compiles this same file against its own `effect`.
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import * as NetError from "../NetError.js"
import { Netpoll } from "../Netpoll.js"
import type * as Io from "../Io.js"
import type * as TcpStream from "../TcpStream.js"
import * as address from "./address.js"
import { stream as core, validate } from "./core.js"
import * as errors from "./errors.js"
import * as metrics from "./metrics.js"
import * as netpoll from "./netpoll.js"
import * as runtime from "./runtime.js"
import * as spans from "./spans.js"

export const TypeId: TcpStream.TypeId = Symbol.for("effect-netpoll/TcpStream") as TcpStream.TypeId

/** Carried by every connected stream of the library, TCP or Unix: what the adapters take. */
const StreamTypeId: unique symbol = Symbol.for("effect-netpoll/Stream") as never

/**
 * getsockname or getpeername as an effect, for a family: `read` is its core
 * call (an address as the addon gives it, or an error code), `make` the line's address.
 */
export const addressOf = <N, A>(
  read: (pollable: netpoll.Pollable, syscall: "getsockname" | "getpeername") => N | number,
  make: (native: N) => A
) =>
(pollable: netpoll.Pollable, syscall: "getsockname" | "getpeername"): Effect.Effect<A, NetError.NetError> =>
  Effect.suspend(() => {
    const result = read(pollable, syscall)
    return typeof result === "number" ? Effect.fail(errors.fromCode(result, syscall)) : Effect.succeed(make(result))
  })

/** getsockname or getpeername of a TCP socket as an effect. */
export const sockAddr = addressOf(core.address, address.fromNative)

/**
 * The effect a woken fiber runs for a core wait code, or the code's failure;
 * for streams and datagrams alike. `peer.remote` is read only for a failure
 * (for an accepted stream it costs a getpeername), `method` names a changed
 * buffer's defect.
 */
export const waitOrFail = <A>(
  code: number,
  direction: netpoll.Direction,
  retry: Effect.Effect<A, NetError.NetError>,
  syscall: string,
  peer: { readonly remote: string | undefined },
  method: string = syscall
): Effect.Effect<A, NetError.NetError> =>
  code === core.WAIT_READY
    ? netpoll.waitReady(direction, retry)
    : code === core.WAIT_TURN
    ? netpoll.waitTurn(direction, retry)
    : code === core.BUFFER_CHANGED
    ? Effect.die(new Error(core.bufferChanged(method)))
    : Effect.fail(errors.fromCode(code, syscall, peer.remote))

/** One `read` or `write` (or its vectored form) as an effect, which is also what a woken fiber runs again. */
const onceEffect = <B>(
  self: StreamImpl<unknown>,
  direction: netpoll.Direction,
  syscall: "read" | "write",
  shape: core.Shape<B>,
  transfer: core.Syscall<B>,
  buf: B,
  length: number
): Effect.Effect<number, NetError.NetError> => {
  const call: Effect.Effect<number, NetError.NetError> = Effect.suspend(() => {
    if (runtime.yieldsSoon()) return Effect.andThen(runtime.yieldNow, call)
    const n = core.once(direction, shape, transfer, buf, length, netpoll.currentOwner)
    return n >= 0 ? Effect.succeed(n) : waitOrFail(n, direction, call, syscall, self)
  })
  return call
}

/**
 * One step of a `readExact`, `writeAll`, `writeAllVectored` or `readToEnd`:
 * the core's Transfer, its codes as effects. The first step runs in the
 * caller's effect, and a retry is made only when the transfer waits, so one
 * that completes at once allocates nothing here.
 */
const transferEffect = <B>(
  self: StreamImpl<unknown>,
  syscall: "read" | "write",
  transfer: core.Transfer<B>
): Effect.Effect<void, NetError.NetError> => {
  if (runtime.yieldsSoon()) return Effect.andThen(runtime.yieldNow, transferAgain(self, syscall, transfer))
  const code = transfer.step(netpoll.currentOwner)
  switch (code) {
    case core.DONE:
      return Effect.void
    case core.WAIT_READY_LOCKED:
      return Effect.ensuring(netpoll.waitReady(transfer.direction, transferAgain(self, syscall, transfer)), Effect.sync(() => transfer.release()))
    case core.UNEXPECTED_EOF:
      return Effect.fail(
        new NetError.UnexpectedEof({ syscall: "read", address: self.remote, bytesRead: transfer.done })
      )
    case core.LIMIT_EXCEEDED:
      return Effect.fail(
        new NetError.LimitExceeded({
          operation: "readToEnd",
          limit: transfer instanceof core.ReadToEnd ? transfer.maxBytes : 0
        })
      )
    default:
      return waitOrFail(code, transfer.direction, transferAgain(self, syscall, transfer), syscall, self)
  }
}

/** A transfer's next step, as the effect a woken fiber runs. */
const transferAgain = <B>(
  self: StreamImpl<unknown>,
  syscall: "read" | "write",
  transfer: core.Transfer<B>
): Effect.Effect<void, NetError.NetError> => Effect.suspend(() => transferEffect(self, syscall, transfer))

const decoder = new TextDecoder()

/**
 * A defect for a caller's bad argument (`message` from the core's checks,
 * naming the public option), or undefined when there is none. A TypeError, or
 * a RangeError for a number out of its range where the README promises one.
 */
export function badInput(message: string, kind?: new(message: string) => Error): Effect.Effect<never>
export function badInput(message: string | undefined, kind?: new(message: string) => Error): Effect.Effect<never> | undefined
export function badInput(
  message: string | undefined,
  kind: new(message: string) => Error = TypeError
): Effect.Effect<never> | undefined {
  return message === undefined ? undefined : Effect.die(new kind(message))
}

/** Whether a value is a TcpStream of this line (false, never a throw, for anything else). */
export const isTcpStream = (u: unknown): u is TcpStream.TcpStream => validate.hasTypeId(u, TypeId)

/**
 * Whether a value is a connected stream of the library, a TcpStream or a
 * UnixStream (false, never a throw, for anything else): what the adapters take.
 */
export const isStream = (u: unknown): u is AnyStream => validate.hasTypeId(u, StreamTypeId)

/**
 * A connected stream, TCP or Unix: what the adapters (toStream, toSink,
 * toDuplex, the Socket) use of it, which both have.
 */
export type AnyStream = Pick<
  TcpStream.TcpStream,
  Exclude<keyof TcpStream.TcpStream, typeof TypeId | "peerAddr" | "localAddr" | "tryClone" | "setNoDelay" | "setKeepAlive">
>

/**
 * `makeSocket`'s `open`, dying (with a message naming `open`) when what it
 * yields is no stream: the Socket would otherwise call methods it lacks.
 */
export const openedStream = <S, E, R>(open: Effect.Effect<S, E, R>): Effect.Effect<S, E, R> =>
  Effect.flatMap(open, (stream) =>
    isStream(stream) ? Effect.succeed(stream) : Effect.die(new TypeError(validate.notOpenedStream(stream))))

/** Effect's guard, false for a value that throws when asked (a Proxy whose traps throw). */
const isEffect = (u: unknown): boolean => {
  try {
    return Effect.isEffect(u)
  } catch {
    return false
  }
}

/**
 * The defect for bad arguments of `makeSocket` (`open`) or `layerSocket` (its
 * connect options), and of both (`openTimeout`, and `chunkSize` where the line
 * has it: the Effect 3 Socket has none), the same on both lines; or undefined.
 * A TypeError, or the RangeError the README promises for a `chunkSize` that is
 * no positive integer.
 */
export const socketDefect = (
  what: "makeSocket" | "layerSocket",
  open: unknown,
  options: unknown,
  hasChunkSize: boolean,
  connectOptions: (options: unknown, what: string) => string | undefined = validate.connectOptions
): Error | undefined => {
  const message = (what === "makeSocket" && !isEffect(open) ? validate.notOpenEffect(open) : undefined) ??
    validate.optionsObject(options, what) ??
    (what === "layerSocket" ? connectOptions(options, what) : undefined)
  if (message !== undefined) return new TypeError(message)
  const size = hasChunkSize ? validate.chunkSize(options, what) : undefined
  if (size !== undefined) return new RangeError(size)
  const openTimeout = validate.field(options, "openTimeout")
  return openTimeout === undefined || runtime.isDuration(openTimeout)
    ? undefined
    : new TypeError(validate.notOpenTimeout(what, openTimeout))
}

/**
 * A `layerSocket`'s Socket, on both lines and for both families: `options`
 * checked once, when the layer is built (`connectOptions` are the family's
 * own: none for Unix), then `make` over what `dial` opens.
 */
export const checkedSocket = <S>(
  options: unknown,
  hasChunkSize: boolean,
  connectOptions: (options: unknown, what: string) => string | undefined,
  dial: () => Effect.Effect<AnyStream, NetError.NetError, Netpoll | Scope.Scope>,
  make: (open: Effect.Effect<AnyStream, NetError.NetError, Netpoll | Scope.Scope>) => Effect.Effect<S, never, Netpoll>
): Effect.Effect<S, never, Netpoll> =>
  Effect.suspend(() => {
    const defect = socketDefect("layerSocket", undefined, options, hasChunkSize, connectOptions)
    return defect !== undefined ? Effect.die(defect) : make(dial())
  })

/** An empty read or write: 0 at once, or SocketClosed. */
const empty = (self: StreamImpl<unknown>, syscall: string): Effect.Effect<number, NetError.SocketClosed> =>
  Effect.suspend(() =>
    core.empty(self.pollable) === 0 ? Effect.succeed(0) : Effect.fail(errors.closed(syscall, self.remote))
  )

export const fromRc = (self: StreamImpl<unknown>, syscall: string, rc: number): Effect.Effect<void, NetError.NetError> =>
  rc < 0 ? Effect.fail(errors.fromCode(rc, syscall, self.remote)) : Effect.void

/** What a kind of stream (TCP, Unix) brings to the calls they share. */
export interface StreamKind<Self, Addr> {
  /** The public type's name, for `toString`. */
  readonly name: string
  /** getsockname or getpeername as the family's address. */
  readonly address: (
    pollable: netpoll.Pollable,
    syscall: "getsockname" | "getpeername"
  ) => Effect.Effect<Addr, NetError.NetError>
  /** The peer as text (getpeername), or undefined when it cannot be had. */
  readonly peerName: (pollable: netpoll.Pollable) => string | undefined
  /** A stream of this kind over `pollable` (a clone). */
  readonly wrap: (pollable: netpoll.Pollable, remote: string | undefined) => Self
}

/**
 * A connected stream socket, TCP or Unix: every call but those that depend on
 * the address family, which its `kind` answers. `Self` is the stream type `tryClone` gives.
 */
export abstract class StreamImpl<Self, Addr = unknown> {
  // On the prototype, as `kind` is: an idle connection's object holds only its pollable and peer.
  declare readonly [StreamTypeId]: typeof StreamTypeId
  protected abstract get kind(): StreamKind<Self, Addr>

  constructor(
    readonly pollable: netpoll.Pollable,
    private peer: string | undefined
  ) {}

  /** The peer as text, for error messages: known from connect, looked up once otherwise. */
  get remote(): string | undefined {
    if (this.peer === undefined) this.peer = this.kind.peerName(this.pollable)
    return this.peer
  }

  get fd(): number {
    return this.pollable.fd
  }

  read(buf: Uint8Array): Effect.Effect<number, NetError.NetError> {
    if (!core.isBytes(buf)) return badInput(validate.notBytes("read", buf))
    return buf.length === 0
      ? empty(this, "read")
      : onceEffect(this, this.pollable.input, "read", core.single, core.read, buf, buf.length)
  }

  readVectored(bufs: ReadonlyArray<Uint8Array>): Effect.Effect<number, NetError.NetError> {
    const defect = validate.vector("readVectored", bufs)
    if (defect !== undefined) return badInput(defect)
    // A copy: the caller may change its array while the call waits.
    const vector = Array.from(bufs)
    const length = core.vector.length(vector)
    return length === 0
      ? empty(this, "read")
      : onceEffect(this, this.pollable.input, "read", core.vector, core.readv, vector, length)
  }

  write(buf: Uint8Array): Effect.Effect<number, NetError.NetError> {
    if (!core.isBytes(buf)) return badInput(validate.notBytes("write", buf))
    return buf.length === 0
      ? empty(this, "write")
      : onceEffect(this, this.pollable.output, "write", core.single, core.write, buf, buf.length)
  }

  writeVectored(bufs: ReadonlyArray<Uint8Array>): Effect.Effect<number, NetError.NetError> {
    const defect = validate.vector("writeVectored", bufs)
    if (defect !== undefined) return badInput(defect)
    const vector = Array.from(bufs)
    const length = core.vector.length(vector)
    return length === 0
      ? empty(this, "write")
      : onceEffect(this, this.pollable.output, "write", core.vector, core.writev, vector, length)
  }

  readExact(buf: Uint8Array): Effect.Effect<void, NetError.NetError> {
    if (!core.isBytes(buf)) return badInput(validate.notBytes("readExact", buf))
    return buf.length === 0
      ? Effect.asVoid(empty(this, "read"))
      : Effect.suspend(() =>
        transferEffect(this, "read", new core.Transfer(this.pollable.input, core.single, core.read, buf))
      )
  }

  writeAll(buf: Uint8Array): Effect.Effect<void, NetError.NetError> {
    if (!core.isBytes(buf)) return badInput(validate.notBytes("writeAll", buf))
    return buf.length === 0
      ? Effect.asVoid(empty(this, "write"))
      : Effect.suspend(() =>
        transferEffect(this, "write", new core.Transfer(this.pollable.output, core.single, core.write, buf))
      )
  }

  writeAllVectored(bufs: ReadonlyArray<Uint8Array>): Effect.Effect<void, NetError.NetError> {
    const defect = validate.vector("writeAllVectored", bufs)
    if (defect !== undefined) return badInput(defect)
    const vector = Array.from(bufs)
    return core.vector.length(vector) === 0
      ? Effect.asVoid(empty(this, "write"))
      : Effect.suspend(() =>
        transferEffect(this, "write", new core.Transfer(this.pollable.output, core.vector, core.writev, vector))
      )
  }

  readToEnd(options: Io.ReadToEndOptions): Effect.Effect<Uint8Array, NetError.NetError> {
    const defect = validate.maxBytes("readToEnd", options)
    if (defect !== undefined) return badInput(defect)
    const maxBytes = options.maxBytes
    return Effect.suspend(() => {
      const transfer = new core.ReadToEnd(this.pollable.input, maxBytes)
      return Effect.map(transferEffect(this, "read", transfer), () => transfer.bytes.slice())
    })
  }

  readToString(options: Io.ReadToEndOptions): Effect.Effect<string, NetError.NetError> {
    const defect = validate.maxBytes("readToString", options)
    if (defect !== undefined) return badInput(defect)
    return Effect.map(this.readToEnd(options), (bytes) => decoder.decode(bytes))
  }

  get tryClone(): Effect.Effect<Self, NetError.NetError, Scope.Scope> {
    return Effect.flatMap(Effect.scope, (scope) =>
      Effect.uninterruptible(Effect.suspend(() => {
        const clone = core.dup(this.pollable)
        if (!netpoll.isPollable(clone)) {
          return Effect.fail(errors.fromCode(clone.code, clone.syscall, this.remote))
        }
        return Effect.as(Scope.addFinalizer(scope, netpoll.close(clone)), this.kind.wrap(clone, this.remote))
      })))
  }

  shutdown(how: "read" | "write" | "both"): Effect.Effect<void, NetError.NetError> {
    return Effect.suspend(() =>
      badInput(validate.shutdownHow(how)) ?? fromRc(this, "shutdown", core.shutdown(this.pollable, how))
    )
  }

  get close(): Effect.Effect<void> {
    return netpoll.close(this.pollable)
  }

  get peerAddr(): Effect.Effect<Addr, NetError.NetError> {
    return this.kind.address(this.pollable, "getpeername")
  }

  get localAddr(): Effect.Effect<Addr, NetError.NetError> {
    return this.kind.address(this.pollable, "getsockname")
  }

  toString(): string {
    return `${this.kind.name}(fd ${this.pollable.fd}${this.remote === undefined ? "" : ` -> ${this.remote}`})`
  }
}

Object.defineProperty(StreamImpl.prototype, StreamTypeId, { value: StreamTypeId })

const tcpKind: StreamKind<TcpStream.TcpStream, address.Address> = {
  name: "TcpStream",
  address: sockAddr,
  peerName: (pollable) => {
    const peer = core.address(pollable, "getpeername")
    return typeof peer === "number" ? undefined : String(address.fromNative(peer))
  },
  wrap: (pollable, remote) => new TcpStreamImpl(pollable, remote)
}

class TcpStreamImpl extends StreamImpl<TcpStream.TcpStream, address.Address> implements TcpStream.TcpStream {
  declare readonly [TypeId]: TcpStream.TypeId

  protected get kind(): StreamKind<TcpStream.TcpStream, address.Address> {
    return tcpKind
  }

  setNoDelay(on: boolean): Effect.Effect<void, NetError.NetError> {
    return Effect.suspend(() =>
      badInput(validate.noDelay(on)) ?? fromRc(this, "setsockopt", core.setNoDelay(this.pollable, on))
    )
  }

  setKeepAlive(on: boolean, initialDelayMillis?: number): Effect.Effect<void, NetError.NetError> {
    return Effect.suspend(() =>
      badInput(validate.keepAlive(on, initialDelayMillis)) ??
        fromRc(this, "setsockopt", core.setKeepAlive(this.pollable, on, initialDelayMillis))
    )
  }
}

Object.defineProperty(TcpStreamImpl.prototype, TypeId, { value: TypeId })

/** Wraps a connected fd that the caller has already registered and scoped. */
export const fromPollable = (pollable: netpoll.Pollable, remote: string | undefined): TcpStream.TcpStream =>
  new TcpStreamImpl(pollable, remote)

/** Waits until a pending connect completes (or fails); `peerOf` is the family's getpeername. */
const awaitConnected = (
  pollable: netpoll.Pollable,
  address: string,
  peerOf: ((fd: number) => unknown) | undefined
): Effect.Effect<void, NetError.NetError> =>
  netpoll.waitReady(
    pollable.output,
    Effect.suspend(() => {
      const rc = core.connectResult(pollable, peerOf)
      return rc === 0 ? Effect.void : rc === core.WAIT_READY
        ? awaitConnected(pollable, address, peerOf)
        : Effect.fail(errors.fromCode(rc, "connect", address))
    })
  )

/** How one connect of a family starts and what it makes: see `connectWith`. */
export interface Dial<S> {
  /** The address as text, for errors and the stream's `remote`. */
  readonly name: string
  /** The socket, its registration and a nonblocking connect(2). */
  readonly start: () => { readonly pollable: netpoll.Pollable; readonly pending: boolean } | core.Failure
  /** The family's getpeername, which tells a finished connect; TCP's when left out. */
  readonly peerOf?: ((fd: number) => unknown) | undefined
  readonly wrap: (pollable: netpoll.Pollable, remote: string) => S
}

/**
 * One connect, TCP or Unix: only the wait for a pending connect is
 * interruptible, and an interrupted or failed one closes its socket at once;
 * a connected one is closed by `scope`.
 */
export const connectWith = <S>(scope: Scope.Scope, dial: Dial<S>): Effect.Effect<S, NetError.NetError> =>
  Effect.uninterruptibleMask((restore) => {
    const { name } = dial
    const started = dial.start()
    if ("code" in started) return Effect.fail(errors.fromCode(started.code, started.syscall, name))
    const { pending, pollable } = started
    const connected = pending ? restore(awaitConnected(pollable, name, dial.peerOf)) : Effect.void
    return Effect.onExit(connected, (exit) => {
      if (Exit.isFailure(exit)) return netpoll.close(pollable)
      core.connected(pollable)
      metrics.connected()
      return Scope.addFinalizer(scope, netpoll.close(pollable))
    }).pipe(Effect.as(dial.wrap(pollable, name)))
  })

const connectOne = (
  poller: netpoll.Poller,
  scope: Scope.Scope,
  addr: address.Address,
  options: TcpStream.ConnectOptions | undefined
): Effect.Effect<TcpStream.TcpStream, NetError.NetError> =>
  Effect.suspend(() => {
    const keepAlive = options?.keepAlive
    return connectWith(scope, {
      name: String(addr),
      start: () =>
        core.connectStart(poller, address.family(addr), address.host(addr), addr.port, {
          noDelay: options?.noDelay ?? true,
          keepAlive: keepAlive === undefined || keepAlive === false ? false : keepAlive === true ? 0 : keepAlive
        }),
      wrap: fromPollable
    })
  })

const tryEach = (
  poller: netpoll.Poller,
  scope: Scope.Scope,
  addrs: ReadonlyArray<address.Address>,
  index: number,
  options: TcpStream.ConnectOptions | undefined
): Effect.Effect<TcpStream.TcpStream, NetError.NetError> =>
  index === addrs.length - 1
    ? connectOne(poller, scope, addrs[index]!, options)
    : runtime.catchAll(
      connectOne(poller, scope, addrs[index]!, options),
      () => tryEach(poller, scope, addrs, index + 1, options)
    )

export const connect = (
  input: address.Input,
  options?: TcpStream.ConnectOptions
): Effect.Effect<TcpStream.TcpStream, NetError.NetError, Netpoll | Scope.Scope> =>
  Effect.suspend(() =>
    badInput(validate.connectOptions(options)) ?? spans.connectSpan(
      input,
      Effect.flatMap(address.resolve(input), (addrs) =>
        Effect.flatMap(Netpoll, (service) =>
          Effect.flatMap(Effect.scope, (scope) => tryEach(netpoll.fromService(service), scope, addrs, 0, options))))
    )
  )
