/**
 * The line's cluster (effect/cluster on Effect 4, @effect/cluster 0.60 on
 * Effect 3) over effect-netpoll (ClusterSocket): three runner processes
 * (examples/cluster/runner.ts) on loopback and this process as a client-only
 * member, sharing one PostgreSQL of the test's own for messages and runner
 * state. Entities on every runner answer; a cut between two runners is
 * survived; a runner killed mid-request loses no persisted message.
 */
import { expect } from "@effect/vitest"
import { PgClient } from "@effect/sql-pg"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { Counter } from "../examples/cluster/Counter.js"
import * as ClusterSocket from "../src/ClusterSocket.js"
import * as Netpoll from "../src/Netpoll.js"
import { cutConnections, shardingEnv, shardingMillis } from "./utils/cluster.js"
import { SqlClient } from "./utils/clusterLine.js"
import { fork, layerScoped, layerUnwrap, repeatUntil, Service, timeoutFail } from "./utils/line.js"
import { startPostgres } from "./utils/postgres.js"
import { type Child, ChildError, runExample, startServer } from "./utils/processes.js"
import { layer } from "./utils/runners.js"

interface Runner {
  /** The runner's port, which is also its name in the entities' answers. */
  readonly name: string
  readonly child: Child
}

class Postgres extends Service<Postgres, { readonly url: string }>()("test/Postgres") {}

class Cluster extends Service<Cluster, { readonly runners: ReadonlyArray<Runner> }>()("test/Cluster") {}

const PostgresLive = layerScoped(Postgres, startPostgres)

const Database = layerUnwrap(Effect.map(Postgres, ({ url }) =>
  PgClient.layer({ url: Redacted.make(url), maxConnections: 4 })))

const Runners = layerScoped(
  Cluster,
  Effect.gen(function*() {
    const { url } = yield* Postgres
    const runners = yield* Effect.forEach([1, 2, 3], () =>
      Effect.map(
        startServer((port) =>
          runExample("cluster/runner.ts", [], { ...shardingEnv, DATABASE_URL: url, PORT: String(port) })
        ),
        ({ port, server }) => ({ name: String(port), child: server } satisfies Runner)
      ), { concurrency: "unbounded" })
    return { runners }
  })
)

/** This process: a client-only member with the runners' sharding settings. */
const Client = ClusterSocket.layer({
  clientOnly: true,
  shardingConfig: {
    runnerAddress: Option.none(),
    shardsPerGroup: shardingMillis.shardsPerGroup,
    shardLockRefreshInterval: Duration.millis(shardingMillis.shardLockRefreshInterval),
    shardLockExpiration: Duration.millis(shardingMillis.shardLockExpiration),
    refreshAssignmentsInterval: Duration.millis(shardingMillis.refreshAssignmentsInterval),
    entityMessagePollInterval: Duration.millis(shardingMillis.entityMessagePollInterval),
    entityReplyPollInterval: Duration.millis(shardingMillis.entityReplyPollInterval),
    runnerHealthCheckInterval: Duration.millis(shardingMillis.runnerHealthCheckInterval)
  }
})

const Environment = Layer.mergeAll(Runners, Client).pipe(
  Layer.provideMerge(Database),
  Layer.provideMerge(PostgresLive),
  Layer.provideMerge(Netpoll.layer)
)

const ids = Array.from({ length: 30 }, (_, i) => `counter-${i}`)

/**
 * Where each entity lives, once the shards have settled: asked every second
 * until two answers in a row agree and every runner hosts an entity (shards
 * move while runners join).
 */
const placement = (names: ReadonlyArray<string>) => {
  let previous = ""
  return Effect.gen(function*() {
    const counter = yield* Counter.client
    return yield* Effect.forEach(ids, (id) => Effect.map(counter(id).Where(), (runner) => [id, runner] as const), {
      concurrency: "unbounded"
    })
  }).pipe(
    (asking) =>
      repeatUntil(asking, "1 second", (answers) => {
        const settled = JSON.stringify(answers) === previous
        previous = JSON.stringify(answers)
        return settled && names.every((name) => answers.some(([, runner]) => runner === name))
      }),
    (asking) => timeoutFail(asking, "40 seconds", () => new ChildError({ message: "the entities never spread over all runners" })),
    Effect.map((answers) => new Map(answers))
  )
}

const entityOn = (where: ReadonlyMap<string, string>, runner: Runner) => {
  const id = ids.find((id) => where.get(id) === runner.name)
  if (id === undefined) throw new Error(`no entity on runner ${runner.name}`)
  return id
}

layer(Environment)("ClusterSocket: a cluster of three runners over effect-netpoll and PostgreSQL", (it) => {
  it.effect("entities on all three runners answer, persisted requests included", () =>
    Effect.gen(function*() {
      const { runners } = yield* Cluster
      const names = runners.map((runner) => runner.name)
      const where = yield* placement(names)
      expect(new Set(where.values())).toEqual(new Set(names))
      const counter = yield* Counter.client
      const done = yield* Effect.forEach(ids, (id) => counter(id).Work({ job: `job-${id}`, millis: 1 }), {
        concurrency: "unbounded"
      })
      expect(done).toEqual(ids.map((id) => `job-${id} done by ${where.get(id)}`))
    }), 60_000)

  it.effect("the example's client (a client-only member in a process of its own) gets every answer", () =>
    Effect.gen(function*() {
      const { runners } = yield* Cluster
      const { url } = yield* Postgres
      const where = yield* placement(runners.map((runner) => runner.name))
      const client = yield* runExample("cluster/client.ts", ["6"], { ...shardingEnv, DATABASE_URL: url })
      const closed = yield* client.closed
      expect(closed, client.output()).toEqual({ code: 0, signal: null })
      const first = ids.slice(0, 6)
      expect(client.stdout().toString()).toBe([
        ...first.map((id) => `${id} lives on runner ${where.get(id)}`),
        ...first.map((id) => `job-${id} done by ${where.get(id)}`)
      ].join("\n") + "\n")
    }), 60_000)

  it.effect("a network cut between two runners is survived: entity-to-entity requests reconnect", () =>
    Effect.gen(function*() {
      const { runners } = yield* Cluster
      const [a, , c] = runners
      const where = yield* placement(runners.map((runner) => runner.name))
      const onA = entityOn(where, a)
      const onC = entityOn(where, c)
      const counter = yield* Counter.client
      const askBothWays = Effect.all([counter(onA).Ask({ other: onC }), counter(onC).Ask({ other: onA })])
      const expected = [`${a.name} asked ${onC}: ${c.name}`, `${c.name} asked ${onA}: ${a.name}`]
      expect(yield* askBothWays).toEqual(expected)
      // Both runners dialled each other: a connection each way, two ends each.
      expect(cutConnections(a.child.process.pid!, c.child.process.pid!)).toBe(4)
      const after = yield* timeoutFail(askBothWays, "30 seconds", () => new ChildError({ message: "no answer after the cut" }))
      expect(after).toEqual(expected)
      expect(a.child.process.exitCode).toBe(null)
      expect(c.child.process.exitCode).toBe(null)
    }), 60_000)

  it.effect("a runner killed mid-request: its shards move and the persisted request is answered by another", () =>
    Effect.gen(function*() {
      const { runners } = yield* Cluster
      const [a, b, c] = runners
      const where = yield* placement(runners.map((runner) => runner.name))
      const onB = entityOn(where, b)
      const counter = yield* Counter.client
      const request = yield* fork(counter(onB).Work({ job: "job-killed", millis: 2000 }))
      yield* b.child.waitFor(/working on job-killed/)
      b.child.process.kill("SIGKILL")
      const answer = yield* timeoutFail(
        Fiber.join(request),
        "45 seconds",
        () => new ChildError({ message: "the killed runner's request was never answered" })
      )
      expect([`job-killed done by ${a.name}`, `job-killed done by ${c.name}`]).toContain(answer)
      expect([a.name, c.name]).toContain(yield* counter(onB).Where())
      // Every persisted request was processed: none was lost with the runner.
      const sql = yield* SqlClient.SqlClient
      const pending = yield* sql<{ readonly count: number }>`SELECT count(*)::int AS count FROM cluster_messages WHERE NOT processed`
      expect(pending).toEqual([{ count: 0 }])
      const killed = yield* sql<
        { readonly count: number }
      >`SELECT count(*)::int AS count FROM cluster_messages WHERE tag = 'Work' AND entity_id = ${onB} AND payload LIKE ${"%job-killed%"} AND processed`
      expect(killed).toEqual([{ count: 1 }])
    }), 60_000)

  it.effect("a runner over NodeClusterSocket joins the effect-netpoll runners: one cluster, both transports", () =>
    Effect.gen(function*() {
      const { runners } = yield* Cluster
      const { url } = yield* Postgres
      // The last test killed the second runner: the first and third remain.
      const [a, , c] = runners
      const { port, server } = yield* startServer((port) =>
        runExample("cluster/runner.ts", [], { ...shardingEnv, DATABASE_URL: url, PORT: String(port), TRANSPORT: "node" })
      )
      yield* server.waitFor(/up \(NodeClusterSocket\)/)
      const node: Runner = { name: String(port), child: server }
      const where = yield* placement([a.name, c.name, node.name])
      const onA = entityOn(where, a)
      const onNode = entityOn(where, node)
      const counter = yield* Counter.client
      expect(yield* Effect.all([counter(onA).Ask({ other: onNode }), counter(onNode).Ask({ other: onA })])).toEqual([
        `${a.name} asked ${onNode}: ${node.name}`,
        `${node.name} asked ${onA}: ${a.name}`
      ])
    }), 60_000)
})
