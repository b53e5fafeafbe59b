/**
 * A client of the cluster example (Effect 3): a client-only member (it hosts
 * no entity and listens on no port) that asks `count` Counter entities where
 * they live and has each run one persisted job.
 *
 *   DATABASE_URL=postgres://... npx tsx examples/cluster/client.ts [count]
 */
import { PgClient } from "@effect/sql-pg"
import { Config, Console, Effect, Layer } from "effect"
import { Netpoll } from "effect-netpoll/effect3"
import * as ClusterSocket from "effect-netpoll/effect3/ClusterSocket"
import { runMain } from "../runMain.js"
import { Counter } from "./Counter.js"

const count = Number(process.argv[2] ?? "6")

const Client = ClusterSocket.layer({ clientOnly: true }).pipe(
  Layer.provide(Layer.unwrapEffect(Effect.map(
    Config.redacted("DATABASE_URL"),
    (url) => PgClient.layer({ url, maxConnections: 2 })
  ))),
  Layer.provide(Netpoll.layer)
)

const main = Effect.gen(function*() {
  const counter = yield* Counter.client
  const ids = Array.from({ length: count }, (_, i) => `counter-${i}`)
  const hosts = yield* Effect.forEach(
    ids,
    (id) => Effect.map(counter(id).Where(), (runner) => `${id} lives on runner ${runner}`),
    { concurrency: "unbounded" }
  )
  for (const line of hosts) yield* Console.log(line)
  const done = yield* Effect.forEach(ids, (id) => counter(id).Work({ job: `job-${id}`, millis: 10 }), {
    concurrency: "unbounded"
  })
  for (const line of done) yield* Console.log(line)
}).pipe(Effect.provide(Client))

runMain(main, { interruptIsExit: false })
