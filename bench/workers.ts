/**
 * Worker processes as the runner sees them: each one forked over IPC, its replies awaited by
 * request id, and killed when it does not go quietly.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import type { ImplementationName, Reply, Request } from "./protocol.js"

type Hello = Extract<Reply, { kind: "hello" }>

// Compiled, this file sits in bench/dist/ next to worker.js.
const distDir = path.dirname(fileURLToPath(import.meta.url))
const root = path.dirname(path.dirname(distDir))

export type Role = "server" | "client"

/** A forked worker process and the replies it sent that nobody has taken yet. */
export class Worker {
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

export const withTimeout = <A>(promise: Promise<A>, ms: number, what: string): Promise<A> => {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms / 1000} s`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** Long-lived workers, one per (implementation, role), started on first use. */
export class Pool {
  private readonly entries = new Map<string, { readonly worker: Worker; readonly hello: Promise<Hello> }>()

  /** Called with every started worker's hello: what it loaded. */
  constructor(private readonly onHello: (implementation: ImplementationName, hello: Hello) => void = () => {}) {}

  /** The worker for this implementation and role, and its open-files limit once it has started. */
  async get(implementation: ImplementationName, role: Role) {
    const key = `${implementation}:${role}`
    let entry = this.entries.get(key)
    if (entry === undefined) {
      const worker = new Worker(implementation)
      const hello = withTimeout(worker.next("hello"), 60_000, `starting ${key}`).then((h) => {
        this.onHello(implementation, h)
        return h
      })
      entry = { worker, hello }
      this.entries.set(key, entry)
    }
    return { worker: entry.worker, openFilesLimit: (await entry.hello).openFilesLimit }
  }

  async retire(implementation: ImplementationName, role: Role, graceMs: number) {
    const key = `${implementation}:${role}`
    const entry = this.entries.get(key)
    this.entries.delete(key)
    await entry?.worker.retire(graceMs)
  }

  async retireAll(graceMs: number) {
    const entries = [...this.entries.values()]
    this.entries.clear()
    await Promise.all(entries.map(({ worker }) => worker.retire(graceMs)))
  }
}
