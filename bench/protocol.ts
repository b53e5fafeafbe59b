/**
 * What the runner and its worker processes share: scenario parameters, the IPC messages between
 * them, and the helpers every implementation uses to measure and to check bytes.
 */
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

export const scenarios = ["pingpong", "bulk", "many", "idle", "accept", "pipeline", "unix-pingpong", "udp"] as const
export type Scenario = (typeof scenarios)[number]
/** The scenarios over TCP connections: every implementation's `serve` and `client`. */
export type TcpScenario = Exclude<Scenario, "udp">

/**
 * The implementations that measure `udp` (UDP datagrams, node:dgram as the reference) and
 * `unix-pingpong` (pingpong over a Unix-domain socket path: `net` against effect-netpoll's
 * `UnixStream`/`UnixListener`): the others have neither to compare (NodeSocket is TCP streams
 * only; bench/go/main.go is TCP only).
 */
export const udpImplementations: ReadonlyArray<ImplementationName> = ["net", "effect-netpoll", "effect-netpoll/effect3"]

/** Whether `implementation` has a row in `scenario`. */
export const measures = (scenario: Scenario, implementation: ImplementationName): boolean =>
  (scenario !== "udp" && scenario !== "unix-pingpong") || udpImplementations.includes(implementation)

/**
 * In the order they run within each repetition. The Effect 4 rows load the root package
 * (`effect-netpoll`, dist/) and `@effect/platform-node` 4 from the root node_modules; the
 * `/effect3` rows load `effect-netpoll/effect3` (effect3/dist/) and `@effect/platform-node` 0.108
 * from effect3/node_modules, because their compiled files live under effect3/ (effect3/bench/).
 * `go` is bench/go/main.go, built by bench/setup-go.sh, for reference.
 */
export const implementations = [
  "net",
  "nodesocket",
  "effect-netpoll",
  "nodesocket/effect3",
  "effect-netpoll/effect3",
  "go"
] as const
export type ImplementationName = (typeof implementations)[number]

/** The Effect major each implementation must load (net loads no Effect). */
export const effectMajor: Record<ImplementationName, number | undefined> = {
  net: undefined,
  nodesocket: 4,
  "effect-netpoll": 4,
  "nodesocket/effect3": 3,
  "effect-netpoll/effect3": 3,
  go: undefined
}

/** The NodeSocket row each effect-netpoll row is compared with: the one on the same Effect line. */
export const nodeSocketOf: Partial<Record<ImplementationName, ImplementationName>> = {
  "effect-netpoll": "nodesocket",
  "effect-netpoll/effect3": "nodesocket/effect3"
}

/**
 * The client variants measured as rows of their own, by scenario and implementation, in the order
 * they run; an implementation without any is one row. The first variant of `net` is the row the
 * others' `vs net` divides by. The server is the same for every variant of an implementation.
 *
 * pipeline: `net` writes a batch's commands between `socket.cork()` and `socket.uncork()`, or
 * without; effect-netpoll sends them with one `writeAllVectored`, with `BufWriter.writeAll`s and a
 * `flush`, or with one `TcpStream.writeAll` each.
 */
export const variants: Partial<Record<Scenario, Partial<Record<ImplementationName, ReadonlyArray<string>>>>> = {
  udp: {
    "effect-netpoll": ["sendMany", "sendTo"],
    "effect-netpoll/effect3": ["sendMany", "sendTo"]
  },
  pipeline: {
    net: ["cork", "nocork"],
    "effect-netpoll": ["writeAllVectored", "BufWriter", "writeAll"],
    "effect-netpoll/effect3": ["writeAllVectored", "BufWriter", "writeAll"]
  }
}

/**
 * The socket path of one `unix-pingpong` server: the runner's prefix (in the environment its
 * workers inherit) and a number the server picks (`unixKey`) and reports as its port, so that
 * a server still closing never holds the next one's path. The server removes it when done.
 */
export const unixPath = (key: number): string =>
  `${process.env["NETPOLL_BENCH_UNIX_PATH"] ?? path.join(os.tmpdir(), "effect-netpoll-bench")}.${key}.sock`

/** A new `unixPath` key for a server: a positive int32, reported where a TCP server reports its port. */
export const unixKey = (): number => 1 + Math.floor(Math.random() * 0x7ffffffe)

/** The variants of `implementation` in `scenario`: `[undefined]` for one plain row. */
export const variantsOf = (scenario: Scenario, implementation: ImplementationName): ReadonlyArray<string | undefined> =>
  variants[scenario]?.[implementation] ?? [undefined]

/** Which copies of the libraries a worker loaded: package name, version and directory. */
export interface LoadedPackage {
  readonly name: string
  readonly version: string
  readonly dir: string
}

export interface Loaded {
  /** The `effect` every Effect module of the implementation resolves (they must agree). */
  readonly effect?: LoadedPackage
  readonly platformNode?: LoadedPackage
  /** The file `effect-netpoll` (or `effect-netpoll/effect3`) resolves to. */
  readonly netpollEntry?: string
  /** `go version` of the toolchain that built bench/go/bin/netbench (the go implementation). */
  readonly go?: string
}

/** The package.json at or above `file` that has a name and a version. */
const packageAt = (file: string): LoadedPackage => {
  let dir = path.dirname(file)
  for (;;) {
    const candidate = path.join(dir, "package.json")
    if (fs.existsSync(candidate)) {
      const json = JSON.parse(fs.readFileSync(candidate, "utf8")) as { name?: string; version?: string }
      if (json.name !== undefined && json.version !== undefined) return { name: json.name, version: json.version, dir }
    }
    const parent = path.dirname(dir)
    if (parent === dir) throw new Error(`no package.json above ${file}`)
    dir = parent
  }
}

/**
 * What an Effect implementation module (at `moduleUrl`) loads: `effect` as the module itself,
 * effect-netpoll's entry and `@effect/platform-node` resolve it, which must be one copy of the
 * expected major. Throws otherwise, so a worker that would measure the wrong Effect never starts.
 */
export const loadedBy = (
  moduleUrl: string,
  specifiers: { readonly netpoll?: string; readonly platformNode?: string },
  expectedMajor: number
): Loaded => {
  const resolveFrom = (from: string, specifier: string) => createRequire(from).resolve(specifier)
  const self = fileURLToPath(moduleUrl)
  const effect = packageAt(resolveFrom(self, "effect"))
  const loaded: { effect: LoadedPackage; platformNode?: LoadedPackage; netpollEntry?: string } = { effect }
  const views: Array<[string, LoadedPackage]> = [[self, effect]]
  if (specifiers.netpoll !== undefined) {
    const entry = resolveFrom(self, specifiers.netpoll)
    loaded.netpollEntry = entry
    views.push([entry, packageAt(resolveFrom(entry, "effect"))])
  }
  if (specifiers.platformNode !== undefined) {
    const module = resolveFrom(self, specifiers.platformNode)
    loaded.platformNode = packageAt(module)
    views.push([module, packageAt(resolveFrom(module, "effect"))])
  }
  for (const [from, seen] of views) {
    if (seen.dir !== effect.dir) throw new Error(`${from} resolves effect at ${seen.dir}, not ${effect.dir}`)
  }
  if (effect.name !== "effect" || Number(effect.version.split(".")[0]) !== expectedMajor) {
    throw new Error(`${self} loads ${effect.name}@${effect.version} from ${effect.dir}; expected effect ${expectedMajor}.x`)
  }
  return loaded
}

/** Counts for one run; every loop in every implementation is bounded by them. */
export interface Params {
  readonly roundTrips: number // pingpong: round trips on one connection
  readonly bulkBytes: number // bulk: bytes sent client -> server
  readonly chunkBytes: number // bulk: size of each write and of each read buffer
  readonly manyConnections: number
  readonly manyRoundTrips: number // many: round trips per connection
  readonly idleConnections: number
  readonly acceptConnections: number
  readonly acceptConcurrency: number // accept: connections in flight at once
  readonly pipelineBatches: number // pipeline: batches on one connection
  readonly pipelineCommands: number // pipeline: commands per batch, all sent before any reply is read
  readonly udpPackets: number // udp: 64-byte datagrams the client sends
  readonly udpBatch: number // udp: datagrams per sendMany (and the receivers' recvMany)
}

export const MESSAGE_BYTES = 64

/** How many connections a server serves to their end before it reports and closes. */
export const expectedConnections = (scenario: Scenario, params: Params): number => {
  switch (scenario) {
    case "pingpong":
    case "unix-pingpong":
    case "bulk":
    case "pipeline":
    case "udp":
      return 1
    case "many":
      return params.manyConnections
    case "idle":
      return params.idleConnections
    case "accept":
      return params.acceptConnections
  }
}

/** Round trips, bytes or connections a client completes in one run (idle: connections held). */
export const operations = (scenario: Scenario, params: Params): number => {
  switch (scenario) {
    case "pingpong":
    case "unix-pingpong":
      return params.roundTrips
    case "bulk":
      return params.bulkBytes
    case "many":
      return params.manyConnections * params.manyRoundTrips
    case "idle":
      return params.idleConnections
    case "accept":
      return params.acceptConnections
    case "pipeline":
      return params.pipelineBatches * params.pipelineCommands
    case "udp":
      return params.udpPackets
  }
}

/** After the last idle connection is accepted, how long its handler gets to park before measuring. */
export const IDLE_SETTLE_MILLIS = 100

/** User and system CPU time, in microseconds, as `process.cpuUsage()` reports it. */
export interface Cpu {
  readonly user: number
  readonly system: number
}

export interface ServerReport {
  readonly cpu: Cpu
  readonly connections: number // connections the server served to the end
  readonly bytes: number // bytes the server read (bulk)
  readonly commands?: number // commands the server checked and answered (pipeline)
  readonly memory?: {
    readonly rssBefore: number
    readonly rssAfter: number
    readonly heapBefore: number
    readonly heapAfter: number
  }
}

export interface ClientReport {
  readonly cpu: Cpu
  readonly elapsedNs: number
  /** Round trips, bytes or connections completed (and verified) in the window. */
  readonly operations: number
}

/** One implementation's two sides. Both resolve only when their whole share of the work is done. */
export interface Implementation {
  /** Which Effect and platform packages this implementation runs on (absent for net). */
  readonly loaded?: Loaded
  /** Listens on 127.0.0.1:0, reports the port, serves the scenario's expected load, then closes. */
  readonly serve: (scenario: TcpScenario, params: Params, listening: (port: number) => void) => Promise<ServerReport>
  /**
   * Runs the client side of a scenario (all but `idle`, whose client is plain `net` for everyone),
   * as `variant` (one of `variantsOf`; undefined when the implementation has none).
   */
  readonly client: (
    scenario: Exclude<TcpScenario, "idle">,
    params: Params,
    port: number,
    variant?: string
  ) => Promise<ClientReport>
  /**
   * The `udp` scenario, for `udpImplementations`: the server binds a UDP socket on 127.0.0.1:0,
   * counts the data datagrams it receives (its report's `bytes` is that count) until an end
   * marker, and acknowledges the marker to its sender; the client sends `udpPackets` datagrams of
   * 64 bytes (as `variant`), then the marker until the acknowledgement comes.
   */
  readonly udp?: {
    readonly serve: (params: Params, listening: (port: number) => void) => Promise<ServerReport>
    readonly client: (params: Params, port: number, variant?: string) => Promise<ClientReport>
  }
}

export type Request =
  | { readonly kind: "serve"; readonly id: number; readonly scenario: Scenario; readonly params: Params }
  | {
    readonly kind: "client"
    readonly id: number
    readonly scenario: Exclude<Scenario, "idle">
    readonly params: Params
    readonly port: number
    readonly variant?: string
  }
  | { readonly kind: "hold"; readonly id: number; readonly port: number; readonly connections: number }
  | { readonly kind: "release"; readonly id: number }

export type Reply =
  | { readonly kind: "hello"; readonly openFilesLimit: number; readonly loaded?: Loaded }
  | { readonly kind: "listening"; readonly id: number; readonly port: number }
  | { readonly kind: "served"; readonly id: number; readonly report: ServerReport }
  | { readonly kind: "done"; readonly id: number; readonly report: ClientReport }
  | { readonly kind: "held"; readonly id: number }
  | { readonly kind: "released"; readonly id: number }
  | { readonly kind: "failed"; readonly id: number; readonly message: string }

/** Starts a measured window after a full GC; `stop` returns the CPU and wall time spent since. */
export const startWindow = () => {
  collectGarbage()
  const cpu0 = process.cpuUsage()
  const t0 = process.hrtime.bigint()
  return {
    stop: (): { readonly cpu: Cpu; readonly elapsedNs: number } => {
      const elapsedNs = Number(process.hrtime.bigint() - t0)
      return { cpu: process.cpuUsage(cpu0), elapsedNs }
    }
  }
}

/** Workers run with --expose-gc; two passes let weak callbacks and finalizers run. */
export const collectGarbage = (): void => {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) throw new Error("run the worker with --expose-gc")
  gc()
  gc()
}

export const memorySnapshot = () => {
  collectGarbage()
  const { heapUsed, rss } = process.memoryUsage()
  return { rss, heap: heapUsed }
}

/**
 * The request for round trip `round`: its number in the first 4 bytes and a pattern after, so a
 * lost, stale or reordered echo is caught by `checkEcho`.
 */
export const request = (round: number, into: Uint8Array = new Uint8Array(MESSAGE_BYTES)): Uint8Array => {
  new DataView(into.buffer, into.byteOffset, into.byteLength).setUint32(0, round)
  for (let i = 4; i < MESSAGE_BYTES; i++) into[i] = (round + i) & 0xff
  return into
}

export const checkEcho = (sent: Uint8Array, received: Uint8Array): void => {
  if (received.length !== MESSAGE_BYTES || Buffer.compare(sent, received) !== 0) {
    throw new Error(`echo mismatch: sent ${Buffer.from(sent).toString("hex")}, got ${Buffer.from(received).toString("hex")}`)
  }
}

/** Runs `task(i)` for i in [0, count) with at most `concurrency` running at once. */
export const forEachLimited = async (
  count: number,
  concurrency: number,
  task: (i: number) => Promise<void>
): Promise<void> => {
  let next = 0
  const lane = async () => {
    while (next < count) await task(next++)
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane))
}

/** How many connections the idle client opens at once, below any accept backlog. */
export const IDLE_CONNECT_CONCURRENCY = 256
/** Backlog every server asks for, so the idle and accept clients never overflow it. */
export const BACKLOG = 4096

/**
 * The idle scenario's client, the same for every server: plain `net` sockets that connect and
 * then only wait. Resolves once every one is connected; `release` destroys them all.
 */
export const holdIdle = async (port: number, connections: number) => {
  const sockets: Array<net.Socket> = []
  await forEachLimited(connections, IDLE_CONNECT_CONCURRENCY, () =>
    new Promise<void>((resolve, reject) => {
      const socket = net.connect({ host: "127.0.0.1", port }, () => {
        socket.off("error", reject)
        // The server going away later is expected, not an error of this client.
        socket.on("error", () => {})
        resolve()
      })
      socket.once("error", reject)
      sockets.push(socket)
    }))
  return {
    release: () => {
      for (const socket of sockets) socket.destroy()
    }
  }
}

/**
 * pipeline's commands, `GET key:NNNNNN\r\n` (16 bytes) with NNNNNN = 0..count-1: the same
 * `count` buffers are sent in every batch.
 */
export const pipelineCommands = (count: number): Array<Uint8Array> =>
  Array.from({ length: count }, (_, i) => new TextEncoder().encode(`GET key:${String(i).padStart(6, "0")}\r\n`))

/** The server's reply to every command, and its text without the line end. */
export const PIPELINE_REPLY = "+OK\r\n"
export const PIPELINE_REPLY_LINE = "+OK"

/** Whether a line (without its line end) is one of `pipelineCommands`. */
export const isCommand = (line: string): boolean => line.length === 14 && line.startsWith("GET key:")

/**
 * Lines out of chunks, as a server on chunk callbacks splits them: each complete line, without
 * its LF or CRLF, decoded; a line split over chunks is carried to the next.
 */
export class LineSplitter {
  private partial: Buffer | undefined = undefined

  /** Calls `onLine` with each line `chunk` completes; returns how many. */
  push(chunk: Uint8Array, onLine: (line: string) => void): number {
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    let start = 0
    let lines = 0
    for (let nl = bytes.indexOf(10); nl >= 0; nl = bytes.indexOf(10, start)) {
      let line = bytes.subarray(start, nl)
      if (this.partial !== undefined) {
        line = Buffer.concat([this.partial, line])
        this.partial = undefined
      }
      const end = line.length > 0 && line[line.length - 1] === 13 ? line.length - 1 : line.length
      onLine(line.toString("utf8", 0, end))
      lines++
      start = nl + 1
    }
    if (start < bytes.length) {
      const rest = bytes.subarray(start)
      // Copied: the chunk's memory may be reused once the callback returns.
      this.partial = this.partial === undefined ? Buffer.from(rest) : Buffer.concat([this.partial, rest])
    }
    return lines
  }
}

/** udp: the first byte of a data datagram, and of the end marker (which the server acknowledges). */
export const UDP_DATA = 0
export const UDP_END = 1

/** A udp data datagram: MESSAGE_BYTES bytes, the first UDP_DATA. */
export const udpPayload = (): Uint8Array => {
  const payload = new Uint8Array(MESSAGE_BYTES).fill(0x5a)
  payload[0] = UDP_DATA
  return payload
}

/** The receive buffer both sides of udp ask for (Linux caps it at rmem_max). */
export const UDP_BUFFER_BYTES = 4 * 1024 * 1024

/** How long a udp client waits for the acknowledgement of its end marker before sending it again. */
export const UDP_END_RETRY_MILLIS = 20

/** How many LFs `chunk` holds: a client counting replies. */
export const countLines = (chunk: Uint8Array): number => {
  let n = 0
  for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) n++
  return n
}
