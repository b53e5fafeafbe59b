// TcpListener.makeWorkers, serveWorkers and launchWorker; shared by both lines
// (effect3/dtslint links here), compiled against each line's own `effect`.
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { describe, expect, it } from "tstyche"
import type * as NetError from "../src/NetError.js"
import type * as Netpoll from "../src/Netpoll.js"
import * as TcpListener from "../src/TcpListener.js"
import type * as TcpStream from "../src/TcpStream.js"

interface Database {
  readonly _: unique symbol
}
class HandlerError {
  readonly _tag = "HandlerError"
}

declare const listener: TcpListener.TcpListener
declare const workers: TcpListener.Workers
declare const handler: (stream: TcpStream.TcpStream) => Effect.Effect<void, HandlerError, Database | Scope.Scope>

const worker = new URL("./worker.js", import.meta.url)

describe("TcpListener.makeWorkers", () => {
  it("needs Netpoll and Scope and fails with NetError", () => {
    expect(TcpListener.makeWorkers("127.0.0.1:0", { worker })).type.toBe<
      Effect.Effect<TcpListener.Workers, NetError.NetError, Netpoll.Netpoll | Scope.Scope>
    >()
  })

  it("takes a worker module (URL or path), threads, maxConnections and the bind options", () => {
    expect(TcpListener.makeWorkers).type.toBeCallableWith("127.0.0.1:0", { worker: "./worker.js" })
    expect(TcpListener.makeWorkers).type.toBeCallableWith("127.0.0.1:0", {
      worker,
      threads: 4,
      maxConnections: 100,
      backlog: 16,
      ipv6Only: false,
      noDelay: true
    })
    expect(TcpListener.makeWorkers).type.not.toBeCallableWith("127.0.0.1:0", { threads: 4 })
    expect(TcpListener.makeWorkers).type.not.toBeCallableWith("127.0.0.1:0")
    expect(TcpListener.makeWorkers).type.not.toBeCallableWith("127.0.0.1:0", { worker: 42 })
  })

  it("gives the bound address as localAddr does, and the threads' ids", () => {
    expect(Effect.map(listener.localAddr, (a) => a)).type.toBe<
      Effect.Effect<TcpListener.Workers["address"], NetError.NetError>
    >()
    expect(workers.threadIds).type.toBe<Effect.Effect<ReadonlyArray<number>>>()
    expect(workers.restarts).type.toBe<Effect.Effect<number>>()
  })
})

describe("TcpListener.serveWorkers", () => {
  it("runs forever and needs only Netpoll", () => {
    expect(TcpListener.serveWorkers("127.0.0.1:0", { worker, threads: 2 })).type.toBe<
      Effect.Effect<never, NetError.NetError, Netpoll.Netpoll>
    >()
  })
})

describe("TcpListener.launchWorker", () => {
  it("needs Netpoll and the handler's services but its Scope, and fails with NetError only", () => {
    expect(TcpListener.launchWorker(handler)).type.toBe<
      Effect.Effect<void, NetError.NetError, Netpoll.Netpoll | Database>
    >()
  })

  it("takes a handler from a TcpStream to an Effect", () => {
    expect(TcpListener.launchWorker).type.not.toBeCallableWith("echo")
    expect(TcpListener.launchWorker).type.not.toBeCallableWith((_: string) => Effect.void)
  })
})
