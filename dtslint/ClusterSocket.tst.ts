// ClusterSocket on the Effect 4 line: effect/cluster's layers, with Netpoll as the one extra requirement.
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
import { describe, expect, it } from "tstyche"
import * as ClusterSocket from "../src/ClusterSocket.js"
import type * as Netpoll from "../src/Netpoll.js"

describe("ClusterSocket", () => {
  it("layerClientProtocol needs a serialization and Netpoll", () => {
    expect(ClusterSocket.layerClientProtocol).type.toBe<
      Layer.Layer<Runners.RpcClientProtocol, never, RpcSerialization.RpcSerialization | Netpoll.Netpoll>
    >()
  })

  it("layerSocketServer listens where ShardingConfig says, failing as TcpListener.layerSocketServer does", () => {
    expect(ClusterSocket.layerSocketServer).type.toBe<
      Layer.Layer<
        SocketServer.SocketServer,
        SocketServer.SocketServerError,
        ShardingConfig.ShardingConfig | Netpoll.Netpoll
      >
    >()
  })

  it("layer() is a runner on SQL storage: it needs a SqlClient and Netpoll", () => {
    expect(ClusterSocket.layer()).type.toBe<
      Layer.Layer<
        Sharding | Runners.Runners | MessageStorage.MessageStorage,
        SocketServer.SocketServerError | ConfigError,
        Netpoll.Netpoll | SqlClient
      >
    >()
  })

  it("a client-only member listens nowhere, so it cannot fail to bind", () => {
    expect(ClusterSocket.layer({ clientOnly: true })).type.toBe<
      Layer.Layer<Sharding | Runners.Runners | MessageStorage.MessageStorage, ConfigError, Netpoll.Netpoll | SqlClient>
    >()
  })

  it("local storage needs no database; byo storage needs the caller's storages", () => {
    expect(ClusterSocket.layer({ storage: "local" })).type.toBe<
      Layer.Layer<
        Sharding | Runners.Runners | MessageStorage.MessageStorage,
        SocketServer.SocketServerError | ConfigError,
        Netpoll.Netpoll
      >
    >()
    expect(ClusterSocket.layer({ storage: "byo" })).type.toBe<
      Layer.Layer<
        Sharding | Runners.Runners,
        SocketServer.SocketServerError | ConfigError,
        Netpoll.Netpoll | MessageStorage.MessageStorage | RunnerStorage.RunnerStorage
      >
    >()
  })

  it("rejects a serialization this line does not have", () => {
    expect(ClusterSocket.layer).type.not.toBeCallableWith({ serialization: "msgpack" })
    expect(ClusterSocket.layer).type.not.toBeCallableWith({ storage: "disk" })
  })
})
