/**
 * The reference: Node's `net` with callbacks on both sides, as a Node user writes it. In
 * `pipeline` the client has two variants: `cork` (a batch's writes between `cork()` and
 * `uncork()`, the reference row) and `nocork` (the writes alone).
 */
import * as dgram from "node:dgram"
import * as net from "node:net"
import type { ClientReport, Implementation, Params, ServerReport, TcpScenario } from "../protocol.js"
import {
  BACKLOG,
  checkEcho,
  countLines,
  expectedConnections,
  IDLE_SETTLE_MILLIS,
  forEachLimited,
  isCommand,
  LineSplitter,
  MESSAGE_BYTES,
  memorySnapshot,
  PIPELINE_REPLY,
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

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const reply = Buffer.from(PIPELINE_REPLY)

const serve = (scenario: TcpScenario, params: Params, listening: (port: number) => void): Promise<ServerReport> =>
  new Promise((resolve, reject) => {
    const expected = expectedConnections(scenario, params)
    let finished = 0
    let bytes = 0
    let commands = 0
    let window: ReturnType<typeof startWindow>
    let baseline: ReturnType<typeof memorySnapshot>

    const finish = (memory?: ServerReport["memory"]) => {
      const { cpu } = window.stop()
      server.close()
      const pipelined = scenario === "pipeline" ? { commands } : {}
      resolve({ cpu, connections: finished, bytes, ...pipelined, ...(memory ? { memory } : {}) })
    }
    const connectionDone = () => {
      if (++finished === expected) finish()
    }

    const server = net.createServer({ noDelay: true }, (socket) => {
      socket.on("error", reject)
      switch (scenario) {
        case "pingpong":
        case "unix-pingpong":
        case "many":
          socket.on("data", (chunk) => socket.write(chunk))
          socket.on("end", () => socket.end())
          socket.on("close", connectionDone)
          return
        case "bulk":
          socket.on("data", (chunk) => {
            bytes += chunk.length
            if (bytes === params.bulkBytes) socket.write(Uint8Array.of(1))
          })
          socket.on("end", () => socket.end())
          socket.on("close", connectionDone)
          return
        case "pipeline": {
          // A reply per complete line, the replies to one chunk corked into one writev.
          const lines = new LineSplitter()
          const onLine = (line: string) => {
            if (!isCommand(line)) throw new Error(`not a command: ${JSON.stringify(line)}`)
            commands++
            socket.write(reply)
          }
          socket.on("data", (chunk) => {
            socket.cork()
            try {
              lines.push(chunk, onLine)
            } catch (error) {
              reject(error)
            }
            socket.uncork()
          })
          socket.on("end", () => socket.end())
          socket.on("close", connectionDone)
          return
        }
        case "accept":
          socket.end(Uint8Array.of(1))
          socket.on("close", connectionDone)
          return
        case "idle":
          socket.on("data", () => {})
          if (++finished === expected) {
            // Let the last connections' handlers run before measuring.
            void settle(IDLE_SETTLE_MILLIS).then(() => {
              const after = memorySnapshot()
              finish({ rssBefore: baseline.rss, rssAfter: after.rss, heapBefore: baseline.heap, heapAfter: after.heap })
            })
          }
          return
      }
    })
    server.on("error", reject)
    const key = unixKey()
    const address = scenario === "unix-pingpong"
      ? { path: unixPath(key), backlog: BACKLOG }
      : { host: "127.0.0.1", port: 0, backlog: BACKLOG }
    server.listen(address, () => {
      baseline = memorySnapshot()
      window = startWindow()
      // A Unix server reports its path's key (protocol.ts `unixPath`) as its port.
      listening(scenario === "unix-pingpong" ? key : (server.address() as net.AddressInfo).port)
    })
  })

const connect = (port: number | string): Promise<net.Socket> =>
  new Promise((resolve, reject) => {
    const to = typeof port === "string" ? { path: port } : { host: "127.0.0.1", port, noDelay: true }
    const socket = net.connect(to, () => {
      socket.off("error", reject)
      resolve(socket)
    })
    socket.once("error", reject)
  })

/** `rounds` ping-pongs of 64 B on `socket`, each echo checked; resolves after the last one. */
const pingPong = (socket: net.Socket, rounds: number): Promise<void> =>
  new Promise((resolve, reject) => {
    let round = 0
    let sent = request(round)
    const received = Buffer.alloc(MESSAGE_BYTES)
    let filled = 0
    socket.on("error", reject)
    socket.on("data", (chunk) => {
      if (filled + chunk.length > MESSAGE_BYTES) return reject(new Error("echo longer than the request"))
      chunk.copy(received, filled)
      filled += chunk.length
      if (filled < MESSAGE_BYTES) return
      try {
        checkEcho(sent, received)
      } catch (error) {
        return reject(error)
      }
      filled = 0
      if (++round === rounds) {
        socket.removeAllListeners("data")
        return resolve()
      }
      sent = request(round)
      socket.write(sent)
    })
    socket.write(sent)
  })

/**
 * `batches` batches of `commands` on `socket`: all of a batch's commands written (between
 * `cork()` and `uncork()` if `cork`), then every reply line counted before the next batch.
 */
const pipeline = (socket: net.Socket, commands: ReadonlyArray<Uint8Array>, batches: number, cork: boolean) =>
  new Promise<void>((resolve, reject) => {
    const replyBytes = commands.length * reply.length
    let batch = 0
    let lines = 0
    let bytes = 0
    const send = () => {
      if (cork) socket.cork()
      for (const command of commands) socket.write(command)
      if (cork) socket.uncork()
    }
    socket.on("error", reject)
    socket.on("data", (chunk) => {
      lines += countLines(chunk)
      bytes += chunk.length
      if (lines < commands.length && bytes < replyBytes) return
      if (lines !== commands.length || bytes !== replyBytes) {
        const expected = `expected ${commands.length} in ${replyBytes}`
        return reject(new Error(`batch ${batch}: ${lines} lines in ${bytes} bytes, ${expected}`))
      }
      lines = 0
      bytes = 0
      if (++batch === batches) {
        socket.removeAllListeners("data")
        return resolve()
      }
      send()
    })
    send()
  })

const close = (socket: net.Socket): Promise<void> =>
  new Promise((resolve) => {
    socket.once("close", () => resolve())
    socket.end()
  })

const client = async (
  scenario: Exclude<TcpScenario, "idle">,
  params: Params,
  port: number,
  variant?: string
): Promise<ClientReport> => {
  switch (scenario) {
    case "pipeline": {
      if (variant !== "cork" && variant !== "nocork") throw new Error(`pipeline: unknown variant ${variant}`)
      const socket = await connect(port)
      const commands = pipelineCommands(params.pipelineCommands)
      const window = startWindow()
      await pipeline(socket, commands, params.pipelineBatches, variant === "cork")
      const measured = window.stop()
      await close(socket)
      return { ...measured, operations: params.pipelineBatches * params.pipelineCommands }
    }
    case "pingpong":
    case "unix-pingpong": {
      const socket = await connect(scenario === "pingpong" ? port : unixPath(port))
      const window = startWindow()
      await pingPong(socket, params.roundTrips)
      const measured = window.stop()
      await close(socket)
      return { ...measured, operations: params.roundTrips }
    }
    case "many": {
      const sockets = await Promise.all(Array.from({ length: params.manyConnections }, () => connect(port)))
      const window = startWindow()
      await Promise.all(sockets.map((socket) => pingPong(socket, params.manyRoundTrips)))
      const measured = window.stop()
      await Promise.all(sockets.map(close))
      return { ...measured, operations: params.manyConnections * params.manyRoundTrips }
    }
    case "bulk": {
      const socket = await connect(port)
      const chunk = Buffer.alloc(params.chunkBytes, 0x5a)
      const window = startWindow()
      const acked = new Promise<void>((resolve, reject) => {
        socket.once("data", (data) => data.length === 1 ? resolve() : reject(new Error("bad ack")))
        socket.once("error", reject)
      })
      for (let sent = 0; sent < params.bulkBytes; sent += chunk.length) {
        if (!socket.write(chunk)) await new Promise((resolve) => socket.once("drain", resolve))
      }
      await acked
      const measured = window.stop()
      await close(socket)
      return { ...measured, operations: params.bulkBytes }
    }
    case "accept": {
      const window = startWindow()
      await forEachLimited(params.acceptConnections, params.acceptConcurrency, () =>
        new Promise<void>((resolve, reject) => {
          let received = 0
          const socket = net.connect({ host: "127.0.0.1", port, noDelay: true })
          socket.on("data", (data) => {
            received += data.length
          })
          socket.on("end", () =>
            received === 1 ? resolve() : reject(new Error(`expected 1 byte before EOF, got ${received}`)))
          socket.on("error", reject)
        }))
      return { ...window.stop(), operations: params.acceptConnections }
    }
  }
}


// ---- udp: node:dgram on both sides

/** The server: counts data datagrams until the end marker, acknowledges it, reports. */
const udpServe = (_params: Params, listening: (port: number) => void): Promise<ServerReport> =>
  new Promise((resolve, reject) => {
    const socket = dgram.createSocket({ type: "udp4", recvBufferSize: UDP_BUFFER_BYTES })
    let received = 0
    let window: ReturnType<typeof startWindow>
    socket.on("error", reject)
    socket.on("message", (msg, from) => {
      if (msg[0] === UDP_DATA) return void received++
      socket.send(Uint8Array.of(UDP_END), from.port, from.address, () => {
        const { cpu } = window.stop()
        socket.close()
        resolve({ cpu, connections: 1, bytes: received })
      })
    })
    socket.bind(0, "127.0.0.1", () => {
      window = startWindow()
      listening(socket.address().port)
    })
  })

/** At most this many `send`s wait for their callback at once: node:dgram queues the rest in JS. */
const UDP_IN_FLIGHT = 1024

/** The client: one `socket.send` per datagram, then the end marker until it is acknowledged. */
const udpClient = (params: Params, port: number): Promise<ClientReport> =>
  new Promise((resolve, reject) => {
    const socket = dgram.createSocket({ type: "udp4", sendBufferSize: UDP_BUFFER_BYTES })
    const payload = udpPayload()
    const end = Uint8Array.of(UDP_END)
    let window: ReturnType<typeof startWindow>
    let report: ClientReport | undefined
    let sent = 0
    let inFlight = 0
    let acknowledged = false
    let retry: ReturnType<typeof setInterval> | undefined
    socket.on("error", reject)
    socket.on("message", () => {
      if (acknowledged) return
      acknowledged = true
      clearInterval(retry)
      socket.close()
      resolve(report!)
    })
    const pump = () => {
      while (sent < params.udpPackets && inFlight < UDP_IN_FLIGHT) {
        sent++
        inFlight++
        socket.send(payload, port, "127.0.0.1", onSent)
      }
      if (sent === params.udpPackets && inFlight === 0 && retry === undefined) {
        // The sending rate: the window ends once the last send has completed.
        report = { ...window.stop(), operations: params.udpPackets }
        const finish = () => socket.send(end, port, "127.0.0.1")
        finish()
        retry = setInterval(finish, UDP_END_RETRY_MILLIS)
      }
    }
    const onSent = (error: Error | null) => {
      if (error !== null) return reject(error)
      inFlight--
      pump()
    }
    socket.bind(0, "127.0.0.1", () => {
      window = startWindow()
      pump()
    })
  })

export const implementation: Implementation = { serve, client, udp: { serve: udpServe, client: (params, port) => udpClient(params, port) } }
