/**
 * The benchmark runner: `npm run bench -- [--quick] [--only a,b] [--impl x,y] [--reps n] [--timeout s]`
 * (`BENCH_QUICK=1` is the same as `--quick`).
 * It and the workers run compiled to bench/dist/ (`tsc -p bench/tsconfig.json`): under tsx's
 * module hooks a worker that imports Effect took seconds to start.
 *
 * Each implementation gets a server worker and a client worker (separate processes, talking over
 * 127.0.0.1); the runner drives them over IPC, interleaving implementations within each
 * repetition, bounds every measurement in time, checks the counts both sides report, prints a
 * markdown table per scenario and writes the raw samples to bench/results.json.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import type { ClientReport, ImplementationName, Loaded, Params, Scenario, ServerReport } from "./protocol.js"
import { expectedConnections, implementations, measures, operations, scenarios, variantsOf } from "./protocol.js"
import { fmt, metric, type Sample, table } from "./report.js"
import { Pool, withTimeout } from "./workers.js"

// Compiled, this file runs from bench/dist/.
const benchDir = path.dirname(path.dirname(fileURLToPath(import.meta.url)))

const MiB = 1024 * 1024
const full: Params = {
  roundTrips: 30_000,
  bulkBytes: 1024 * MiB,
  chunkBytes: 64 * 1024,
  manyConnections: 1_000,
  manyRoundTrips: 100,
  idleConnections: 10_000,
  acceptConnections: 5_000,
  acceptConcurrency: 16,
  pipelineBatches: 200,
  pipelineCommands: 1_000,
  udpPackets: 1_000_000,
  udpBatch: 64
}
/** Five implementations, three repetitions: under three minutes, build included, on two cores. */
const quick: Params = {
  ...full,
  roundTrips: 2_000,
  bulkBytes: 64 * MiB,
  manyConnections: 100,
  manyRoundTrips: 25,
  idleConnections: 1_000,
  acceptConnections: 300,
  pipelineBatches: 50,
  udpPackets: 100_000
}

// ---- options

const parseList = <A extends string>(flag: string, all: ReadonlyArray<A>): ReadonlyArray<A> => {
  const i = process.argv.indexOf(flag)
  if (i < 0) return all
  const picked = (process.argv[i + 1] ?? "").split(",").filter((s) => s.length > 0)
  for (const p of picked) if (!all.includes(p as A)) throw new Error(`${flag}: unknown ${p}; one of ${all.join(", ")}`)
  return all.filter((a) => picked.includes(a))
}
const isQuick = process.argv.includes("--quick") || (process.env["BENCH_QUICK"] ?? "") === "1"
const params = isQuick ? quick : full
const selectedScenarios = parseList("--only", scenarios)
// The prefix of unix-pingpong's socket paths (protocol.ts `unixPath`), inherited by every worker.
process.env["NETPOLL_BENCH_UNIX_PATH"] ??= path.join(os.tmpdir(), `effect-netpoll-bench-${process.pid}`)

/**
 * The go implementation needs bench/go/bin/netbench: bench/setup-go.sh installs Go when it is
 * missing (apt-get, as root) and builds it. If that fails, the go rows are skipped with the reason
 * printed, and the rest of the bench runs.
 */
const setUpGo = (): string | undefined => {
  const setup = spawnSync("bash", [path.join(benchDir, "setup-go.sh")], { stdio: ["ignore", 2, 2] })
  if (setup.status === 0) return undefined
  const reasonFile = path.join(benchDir, "go", "bin", "skip-reason")
  return fs.existsSync(reasonFile)
    ? fs.readFileSync(reasonFile, "utf8").trim()
    : `bench/setup-go.sh exited (${setup.signal ?? setup.status})`
}
const skipped: Partial<Record<ImplementationName, string>> = {}
const wanted = parseList("--impl", implementations)
if (wanted.includes("go")) {
  const reason = setUpGo()
  if (reason !== undefined) {
    skipped.go = reason
    process.stderr.write(`bench: skipping go: ${reason}\n`)
  }
}
const selectedImplementations = wanted.filter((i) => skipped[i] === undefined)
const numberOption = (flag: string, fallback: number): number => {
  const i = process.argv.indexOf(flag)
  if (i < 0) return fallback
  const n = Number(process.argv[i + 1])
  if (!(n > 0)) throw new Error(`${flag}: a positive number`)
  return n
}
const repetitions = Math.round(numberOption("--reps", 3))
/** The bound on one measurement, start to finish; past it both workers are killed. */
const measurementTimeoutMs = numberOption("--timeout", isQuick ? 30 : 90) * 1000
const resultsPath = path.join(benchDir, "results.json")

// ---- measuring

/** What each implementation's workers loaded, from their hello: which Effect, which platform-node. */
const loaded = new Map<ImplementationName, Loaded>()
const repositoryRoot = path.dirname(benchDir)
const shortPath = (p: string) => path.relative(repositoryRoot, p) || "."
const describeLoaded = (l: Loaded) =>
  [
    l.effect && `effect ${l.effect.version} (${shortPath(l.effect.dir)})`,
    l.platformNode && `${l.platformNode.name} ${l.platformNode.version} (${shortPath(l.platformNode.dir)})`,
    l.netpollEntry && `effect-netpoll from ${shortPath(l.netpollEntry)}`,
    l.go
  ].filter((x) => typeof x === "string").join(", ")

const pool = new Pool((implementation, hello) => {
  if (hello.loaded === undefined || loaded.has(implementation)) return
  loaded.set(implementation, hello.loaded)
  process.stderr.write(`  ${implementation} loaded ${describeLoaded(hello.loaded)}\n`)
})
let nextId = 0

const runOnce = async (scenario: Scenario, implementation: ImplementationName, variant: string | undefined) => {
  const id = nextId++
  if (scenario === "idle") {
    // A fresh server, so that its baseline is not what earlier scenarios left behind.
    await pool.retire(implementation, "server", 5_000)
    const server = await pool.get(implementation, "server")
    const client = await pool.get("net", "client")
    const needed = params.idleConnections + 100
    for (const [side, { openFilesLimit }] of [["server", server], ["client", client]] as const) {
      if (openFilesLimit < needed) throw new Error(`${side} open files limit ${openFilesLimit} < ${needed}`)
    }
    server.worker.send({ kind: "serve", id, scenario, params })
    const { port } = await server.worker.next("listening", id)
    client.worker.send({ kind: "hold", id, port, connections: params.idleConnections })
    const [report] = await Promise.all([server.worker.next("served", id), client.worker.next("held", id)])
    await pool.retire(implementation, "server", 5_000)
    client.worker.send({ kind: "release", id })
    await client.worker.next("released", id)
    return { server: report.report }
  }
  const server = await pool.get(implementation, "server")
  const client = await pool.get(implementation, "client")
  server.worker.send({ kind: "serve", id, scenario, params })
  const { port } = await server.worker.next("listening", id)
  client.worker.send({ kind: "client", id, scenario, params, port, ...(variant === undefined ? {} : { variant }) })
  const [done, served] = await Promise.all([client.worker.next("done", id), server.worker.next("served", id)])
  return { client: done.report, server: served.report }
}

/** The checks on what both sides counted; a measurement that fails them is not a sample. */
const verify = (scenario: Scenario, result: { client?: ClientReport; server: ServerReport }) => {
  const expected = expectedConnections(scenario, params)
  if (result.server.connections !== expected) {
    throw new Error(`server served ${result.server.connections} connections, expected ${expected}`)
  }
  if (scenario === "bulk" && result.server.bytes !== params.bulkBytes) {
    throw new Error(`server read ${result.server.bytes} bytes, expected ${params.bulkBytes}`)
  }
  const completed = operations(scenario, params)
  if (scenario === "udp" && !(result.server.bytes > 0 && result.server.bytes <= completed)) {
    throw new Error(`server received ${result.server.bytes} datagrams of ${completed}`)
  }
  if (scenario === "pipeline" && result.server.commands !== completed) {
    throw new Error(`server answered ${result.server.commands} commands, expected ${completed}`)
  }
  if (result.client && result.client.operations !== completed) {
    throw new Error(`client completed ${result.client.operations} operations, expected ${completed}`)
  }
}

const measure = async (
  scenario: Scenario,
  implementation: ImplementationName,
  variant: string | undefined,
  repetition: number
): Promise<Sample> => {
  const t0 = Date.now()
  const where = () => ({
    scenario,
    implementation,
    ...(variant === undefined ? {} : { variant }),
    repetition,
    wallSeconds: (Date.now() - t0) / 1000
  })
  const name = `${scenario}/${implementation}${variant === undefined ? "" : ` ${variant}`}`
  try {
    const result = await withTimeout(runOnce(scenario, implementation, variant), measurementTimeoutMs, name)
    verify(scenario, result)
    return { ...where(), ok: true, ...result }
  } catch (error) {
    // The workers' state is unknown now: replace them.
    await Promise.all([
      pool.retire(implementation, "server", 0),
      pool.retire(implementation, "client", 0),
      ...(scenario === "idle" ? [pool.retire("net", "client", 0)] : [])
    ])
    return { ...where(), ok: false, error: error instanceof Error ? error.message : String(error) }
  }
}

// ---- main

const started = Date.now()
const samples: Array<Sample> = []
process.stderr.write(
  `bench: ${isQuick ? "quick" : "full"} run, ${repetitions} repetition(s) of ${selectedScenarios.join(", ")} ` +
    `for ${selectedImplementations.join(", ")}\n`
)
try {
  for (const scenario of selectedScenarios) {
    for (let repetition = 1; repetition <= repetitions; repetition++) {
      for (const implementation of selectedImplementations) {
        if (!measures(scenario, implementation)) continue
        for (const variant of variantsOf(scenario, implementation)) {
          const sample = await measure(scenario, implementation, variant, repetition)
          samples.push(sample)
          const { unit, value } = metric(scenario, params)
          const shown = sample.ok ? `${fmt(value(sample))} ${unit}` : `FAILED: ${sample.error}`
          const row = variant === undefined ? implementation : `${implementation} ${variant}`
          process.stderr.write(`  ${scenario} ${row} #${repetition}: ${shown} (${sample.wallSeconds.toFixed(1)} s)\n`)
        }
      }
    }
  }
} finally {
  await pool.retireAll(5_000)
}

const cpus = os.cpus()
const results = {
  date: new Date().toISOString(),
  node: process.version,
  machine: {
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpu: cpus[0]?.model ?? "unknown",
    cores: cpus.length,
    memoryBytes: os.totalmem(),
    loadAverage: os.loadavg()
  },
  mode: isQuick ? "quick" : "full",
  repetitions,
  params,
  peers: {
    net: "net client <-> net server",
    nodesocket: "Effect 4: @effect/platform-node 4 NodeSocket.makeNet client <-> NodeSocketServer.make server",
    "effect-netpoll": "Effect 4: effect-netpoll TcpStream.connect client <-> TcpListener.serve server",
    "nodesocket/effect3": "Effect 3: @effect/platform-node 0.x NodeSocket.makeNet client <-> NodeSocketServer.make server",
    "effect-netpoll/effect3": "Effect 3: effect-netpoll/effect3 TcpStream.connect client <-> TcpListener.serve server",
    go: "Go (bench/go/main.go): net.Dial client <-> net.Listen server, a goroutine per connection; " +
      "CPU from the Go processes' getrusage",
    idleClient: "one process of plain net sockets for every server",
    unixPingpong: "pingpong over a Unix socket path: net.connect(path) <-> net.createServer().listen(path), " +
      "effect-netpoll UnixStream.connect <-> UnixListener.serve",
    udp: "64-byte datagrams over 127.0.0.1, client -> server, counted by the server: net is node:dgram " +
      "(socket.send, at most 1024 in flight), effect-netpoll UdpSocket.sendMany (udpBatch per call) or sendTo " +
      "(one per call); the servers receive with node:dgram 'message' events and UdpSocket.recvMany",
    pipelineVariants: "net cork/nocork: cork()+writes+uncork() or writes alone; effect-netpoll " +
      "writeAllVectored/BufWriter/writeAll: one writeAllVectored per batch, BufWriter.writeAll per command " +
      "and one flush, one writeAll per command"
  },
  loaded: Object.fromEntries(loaded),
  skipped,
  durationSeconds: (Date.now() - started) / 1000,
  samples
}
fs.writeFileSync(resultsPath, JSON.stringify(results, null, 2) + "\n")

console.log(
  `## effect-netpoll benchmarks (${results.mode}, median of ${repetitions}, ${results.node}, ` +
    `${results.machine.cores} × ${results.machine.cpu})\n`
)
const labels: Partial<Record<ImplementationName, string>> = {}
const loadedLines: Array<string> = []
for (const implementation of selectedImplementations) {
  const l = loaded.get(implementation)
  if (l?.effect !== undefined) labels[implementation] = `${implementation} (effect ${l.effect.version})`
  if (l !== undefined) loadedLines.push(`- \`${implementation}\`: ${describeLoaded(l)}`)
}
if (loadedLines.length > 0) console.log(`Loaded, as each worker resolved it:\n${loadedLines.join("\n")}\n`)
for (const [implementation, reason] of Object.entries(skipped)) console.log(`Skipped \`${implementation}\`: ${reason}\n`)
for (const scenario of selectedScenarios) {
  console.log(
    table(
      scenario,
      params,
      selectedImplementations.filter((i) => measures(scenario, i)),
      samples.filter((s) => s.scenario === scenario),
      labels
    ) + "\n"
  )
}
console.log(`Raw samples: ${path.relative(process.cwd(), resultsPath)}; took ${results.durationSeconds.toFixed(0)} s.`)
if (samples.some((s) => !s.ok)) process.exitCode = 1
