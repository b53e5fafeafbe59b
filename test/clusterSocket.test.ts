/**
 * ClusterSocket's layers on their own, against what the cluster's
 * RPC protocol expects of a Socket: the runner's server listens where
 * ShardingConfig says; the client protocol reaches it, dials again after the
 * server went away (a runner restarting on its port), and drops a silent peer
 * by the protocol's ping timeout, closing its fd, then dials again.
 */
import { expect } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as ClusterSocket from "../src/ClusterSocket.js"
import * as Netpoll from "../src/Netpoll.js"
import * as TcpListener from "../src/TcpListener.js"
import { loopTurns, openFds } from "./utils/fds.js"
import {
  makeProtocol,
  Rpc,
  RpcClient,
  RpcGroup,
  RpcServer,
  RunnerAddress,
  serialization,
  ShardingConfig,
  silentPeerDroppedWithin
} from "./utils/clusterLine.js"
import { defects, dieMessage, serverAddress, socketServerTag, tcpServerAddress, timeoutFail } from "./utils/line.js"
import { ChildError, freePort } from "./utils/processes.js"
import { layer } from "./utils/runners.js"

const Adder = RpcGroup.make(Rpc.make("Add", { payload: { a: Schema.Number, b: Schema.Number }, success: Schema.Number }))

const Handlers = Adder.toLayer({ Add: ({ a, b }) => Effect.succeed(a + b) })

const config = (port: number) => ShardingConfig.layer({ runnerAddress: Option.some(RunnerAddress.make("127.0.0.1", port)) })

/** A runner-like RPC server on ClusterSocket.layerSocketServer, in the given Scope. */
const serve = (port: number, scope: Scope.Scope) =>
  Layer.buildWithScope(
    RpcServer.layer(Adder).pipe(
      Layer.provide(Handlers),
      Layer.provide(RpcServer.layerProtocolSocketServer),
      Layer.provide(ClusterSocket.layerSocketServer),
      Layer.provide(config(port)),
      Layer.provide(serialization()),
      Layer.provide(Netpoll.layer)
    ),
    scope
  )

/** An RpcClient over the protocol ClusterSocket.layerClientProtocol makes for 127.0.0.1:`port`. */
const client = (port: number) =>
  Effect.gen(function*() {
    const protocol = yield* makeProtocol(RunnerAddress.make("127.0.0.1", port))
    return yield* RpcClient.make(Adder).pipe(Effect.provideService(RpcClient.Protocol, protocol))
  })

const Protocols = ClusterSocket.layerClientProtocol.pipe(Layer.provide(serialization()))

layer(Protocols.pipe(Layer.provideMerge(Netpoll.layer)))("ClusterSocket layers", (it) => {
  it.effect("layerSocketServer listens on runnerListenAddress when it is set, else on runnerAddress", () =>
    Effect.gen(function*() {
      const listen = yield* freePort
      const advertised = yield* freePort
      const server = yield* Layer.build(ClusterSocket.layerSocketServer.pipe(
        Layer.provide(ShardingConfig.layer({
          runnerAddress: Option.some(RunnerAddress.make("127.0.0.1", advertised)),
          runnerListenAddress: Option.some(RunnerAddress.make("127.0.0.1", listen))
        }))
      ))
      expect(serverAddress(Context.get(server, socketServerTag).address)).toEqual(tcpServerAddress("127.0.0.1", listen))
      const fallback = yield* Layer.build(ClusterSocket.layerSocketServer.pipe(Layer.provide(config(advertised))))
      expect(serverAddress(Context.get(fallback, socketServerTag).address)).toEqual(tcpServerAddress("127.0.0.1", advertised))
    }))

  it.effect("layerSocketServer dies naming both settings when neither address is set", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Layer.build(ClusterSocket.layerSocketServer.pipe(
        Layer.provide(ShardingConfig.layer({ runnerAddress: Option.none(), runnerListenAddress: Option.none() }))
      )))
      expect(Exit.isFailure(exit)).toBe(true)
      const [defect] = Exit.isFailure(exit) ? defects(exit.cause) : []
      expect(dieMessage(defect)).toBe(
        "ClusterSocket.layerSocketServer: ShardingConfig.runnerListenAddress and runnerAddress are None"
      )
    }))

  it.effect("layerClientProtocol reaches the runner, and after it restarts on its port, dials again", () =>
    Effect.gen(function*() {
      yield* loopTurns
      const before = openFds()
      const port = yield* freePort
      yield* Effect.scoped(Effect.gen(function*() {
        const first = yield* Scope.make()
        yield* serve(port, first)
        const adder = yield* client(port)
        expect(yield* adder.Add({ a: 1, b: 2 })).toBe(3)
        // The runner goes away: its connections end cleanly (on Effect 4, code 1000 on our side).
        yield* Scope.close(first, Exit.void)
        yield* serve(port, yield* Effect.scope)
        // Until it has dialled again the protocol answers with how the last connection
        // ended (on Effect 4 SocketCloseError 1000), as over NodeSocket: the cluster's Runners retry.
        const answer = yield* timeoutFail(
          adder.Add({ a: 2, b: 3 }).pipe(Effect.retry({ schedule: Schedule.spaced("100 millis"), times: 100 })),
          "20 seconds",
          () => new ChildError({ message: "no answer from the restarted runner" })
        )
        expect(answer).toBe(5)
      }))
      yield* loopTurns
      expect(openFds()).toBe(before)
    }), 60_000)

  it.effect("a silent peer is dropped by the protocol's ping timeout, its fd closed, and dialled again", () =>
    Effect.gen(function*() {
      yield* loopTurns
      const before = openFds()
      yield* Effect.scoped(Effect.gen(function*() {
        // Accepts and never answers, as a runner whose host froze.
        const listener = yield* TcpListener.bind("127.0.0.1:0")
        const { port } = yield* listener.localAddr
        const adder = yield* client(port)
        yield* Effect.forkScoped(adder.Add({ a: 1, b: 1 }))
        const first = yield* listener.accept
        // The protocol pings and drops a connection whose pings go unanswered
        // (clusterLine.ts: silentPeerDroppedWithin): ours ends (EOF)...
        const buf = new Uint8Array(4096)
        const drained = Effect.gen(function*() {
          while ((yield* first.read(buf)) > 0) {}
        })
        yield* timeoutFail(drained, silentPeerDroppedWithin, () => new ChildError({ message: "the silent connection was never closed" }))
        // ...and the next use of the socket (a reader acquisition; a run on Effect 3) dials again.
        const second = yield* timeoutFail(listener.accept, "20 seconds", () => new ChildError({ message: "no second dial" }))
        expect(second.fd).toBeGreaterThan(0)
      }))
      yield* loopTurns
      expect(openFds()).toBe(before)
    }), 60_000)
})
