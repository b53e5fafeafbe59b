/**
 * Unix-domain listeners: bind on a path, the socket file's removal, and the
 * shared ListenerImpl's accept and `serve`. Shared by both Effect lines: the
 * Effect 3 line compiles this same file against its own `effect`.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type * as Tracer from "effect/Tracer"
import type * as NetError from "../NetError.js"
import type { Netpoll } from "../Netpoll.js"
import type * as UnixListener from "../UnixListener.js"
import type * as UnixStream from "../UnixStream.js"
import type * as address from "./address.js"
import { listener as listenerCore, unix, validate } from "./core.js"
import * as errors from "./errors.js"
import * as netpoll from "./netpoll.js"
import * as spans from "./spans.js"
import { ListenerImpl, listenWith, serveListener, socketServerDefect } from "./tcpListener.js"
import { badInput } from "./tcpStream.js"
import * as unixStream from "./unixStream.js"

export const TypeId: UnixListener.TypeId = Symbol.for("effect-netpoll/UnixListener") as UnixListener.TypeId

class UnixListenerImpl extends ListenerImpl<UnixStream.UnixStream, address.UnixAddress>
  implements UnixListener.UnixListener
{
  readonly [TypeId]: UnixListener.TypeId = TypeId

  constructor(
    pollable: netpoll.Pollable,
    readonly path: string,
    /** The socket file bind created, until the first close has dealt with it. */
    private identity: unix.Identity | undefined
  ) {
    // Unix sockets have no TCP_NODELAY: nothing to set on accepted streams.
    super(pollable, unix.display(path), false, "UnixListener", unixStream.pathAddr)
  }

  wrap(pollable: netpoll.Pollable): UnixStream.UnixStream {
    return unixStream.fromPollable(pollable, undefined)
  }

  // A Unix client is almost always unnamed: the listener's path says all there is.
  recordPeer(_span: Tracer.Span, _accepted: netpoll.Pollable): void {}

  protected override get spanAttributes(): Record<string, unknown> {
    return spans.unixAttributes(this.address)
  }

  // The file goes first, as in Go: a new server may bind the path as soon as
  // this returns. Only the file this listener's bind created is removed, and
  // only by the first close: a later one (the Scope's, after an explicit
  // close) must not take a new server's file that reuses our inode number.
  override get close(): Effect.Effect<void> {
    return Effect.andThen(
      Effect.sync(() => {
        const identity = this.identity
        this.identity = undefined
        unix.removeIfOurs(this.path, identity)
      }),
      super.close
    )
  }
}

export const bind = (
  input: address.UnixInput,
  options?: UnixListener.BindOptions
): Effect.Effect<UnixListener.UnixListener, NetError.NetError, Netpoll | Scope.Scope> =>
  Effect.suspend(() =>
    badInput(validate.unixBindOptions(options)) ?? Effect.flatMap(unixStream.parsePath(input), (path) =>
      listenWith((poller) => {
        const result = unix.listen(poller, path, options?.backlog ?? listenerCore.DEFAULT_BACKLOG)
        return "code" in result
          ? Effect.fail(errors.fromCode(result.code, result.syscall, unix.display(path)))
          : Effect.succeed(new UnixListenerImpl(result.pollable, path, result.identity))
      }))
  )

export const serve = <E, R>(
  listener: UnixListener.UnixListener,
  handler: (stream: UnixStream.UnixStream) => Effect.Effect<void, E, R>,
  options?: { readonly maxConnections?: number | undefined }
): Effect.Effect<never, NetError.NetError, Exclude<R, Scope.Scope>> =>
  serveListener(UnixListenerImpl, "UnixListener", "UnixStream", listener, handler, options)

/**
 * What each line's `layerSocketServer` builds its SocketServer from
 * (`tcpListener.socketServerOf`): the options' defect, the bound listener, the options.
 */
export const socketServerArgs = (input: address.UnixInput, options: UnixListener.SocketServerOptions | undefined) =>
  [
    socketServerDefect(options, validate.unixBindOptions),
    Effect.flatMap(bind(input, options), (listener) =>
      Effect.map(listener.localAddr, (local) => ({
        address: local,
        serve: <E, R>(
          handler: (stream: UnixStream.UnixStream) => Effect.Effect<void, E, R>,
          serveOptions: { readonly maxConnections?: number | undefined }
        ) => serve(listener, handler, serveOptions)
      }))),
    options
  ] as const
