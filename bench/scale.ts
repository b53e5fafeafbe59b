/**
 * Scaling over cores (issue 12): `npm run bench:scale -- [--quick] [--reps n]`.
 *
 * The `many` scenario (1,000 connections × 100 round trips of 64 B; `--quick`: 100 × 25) against
 * servers with 1 and 2 threads: effect-netpoll's `TcpListener.makeWorkers` (./scaleServer.ts)
 * with 1 and 2 worker threads, and Go's standard library (GOMAXPROCS 1 and 2), for reference.
 * The load generator is the Go client (bench/go), pinned with `taskset` to CPU 0, so that what
 * changes between rows is the server. Each server runs in two layouts:
 * - `server on CPU 1`: the server has one core of its own, whatever its threads: a second thread
 *   cannot add a core there, so this shows what the threads cost;
 * - `server on CPUs 0-1`: the server may use both cores, the client's included: on a 2-core
 *   machine this is the only way a second thread can run in parallel, and it competes with the
 *   client for CPU 0.
 * Rows are interleaved within each repetition; the table gives the median and min–max of round
 * trips/s, the server's CPU per round trip (from /proc/<pid>/stat over the client's run, every
 * thread counted) and the ratio to the same server's 1-thread row in the same layout.
 */
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as readline from "node:readline"
import { fileURLToPath } from "node:url"
import type { ClientReport, Params } from "./protocol.js"

// Compiled, this file runs from bench/dist/.
const benchDir = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
const goBinary = path.join(benchDir, "go", "bin", "netbench")
const serverScript = path.join(benchDir, "dist", "scaleServer.js")

const quick = process.argv.includes("--quick")
const repsFlag = process.argv.indexOf("--reps")
const repetitions = repsFlag < 0 ? (quick ? 3 : 5) : Math.max(1, Number(process.argv[repsFlag + 1]))
const manyConnections = quick ? 100 : 1_000
const manyRoundTrips = quick ? 25 : 100
const params: Params = {
  roundTrips: 0,
  bulkBytes: 0,
  chunkBytes: 64 * 1024,
  manyConnections,
  manyRoundTrips,
  idleConnections: 0,
  acceptConnections: 0,
  acceptConcurrency: 1,
  pipelineBatches: 0,
  pipelineCommands: 0,
  udpPackets: 0,
  udpBatch: 1
}
const roundTrips = manyConnections * manyRoundTrips
const TICK_MICROS = 1e6 / Number(spawnSync("getconf", ["CLK_TCK"]).stdout.toString().trim() || 100)
const TIMEOUT_MS = 120_000

interface Server {
  readonly name: string
  readonly threads: 1 | 2
  readonly start: (cpus: string) => { readonly command: string; readonly args: ReadonlyArray<string>; readonly env?: NodeJS.ProcessEnv }
}

const servers: ReadonlyArray<Server> = ([1, 2] as const).flatMap((threads): Array<Server> => [
  {
    name: "effect-netpoll",
    threads,
    start: (cpus) => ({ command: "taskset", args: ["-c", cpus, process.execPath, serverScript, String(threads)] })
  },
  {
    name: "go",
    threads,
    start: (cpus) => ({
      command: "taskset",
      args: ["-c", cpus, goBinary, "serve", "many", JSON.stringify(params)],
      env: { ...process.env, GOMAXPROCS: String(threads) }
    })
  }
])
const layouts = [{ name: "server on CPU 1", cpus: "1" }, { name: "server on CPUs 0-1", cpus: "0-1" }] as const

/** user + system CPU of a process, every thread counted, in µs. */
const cpuOf = (pid: number): number => {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  return (Number(fields[11]) + Number(fields[12])) * TICK_MICROS
}

/**
 * Samples a process's CPU every 10 ms until stopped; the last sample stands for the end, since
 * Go's server exits by itself once its last connection closed.
 */
const cpuSampler = (pid: number) => {
  const first = cpuOf(pid)
  let last = first
  const timer = setInterval(() => {
    try {
      last = cpuOf(pid)
    } catch {
      clearInterval(timer)
    }
  }, 10)
  return () => {
    clearInterval(timer)
    try {
      last = cpuOf(pid)
    } catch {
      // Exited: the last sample is as close as we get.
    }
    return last - first
  }
}

const withTimeout = <A>(promise: Promise<A>, what: string): Promise<A> =>
  Promise.race([
    promise,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what}: no answer in ${TIMEOUT_MS} ms`)), TIMEOUT_MS).unref())
  ])

const firstJson = (child: ReturnType<typeof spawn>): Promise<Record<string, unknown>> =>
  new Promise((resolve, reject) => {
    const lines = readline.createInterface({ input: child.stdout! })
    lines.once("line", (line) => {
      try {
        resolve(JSON.parse(line) as Record<string, unknown>)
      } catch {
        reject(new Error(`not JSON: ${line}`))
      }
    })
    child.once("exit", (code) => reject(new Error(`exited (${code}) before its first line`)))
  })

const runClient = async (port: number): Promise<ClientReport> => {
  const child = spawn("taskset", ["-c", "0", goBinary, "client", "many", String(port), JSON.stringify(params)], {
    stdio: ["pipe", "pipe", "inherit"]
  })
  const lines = readline.createInterface({ input: child.stdout })
  let last: { kind: string; report?: ClientReport; message?: string } | undefined
  lines.on("line", (line) => {
    last = JSON.parse(line)
  })
  // Stdout's end as well as the exit: no line is lost.
  const closed = new Promise<void>((resolve) => lines.once("close", () => resolve()))
  await withTimeout(Promise.all([closed, new Promise<void>((resolve) => child.once("exit", () => resolve()))]), "client")
  child.stdin.end()
  if (last?.kind !== "done" || last.report === undefined) throw new Error(`client: ${JSON.stringify(last)}`)
  return last.report
}

interface Row {
  readonly layout: string
  readonly server: string
  readonly threads: number
  readonly rate: Array<number>
  readonly cpu: Array<number>
}

const measure = async (server: Server, cpus: string): Promise<{ rate: number; cpu: number }> => {
  const { command, args, env } = server.start(cpus)
  const child = spawn(command, args, { stdio: ["pipe", "pipe", "inherit"], env: env ?? process.env })
  try {
    const hello = await withTimeout(firstJson(child), `${server.name} server`)
    const port = Number(hello["port"])
    const stop = cpuSampler(child.pid!)
    const report = await runClient(port)
    const used = stop()
    return { rate: report.operations / (report.elapsedNs / 1e9), cpu: used / report.operations }
  } finally {
    child.stdin!.end()
    if (child.exitCode === null) await new Promise((resolve) => child.once("exit", resolve))
  }
}

const median = (xs: ReadonlyArray<number>) => {
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}
const k = (n: number) => n >= 1e5 ? `${Math.round(n / 1e3)}k` : `${(n / 1e3).toFixed(1)}k`

const main = async () => {
  if (os.cpus().length < 2) throw new Error("the scale bench needs 2 CPUs")
  const setup = spawnSync("bash", [path.join(benchDir, "setup-go.sh")], { stdio: ["ignore", 2, 2] })
  if (setup.status !== 0) throw new Error("bench/setup-go.sh failed: the scale bench's client is Go")
  const rows = new Map<string, Row>()
  for (let rep = 0; rep < repetitions; rep++) {
    for (const layout of layouts) {
      for (const server of servers) {
        const key = `${layout.name}|${server.name}|${server.threads}`
        const row = rows.get(key) ??
          { layout: layout.name, server: server.name, threads: server.threads, rate: [], cpu: [] }
        rows.set(key, row)
        const { rate, cpu } = await measure(server, layout.cpus)
        row.rate.push(rate)
        row.cpu.push(cpu)
        process.stderr.write(`  rep ${rep + 1} ${layout.name}, ${server.name} × ${server.threads}: ${k(rate)} round trips/s\n`)
      }
    }
  }
  const lines = [
    `many: ${manyConnections} connections × ${manyRoundTrips} round trips of 64 B (${roundTrips} per run), ` +
    `Go client on CPU 0, ${repetitions} repetitions, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? "?"})`,
    "",
    "| layout | server | threads | round trips/s, median (min–max) | vs 1 thread | server CPU µs/round trip |",
    "|---|---|--:|--:|--:|--:|"
  ]
  for (const row of rows.values()) {
    const single = rows.get(`${row.layout}|${row.server}|1`)!
    lines.push(
      `| ${row.layout} | ${row.server} | ${row.threads} | ${k(median(row.rate))} (${k(Math.min(...row.rate))}–${
        k(Math.max(...row.rate))
      }) | ${(median(row.rate) / median(single.rate)).toFixed(2)}× | ${median(row.cpu).toFixed(2)} |`
    )
  }
  process.stdout.write(`${lines.join("\n")}\n`)
}

main().catch((error) => {
  process.stderr.write(`bench:scale: ${error instanceof Error ? error.stack : String(error)}\n`)
  process.exit(1)
})
