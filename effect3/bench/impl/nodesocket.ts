/**
 * `@effect/platform-node` 0.x's sockets (Effect 3) as an Effect user writes them:
 * `NodeSocket.makeNet` on the client, `NodeSocketServer.make` on the server, both
 * `Socket.Socket`s driven by `run` (a handler per incoming chunk) and `writer`.
 *
 * This file lives under effect3/ so that `effect` and `@effect/platform-node` resolve to
 * effect3/node_modules; `loaded` checks that at start-up. The Effect 4 twin is
 * bench/impl/nodesocket.ts.
 *
 * In `pipeline` the client writes a batch's commands with one `write` each (the writer takes one
 * chunk) and counts reply lines in the chunks `run` queues; the server splits lines out of each
 * chunk and writes their replies with one `write`.
 */
import * as NodeSocket from "@effect/platform-node/NodeSocket"
import * as NodeSocketServer from "@effect/platform-node/NodeSocketServer"
import type * as Socket from "@effect/platform/Socket"
import { Deferred, Effect, Exit, Queue } from "effect"
import type { ClientReport, Implementation, Params, ServerReport, TcpScenario } from "../protocol.js"
import { pipelineBatches, roundTrips, runServer, shortConnections, type Tally } from "../effectHarness.js"
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

const handle = (scenario: TcpScenario, params: Params, tally: Tally) =>
(socket: Socket.Socket): Effect.Effect<void, Socket.SocketError> => {
  switch (scenario) {
    case "unix-pingpong":
      return Effect.die(new Error("unix-pingpong: NodeSocket is not measured over Unix sockets"))
    case "pingpong":
    case "many":
      return Effect.gen(function*() {
        const write = yield* socket.writer
        yield* socket.run((chunk) => write(chunk))
      }).pipe(Effect.scoped, Effect.zipRight(tally.finishOne))
    case "bulk":
      return Effect.gen(function*() {
        const write = yield* socket.writer
        yield* socket.run((chunk) => {
          if (tally.count(chunk.length) === params.bulkBytes) return write(ack)
        })
      }).pipe(Effect.scoped, Effect.zipRight(tally.finishOne))
    case "pipeline":
      return Effect.gen(function*() {
        const write = yield* socket.writer
        const lines = new LineSplitter()
        const onLine = (line: string) => {
          if (!isCommand(line)) throw new Error(`not a command: ${JSON.stringify(line)}`)
          tally.countCommand()
        }
        yield* socket.run((chunk) => {
          const answered = lines.push(chunk, onLine)
          if (answered > 0) return write(PIPELINE_REPLY.repeat(answered))
        })
      }).pipe(Effect.scoped, Effect.zipRight(tally.finishOne))
    case "accept":
      // The writer's scope closing half-closes the socket: the client reads 1 byte, then EOF.
      return socket.run(() => {}, {
        onOpen: Effect.scoped(Effect.flatMap(socket.writer, (write) => write(ack))).pipe(Effect.orDie)
      }).pipe(Effect.zipRight(tally.finishOne))
    case "idle":
      return socket.run(() => {}, { onOpen: tally.finishOne })
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
          yield* Effect.forkScoped(server.run((socket) => handler(socket).pipe(Effect.tapErrorCause(tally.fail))))
          if (server.address._tag !== "TcpAddress") return yield* Effect.dieMessage("not a TCP server")
          return server.address.port
        }))
      resolve(report)
    })
    Effect.runPromise(Effect.scoped(program)).catch(reject)
  })

/** A connected socket: its incoming chunks in a queue, and its write function. */
const open = (port: number) =>
  Effect.gen(function*() {
    const socket = yield* NodeSocket.makeNet({ host: "127.0.0.1", port, noDelay: true })
    const incoming = yield* Queue.unbounded<Uint8Array>()
    const opened = yield* Deferred.make<void, Socket.SocketError>()
    yield* Effect.forkScoped(
      socket.run((chunk) => Queue.offer(incoming, chunk), { onOpen: Deferred.done(opened, Exit.void) }).pipe(
        Effect.tapErrorCause((cause) => Deferred.failCause(opened, cause)),
        // A reader waiting on a closed connection is interrupted rather than left hanging.
        Effect.ensuring(Queue.shutdown(incoming))
      )
    )
    yield* Deferred.await(opened)
    const write = yield* socket.writer
    return { write, incoming }
  })

type Connection = Effect.Effect.Success<ReturnType<typeof open>>

const pingPong = ({ incoming, write }: Connection, rounds: number) =>
  Effect.gen(function*() {
    const received = new Uint8Array(MESSAGE_BYTES)
    for (let round = 0; round < rounds; round++) {
      const sent = request(round)
      yield* write(sent)
      let filled = 0
      while (filled < MESSAGE_BYTES) {
        const chunk = yield* Queue.take(incoming)
        if (filled + chunk.length > MESSAGE_BYTES) return yield* Effect.dieMessage("echo longer than the request")
        received.set(chunk, filled)
        filled += chunk.length
      }
      checkEcho(sent, received)
    }
  })

/** Takes chunks until `replies` reply lines have arrived, and checks there was nothing more. */
const receiveReplies = ({ incoming }: Connection, replies: number) =>
  Effect.gen(function*() {
    let lines = 0
    let bytes = 0
    while (lines < replies) {
      const chunk = yield* Queue.take(incoming)
      lines += countLines(chunk)
      bytes += chunk.length
    }
    if (lines !== replies || bytes !== replies * PIPELINE_REPLY.length) {
      return yield* Effect.dieMessage(`${lines} reply lines in ${bytes} bytes, expected ${replies}`)
    }
  })

const clientProgram = (scenario: Exclude<TcpScenario, "idle">, params: Params, port: number) =>
  Effect.gen(function*() {
    switch (scenario) {
      case "pipeline": {
        const commands = pipelineCommands(params.pipelineCommands)
        const send = ({ write }: Connection) =>
          Effect.gen(function*() {
            for (const command of commands) yield* write(command)
          })
        return yield* pipelineBatches(params, open(port), send, receiveReplies)
      }
      case "unix-pingpong":
        return yield* Effect.die(new Error("unix-pingpong: NodeSocket is not measured over Unix sockets"))
      case "pingpong":
      case "many":
        return yield* roundTrips(scenario, params, open(port), pingPong)
      case "bulk": {
        const { incoming, write } = yield* open(port)
        const chunk = new Uint8Array(params.chunkBytes).fill(0x5a)
        const window = startWindow()
        for (let sent = 0; sent < params.bulkBytes; sent += chunk.length) yield* write(chunk)
        const reply = yield* Queue.take(incoming)
        if (reply.length !== 1) return yield* Effect.dieMessage("bad ack")
        return { ...window.stop(), operations: params.bulkBytes }
      }
      case "accept":
        return yield* shortConnections(
          params,
          Effect.gen(function*() {
            const socket = yield* NodeSocket.makeNet({ host: "127.0.0.1", port, noDelay: true })
            let received = 0
            // `run` returns at end of stream.
            yield* socket.run((chunk) => {
              received += chunk.length
            })
            return received
          })
        )
    }
  })

const client = (scenario: Exclude<TcpScenario, "idle">, params: Params, port: number): Promise<ClientReport> =>
  Effect.runPromise(Effect.scoped(clientProgram(scenario, params, port)))

const loaded = loadedBy(import.meta.url, { platformNode: "@effect/platform-node/NodeSocket" }, 3)

export const implementation: Implementation = { loaded, serve, client }
