/**
 * `effect/socket` transports for contract suites: effect-netpoll's adapters and
 * `@effect/platform-node`'s NodeSocket / NodeSocketServer (the reference), behind
 * one interface, so that one suite runs against both.
 */
import * as NodeSocket from "@effect/platform-node/NodeSocket"
import * as NodeSocketServer from "@effect/platform-node/NodeSocketServer"
import * as Cause from "effect/Cause"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Layer from "effect/Layer"
import * as NetAddress from "effect/net/NetAddress"
import type * as Socket from "effect/socket/Socket"
import type * as SocketServer from "effect/socket/SocketServer"
import type * as Netpoll from "../../src/Netpoll.js"
import * as TcpListener from "../../src/TcpListener.js"
import * as TcpStream from "../../src/TcpStream.js"

export interface Endpoint {
  readonly host: string
  readonly port: number
}

export interface ClientOptions {
  readonly openTimeout?: Duration.Input
  readonly chunkSize?: number
}

/** One implementation of `effect/socket`'s Socket and SocketServer for TCP. */
export interface Transport {
  readonly name: string
  /** Whether this is effect-netpoll (as opposed to the NodeSocket reference). */
  readonly ours: boolean
  /** A Socket that dials `endpoint` on every reader acquisition. */
  readonly socket: (endpoint: Endpoint, options?: ClientOptions) => Effect.Effect<Socket.Socket, never, Netpoll.Netpoll>
  /** The same, as a Layer. */
  readonly layerSocket: (endpoint: Endpoint, options?: ClientOptions) => Layer.Layer<Socket.Socket, unknown, Netpoll.Netpoll>
  /** A Socket whose connection never opens. */
  readonly neverOpens: (options: ClientOptions) => Effect.Effect<Socket.Socket, never, Netpoll.Netpoll>
  /** A SocketServer listening on `endpoint` (port 0: any). */
  readonly layerServer: (
    endpoint: Endpoint
  ) => Layer.Layer<SocketServer.SocketServer, SocketServer.SocketServerError, Netpoll.Netpoll>
}

const optionsOf = (options: ClientOptions | undefined) => ({
  ...(options?.openTimeout === undefined ? {} : { openTimeout: options.openTimeout }),
  ...(options?.chunkSize === undefined ? {} : { chunkSize: options.chunkSize })
})

export const netpoll: Transport = {
  name: "effect-netpoll",
  ours: true,
  socket: (endpoint, options) => TcpStream.makeSocket(TcpStream.connect(endpoint), optionsOf(options)),
  layerSocket: (endpoint, options) => TcpStream.layerSocket(endpoint, optionsOf(options)),
  neverOpens: (options) => TcpStream.makeSocket(Effect.never, optionsOf(options)),
  layerServer: (endpoint) => TcpListener.layerSocketServer(endpoint)
}

export const nodeSocket: Transport = {
  name: "@effect/platform-node NodeSocket (reference)",
  ours: false,
  socket: (endpoint, options) => NodeSocket.makeNet({ ...endpoint, ...optionsOf(options) }),
  layerSocket: (endpoint, options) => NodeSocket.layerNet({ ...endpoint, ...optionsOf(options) }),
  neverOpens: (options) => NodeSocket.fromDuplex(Effect.never, optionsOf(options)),
  layerServer: (endpoint) => NodeSocketServer.layer(endpoint)
}

export const transports: ReadonlyArray<Transport> = [netpoll, nodeSocket]

/** The port of a SocketServer's address, which must be an InetAddress. */
export const portOf = (address: NetAddress.SocketAddress): number => {
  if (!NetAddress.isInetAddress(address)) throw new Error(`expected an InetAddress, got ${address._tag}`)
  return address.port
}

/** What a reader yielded until its `pull` failed: the chunks, in order, and the error. */
export interface Drained {
  readonly chunks: ReadonlyArray<Uint8Array | string>
  readonly error: Socket.SocketError
}

/** Pulls until `pull` fails, keeping every chunk; yields them with the failure. */
export const pullToError = (reader: Socket.Reader): Effect.Effect<Drained> =>
  Effect.gen(function*() {
    const chunks: Array<Uint8Array | string> = []
    while (true) {
      const exit = yield* Effect.exit(reader.pull)
      if (Exit.isFailure(exit)) {
        const error = Cause.findErrorOption(exit.cause)
        // An interruption or a defect is no failure of pull: it ends the caller as it is.
        if (error._tag === "None") return yield* Effect.failCause(exit.cause as Cause.Cause<never>)
        return { chunks, error: error.value }
      }
      chunks.push(...exit.value)
    }
  })

/** The bytes of the chunks, joined (strings as UTF-8). */
export const joined = (chunks: ReadonlyArray<Uint8Array | string>): Buffer =>
  Buffer.concat(chunks.map((chunk) => typeof chunk === "string" ? Buffer.from(chunk) : chunk))

/** A `SocketError` with reason `SocketCloseError` and `code`, as `toMatchObject` expects it. */
export const closedWith = (code: number) => ({ _tag: "SocketError", reason: { _tag: "SocketCloseError", code } })
