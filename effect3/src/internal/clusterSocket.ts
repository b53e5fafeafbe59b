import * as MessageStorage from "@effect/cluster/MessageStorage"
import * as RunnerHealth from "@effect/cluster/RunnerHealth"
import * as Runners from "@effect/cluster/Runners"
import * as RunnerStorage from "@effect/cluster/RunnerStorage"
import * as ShardingConfig from "@effect/cluster/ShardingConfig"
import * as SocketRunner from "@effect/cluster/SocketRunner"
import * as SqlMessageStorage from "@effect/cluster/SqlMessageStorage"
import * as SqlRunnerStorage from "@effect/cluster/SqlRunnerStorage"
import { Socket } from "@effect/platform/Socket"
import * as RpcClient from "@effect/rpc/RpcClient"
import * as RpcSerialization from "@effect/rpc/RpcSerialization"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as ClusterSocket from "../ClusterSocket.js"
import { Netpoll } from "../Netpoll.js"
import { cluster } from "./core.js"
import * as clusterRunner from "./clusterRunner.js"
import * as platformSocket from "./platformSocket.js"
import * as platformSocketServer from "./platformSocketServer.js"
import * as tcpStream from "./tcpStream.js"

export const layerClientProtocol: Layer.Layer<
  Runners.RpcClientProtocol,
  never,
  RpcSerialization.RpcSerialization | Netpoll
> = Layer.effect(
  Runners.RpcClientProtocol,
  Effect.gen(function*() {
    const serialization = yield* RpcSerialization.RpcSerialization
    const netpoll = yield* Netpoll
    return (address) =>
      Effect.gen(function*() {
        // One Socket per runner address; each `run` (each retry of the RPC
        // protocol's read loop) dials again, as NodeSocket.makeNet does.
        const socket = yield* platformSocket.makeSocket(
          tcpStream.connect(cluster.dialAddress(address), cluster.dialOptions),
          { openTimeout: cluster.openTimeoutMillis }
        )
        return yield* RpcClient.makeProtocolSocket().pipe(
          Effect.provideService(Socket, socket),
          Effect.provideService(RpcSerialization.RpcSerialization, serialization)
        )
      }).pipe(Effect.provideService(Netpoll, netpoll))
  })
)

export const layerSocketServer = Layer.unwrapEffect(Effect.gen(function*() {
  const config = yield* ShardingConfig.ShardingConfig
  const listenAddress = Option.orElse(config.runnerListenAddress, () => config.runnerAddress)
  if (Option.isNone(listenAddress)) return yield* Effect.dieMessage(cluster.noListenAddress)
  return platformSocketServer.layerSocketServer(cluster.dialAddress(listenAddress.value))
}))

export const layer = (options?: ClusterSocket.Options<boolean, "local" | "sql" | "byo">): Layer.Layer<any, any, any> => {
  const bad = cluster.layerOptions(options, ["msgpack", "ndjson"])
  if (bad !== undefined) return Layer.effectDiscard(Effect.die(new TypeError(bad))) as unknown as Layer.Layer<any, any, any>
  return clusterRunner.wire({
    socketRunner: SocketRunner.layer,
    socketRunnerClientOnly: SocketRunner.layerClientOnly,
    socketServer: layerSocketServer,
    clientProtocol: layerClientProtocol,
    runnerHealthPing: RunnerHealth.layerPing,
    runnersRpc: Runners.layerRpc,
    messageStorageNoop: MessageStorage.layerNoop,
    messageStorageSql: SqlMessageStorage.layer,
    runnerStorageMemory: RunnerStorage.layerMemory,
    runnerStorageSql: SqlRunnerStorage.layer,
    shardingConfig: ShardingConfig.layerFromEnv(options?.shardingConfig),
    serialization: options?.serialization === "ndjson"
      ? RpcSerialization.layerNdjsonWith({ maxBufferSize: options.serializationMaxBufferSize })
      : RpcSerialization.layerMsgPackWith({ maxBufferSize: options?.serializationMaxBufferSize })
  }, options)
}
