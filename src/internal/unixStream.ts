/**
 * Unix-domain streams: what differs from TCP (addresses, connect, pairs, peer
 * credentials) over the shared StreamImpl. Shared by both Effect lines: the
 * Effect 3 line compiles this same file against its own `effect`.
 */
import * as Effect from "effect/Effect"
import * as Scope from "effect/Scope"
import * as NetError from "../NetError.js"
import { Netpoll } from "../Netpoll.js"
import type * as UnixStream from "../UnixStream.js"
import * as address from "./address.js"
import { unix, validate } from "./core.js"
import * as errors from "./errors.js"
import * as netpoll from "./netpoll.js"
import * as spans from "./spans.js"
import { addressOf, connectWith, StreamImpl, type StreamKind } from "./tcpStream.js"

export const TypeId: UnixStream.TypeId = Symbol.for("effect-netpoll/UnixStream") as UnixStream.TypeId

/** The path as messages show it (an abstract name with "@"), "" for an unnamed socket. */
const pathName = (pollable: netpoll.Pollable, syscall: "getsockname" | "getpeername"): string | undefined => {
  const path = unix.address(pollable, syscall)
  return typeof path === "number" ? undefined : unix.display(path)
}

/** getsockname or getpeername of a Unix socket as an effect. */
export const pathAddr = addressOf(unix.address, address.unixAddress)

const unixKind: StreamKind<UnixStream.UnixStream, address.UnixAddress> = {
  name: "UnixStream",
  address: pathAddr,
  peerName: (pollable) => pathName(pollable, "getpeername") || undefined,
  wrap: (pollable, remote) => new UnixStreamImpl(pollable, remote)
}

class UnixStreamImpl extends StreamImpl<UnixStream.UnixStream, address.UnixAddress> implements UnixStream.UnixStream {
  declare readonly [TypeId]: UnixStream.TypeId

  protected get kind(): StreamKind<UnixStream.UnixStream, address.UnixAddress> {
    return unixKind
  }

  get peerCred(): Effect.Effect<UnixStream.Credentials, NetError.NetError> {
    return Effect.suspend(() => {
      const cred = unix.peerCred(this.pollable)
      return typeof cred === "number"
        ? Effect.fail(errors.fromCode(cred, "getsockopt", this.remote))
        : Effect.succeed(cred)
    })
  }
}

Object.defineProperty(UnixStreamImpl.prototype, TypeId, { value: TypeId })

/** Wraps a connected fd that the caller has already registered and scoped. */
export const fromPollable = (pollable: netpoll.Pollable, remote: string | undefined): UnixStream.UnixStream =>
  new UnixStreamImpl(pollable, remote)

/** Whether a value is a UnixStream of this line (false, never a throw, for anything else). */
export const isUnixStream = (u: unknown): u is UnixStream.UnixStream => validate.hasTypeId(u, TypeId)

/** The path a Unix address input names, or an InvalidAddress, before any syscall. */
export const parsePath = (input: unknown): Effect.Effect<string, NetError.InvalidAddress> =>
  Effect.suspend(() => {
    const path = address.unixPathOf(input)
    const mistake = path === undefined
      ? `expected ${address.unixInputs}, got ${validate.show(input)}`
      : unix.pathMistake(path)
    return mistake === undefined
      ? Effect.succeed(path as string)
      : Effect.fail(
        new NetError.InvalidAddress({
          // Cut as TCP addresses are: a 1 MiB path makes no 1 MiB message.
          address: typeof path === "string" ? validate.addressText(unix.display(path)) : validate.show(input),
          reason: mistake
        })
      )
  })

export const connect = (
  input: address.UnixInput
): Effect.Effect<UnixStream.UnixStream, NetError.NetError, Netpoll | Scope.Scope> =>
  Effect.flatMap(parsePath(input), (path) =>
    // The path as errors show it: an abstract name's NUL as "@", which a trace backend can store.
    spans.unixConnectSpan(
      unix.display(path),
      Effect.flatMap(Netpoll, (service) =>
        Effect.flatMap(Effect.scope, (scope) =>
          connectWith(scope, {
            name: unix.display(path),
            start: () => unix.connectStart(netpoll.fromService(service), path),
            peerOf: unix.peerPathOf,
            wrap: fromPollable
          })))
    ))

export const pair: Effect.Effect<
  readonly [UnixStream.UnixStream, UnixStream.UnixStream],
  NetError.NetError,
  Netpoll | Scope.Scope
> = Effect.flatMap(Netpoll, (service) =>
  Effect.flatMap(Effect.scope, (scope) =>
    Effect.uninterruptible(Effect.suspend(() => {
      const pollables = unix.pair(netpoll.fromService(service))
      if ("code" in pollables) return Effect.fail(errors.fromCode(pollables.code, pollables.syscall))
      const [first, second] = pollables
      return Effect.as(
        Effect.andThen(Scope.addFinalizer(scope, netpoll.close(first)), Scope.addFinalizer(scope, netpoll.close(second))),
        [fromPollable(first, undefined), fromPollable(second, undefined)] as const
      )
    }))))
