/**
 * `@effect/platform-node` 4's sockets (Effect 4, `effect/socket`) as an Effect user writes them:
 * `NodeSocket.makeNet` on the client, `NodeSocketServer.make` on the server, both
 * `Socket.Socket`s: acquiring `reader` opens (or takes) the connection, `pull` returns the next
 * batch of chunks and fails with `SocketCloseError` code 1000 at end of stream, and `writer`
 * writes. The Effect 3 twin, on `run` and `writer`, is effect3/bench/impl/nodesocket.ts.
 * In `pipeline` the client sends a batch with one `writeAll` and counts reply lines in the pulled
 * chunks; the server splits lines out of each pull and writes their replies with one `write`.
 */
import * as NodeSocket from "@effect/platform-node/NodeSocket"
import * as NodeSocketServer from "@effect/platform-node/NodeSocketServer"
import { Effect } from "effect"
import type { NonEmptyReadonlyArray } from "effect/Array"
import { NetAddress } from "effect/net"
import { Socket } from "effect/socket"
import { pipelineBatches, roundTrips, runServer, shortConnections, type Tally } from "../effectHarness.js"
import type { ClientReport, Implementation, Params, ServerReport, TcpScenario } from "../protocol.js"
import {
  BACKLOG,
  checkEcho,
  countLines,
  isCommand,
  LineSplitter,
  loadedBy,
  MESSAGE_BYTES,
  PIPELINE_REPLY,
  pipelineCommands,
  request,
  startWindow
} from "../protocol.js"

const ack = Uint8Array.of(1)

type Pull = Effect.Effect<NonEmptyReadonlyArray<Uint8Array>, Socket.SocketError>

/** NodeSocket's end of stream: a `SocketCloseError` with code 1000, after every byte before it. */
const isEnd = (error: Socket.SocketError): boolean =>
  error.reason._tag === "SocketCloseError" && error.reason.code === 1000

/** The next batch of chunks, or `undefined` at end of stream. */
const next = (pull: Pull): Effect.Effect<NonEmptyReadonlyArray<Uint8Array> | undefined, Socket.SocketError> =>
  Effect.catchIf(pull, isEnd, () => Effect.succeed(undefined))

/** Pulls until end of stream, calling `f` on every chunk. */
const drain = (pull: Pull, f: (chunk: Uint8Array) => Effect.Effect<void, Socket.SocketError> | void) =>
  Effect.gen(function*() {
    let batch: NonEmptyReadonlyArray<Uint8Array> | undefined
    while ((batch = yield* next(pull)) !== undefined) {
      for (const chunk of batch) {
        const effect = f(chunk)
        if (effect !== undefined) yield* effect
      }
    }
  })

const handle = (scenario: TcpScenario, params: Params, tally: Tally) =>
(socket: Socket.Socket): Effect.Effect<void, Socket.SocketError> => {
  switch (scenario) {
    case "unix-pingpong":
      return Effect.die(new Error("unix-pingpong: NodeSocket is not measured over Unix sockets"))
    case "pingpong":
    case "many":
      return Effect.gen(function*() {
        const pull = yield* Socket.readerBytes(socket)
        const writer = yield* socket.writer
        let batch: NonEmptyReadonlyArray<Uint8Array> | undefined
        while ((batch = yield* next(pull)) !== undefined) yield* writer.writeAll(batch)
      }).pipe(Effect.scoped, Effect.andThen(tally.finishOne))
    case "bulk":
      return Effect.gen(function*() {
        const pull = yield* Socket.readerBytes(socket)
        const writer = yield* socket.writer
        yield* drain(pull, (chunk) => {
          if (tally.count(chunk.length) === params.bulkBytes) return writer.write(ack)
        })
      }).pipe(Effect.scoped, Effect.andThen(tally.finishOne))
    case "pipeline":
      return Effect.gen(function*() {
        const pull = yield* Socket.readerBytes(socket)
        const writer = yield* socket.writer
        const lines = new LineSplitter()
        const onLine = (line: string) => {
          if (!isCommand(line)) throw new Error(`not a command: ${JSON.stringify(line)}`)
          tally.countCommand()
        }
        let batch: NonEmptyReadonlyArray<Uint8Array> | undefined
        while ((batch = yield* next(pull)) !== undefined) {
          let answered = 0
          for (const chunk of batch) answered += lines.push(chunk, onLine)
          if (answered > 0) yield* writer.write(PIPELINE_REPLY.repeat(answered))
        }
      }).pipe(Effect.scoped, Effect.andThen(tally.finishOne))
    case "accept":
      // Closing the reader's scope closes the connection once the byte is flushed (destroySoon):
      // the client reads 1 byte, then EOF.
      return Effect.gen(function*() {
        yield* socket.reader
        const writer = yield* socket.writer
        yield* writer.write(ack)
      }).pipe(Effect.scoped, Effect.andThen(tally.finishOne))
    case "idle":
      // Parked in `pull` until the client lets go.
      return Effect.gen(function*() {
        const pull = yield* Socket.readerBytes(socket)
        yield* tally.finishOne
        yield* drain(pull, () => {})
      }).pipe(Effect.scoped)
  }
}

// The report resolves before the scope closes: closing waits for the idle client to let go.
const serve = (scenario: TcpScenario, params: Params, listening: (port: number) => void): Promise<ServerReport> =>
  new Promise((resolve, reject) => {
    const program = Effect.gen(function*() {
      const server = yield* NodeSocketServer.make({ host: "127.0.0.1", port: 0, backlog: BACKLOG, noDelay: true })
      const report = yield* runServer(scenario, params, listening, (tally) =>
        Effect.gen(function*() {
          const handler = handle(scenario, params, tally)
          yield* Effect.forkScoped(server.run((socket) => handler(socket).pipe(Effect.tapCause(tally.fail))))
          if (!NetAddress.isInetAddress(server.address)) return yield* Effect.die(new Error("not a TCP server"))
          return server.address.port
        }))
      resolve(report)
    })
    Effect.runPromise(Effect.scoped(program)).catch(reject)
  })

/** A connected socket (its reader acquired, in the caller's Scope): its `pull` and its writer. */
const open = (port: number) =>
  Effect.gen(function*() {
    const socket = yield* NodeSocket.makeNet({ host: "127.0.0.1", port, noDelay: true })
    const pull = yield* Socket.readerBytes(socket)
    const writer = yield* socket.writer
    return { pull, writer }
  })

type Connection = Effect.Success<ReturnType<typeof open>>

const pingPong = ({ pull, writer }: Connection, rounds: number) =>
  Effect.gen(function*() {
    const received = new Uint8Array(MESSAGE_BYTES)
    for (let round = 0; round < rounds; round++) {
      const sent = request(round)
      yield* writer.write(sent)
      let filled = 0
      while (filled < MESSAGE_BYTES) {
        for (const chunk of yield* pull) {
          if (filled + chunk.length > MESSAGE_BYTES) return yield* Effect.die(new Error("echo longer than the request"))
          received.set(chunk, filled)
          filled += chunk.length
        }
      }
      checkEcho(sent, received)
    }
  })

/** Pulls until `replies` reply lines have arrived, and checks there was nothing more. */
const receiveReplies = ({ pull }: Connection, replies: number) =>
  Effect.gen(function*() {
    let lines = 0
    let bytes = 0
    while (lines < replies) {
      for (const chunk of yield* pull) {
        lines += countLines(chunk)
        bytes += chunk.length
      }
    }
    if (lines !== replies || bytes !== replies * PIPELINE_REPLY.length) {
      return yield* Effect.die(new Error(`${lines} reply lines in ${bytes} bytes, expected ${replies}`))
    }
  })

const clientProgram = (scenario: Exclude<TcpScenario, "idle">, params: Params, port: number) =>
  Effect.gen(function*() {
    switch (scenario) {
      case "pipeline": {
        const [first, ...rest] = pipelineCommands(params.pipelineCommands)
        if (first === undefined) return yield* Effect.die(new Error("no commands"))
        const commands: NonEmptyReadonlyArray<Uint8Array> = [first, ...rest]
        return yield* pipelineBatches(params, open(port), ({ writer }) => writer.writeAll(commands), receiveReplies)
      }
      case "unix-pingpong":
        return yield* Effect.die(new Error("unix-pingpong: NodeSocket is not measured over Unix sockets"))
      case "pingpong":
      case "many":
        return yield* roundTrips(scenario, params, open(port), pingPong)
      case "bulk": {
        const { pull, writer } = yield* open(port)
        const chunk = new Uint8Array(params.chunkBytes).fill(0x5a)
        const window = startWindow()
        for (let sent = 0; sent < params.bulkBytes; sent += chunk.length) yield* writer.write(chunk)
        const reply = yield* pull
        if (reply.length !== 1 || reply[0].length !== 1) return yield* Effect.die(new Error("bad ack"))
        return { ...window.stop(), operations: params.bulkBytes }
      }
      case "accept":
        return yield* shortConnections(
          params,
          Effect.gen(function*() {
            const { pull } = yield* open(port)
            let received = 0
            yield* drain(pull, (chunk) => {
              received += chunk.length
            })
            return received
          })
        )
    }
  })

const client = (scenario: Exclude<TcpScenario, "idle">, params: Params, port: number): Promise<ClientReport> =>
  Effect.runPromise(Effect.scoped(clientProgram(scenario, params, port)))

const loaded = loadedBy(import.meta.url, { platformNode: "@effect/platform-node/NodeSocket" }, 4)

export const implementation: Implementation = { loaded, serve, client }
