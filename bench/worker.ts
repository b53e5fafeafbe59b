/**
 * A worker process: `node bench/dist/worker.js <implementation>`, spawned by the runner with an IPC
 * channel. It serves or runs clients for one implementation, one request at a time, and exits when
 * the runner disconnects.
 */
import * as fs from "node:fs"
import type { Implementation, ImplementationName, Reply, Request } from "./protocol.js"
import { holdIdle, implementations } from "./protocol.js"

const name = process.argv[2] as ImplementationName
if (!implementations.includes(name)) throw new Error(`unknown implementation ${name}`)

/**
 * The Effect 3 implementations, compiled by effect3/bench/tsconfig.json to effect3/bench/dist/:
 * Node resolves `effect` from where a file is, so theirs must live under effect3/ to load
 * effect3/node_modules' Effect 3. This file runs from bench/dist/.
 */
const effect3 = (file: string): Promise<{ readonly implementation: Implementation }> =>
  import(new URL(`../../effect3/bench/dist/impl/${file}`, import.meta.url).href)

// Each implementation is loaded on its own, so a `net` worker never loads Effect, and a worker
// loads one Effect major only.
const load = (): Promise<Implementation> => {
  switch (name) {
    case "net":
      return import("./impl/net.js").then((m) => m.implementation)
    case "nodesocket":
      return import("./impl/nodesocket.js").then((m) => m.implementation)
    case "effect-netpoll":
      return import("./impl/netpoll.js").then((m) => m.implementation)
    case "nodesocket/effect3":
      return effect3("nodesocket.js").then((m) => m.implementation)
    case "effect-netpoll/effect3":
      return effect3("netpoll.js").then((m) => m.implementation)
    case "go":
      return import("./impl/go.js").then((m) => m.implementation)
  }
}

const send = (reply: Reply): void => {
  process.send!(reply)
}

const openFilesLimit = (): number => {
  const line = fs.readFileSync("/proc/self/limits", "utf8").split("\n").find((l) => l.startsWith("Max open files"))
  return Number(line?.split(/\s+/)[3] ?? 0)
}

const held = new Map<number, () => void>()

const udpOf = (implementation: Implementation) => {
  if (implementation.udp === undefined) throw new Error(`${name} does not measure udp`)
  return implementation.udp
}

const handle = async (implementation: Implementation, request: Request): Promise<void> => {
  switch (request.kind) {
    case "serve": {
      const listening = (port: number) => send({ kind: "listening", id: request.id, port })
      const report = request.scenario === "udp"
        ? await udpOf(implementation).serve(request.params, listening)
        : await implementation.serve(request.scenario, request.params, listening)
      return send({ kind: "served", id: request.id, report })
    }
    case "client": {
      const report = request.scenario === "udp"
        ? await udpOf(implementation).client(request.params, request.port, request.variant)
        : await implementation.client(request.scenario, request.params, request.port, request.variant)
      return send({ kind: "done", id: request.id, report })
    }
    case "hold": {
      const { release } = await holdIdle(request.port, request.connections)
      held.set(request.id, release)
      return send({ kind: "held", id: request.id })
    }
    case "release": {
      held.get(request.id)?.()
      held.delete(request.id)
      return send({ kind: "released", id: request.id })
    }
  }
}

const implementation = await load()
process.on("message", (request: Request) => {
  handle(implementation, request).catch((error: unknown) =>
    send({ kind: "failed", id: request.id, message: error instanceof Error ? error.message : String(error) })
  )
})
// The runner going away ends the worker, whatever it was doing.
process.on("disconnect", () => process.exit(0))
send({
  kind: "hello",
  openFilesLimit: openFilesLimit(),
  ...(implementation.loaded === undefined ? {} : { loaded: implementation.loaded })
})
