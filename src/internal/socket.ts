import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Latch from "effect/Latch"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as Semaphore from "effect/Semaphore"
import * as Socket from "effect/socket/Socket"
import * as duplex from "../core/duplex.js"
import type * as NetError from "../NetError.js"
import type * as Netpoll from "../Netpoll.js"
import type * as TcpStream from "../TcpStream.js"
import type * as address from "./address.js"
import { writeAllOf } from "./tcpDuplex.js"
import { validate } from "./core.js"
import * as tcpStream from "./tcpStream.js"
import * as unixStream from "./unixStream.js"

const socketError = (reason: Socket.SocketError["reason"]) => new Socket.SocketError({ reason })

const closeError = (code: number) => socketError(new Socket.SocketCloseError({ code }))

/** One connection of a Socket: its stream and, once known, how its reads end. */
interface Connection {
  readonly stream: tcpStream.AnyStream
  ended: Socket.SocketError | undefined
}

interface Options {
  readonly openTimeout?: TcpStream.SocketOptions["openTimeout"]
  readonly chunkSize?: number | undefined
  /** A server's socket has one connection: once it ends, reader and writer fail. */
  readonly disableReconnects?: boolean | undefined
}

/**
 * A Socket over connections that `open` yields, one per reader acquisition,
 * keeping `@effect/platform-node`'s `NodeSocket.fromDuplex` contract: a clean
 * end of stream fails `pull` with code 1000 after every byte before it, writes
 * wait until a reader has connected, a CloseEvent closes the connection, and
 * releasing the writer half-closes it.
 */
const fromOpen = <R>(
  open: Effect.Effect<tcpStream.AnyStream, Socket.SocketError, R>,
  options: Options
): Effect.Effect<Socket.Socket, never, Exclude<R, Scope.Scope>> =>
  Effect.withFiber((fiber) => {
    // makeSocket and layerSocket checked the options (tcpStream.socketDefect).
    const chunkSize = options.chunkSize ?? duplex.DEFAULT_CHUNK_SIZE
    const openContext = fiber.context as Context.Context<Exclude<R, Scope.Scope>>
    const latch = Latch.makeUnsafe(false)
    // Orders writes before the FIN that releasing the writer sends, as net.Socket#end does.
    const writeLock = Semaphore.makeUnsafe(1)
    const encoder = new TextEncoder()
    let current: Connection | undefined
    let terminalError: Socket.SocketError | undefined
    const terminate = options.disableReconnects === true
      ? (error: Socket.SocketError) => {
        terminalError ??= error
        latch.openUnsafe()
      }
      : () => {
        latch.closeUnsafe()
      }

    const timedOpen = options.openTimeout === undefined ? open : Effect.timeoutOrElse(open, {
      duration: options.openTimeout,
      orElse: () =>
        Effect.fail(socketError(new Socket.SocketOpenError({ kind: "Timeout", cause: new Error("Connection timed out") })))
    })

    const connect = Effect.gen(function*() {
      const scope = yield* Effect.scope
      const stream = yield* Scope.provide(timedOpen, scope)
      const connection: Connection = { stream, ended: undefined }
      // The connection ends with the acquisition's Scope, whatever `open` put in it:
      // the reader's outcome is settled first, then the close wakes a pending pull.
      yield* Scope.addFinalizer(
        scope,
        Effect.suspend(() => {
          connection.ended ??= closeError(1006)
          if (current === connection) current = undefined
          terminate(connection.ended)
          return stream.close
        })
      )
      if (terminalError !== undefined) return yield* Effect.fail(terminalError)
      current = connection
      latch.openUnsafe()
      const buf = new Uint8Array(chunkSize)
      const pull = Effect.suspend(() =>
        connection.ended !== undefined ? Effect.fail(connection.ended) : Effect.matchEffect(stream.read(buf), {
          onFailure: (cause: NetError.NetError) =>
            Effect.fail(
              connection.ended ??= cause._tag === "SocketClosed"
                ? closeError(1006)
                : socketError(new Socket.SocketReadError({ cause }))
            ),
          onSuccess: (n) =>
            n === 0
              ? Effect.fail(connection.ended ??= closeError(1000))
              : Effect.succeed([buf.slice(0, n)] as const)
        })
      )
      return { pull, upgrade: Socket.SocketUpgradeError.unsupported } satisfies Socket.Reader<Uint8Array>
    }).pipe(Effect.updateContext((input: Context.Context<Scope.Scope>) => Context.merge(openContext, input)))

    const reader: Socket.Socket["reader"] = options.disableReconnects === true
      ? Effect.suspend(() =>
        terminalError !== undefined
          ? Effect.fail(terminalError)
          : Effect.tapError(connect, (error) => Effect.sync(() => terminate(error)))
      )
      : connect

    /** Runs `f` on the current connection, waiting for one while there is none. */
    const withConnection = (
      f: (connection: Connection) => Effect.Effect<void, Socket.SocketError>
    ): Effect.Effect<void, Socket.SocketError> =>
      Effect.suspend(() => {
        if (terminalError !== undefined) return Effect.fail(terminalError)
        const connection = current
        return connection === undefined ? latch.whenOpen(withConnection(f)) : f(connection)
      })

    const writeBytes = (connection: Connection, pieces: ReadonlyArray<Uint8Array>) =>
      writeLock.withPermit(
        Effect.mapError(writeAllOf(connection.stream, pieces), (cause) => socketError(new Socket.SocketWriteError({ cause })))
      )

    const toBytes = (chunk: Uint8Array | string): Uint8Array => typeof chunk === "string" ? encoder.encode(chunk) : chunk

    const write = (chunk: Uint8Array | string | Socket.CloseEvent): Effect.Effect<void, Socket.SocketError> =>
      withConnection((connection) => {
        if (!Socket.isCloseEvent(chunk)) return writeBytes(connection, [toBytes(chunk)])
        // The reader's outcome is settled before the close wakes it, as net.Socket#destroy gives it.
        connection.ended ??= chunk.code > 1000
          ? socketError(new Socket.SocketReadError({ cause: new Error(`closed with code ${chunk.code}`) }))
          : closeError(1000)
        return connection.stream.close
      })

    const writeAll = (chunks: ReadonlyArray<Uint8Array | string>) =>
      withConnection((connection) => writeBytes(connection, chunks.map(toBytes)))

    // Releasing the writer never waits for a write stuck behind a full send
    // buffer, as net.Socket#end does not: the FIN is then sent by a fiber of its
    // own once the writes queued before it are done.
    const writer = Effect.acquireRelease(
      Effect.succeed<Socket.Writer>({ write, writeAll }),
      () =>
        Effect.suspend(() => {
          const connection = current
          if (connection === undefined) return Effect.void
          const halfClose = Effect.ignore(connection.stream.shutdown("write"))
          // With no write in flight the FIN is sent before the release returns.
          return Effect.flatMap(
            writeLock.withPermitsIfAvailable(1)(halfClose),
            (sent) => sent._tag === "Some" ? Effect.void : Effect.asVoid(Effect.forkDetach(writeLock.withPermit(halfClose)))
          )
        })
    )

    return Effect.succeed(Socket.make({ reader, writer }))
  })

const openError = (cause: NetError.NetError) => socketError(new Socket.SocketOpenError({ kind: "Unknown", cause }))

export const makeSocket = <R>(
  open: Effect.Effect<tcpStream.AnyStream, NetError.NetError, R>,
  options?: TcpStream.SocketOptions
): Effect.Effect<Socket.Socket, never, Exclude<R, Scope.Scope>> =>
  Effect.suspend(() => {
    const defect = tcpStream.socketDefect("makeSocket", open, options, true)
    return defect !== undefined ? Effect.die(defect) : fromOpen(Effect.mapError(tcpStream.openedStream(open), openError), {
      openTimeout: options?.openTimeout,
      chunkSize: options?.chunkSize
    })
  })

// The options are checked when the layer is built, not at each dial.
export const layerSocket = (
  input: address.Input,
  options?: TcpStream.ConnectOptions & TcpStream.SocketOptions
): Layer.Layer<Socket.Socket, never, Netpoll.Netpoll> =>
  Layer.effect(
    Socket.Socket,
    tcpStream.checkedSocket(options, true, validate.connectOptions, () => tcpStream.connect(input, options), (open) =>
      makeSocket(open, options))
  )

/** `UnixStream.layerSocket`: a Socket that dials `input` on every reader acquisition. */
export const layerUnixSocket = (
  input: address.UnixInput,
  options?: TcpStream.SocketOptions
): Layer.Layer<Socket.Socket, never, Netpoll.Netpoll> =>
  Layer.effect(
    Socket.Socket,
    tcpStream.checkedSocket(options, true, () => undefined, () => unixStream.connect(input), (open) => makeSocket(open, options))
  )

/**
 * The Socket of one accepted connection: its first reader acquisition takes
 * the stream and closes it when released; later ones fail as the first ended
 * (code 1000 after a clean end of stream, 1006 otherwise), as NodeSocketServer's do.
 */
export const fromAccepted = (stream: tcpStream.AnyStream, chunkSize?: number): Effect.Effect<Socket.Socket> => {
  let taken = false
  return fromOpen(
    Effect.suspend(() => {
      // A second acquisition while the first is open (once it closed, the first's end answers).
      if (taken) return Effect.fail(closeError(1000))
      taken = true
      return Effect.succeed(stream)
    }),
    { chunkSize, disableReconnects: true }
  )
}
