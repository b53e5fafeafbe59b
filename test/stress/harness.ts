/**
 * What the stress parts share: a seeded generator, pseudo-random byte
 * sequences, random interruption of an effect, outcome classes, heap
 * measurement after a full collection, and the leak snapshot.
 */
import * as fs from "node:fs"
import * as v8 from "node:v8"
import * as vm from "node:vm"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as NetError from "../../src/NetError.js"
import * as Netpoll from "../../src/Netpoll.js"
import { loopTurns, openFds } from "../utils/fds.js"
import { deadline, defects, failures, fork, isInterrupted, yieldNow } from "../utils/line.js"

/** A seeded generator of floats in [0, 1) (mulberry32): the same seed, the same choices. */
export const rng = (seed: number): () => number => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** An integer in [min, max]. */
export const int = (random: () => number, min: number, max: number): number =>
  min + Math.floor(random() * (max - min + 1))

/** `length` pseudo-random bytes from `seed`: a sequence whose every prefix is recognisable. */
export const sequence = (seed: number, length: number): Uint8Array => {
  const random = rng(seed)
  const out = new Uint8Array(length)
  for (let i = 0; i < length; i += 4) {
    const word = Math.floor(random() * 4294967296)
    for (let j = 0; j < 4 && i + j < length; j++) out[i + j] = (word >>> (8 * j)) & 0xff
  }
  return out
}

/** Whether `got` is exactly the first `got.length` bytes of `sent`. */
export const isPrefix = (got: Uint8Array, sent: Uint8Array): boolean =>
  got.length <= sent.length && Buffer.compare(Buffer.from(got.buffer, got.byteOffset, got.length), Buffer.from(sent.buffer, sent.byteOffset, got.length)) === 0

/** Where two byte sequences first differ, for a readable failure ("byte 12: got 0x01, sent 0x7f"). */
export const firstDifference = (got: Uint8Array, sent: Uint8Array): string => {
  for (let i = 0; i < got.length; i++) {
    if (i >= sent.length) return `got ${got.length} bytes, only ${sent.length} were sent`
    if (got[i] !== sent[i]) return `byte ${i} of ${got.length}: got 0x${got[i]!.toString(16)}, sent 0x${sent[i]!.toString(16)}`
  }
  return got.length === sent.length ? "equal" : `got ${got.length} of ${sent.length} bytes`
}

/** How an effect ended, as the stress parts count it. */
export type Outcome<A> =
  | { readonly _tag: "Done"; readonly value: A }
  | { readonly _tag: "Interrupted" }
  | { readonly _tag: "Failed"; readonly error: NetError.NetError }
  | { readonly _tag: "Died"; readonly defect: unknown }

const Deadline = Symbol("Deadline")

/** An exit as an Outcome: a failure that is no NetError counts as a death, with that failure as defect. */
export const outcomeOf = <A>(exit: Exit.Exit<A, unknown>): Outcome<A> => {
  if (Exit.isSuccess(exit)) return { _tag: "Done", value: exit.value }
  if (isInterrupted(exit)) return { _tag: "Interrupted" }
  const [error] = failures(exit.cause)
  if (error === Deadline) return { _tag: "Interrupted" }
  if (error !== undefined && NetError.isNetError(error)) return { _tag: "Failed", error }
  const [defect] = defects(exit.cause)
  return { _tag: "Died", defect: defect ?? error ?? exit.cause }
}

/** The label an outcome is counted under: "done", "interrupted", a NetError tag, or "defect". */
export const labelOf = (outcome: Outcome<unknown>): string =>
  outcome._tag === "Done" ? "done" :
  outcome._tag === "Interrupted" ? "interrupted" :
  outcome._tag === "Failed" ? outcome.error._tag :
  "defect"

/** A defect as text, for a failure message. */
export const describeDefect = (defect: unknown): string => {
  try {
    return defect instanceof Error ? `${defect.name}: ${defect.message}\n${defect.stack ?? ""}` : String(defect)
  } catch {
    return Object.prototype.toString.call(defect)
  }
}

/**
 * Runs `self` (in the caller's context: a Scope it needs is the caller's), and
 * with probability `p` interrupts it at a random point: a deadline of 0..2 ms,
 * an interruption as soon as it has started, or one after a yield.
 */
export const chaos = <A, E, R>(random: () => number, p: number, self: Effect.Effect<A, E, R>): Effect.Effect<
  Outcome<A>,
  never,
  R
> => {
  if (random() >= p) return Effect.map(Effect.exit(self), outcomeOf)
  const how = random()
  if (how < 0.5) {
    const millis = int(random, 0, 2)
    return Effect.map(Effect.exit(deadline(self, millis, () => Deadline)), outcomeOf)
  }
  const yields = how < 0.75 ? 0 : int(random, 1, 3)
  return Effect.gen(function*() {
    const fiber = yield* fork(self)
    for (let i = 0; i < yields; i++) yield* yieldNow
    yield* Fiber.interrupt(fiber)
    return outcomeOf(yield* Fiber.await(fiber))
  })
}

/** A counter of labels, printed as "done 812, interrupted 120, ConnectionReset 3". */
export class Tally {
  readonly counts = new Map<string, number>()
  add(label: string): void {
    this.counts.set(label, (this.counts.get(label) ?? 0) + 1)
  }
  get(label: string): number {
    return this.counts.get(label) ?? 0
  }
  toString(): string {
    return [...this.counts].sort((a, b) => b[1] - a[1]).map(([label, n]) => `${label} ${n}`).join(", ")
  }
}

/** global.gc: given by --expose-gc (the stress config), else switched on here. */
const gc: () => void = (() => {
  const exposed = (globalThis as { gc?: () => void }).gc
  if (typeof exposed === "function") return exposed
  v8.setFlagsFromString("--expose-gc")
  return vm.runInNewContext("gc") as () => void
})()

/** The heap in use after full collections, with event loop turns between them for close callbacks. */
export const heapUsed: Effect.Effect<number> = Effect.gen(function*() {
  for (let i = 0; i < 3; i++) {
    yield* loopTurns
    gc()
  }
  return process.memoryUsage().heapUsed
})

/** What a leak would change: open fds of the process, fds the Netpoll owns, fibers parked on it. */
export interface Snapshot {
  readonly fds: number
  readonly owned: number
  readonly waiting: number
}

export const snapshot: Effect.Effect<Snapshot, never, Netpoll.Netpoll> = Effect.andThen(
  loopTurns,
  Effect.map(Netpoll.Netpoll, (netpoll) => ({ fds: openFds(), owned: netpoll.size, waiting: netpoll.waiting }))
)

/** Waits (bounded, polling every 5 ms) until the snapshot equals `expected`; yields the last one seen. */
export const settlesTo = (expected: Snapshot, millis = 10_000): Effect.Effect<Snapshot, never, Netpoll.Netpoll> =>
  Effect.gen(function*() {
    const start = Date.now()
    while (true) {
      const now = yield* snapshot
      if (
        (now.fds === expected.fds && now.owned === expected.owned && now.waiting === expected.waiting) ||
        Date.now() - start > millis
      ) return now
      yield* Effect.sleep("5 millis")
    }
  })

export const MB = 1024 * 1024

/** The fds open in this process now, each with what it is (its /proc/self/fd link). */
export const fdSet = (): Map<string, string> => {
  const fds = new Map<string, string>()
  for (const fd of fs.readdirSync("/proc/self/fd")) {
    try {
      fds.set(fd, fs.readlinkSync(`/proc/self/fd/${fd}`))
    } catch {
      // readdir's own fd, closed by now
    }
  }
  return fds
}

const TCP_STATES: Record<string, string> = {
  "01": "ESTABLISHED", "02": "SYN_SENT", "03": "SYN_RECV", "04": "FIN_WAIT1", "05": "FIN_WAIT2", "06": "TIME_WAIT",
  "07": "CLOSE", "08": "CLOSE_WAIT", "09": "LAST_ACK", "0A": "LISTEN", "0B": "CLOSING"
}

const hexAddress = (hex: string): string => {
  const [ip, port] = hex.split(":") as [string, string]
  const host = ip.length === 8
    ? ip.match(/../g)!.reverse().map((b) => parseInt(b, 16)).join(".")
    : `[${ip}]`
  return `${host}:${parseInt(port, 16)}`
}

/**
 * What the fds open now and not in `before` (or open as something else) are:
 * "fd 31: socket 127.0.0.1:40000 -> 127.0.0.1:5000 ESTABLISHED".
 */
export const describeNewFds = (before: Map<string, string>): string => {
  const sockets = new Map<string, string>()
  for (const file of ["/proc/self/net/tcp", "/proc/self/net/tcp6"]) {
    try {
      for (const line of fs.readFileSync(file, "utf8").split("\n").slice(1)) {
        const fields = line.trim().split(/\s+/)
        if (fields.length < 10) continue
        sockets.set(fields[9]!, `${hexAddress(fields[1]!)} -> ${hexAddress(fields[2]!)} ${TCP_STATES[fields[3]!] ?? fields[3]}`)
      }
    } catch {
      // not on Linux: the fd numbers alone
    }
  }
  const described: Array<string> = []
  for (const [fd, target] of fdSet()) {
    if (before.get(fd) === target) continue
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1]
    described.push(`fd ${fd}: ${inode === undefined ? target : `socket ${sockets.get(inode) ?? `inode ${inode} (in no TCP table: never connected)`}`}`)
  }
  return described.join("; ") || "none"
}
