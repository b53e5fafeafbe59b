/**
 * The rules of serving one address from several worker threads, once for both
 * Effect lines: how the main thread holds the port, what a worker is told and
 * what it answers, and how a worker that died is replaced. The kernel spreads
 * connections over the threads' listeners (SO_REUSEPORT); each thread has its
 * own poller, so a worker's sockets end with it.
 */
import * as os from "node:os"
import { pathToFileURL } from "node:url"
import * as errno from "./errno.js"
import { addon } from "./native.js"
import type { Pollable, Poller } from "./poller.js"
import { type Failure, setUp, type SetUpStep } from "./stream.js"
import * as validate from "./validate.js"

/** The key under which `workerData` carries a worker's Config: a worker started otherwise has none. */
const KEY = "effect-netpoll/serveWorkers" as const

/** What a worker binds and how it serves. */
export interface Config {
  /** The bound address as "ip:port" ("[ip]:port" for IPv6), its port never 0. */
  readonly address: string
  readonly backlog: number | undefined
  readonly ipv6Only: boolean | undefined
  readonly noDelay: boolean | undefined
  readonly maxConnections: number | undefined
}

/** The `workerData` of a worker serving `config`. */
export const workerData = (config: Config): Record<string, Config> => ({ [KEY]: config })

/** The Config a worker was started with, or undefined outside a worker of `serveWorkers`. */
export const configOf = (data: unknown): Config | undefined => {
  const config = validate.field(data, KEY)
  return typeof config === "object" && config !== null ? config as Config : undefined
}

/**
 * A worker's messages to the main thread, marked with KEY as `source`, so that
 * messages the worker module posts itself are never taken for them.
 */
export type Report =
  & { readonly source: typeof KEY }
  & (
    | { readonly _tag: "Listening" }
    /** Its bind failed: the error's errno (negative, or the core's CLOSED) and syscall. */
    | { readonly _tag: "BindFailed"; readonly code: number; readonly syscall: string }
  )

/** A report of `launchWorker`. */
export const listening: Report = { source: KEY, _tag: "Listening" }
export const bindFailed = (code: number, syscall: string): Report => ({ source: KEY, _tag: "BindFailed", code, syscall })

/** The main thread's one message to a worker: stop serving and end. */
export const STOP = "effect-netpoll/serveWorkers/stop"

/** Whether a message from a worker is one of its Reports (a user's module may post its own). */
export const isReport = (message: unknown): message is Report => {
  const tag = validate.field(message, "_tag")
  return validate.field(message, "source") === KEY && (tag === "Listening" || tag === "BindFailed")
}

/** The code of a failed bind, as the worker sends it: an errno name made negative, or CLOSED. */
export const codeOf = (errnoName: string | undefined): number =>
  errnoName === undefined ? errno.CLOSED : errno.code(errnoName)

/** How long a worker asked to stop may take before it is terminated. */
export const STOP_GRACE_MILLIS = 5000

/**
 * A worker that served at least this long before it died is replaced at once;
 * one that dies sooner waits Go's accept backoff (5 ms doubling to 1 s), so
 * that a module that fails at every start does not spin a core.
 */
export const HEALTHY_MILLIS = 1000

/** Threads by default: one per core the process may use. */
export const defaultThreads = (): number =>
  typeof os.availableParallelism === "function" ? os.availableParallelism() : Math.max(1, os.cpus().length)

/** The most threads one call starts. */
export const MAX_THREADS = 1024

/**
 * Binds a socket with SO_REUSEADDR and SO_REUSEPORT and does not listen: it
 * holds the port (a port 0 becomes a real one) for the workers' listeners to
 * share, and never receives a connection, since only listening sockets do. The
 * registered Pollable, or a failure with nothing left open.
 */
export const reserve = (poller: Poller, family: 4 | 6, ip: string, port: number): Pollable | Failure => {
  const fd = addon.socket(family)
  if (fd < 0) return { code: fd, syscall: "socket" }
  const steps: ReadonlyArray<SetUpStep> = [
    ["setsockopt", () => addon.setReuseAddr(fd, true)],
    ["setsockopt", () => addon.setReusePort(fd, true)],
    ["bind", () => addon.bind(fd, family, ip, port)]
  ]
  return setUp(poller, fd, steps, "listen")
}

/** `serveWorkers`' `worker` as the URL a Worker takes: a URL, a file URL string, or a path. */
export const workerUrl = (worker: URL | string): URL =>
  typeof worker === "string" && !worker.startsWith("file:") ? pathToFileURL(worker) : new URL(worker)

/** The options of `serveWorkers` (and `makeWorkers`, named by `what`); undefined when they will do. */
export const options = (options: unknown, what: string): string | undefined => {
  if (typeof options !== "object" || options === null) {
    return `${what} options must be an object with a worker module, got ${validate.show(options)}`
  }
  const worker = validate.field(options, "worker")
  const threads = validate.field(options, "threads")
  return (isWorkerModule(worker)
    ? undefined
    : `${what}: worker must be the URL (or path) of the module each thread runs, got ${validate.show(worker)}`) ??
    (threads === undefined ||
        (typeof threads === "number" && Number.isSafeInteger(threads) && threads >= 1 && threads <= MAX_THREADS)
      ? undefined
      : `${what}: threads must be a whole number from 1 to ${MAX_THREADS}, got ${validate.show(threads)}`) ??
    validate.bindOptions(options, what) ??
    validate.maxConnections(options, what)
}

const isWorkerModule = (worker: unknown): worker is URL | string => {
  if (typeof worker === "string") return worker.length > 0 && !worker.includes("\0")
  if (!validate.isInstance(worker, URL)) return false
  try {
    return (worker as URL).protocol === "file:" || (worker as URL).protocol === "data:"
  } catch {
    return false
  }
}

/** `launchWorker`'s handler. */
export const handler = (handler: unknown): string | undefined =>
  typeof handler === "function"
    ? undefined
    : `launchWorker: handler must be a function from a TcpStream to an Effect, got ${validate.show(handler)}`

/** The defect's message for `launchWorker` run anywhere but in a worker of `serveWorkers`. */
export const notInWorker = (): string =>
  "launchWorker: runs only in a worker thread started by TcpListener.serveWorkers (its workerData has no address)"

/** The defect's message for a worker that ended before it listened. */
export const endedEarly = (what: string, url: URL, how: string): string =>
  `${what}: the worker module ${validate.show(url.href)} ${how} before it listened; does it run TcpListener.launchWorker?`

/** The defect's message for a worker module that could not be started at all. */
export const notStarted = (what: string, url: URL, error: unknown): string =>
  `${what}: the worker module ${validate.show(url.href)} could not start: ${
    validate.show(validate.isInstance(error, Error) ? (error as Error).message : error)
  }`
