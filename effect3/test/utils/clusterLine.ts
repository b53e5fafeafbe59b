/**
 * The cluster, SQL and RPC modules of this line under one set of names, and
 * what their APIs spell differently, for the cluster tests both lines share
 * (test/cluster.test.ts, test/clusterSocket.test.ts): Effect 3 has them in
 * packages of their own (@effect/cluster 0.60, @effect/sql, @effect/rpc). This
 * is the Effect 3 side; test/utils/clusterLine.ts is the other. What both
 * lines' tests use alike (sharding settings, a network cut) is in ./cluster.ts.
 */
import type * as RunnerAddress from "@effect/cluster/RunnerAddress"
import * as Runners from "@effect/cluster/Runners"
import * as RpcSerialization from "@effect/rpc/RpcSerialization"
import * as Effect from "effect/Effect"

export * as RunnerAddress from "@effect/cluster/RunnerAddress"
export * as Runners from "@effect/cluster/Runners"
export * as ShardingConfig from "@effect/cluster/ShardingConfig"
export * as Rpc from "@effect/rpc/Rpc"
export * as RpcClient from "@effect/rpc/RpcClient"
export * as RpcGroup from "@effect/rpc/RpcGroup"
export * as RpcSerialization from "@effect/rpc/RpcSerialization"
export * as RpcServer from "@effect/rpc/RpcServer"
export * as SqlClient from "@effect/sql/SqlClient"

/**
 * A layer of the serialization ClusterSocket uses by default:
 * `RpcSerialization.layerSchemaBinary()` on Effect 4, `layerMsgPack` here.
 */
export const serialization = () => RpcSerialization.layerMsgPack

/**
 * The client protocol `Runners.RpcClientProtocol` makes for a runner at
 * `address`: the service's `make` on Effect 4; here the service is that function.
 */
export const makeProtocol = (address: RunnerAddress.RunnerAddress) =>
  Effect.gen(function*() {
    const make = yield* Runners.RpcClientProtocol
    return yield* make(address)
  })

/**
 * How long a peer that accepts and never answers keeps its connection before
 * the RPC client protocol drops it: on Effect 4 it pings every 5 s and drops a
 * connection silent for longer; here it pings every 10 s and drops a
 * connection whose ping went unanswered at the next tick (about 20 s).
 */
export const silentPeerDroppedWithin = "40 seconds" as const
