/**
 * The benchmark runner: `npm run bench -- [--quick] [--only a,b] [--impl x,y] [--reps n] [--timeout s]`.
 * It and the workers run compiled to bench/dist/ (`tsc -p bench/tsconfig.json`): under tsx's
 * module hooks a worker that imports Effect took seconds to start.
 *
 * Each implementation gets a server worker and a client worker (separate processes, talking over
 * 127.0.0.1); the runner drives them over IPC, interleaving implementations within each
 * repetition, bounds every measurement in time, checks the counts both sides report, prints a
 * markdown table per scenario and writes the raw samples to bench/results.json.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import type { ClientReport, ImplementationName, Params, Reply, Request, Scenario, ServerReport } from "./protocol.js"
import { expectedConnections, implementations, scenarios } from "./protocol.js"

// This file runs compiled, from bench/dist/.
const distDir = path.dirname(fileURLToPath(import.meta.url))
const benchDir = path.dirname(distDir)
const root = path.dirname(benchDir)

const MiB = 1024 * 1024
const full: Params = {
  roundTrips: 30_000,
  bulkBytes: 1024 * MiB,
  chunkBytes: 64 * 1024,
  manyConnections: 1_000,
  manyRoundTrips: 100,
  idleConnections: 10_000,
  acceptConnections: 5_000,
  acceptConcurrency: 16
}
const quick: Params = {
  ...full,
  roundTrips: 2_000,
  bulkBytes: 128 * MiB,
  manyConnections: 200,
  manyRoundTrips: 25,
  idleConnections: 1_000,
  acceptConnections: 500
}

// ---- options

const parseList = <A extends string>(flag: string, all: ReadonlyArray<A>): ReadonlyArray<A> => {
  const i = process.argv.indexOf(flag)
  if (i < 0) return all
  const picked = (process.argv[i + 1] ?? "").split(",").filter((s) => s.length > 0)
  for (const p of picked) if (!all.includes(p as A)) throw new Error(`${flag}: unknown ${p}; one of ${all.join(", ")}`)
  return all.filter((a) => picked.includes(a))
}
const isQuick = process.argv.includes("--quick")
const params = isQuick ? quick : full
const selectedScenarios = parseList("--only", scenarios)
const selectedImplementations = parseList("--impl", implementations)
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

// ---- workers

type Role = "server" | "client"

/** A forked worker process and the replies it sent that nobody has taken yet. */
class Worker {
  private readonly replies: Array<Reply> = []
  private readonly waiters = new Set<() => void>()
  private exited: string | undefined
  readonly child: ChildProcess

  constructor(readonly implementation: ImplementationName) {
    // Raise the open-files limit as far as allowed: the idle scenario holds 10,000 sockets.
    const script = `ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"`
    const node = [process.execPath, "--expose-gc", path.join(distDir, "worker.js"), implementation]
    this.child = spawn("bash", ["-c", script, "bash", ...node], { cwd: root, stdio: ["ignore", "inherit", "inherit", "ipc"] })
    this.child.on("message", (reply: Reply) => this.push(reply))
    this.child.on("exit", (code, signal) => {
      this.exited = `worker ${implementation} exited (${signal ?? code})`
      this.wake()
    })
  }

  private push(reply: Reply) {
    this.replies.push(reply)
    this.wake()
  }

  private wake() {
    for (const waiter of this.waiters) waiter()
  }

  send(request: Request) {
    this.child.send(request)
  }

  /** The reply of this kind to request `id` (or the hello), or a rejection if the request failed. */
  next<K extends Reply["kind"]>(kind: K, id?: number): Promise<Extract<Reply, { kind: K }>> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const i = this.replies.findIndex((r) =>
          (r.kind === kind || r.kind === "failed") && (r.kind === "hello" || ("id" in r && r.id === id))
        )
        if (i >= 0) {
          const [reply] = this.replies.splice(i, 1)
          this.waiters.delete(check)
          if (reply!.kind === "failed") reject(new Error(`${this.implementation}: ${reply!.message}`))
          else resolve(reply as Extract<Reply, { kind: K }>)
        } else if (this.exited !== undefined) {
          this.waiters.delete(check)
          reject(new Error(this.exited))
        }
      }
      this.waiters.add(check)
      check()
    })
  }

  /** Asks the worker to exit; kills it if it is still there after a grace period. */
  retire(graceMs: number) {
    if (this.exited !== undefined) return Promise.resolve()
    const gone = new Promise<void>((resolve) => this.child.once("exit", () => resolve()))
    if (graceMs === 0 || !this.child.connected) this.child.kill("SIGKILL")
    else this.child.disconnect()
    const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs)
    return gone.finally(() => clearTimeout(timer))
  }
}

const withTimeout = <A>(promise: Promise<A>, ms: number, what: string): Promise<A> => {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms / 1000} s`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** Long-lived workers, one per (implementation, role), started on first use. */
const pool = new Map<string, { worker: Worker; openFilesLimit: number }>()

const getWorker = async (implementation: ImplementationName, role: Role) => {
  const key = `${implementation}/${role}`
  const existing = pool.get(key)
  if (existing) return existing
  const worker = new Worker(implementation)
  const entry = { worker, openFilesLimit: 0 }
  pool.set(key, entry)
  entry.openFilesLimit = (await withTimeout(worker.next("hello"), 60_000, `starting ${key}`)).openFilesLimit
  return entry
}

const retireWorker = async (implementation: ImplementationName, role: Role, graceMs: number) => {
  const key = `${implementation}/${role}`
  const entry = pool.get(key)
  pool.delete(key)
  await entry?.worker.retire(graceMs)
}

// ---- measuring

type Sample =
  & {
    readonly scenario: Scenario
    readonly implementation: ImplementationName
    readonly repetition: number
    /** Wall time of the whole measurement, worker start-up included. */
    readonly wallSeconds: number
  }
  & (
    | { readonly ok: true; readonly client?: ClientReport; readonly server: ServerReport }
    | { readonly ok: false; readonly error: string }
  )

let nextId = 0

const runOnce = async (scenario: Scenario, implementation: ImplementationName) => {
  const id = nextId++
  if (scenario === "idle") {
    // A fresh server, so that its baseline is not what earlier scenarios left behind.
    await retireWorker(implementation, "server", 5_000)
    const server = await getWorker(implementation, "server")
    const client = await getWorker("net", "client")
    const needed = params.idleConnections + 100
    for (const [side, { openFilesLimit }] of [["server", server], ["client", client]] as const) {
      if (openFilesLimit < needed) throw new Error(`${side} open files limit ${openFilesLimit} < ${needed}`)
    }
    server.worker.send({ kind: "serve", id, scenario, params })
    const { port } = await server.worker.next("listening", id)
    client.worker.send({ kind: "hold", id, port, connections: params.idleConnections })
    const [report] = await Promise.all([server.worker.next("served", id), client.worker.next("held", id)])
    await retireWorker(implementation, "server", 5_000)
    client.worker.send({ kind: "release", id })
    await client.worker.next("released", id)
    return { server: report.report }
  }
  const server = await getWorker(implementation, "server")
  const client = await getWorker(implementation, "client")
  server.worker.send({ kind: "serve", id, scenario, params })
  const { port } = await server.worker.next("listening", id)
  client.worker.send({ kind: "client", id, scenario, params, port })
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
  if (result.client && result.client.operations !== operations(scenario)) {
    throw new Error(`client completed ${result.client.operations} operations, expected ${operations(scenario)}`)
  }
}

const operations = (scenario: Scenario): number => {
  switch (scenario) {
    case "pingpong":
      return params.roundTrips
    case "bulk":
      return params.bulkBytes
    case "many":
      return params.manyConnections * params.manyRoundTrips
    case "idle":
      return params.idleConnections
    case "accept":
      return params.acceptConnections
  }
}

const measure = async (scenario: Scenario, implementation: ImplementationName, repetition: number): Promise<Sample> => {
  const t0 = Date.now()
  const where = () => ({ scenario, implementation, repetition, wallSeconds: (Date.now() - t0) / 1000 })
  try {
    const result = await withTimeout(runOnce(scenario, implementation), measurementTimeoutMs, `${scenario}/${implementation}`)
    verify(scenario, result)
    return { ...where(), ok: true, ...result }
  } catch (error) {
    // The workers' state is unknown now: replace them.
    await Promise.all([
      retireWorker(implementation, "server", 0),
      retireWorker(implementation, "client", 0),
      ...(scenario === "idle" ? [retireWorker("net", "client", 0)] : [])
    ])
    return { ...where(), ok: false, error: error instanceof Error ? error.message : String(error) }
  }
}

// ---- metrics and tables

interface Metric {
  readonly unit: string
  readonly value: (s: Extract<Sample, { ok: true }>) => number
  readonly cpuUnit?: string
  /** CPU per unit of work for one side. */
  readonly cpu?: (cpu: { user: number; system: number }) => number
  readonly extra?: { readonly name: string; readonly value: (s: Extract<Sample, { ok: true }>) => number }
}

const seconds = (s: Extract<Sample, { ok: true }>) => s.client!.elapsedNs / 1e9
const cpuMicros = (cpu: { user: number; system: number }) => cpu.user + cpu.system

const metric = (scenario: Scenario): Metric => {
  const ops = operations(scenario)
  switch (scenario) {
    case "pingpong":
    case "many":
      return { unit: "round trips/s", value: (s) => ops / seconds(s), cpuUnit: "µs/round trip", cpu: (c) => cpuMicros(c) / ops }
    case "bulk":
      return {
        unit: "GB/s",
        value: (s) => ops / 1e9 / seconds(s),
        cpuUnit: "s/GB",
        cpu: (c) => cpuMicros(c) / 1e6 / (ops / 1e9)
      }
    case "accept":
      return { unit: "connections/s", value: (s) => ops / seconds(s), cpuUnit: "µs/connection", cpu: (c) => cpuMicros(c) / ops }
    case "idle":
      return {
        unit: "RSS bytes/connection",
        value: (s) => (s.server.memory!.rssAfter - s.server.memory!.rssBefore) / ops,
        extra: {
          name: "JS heap bytes/connection",
          value: (s) => (s.server.memory!.heapAfter - s.server.memory!.heapBefore) / ops
        }
      }
  }
}

const median = (xs: ReadonlyArray<number>) => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

const fmt = (x: number) => Number(x.toPrecision(3)).toLocaleString("en-US", { maximumFractionDigits: 3 })
const spread = (xs: ReadonlyArray<number>) =>
  xs.length === 1 ? fmt(xs[0]!) : `${fmt(median(xs))} (${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))})`

const table = (scenario: Scenario, samples: ReadonlyArray<Sample>): string => {
  const m = metric(scenario)
  const okSamples = (impl: ImplementationName) =>
    samples.filter((s): s is Extract<Sample, { ok: true }> => s.implementation === impl && s.ok)
  const medianOf = (impl: ImplementationName) => {
    const ok = okSamples(impl)
    return ok.length > 0 ? median(ok.map(m.value)) : undefined
  }
  const ratio = (impl: ImplementationName, reference: ImplementationName) => {
    const a = medianOf(impl)
    const b = medianOf(reference)
    return a === undefined || b === undefined ? "–" : `${(a / b).toFixed(2)}×`
  }
  const header = [
    "implementation",
    `${m.unit}, median (min–max)`,
    "vs net",
    "vs nodesocket",
    ...(m.cpu ? [`client CPU ${m.cpuUnit}`, `server CPU ${m.cpuUnit}`] : []),
    ...(m.extra ? [`${m.extra.name}, median (min–max)`] : [])
  ]
  const rows = selectedImplementations.map((impl) => {
    const ok = okSamples(impl)
    const failures = samples.filter((s): s is Extract<Sample, { ok: false }> => s.implementation === impl && !s.ok)
    const failed = failures.length > 0 ? ` — ${failures.length} failed: ${failures[0]!.error}` : ""
    if (ok.length === 0) {
      return [impl, `failed: ${failures[0]?.error ?? "no samples"}`, ...header.slice(2).map(() => "–")]
    }
    return [
      impl,
      spread(ok.map(m.value)) + failed,
      ratio(impl, "net"),
      ratio(impl, "nodesocket"),
      ...(m.cpu ? [fmt(median(ok.map((s) => m.cpu!(s.client!.cpu)))), fmt(median(ok.map((s) => m.cpu!(s.server.cpu))))] : []),
      ...(m.extra ? [spread(ok.map(m.extra.value))] : [])
    ]
  })
  return [
    `### ${scenario}`,
    "",
    `| ${header.join(" | ")} |`,
    `|${header.map((_, i) => (i === 0 ? "---" : "--:")).join("|")}|`,
    ...rows.map((r) => `| ${r.join(" | ")} |`)
  ].join("\n")
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
        const sample = await measure(scenario, implementation, repetition)
        samples.push(sample)
        const shown = sample.ok ? `${fmt(metric(scenario).value(sample))} ${metric(scenario).unit}` : `FAILED: ${sample.error}`
        process.stderr.write(
          `  ${scenario} ${implementation} #${repetition}: ${shown} (${sample.wallSeconds.toFixed(1)} s)\n`
        )
      }
    }
  }
} finally {
  await Promise.all([...pool.keys()].map((key) => {
    const [implementation, role] = key.split("/") as [ImplementationName, Role]
    return retireWorker(implementation, role, 5_000)
  }))
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
    nodesocket: "NodeSocket.makeNet client <-> NodeSocketServer.make server",
    "effect-netpoll": "TcpStream.connect client <-> TcpListener.serve server",
    idleClient: "one process of plain net sockets for every server"
  },
  durationSeconds: (Date.now() - started) / 1000,
  samples
}
fs.writeFileSync(resultsPath, JSON.stringify(results, null, 2) + "\n")

console.log(
  `## effect-netpoll benchmarks (${results.mode}, median of ${repetitions}, ${results.node}, ` +
    `${results.machine.cores} × ${results.machine.cpu})\n`
)
for (const scenario of selectedScenarios) {
  console.log(table(scenario, samples.filter((s) => s.scenario === scenario)) + "\n")
}
console.log(`Raw samples: ${path.relative(process.cwd(), resultsPath)}; took ${results.durationSeconds.toFixed(0)} s.`)
if (samples.some((s) => !s.ok)) process.exitCode = 1
