/**
 * effect-netpoll as its users write it: a fiber per connection with straight-line
 * `read`/`write`/`writeAll`/`readExact`, `TcpListener.serve` on the server and
 * `TcpStream.connect` on the client; in `pipeline`, `BufReader` lines on both sides, a
 * `BufWriter` for the server's replies, and three ways to send a batch of commands (the client
 * variants `writeAllVectored`, `BufWriter` and `writeAll`). Only the built package's public API
 * is used. One file for both lines: effect3/bench/impl/netpoll.ts links here and is compiled
 * against Effect 3 and `effect-netpoll/effect3` (see ../line.ts).
 */
import { Effect, Option } from "effect"
import type * as Scope from "effect/Scope"
import { pipelineBatches, roundTrips, runServer, shortConnections, type Tally } from "../effectHarness.js"
import {
  BufReader,
  BufWriter,
  effectMajor,
  Netpoll,
  netpollSpecifier,
  tapCause,
  TcpListener,
  TcpStream,
  UdpSocket,
  udpTarget,
  UnixListener,
  UnixStream
} from "../line.js"
import type { ClientReport, Implementation, Params, ServerReport, TcpScenario } from "../protocol.js"
import {
  BACKLOG,
  checkEcho,
  isCommand,
  loadedBy,
  MESSAGE_BYTES,
  PIPELINE_REPLY,
  PIPELINE_REPLY_LINE,
  pipelineCommands,
  request,
  startWindow,
  UDP_BUFFER_BYTES,
  UDP_DATA,
  UDP_END,
  UDP_END_RETRY_MILLIS,
  udpPayload,
  unixKey,
  unixPath
} from "../protocol.js"

const ack = Uint8Array.of(1)
const reply = new TextEncoder().encode(PIPELINE_REPLY)

/** What the handlers use of a stream: a TcpStream's or a UnixStream's calls, which are the same. */
type AnyStream = TcpStream.TcpStream | UnixStream.UnixStream

const handle = (scenario: TcpScenario, params: Params, tally: Tally) => (stream: AnyStream) => {
  switch (scenario) {
    case "pingpong":
    case "unix-pingpong":
    case "many":
      return Effect.gen(function*() {
        const buf = new Uint8Array(16 * 1024)
        let n: number
        while ((n = yield* stream.read(buf)) > 0) yield* stream.writeAll(buf.subarray(0, n))
        yield* tally.finishOne
      })
    case "bulk":
      return Effect.gen(function*() {
        const buf = new Uint8Array(params.chunkBytes)
        let n: number
        while ((n = yield* stream.read(buf)) > 0) {
          if (tally.count(n) === params.bulkBytes) yield* stream.writeAll(ack)
        }
        yield* tally.finishOne
      })
    case "pipeline":
      // A reply per command line, flushed once no more commands are buffered.
      return Effect.gen(function*() {
        const reader = yield* BufReader.make(stream)
        const writer = yield* BufWriter.make(stream)
        while (true) {
          const line = yield* reader.readLine()
          if (Option.isNone(line)) break
          if (!isCommand(line.value)) return yield* Effect.die(new Error(`not a command: ${JSON.stringify(line.value)}`))
          tally.countCommand()
          yield* writer.writeAll(reply)
          if (reader.buffered === 0) yield* writer.flush
        }
        yield* writer.flush
        yield* tally.finishOne
      })
    case "accept":
      // The handler returning closes the stream: the client reads 1 byte, then EOF.
      return Effect.andThen(stream.writeAll(ack), tally.finishOne)
    case "idle":
      return Effect.andThen(tally.finishOne, stream.read(new Uint8Array(MESSAGE_BYTES)))
  }
}

// The report resolves before the scope closes, which interrupts `serve` and closes every stream.
const serve = (scenario: TcpScenario, params: Params, listening: (port: number) => void): Promise<ServerReport> =>
  new Promise((resolve, reject) => {
    const program = Effect.gen(function*() {
      // unix-pingpong's server reports its path's key (protocol.ts `unixPath`) as its port.
      const key = unixKey()
      const bound = scenario === "unix-pingpong"
        ? yield* Effect.map(UnixListener.bind(unixPath(key), { backlog: BACKLOG }), (listener) => ({
          port: Effect.succeed(key),
          serve: <E>(handler: (stream: AnyStream) => Effect.Effect<void, E, Scope.Scope>) =>
            UnixListener.serve(listener, handler)
        }))
        : yield* Effect.map(TcpListener.bind("127.0.0.1:0", { backlog: BACKLOG }), (listener) => ({
          port: Effect.map(listener.localAddr, (address) => address.port),
          serve: <E>(handler: (stream: AnyStream) => Effect.Effect<void, E, Scope.Scope>) =>
            TcpListener.serve(listener, handler)
        }))
      const report = yield* runServer(scenario, params, listening, (tally) =>
        Effect.gen(function*() {
          const handler = handle(scenario, params, tally)
          yield* Effect.forkScoped(bound.serve((stream) => handler(stream).pipe(Effect.asVoid, tapCause(tally.fail))))
          return yield* bound.port
        }).pipe(Effect.orDie))
      resolve(report)
    })
    Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(Netpoll.layer))).catch(reject)
  })

const connect = (port: number) => TcpStream.connect({ host: "127.0.0.1", port })

const pingPong = (stream: AnyStream, rounds: number) =>
  Effect.gen(function*() {
    const received = new Uint8Array(MESSAGE_BYTES)
    for (let round = 0; round < rounds; round++) {
      const sent = request(round)
      yield* stream.writeAll(sent)
      yield* stream.readExact(received)
      checkEcho(sent, received)
    }
  })

/** pipeline's client: the stream, a BufReader for the replies, a BufWriter for the `BufWriter` variant. */
const openPipeline = (port: number) =>
  Effect.gen(function*() {
    const stream = yield* connect(port)
    const reader = yield* BufReader.make(stream)
    const writer = yield* BufWriter.make(stream)
    return { stream, reader, writer }
  })

interface PipelineConnection {
  readonly stream: TcpStream.TcpStream
  readonly reader: BufReader.BufReader
  readonly writer: BufWriter.BufWriter
}

/** One batch of commands, sent as each client variant sends it. */
const sendBatch = (variant: string | undefined, commands: ReadonlyArray<Uint8Array>) => {
  switch (variant) {
    case "writeAllVectored":
      return ({ stream }: PipelineConnection) => stream.writeAllVectored(commands)
    case "BufWriter":
      return ({ writer }: PipelineConnection) =>
        Effect.gen(function*() {
          for (const command of commands) yield* writer.writeAll(command)
          yield* writer.flush
        })
    case "writeAll":
      return ({ stream }: PipelineConnection) =>
        Effect.gen(function*() {
          for (const command of commands) yield* stream.writeAll(command)
        })
    default:
      throw new Error(`pipeline: unknown variant ${variant}`)
  }
}

const receiveReplies = ({ reader }: PipelineConnection, replies: number) =>
  Effect.gen(function*() {
    for (let i = 0; i < replies; i++) {
      const line = yield* reader.readLine()
      if (Option.isNone(line) || line.value !== PIPELINE_REPLY_LINE) {
        return yield* Effect.die(new Error(`reply ${i}: ${JSON.stringify(line)}`))
      }
    }
  })

const clientProgram = (scenario: Exclude<TcpScenario, "idle">, params: Params, port: number, variant?: string) =>
  Effect.gen(function*() {
    switch (scenario) {
      case "pipeline":
        return yield* pipelineBatches(
          params,
          openPipeline(port),
          sendBatch(variant, pipelineCommands(params.pipelineCommands)),
          receiveReplies
        )
      case "pingpong":
      case "many":
        return yield* roundTrips(scenario, params, connect(port), pingPong)
      case "unix-pingpong":
        return yield* roundTrips("pingpong", params, UnixStream.connect(unixPath(port)), pingPong)
      case "bulk": {
        const stream = yield* connect(port)
        const chunk = new Uint8Array(params.chunkBytes).fill(0x5a)
        const reply = new Uint8Array(1)
        const window = startWindow()
        for (let sent = 0; sent < params.bulkBytes; sent += chunk.length) yield* stream.writeAll(chunk)
        yield* stream.readExact(reply)
        return { ...window.stop(), operations: params.bulkBytes }
      }
      case "accept":
        return yield* shortConnections(
          params,
          Effect.gen(function*() {
            const stream = yield* connect(port)
            const buf = new Uint8Array(2)
            let received = 0
            let n: number
            while ((n = yield* stream.read(buf)) > 0) received += n
            return received
          })
        )
    }
  })

const client = (
  scenario: Exclude<TcpScenario, "idle">,
  params: Params,
  port: number,
  variant?: string
): Promise<ClientReport> =>
  Effect.runPromise(clientProgram(scenario, params, port, variant).pipe(Effect.scoped, Effect.provide(Netpoll.layer)))

const loaded = loadedBy(import.meta.url, { netpoll: netpollSpecifier }, effectMajor)


// ---- udp: UdpSocket on both sides

/** The server: recvMany until the end marker, counting data datagrams; acknowledges the marker. */
const udpServe = (params: Params, listening: (port: number) => void): Promise<ServerReport> =>
  Effect.runPromise(
    Effect.gen(function*() {
      const socket = yield* UdpSocket.bind("127.0.0.1:0", { recvBufferSize: UDP_BUFFER_BYTES })
      const bufs = Array.from({ length: params.udpBatch }, () => new Uint8Array(2048))
      const window = startWindow()
      listening((yield* socket.localAddr).port)
      let received = 0
      while (true) {
        const batch = yield* socket.recvMany(bufs)
        for (let i = 0; i < batch.length; i++) {
          if (bufs[i]![0] === UDP_DATA) {
            received++
            continue
          }
          yield* socket.sendTo(Uint8Array.of(UDP_END), batch[i]!.address)
          const { cpu } = window.stop()
          return { cpu, connections: 1, bytes: received }
        }
      }
    }).pipe(Effect.scoped, Effect.provide(Netpoll.layer))
  )

/**
 * The client: `udpPackets` datagrams, `udpBatch` per sendMany (a call sends what the socket
 * takes, from the first) or one per sendTo; then the end marker until it is acknowledged.
 */
const udpClient = (params: Params, port: number, variant?: string): Promise<ClientReport> =>
  Effect.runPromise(
    Effect.gen(function*() {
      const socket = yield* UdpSocket.bind("127.0.0.1:0", { sendBufferSize: UDP_BUFFER_BYTES })
      const target = udpTarget(port)
      const payload = udpPayload()
      const batch = Array.from({ length: params.udpBatch }, () => ({ payload, address: target }))
      const window = startWindow()
      let sent = 0
      if (variant === "sendMany") {
        while (sent < params.udpPackets) {
          const left = params.udpPackets - sent
          sent += yield* socket.sendMany(left >= batch.length ? batch : batch.slice(0, left))
        }
      } else if (variant === "sendTo") {
        for (; sent < params.udpPackets; sent++) yield* socket.sendTo(payload, target)
      } else {
        return yield* Effect.die(new Error(`udp: unknown variant ${variant}`))
      }
      // The sending rate: the window ends with the last send; the server counts what arrived.
      const report = { ...window.stop(), operations: params.udpPackets }
      const end = Uint8Array.of(UDP_END)
      const ack = new Uint8Array(16)
      while (true) {
        yield* socket.sendTo(end, target)
        const got = yield* Effect.timeoutOption(socket.recvFrom(ack), UDP_END_RETRY_MILLIS)
        if (got._tag === "Some") break
      }
      return report
    }).pipe(Effect.scoped, Effect.provide(Netpoll.layer))
  )

export const implementation: Implementation = { loaded, serve, client, udp: { serve: udpServe, client: udpClient } }
