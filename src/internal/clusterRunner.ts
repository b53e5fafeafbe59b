/**
 * How `ClusterSocket.layer` wires a runner from its parts, once for both
 * lines: the parts are each line's own cluster layers (`effect/cluster` or
 * `@effect/cluster`), the wiring is NodeClusterSocket's. `effect/Layer` is the
 * same API on both majors.
 */
import * as Layer from "effect/Layer"

type AnyLayer = Layer.Layer<any, any, any>

/** The layers of one line's cluster that a runner is made of. */
export interface Parts {
  readonly socketRunner: AnyLayer
  readonly socketRunnerClientOnly: AnyLayer
  readonly socketServer: AnyLayer
  readonly clientProtocol: AnyLayer
  readonly runnerHealthPing: AnyLayer
  readonly runnersRpc: AnyLayer
  readonly messageStorageNoop: AnyLayer
  /** SQL message storage with whatever it needs besides the SqlClient (Effect 4: a Digest). */
  readonly messageStorageSql: AnyLayer
  readonly runnerStorageMemory: AnyLayer
  readonly runnerStorageSql: AnyLayer
  readonly shardingConfig: AnyLayer
  readonly serialization: AnyLayer
}

export interface Options {
  readonly clientOnly?: boolean | undefined
  readonly storage?: "local" | "sql" | "byo" | undefined
}

export const wire = (parts: Parts, options: Options | undefined): AnyLayer => {
  // A client-only member hosts no entity: no server, and no health checks of its own.
  const clientOnly = options?.clientOnly === true
  const runner = clientOnly
    ? Layer.provide(parts.socketRunnerClientOnly, parts.clientProtocol)
    : Layer.provide(parts.socketRunner, [parts.socketServer, parts.clientProtocol])
  const runnerHealth = clientOnly
    ? Layer.empty
    : parts.runnerHealthPing.pipe(Layer.provide(parts.runnersRpc), Layer.provide(parts.clientProtocol))
  const storage = options?.storage
  return runner.pipe(
    Layer.provide(runnerHealth),
    Layer.provideMerge(
      storage === "local" ? parts.messageStorageNoop : storage === "byo" ? Layer.empty : Layer.orDie(parts.messageStorageSql)
    ),
    Layer.provide(
      storage === "local" ? parts.runnerStorageMemory : storage === "byo" ? Layer.empty : Layer.orDie(parts.runnerStorageSql)
    ),
    Layer.provide(parts.shardingConfig),
    Layer.provide(parts.serialization)
  )
}
