import * as Socket from "@effect/platform/Socket"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import type * as NetError from "../NetError.js"
import type * as Netpoll from "../Netpoll.js"
import type * as SocketAddr from "../SocketAddr.js"
import type * as TcpStream from "../TcpStream.js"
import type * as unixAddress from "./address.js"
import { validate } from "./core.js"
import * as tcpStream from "./tcpStream.js"
import * as unixStream from "./unixStream.js"

/** libuv hands net.Socket 64 KiB reads; the same size gives handlers chunks like NodeSocket's. */
const READ_SIZE = 64 * 1024

interface Connection {
  readonly stream: tcpStream.AnyStream
  /** The run's FiberSet; completing its Deferred ends the run, as NodeSocket's stream events do. */
  readonly handlers: FiberSet.FiberSet<unknown, unknown>
}

const readError = (cause: NetError.NetError) => new Socket.SocketGenericError({ reason: "Read", cause })

const readLoop = <_, E, R>(
  stream: tcpStream.AnyStream,
  handlers: FiberSet.FiberSet<unknown, unknown>,
  handler: (_: Uint8Array) => Effect.Effect<_, E, R> | void
): Effect.Effect<void, Socket.SocketError, R> =>
  Effect.gen(function*() {
    const buf = new Uint8Array(READ_SIZE)
    while (true) {
      const n = yield* Effect.mapError(stream.read(buf), readError)
      if (n === 0) {
        // End of stream ends the run successfully; handlers still running are interrupted, as in NodeSocket.
        Deferred.unsafeDone(handlers.deferred, Exit.void)
        return
      }
      // A copy, because the handler may keep the chunk while the next read refills buf.
      const result = handler(buf.slice(0, n))
      if (Effect.isEffect(result)) yield* FiberSet.run(handlers, result)
    }
  })

/**
 * A Socket over connections that `open` yields, one per `run`. It keeps
 * NodeSocket.fromDuplex's contract: writes wait until a run has connected,
 * each chunk's handler effect runs in a fiber of its own, a CloseEvent closes
 * the connection and ends the run, and releasing the writer half-closes.
 */
export const fromOpen = <R>(
  open: Effect.Effect<tcpStream.AnyStream, Socket.SocketError, R>,
  options?: TcpStream.SocketOptions
): Effect.Effect<Socket.Socket, never, Exclude<R, Scope.Scope>> =>
  Effect.withFiberRuntime((fiber) => {
    const openContext = fiber.currentContext as Context.Context<Exclude<R, Scope.Scope>>
    const latch = Effect.unsafeMakeLatch(false)
    // Orders writes before the FIN that releasing the writer sends, as net.Socket#end does.
    const writeLock = Effect.unsafeMakeSemaphore(1)
    const encoder = new TextEncoder()
    let current: Connection | undefined

    const timedOpen = options?.openTimeout === undefined ? open : Effect.timeoutFail(open, {
      duration: options.openTimeout,
      onTimeout: () => new Socket.SocketGenericError({ reason: "Open", cause: new Error("Connection timed out") })
    })

    const run = <_, E = never, R2 = never>(
      handler: (_: Uint8Array) => Effect.Effect<_, E, R2> | void,
      opts?: { readonly onOpen?: Effect.Effect<void> | undefined }
    ): Effect.Effect<void, Socket.SocketError | E, R2> =>
      Effect.scopedWith((scope) =>
        Effect.gen(function*() {
          const handlers = yield* Scope.extend(FiberSet.make<unknown, unknown>(), scope)
          const stream = yield* Scope.extend(timedOpen, scope)
          yield* FiberSet.run(handlers, readLoop(stream, handlers, handler))
          current = { stream, handlers }
          yield* latch.open
          if (opts?.onOpen !== undefined) yield* opts.onOpen
          return yield* (FiberSet.join(handlers) as Effect.Effect<void, Socket.SocketError | E>)
        })
      ).pipe(
        Effect.mapInputContext((input: Context.Context<R2>) => Context.merge(openContext, input) as Context.Context<R | R2>),
        Effect.ensuring(Effect.sync(() => {
          latch.unsafeClose()
          current = undefined
        })),
        Effect.interruptible
      )

    const close = (connection: Connection, event: Socket.CloseEvent) =>
      Effect.suspend(() => {
        // The run's outcome is settled before the close wakes the reader, so the
        // reader's SocketClosed never stands in for it. Outcomes as net.Socket#destroy gives them.
        Deferred.unsafeDone(
          connection.handlers.deferred,
          Exit.fail(
            event.code > 1000
              ? new Socket.SocketGenericError({ reason: "Read", cause: new Error(`closed with code ${event.code}`) })
              : new Socket.SocketCloseError({ reason: "Close", code: 1000 })
          )
        )
        return connection.stream.close
      })

    const write = (chunk: Uint8Array | string | Socket.CloseEvent): Effect.Effect<void, Socket.SocketError> =>
      latch.whenOpen(Effect.suspend(() => {
        const connection = current
        // The run may have ended between the latch opening and this fiber resuming: wait for the next one.
        if (connection === undefined) return write(chunk)
        if (Socket.isCloseEvent(chunk)) return close(connection, chunk)
        const bytes = typeof chunk === "string" ? encoder.encode(chunk) : chunk
        return writeLock.withPermits(1)(
          Effect.mapError(
            connection.stream.writeAll(bytes),
            (cause) => new Socket.SocketGenericError({ reason: "Write", cause })
          )
        )
      }))

    const writer = Effect.acquireRelease(
      Effect.succeed(write),
      () =>
        Effect.suspend(() => {
          const connection = current
          if (connection === undefined) return Effect.void
          // Never waits for a write stuck behind a full send buffer, as net.Socket#end does
          // not: the FIN is then sent by a fiber of its own after the writes queued before it.
          const halfClose = Effect.ignore(connection.stream.shutdown("write"))
          return Effect.flatMap(
            writeLock.withPermitsIfAvailable(1)(halfClose),
            (sent) => sent._tag === "Some" ? Effect.void : Effect.asVoid(Effect.forkDaemon(writeLock.withPermits(1)(halfClose)))
          )
        })
    )

    return Effect.succeed(Socket.Socket.of({
      [Socket.TypeId]: Socket.TypeId,
      run,
      runRaw: run,
      writer
    }))
  })

export const makeSocket = <R>(
  open: Effect.Effect<tcpStream.AnyStream, NetError.NetError, R>,
  options?: TcpStream.SocketOptions
): Effect.Effect<Socket.Socket, never, Exclude<R, Scope.Scope>> =>
  Effect.suspend(() => {
    const defect = tcpStream.socketDefect("makeSocket", open, options, false)
    return defect !== undefined
      ? Effect.die(defect)
      : fromOpen(
        Effect.mapError(tcpStream.openedStream(open), (cause) => new Socket.SocketGenericError({ reason: "Open", cause })),
        options
      )
  })

// The options are checked when the layer is built, not at each run.
export const layerSocket = (
  address: SocketAddr.Input,
  options?: TcpStream.ConnectOptions & TcpStream.SocketOptions
): Layer.Layer<Socket.Socket, never, Netpoll.Netpoll> =>
  Layer.effect(
    Socket.Socket,
    tcpStream.checkedSocket(options, false, validate.connectOptions, () => tcpStream.connect(address, options), (open) =>
      makeSocket(open, options))
  )

/** `UnixStream.layerSocket`: a Socket that dials `input` on every run. */
export const layerUnixSocket = (
  input: unixAddress.UnixInput,
  options?: TcpStream.SocketOptions
): Layer.Layer<Socket.Socket, never, Netpoll.Netpoll> =>
  Layer.effect(
    Socket.Socket,
    tcpStream.checkedSocket(options, false, () => undefined, () => unixStream.connect(input), (open) => makeSocket(open, options))
  )

/**
 * The Socket of one accepted connection: its first run uses the stream and
 * closes it when it ends; later runs fail with a clean close, as NodeSocketServer's do.
 */
export const fromAccepted = (stream: tcpStream.AnyStream): Effect.Effect<Socket.Socket> => {
  let used = false
  return fromOpen(Effect.acquireRelease(
    Effect.suspend(() =>
      used ? Effect.fail(new Socket.SocketCloseError({ reason: "Close", code: 1000 })) : Effect.succeed(stream)
    ),
    () =>
      Effect.suspend(() => {
        used = true
        return stream.close
      })
  ))
}
