/**
 * effect-netpoll as the transport of `effect/cluster`: the runners of a
 * cluster talk to each other over effect-netpoll's `Socket` and `SocketServer`
 * instead of `node:net`, layer for layer as `@effect/platform-node`'s
 * `NodeClusterSocket` wires them.
 *
 * - `layerClientProtocol`: the `Runners.RpcClientProtocol`, one
 *   `TcpStream.makeSocket` per runner address, dialling again on each reader
 *   acquisition (so the RPC protocol's retries reconnect), with a one-second
 *   open timeout.
 * - `layerSocketServer`: `TcpListener.layerSocketServer` on
 *   `ShardingConfig.runnerListenAddress`, or `runnerAddress` when it is unset.
 * - `layer(options)`: a whole runner (`SocketRunner.layer`), with ping-based
 *   `RunnerHealth`, SQL message and runner storage (the caller provides the
 *   `SqlClient`; the `Digest` it needs is Web Crypto's, from `effect`),
 *   `ShardingConfig.layerFromEnv` and a serialization.
 *
 * Import it from `effect-netpoll/ClusterSocket`: the root leaves it out, so
 * that programs that do not run a cluster do not load `effect/cluster` (about
 * 150 ms more at startup).
 *
 * Dead peers are found as with NodeClusterSocket: by the RPC protocol's pings
 * (`RpcClient.makeProtocolSocket`, every 5 seconds) and by `RunnerHealth`.
 * NodeClusterSocket's `timeout: 5500` only arms `net.Socket#setTimeout`, whose
 * event nobody listens to, so it closes nothing and has no counterpart here.
 *
 * @since 0.5.0
 */
import type * as MessageStorage from "effect/cluster/MessageStorage"
import type * as Runners from "effect/cluster/Runners"
import type * as RunnerStorage from "effect/cluster/RunnerStorage"
import type { Sharding } from "effect/cluster/Sharding"
import type * as ShardingConfig from "effect/cluster/ShardingConfig"
import type { ConfigError } from "effect/Config"
import type * as Layer from "effect/Layer"
import type * as RpcSerialization from "effect/rpc/RpcSerialization"
import type * as SocketServer from "effect/socket/SocketServer"
import type { SqlClient } from "effect/sql/SqlClient"
import * as internal from "./internal/clusterSocket.js"
import type * as Netpoll from "./Netpoll.js"

/**
 * The options of `layer`, those of NodeClusterSocket's `layer` but
 * `runnerHealth` (always `"ping"`: the Kubernetes check needs an HTTP client
 * this package does not bring).
 *
 * @since 0.5.0
 * @category models
 */
export interface Options<ClientOnly extends boolean, Storage extends "local" | "sql" | "byo"> {
  /** `"binary"` (default): `RpcSerialization.layerSchemaBinary`; `"ndjson"`: `layerNdjsonWith`. */
  readonly serialization?: "binary" | "ndjson" | undefined
  readonly serializationMaxBufferSize?: number | "unbounded" | undefined
  /** A runner that sends to entities but hosts none, and listens on no port. */
  readonly clientOnly?: ClientOnly | undefined
  /**
   * `"sql"` (default): `SqlMessageStorage` and `SqlRunnerStorage` on the
   * caller's `SqlClient`; `"local"`: no persistence, runners in memory (one
   * process); `"byo"`: the caller provides `MessageStorage` and `RunnerStorage`.
   */
  readonly storage?: Storage | undefined
  /** Overrides what `ShardingConfig.layerFromEnv` reads from the environment. */
  readonly shardingConfig?: Partial<ShardingConfig.ShardingConfig["Service"]> | undefined
}

/**
 * The `Runners.RpcClientProtocol` of a runner: an `RpcClient` protocol per
 * runner address over effect-netpoll's `Socket`, dialled with a one-second
 * open timeout and `noDelay`, as NodeClusterSocket's `layerClientProtocol`.
 *
 * @example
 * ```ts
 * import { SocketRunner } from "effect/cluster"
 * import { Layer } from "effect"
 * import * as ClusterSocket from "effect-netpoll/ClusterSocket"
 *
 * const Runner = SocketRunner.layer.pipe(
 *   Layer.provide([ClusterSocket.layerSocketServer, ClusterSocket.layerClientProtocol])
 * )
 * ```
 * @since 0.5.0
 * @category layers
 */
export const layerClientProtocol: Layer.Layer<
  Runners.RpcClientProtocol,
  never,
  RpcSerialization.RpcSerialization | Netpoll.Netpoll
> = internal.layerClientProtocol

/**
 * `TcpListener.layerSocketServer` on the runner's listen address:
 * `ShardingConfig.runnerListenAddress`, else `runnerAddress` (a defect when
 * both are unset, as in NodeClusterSocket).
 *
 * @since 0.5.0
 * @category layers
 */
export const layerSocketServer: Layer.Layer<
  SocketServer.SocketServer,
  SocketServer.SocketServerError,
  ShardingConfig.ShardingConfig | Netpoll.Netpoll
> = internal.layerSocketServer

/**
 * A cluster runner whose runners talk over effect-netpoll, wired as
 * NodeClusterSocket's `layer`: swap `NodeClusterSocket.layer(options)` for
 * `ClusterSocket.layer(options)` and provide `Netpoll.layer`.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { PgClient } from "@effect/sql-pg"
 * import { Netpoll } from "effect-netpoll"
 * import * as ClusterSocket from "effect-netpoll/ClusterSocket"
 *
 * const Cluster = ClusterSocket.layer().pipe(
 *   Layer.provide(PgClient.layer({ url: "postgres://localhost/cluster" })),
 *   Layer.provide(Netpoll.layer)
 * )
 * ```
 * @since 0.5.0
 * @category layers
 */
export const layer: <const ClientOnly extends boolean = false, const Storage extends "local" | "sql" | "byo" = never>(
  options?: Options<ClientOnly, Storage>
) => ClientOnly extends true ? Layer.Layer<
    Sharding | Runners.Runners | ("byo" extends Storage ? never : MessageStorage.MessageStorage),
    ConfigError,
    | Netpoll.Netpoll
    | ("local" extends Storage ? never
      : "byo" extends Storage ? (MessageStorage.MessageStorage | RunnerStorage.RunnerStorage)
      : SqlClient)
  > :
  Layer.Layer<
    Sharding | Runners.Runners | ("byo" extends Storage ? never : MessageStorage.MessageStorage),
    SocketServer.SocketServerError | ConfigError,
    | Netpoll.Netpoll
    | ("local" extends Storage ? never
      : "byo" extends Storage ? (MessageStorage.MessageStorage | RunnerStorage.RunnerStorage)
      : SqlClient)
  > = internal.layer as any
