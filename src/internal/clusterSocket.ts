import * as MessageStorage from "effect/cluster/MessageStorage"
import * as RunnerHealth from "effect/cluster/RunnerHealth"
import * as Runners from "effect/cluster/Runners"
import * as RunnerStorage from "effect/cluster/RunnerStorage"
import * as ShardingConfig from "effect/cluster/ShardingConfig"
import * as SocketRunner from "effect/cluster/SocketRunner"
import * as SqlMessageStorage from "effect/cluster/SqlMessageStorage"
import * as SqlRunnerStorage from "effect/cluster/SqlRunnerStorage"
import * as Digest from "effect/crypto/Digest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as RpcClient from "effect/rpc/RpcClient"
import * as RpcSerialization from "effect/rpc/RpcSerialization"
import * as Socket from "effect/socket/Socket"
import type * as ClusterSocket from "../ClusterSocket.js"
import { Netpoll } from "../Netpoll.js"
import * as clusterRunner from "./clusterRunner.js"
import { cluster } from "./core.js"
import * as socket from "./socket.js"
import * as socketServer from "./socketServer.js"
import * as tcpStream from "./tcpStream.js"

export const layerClientProtocol: Layer.Layer<
  Runners.RpcClientProtocol,
  never,
  RpcSerialization.RpcSerialization | Netpoll
> = Layer.effect(Runners.RpcClientProtocol)(Effect.gen(function*() {
  const serialization = yield* RpcSerialization.RpcSerialization
  const netpoll = yield* Netpoll
  return {
    codecFor: serialization.codecFor,
    make: (address) =>
      Effect.gen(function*() {
        // One Socket per runner address; each reader acquisition (each retry of
        // the RPC protocol's read loop) dials again, as NodeSocket.makeNet does.
        const runnerSocket = yield* socket.makeSocket(
          tcpStream.connect(cluster.dialAddress(address), cluster.dialOptions),
          { openTimeout: cluster.openTimeoutMillis }
        )
        return yield* RpcClient.makeProtocolSocket().pipe(
          Effect.provideService(Socket.Socket, runnerSocket),
          Effect.provideService(RpcSerialization.RpcSerialization, serialization)
        )
      }).pipe(Effect.provideService(Netpoll, netpoll))
  }
}))

export const layerSocketServer = Layer.unwrap(Effect.gen(function*() {
  const config = yield* ShardingConfig.ShardingConfig
  const listenAddress = Option.orElse(config.runnerListenAddress, () => config.runnerAddress)
  if (Option.isNone(listenAddress)) return yield* Effect.die(cluster.noListenAddress)
  return socketServer.layerSocketServer(cluster.dialAddress(listenAddress.value))
}))

export const layer = (options?: ClusterSocket.Options<boolean, "local" | "sql" | "byo">): Layer.Layer<any, any, any> => {
  const bad = cluster.layerOptions(options, ["binary", "ndjson"])
  if (bad !== undefined) return Layer.effectDiscard(Effect.die(new TypeError(bad))) as unknown as Layer.Layer<any, any, any>
  return clusterRunner.wire({
    socketRunner: SocketRunner.layer,
    socketRunnerClientOnly: SocketRunner.layerClientOnly,
    socketServer: layerSocketServer,
    clientProtocol: layerClientProtocol,
    runnerHealthPing: RunnerHealth.layerPing,
    runnersRpc: Runners.layerRpc,
    messageStorageNoop: MessageStorage.layerNoop,
    // SQL storage hashes long primary keys with a Digest: Web Crypto's, from effect itself.
    messageStorageSql: SqlMessageStorage.layer.pipe(Layer.provide(Digest.layerWebCrypto)),
    runnerStorageMemory: RunnerStorage.layerMemory,
    runnerStorageSql: SqlRunnerStorage.layer,
    shardingConfig: ShardingConfig.layerFromEnv(options?.shardingConfig),
    serialization: options?.serialization === "ndjson"
      ? RpcSerialization.layerNdjsonWith({ maxBufferSize: options.serializationMaxBufferSize })
      : RpcSerialization.layerSchemaBinary({ maxFrameSize: options?.serializationMaxBufferSize })
  }, options)
}
