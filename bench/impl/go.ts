/**
 * Go, for reference: bench/go/main.go (standard library `net`, a goroutine per connection,
 * TCP_NODELAY as Go sets it by default), built by bench/setup-go.sh into bench/go/bin/netbench.
 * This worker spawns the binary once per measurement, `netbench serve <scenario> <params>` or
 * `netbench client <scenario> <port> <params>`, and relays the JSON lines it prints: the port,
 * then the report. The reports' CPU is the Go process's own getrusage over the same window as
 * the Node implementations' `process.cpuUsage()`, so the worker's own CPU is not in them.
 * The Go process exits when its stdin closes, so it never outlives this worker.
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as readline from "node:readline"
import { fileURLToPath } from "node:url"
import type { ClientReport, Implementation, Params, ServerReport, TcpScenario } from "../protocol.js"

// Compiled, this file is bench/dist/impl/go.js.
const binary = fileURLToPath(new URL("../../go/bin/netbench", import.meta.url))
const versionFile = fileURLToPath(new URL("../../go/bin/version", import.meta.url))

if (!fs.existsSync(binary)) throw new Error(`${binary} is missing: run bench/setup-go.sh`)

type Line =
  | { readonly kind: "listening"; readonly port: number }
  | { readonly kind: "served"; readonly report: ServerReport }
  | { readonly kind: "done"; readonly report: ClientReport }
  | { readonly kind: "failed"; readonly message: string }

/** Runs the binary with `args`, calling `onLine` with each JSON line; resolves with the last one. */
const run = (args: ReadonlyArray<string>, onLine: (line: Line) => void = () => {}): Promise<Line> =>
  new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ["pipe", "pipe", "inherit"] })
    let last: Line | undefined
    const lines = readline.createInterface({ input: child.stdout })
    lines.on("line", (text) => {
      try {
        last = JSON.parse(text) as Line
      } catch {
        return reject(new Error(`go: not JSON: ${text}`))
      }
      onLine(last)
    })
    child.on("error", reject)
    // Wait for stdout to end as well as for the exit, so no line is lost.
    const closed = new Promise<void>((r) => lines.once("close", () => r()))
    child.on("exit", (code, signal) => {
      child.stdin.end()
      void closed.then(() => {
        if (last?.kind === "failed") reject(new Error(`go: ${last.message}`))
        else if (code !== 0 || last === undefined) reject(new Error(`go ${args[0]} exited (${signal ?? code})`))
        else resolve(last)
      })
    })
  })

const serve = async (scenario: TcpScenario, params: Params, listening: (port: number) => void): Promise<ServerReport> => {
  const last = await run(["serve", scenario, JSON.stringify(params)], (line) => {
    if (line.kind === "listening") listening(line.port)
  })
  if (last.kind !== "served") throw new Error(`go serve ended with ${JSON.stringify(last)}`)
  return last.report
}

const client = async (scenario: Exclude<TcpScenario, "idle">, params: Params, port: number): Promise<ClientReport> => {
  const last = await run(["client", scenario, String(port), JSON.stringify(params)])
  if (last.kind !== "done") throw new Error(`go client ended with ${JSON.stringify(last)}`)
  return last.report
}

const version = fs.existsSync(versionFile) ? fs.readFileSync(versionFile, "utf8").trim() : "go (version unknown)"

export const implementation: Implementation = { loaded: { go: version }, serve, client }
