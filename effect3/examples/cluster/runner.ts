/**
 * One runner of the cluster example (Effect 3): hosts `Counter` entities,
 * talks to the other runners over effect-netpoll, and keeps messages and
 * runner state in PostgreSQL.
 *
 *   DATABASE_URL=postgres://... PORT=34431 npx tsx examples/cluster/runner.ts
 *
 * `HOST` and `PORT` are the address the other runners dial (read by
 * `ShardingConfig.layerFromEnv`, like every other `ShardingConfig` field:
 * `SHARDS_PER_GROUP`, `SHARD_LOCK_EXPIRATION`, ...). `TRANSPORT=node` runs the
 * same runner over `@effect/platform-node`'s NodeClusterSocket instead: the
 * transport is the only line that differs, and both kinds of runner can share
 * one cluster.
 */
import type { MessageStorage, Runners, Sharding } from "@effect/cluster"
import type { SocketServer } from "@effect/platform"
import { NodeClusterSocket } from "@effect/platform-node"
import type { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Config, type ConfigError, Console, Effect, Layer } from "effect"
import { type NetError, Netpoll } from "effect-netpoll/effect3"
import * as ClusterSocket from "effect-netpoll/effect3/ClusterSocket"
import { runMain } from "../runMain.js"
import { CounterLive } from "./Counter.js"

const Transport: Layer.Layer<
  Sharding.Sharding | Runners.Runners | MessageStorage.MessageStorage,
  SocketServer.SocketServerError | NetError.NetError | ConfigError.ConfigError,
  SqlClient.SqlClient
> = process.env.TRANSPORT === "node"
  ? NodeClusterSocket.layer()
  : ClusterSocket.layer().pipe(Layer.provide(Netpoll.layer))

const Database = Layer.unwrapEffect(Effect.map(
  Config.redacted("DATABASE_URL"),
  (url) => PgClient.layer({ url, maxConnections: 4 })
))

/** The runner is named after its port, so that answers say which process gave them. */
const Entities = Layer.unwrapEffect(Effect.map(Config.string("PORT"), CounterLive))

const main = Effect.gen(function*() {
  const name = yield* Config.string("PORT")
  yield* Console.log(`runner ${name} up (${process.env.TRANSPORT === "node" ? "NodeClusterSocket" : "effect-netpoll"})`)
  return yield* Effect.never
}).pipe(
  Effect.provide(Entities.pipe(
    Layer.provideMerge(Transport),
    Layer.provide(Database)
  ))
)

runMain(main, { interruptIsExit: true })
