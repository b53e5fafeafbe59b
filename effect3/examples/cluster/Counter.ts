/**
 * The entity of the cluster example (Effect 3, `@effect/cluster`): the same
 * code whichever transport the runners talk over (see ./runner.ts).
 *
 * - `Where` answers with the name of the runner that hosts the entity.
 * - `Ask` has the entity ask another one where it lives: entity-to-entity
 *   traffic, which runners send to each other.
 * - `Work` is persisted: it is written to the SQL message storage before it is
 *   sent, so when its runner dies mid-request the shard's next owner runs it
 *   again and the caller still gets its reply.
 */
import { ClusterSchema, Entity } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import { Console, Effect, Schema } from "effect"

export const Counter = Entity.make("Counter", [
  Rpc.make("Where", { success: Schema.String }),
  Rpc.make("Ask", { payload: { other: Schema.String }, success: Schema.String }),
  Rpc.make("Work", { payload: { job: Schema.String, millis: Schema.Number }, success: Schema.String })
    .annotate(ClusterSchema.Persisted, true)
])

/** The entity's handlers on the runner called `runner`. */
export const CounterLive = (runner: string) =>
  Counter.toLayer(Effect.gen(function*() {
    const counter = yield* Counter.client
    return {
      Where: () => Effect.succeed(runner),
      Ask: ({ payload }) =>
        Effect.map(
          // A failed send is a defect of this request: the entity restarts and the caller sees it.
          Effect.orDie(counter(payload.other).Where()),
          (there) => `${runner} asked ${payload.other}: ${there}`
        ),
      Work: ({ payload }) =>
        Effect.gen(function*() {
          yield* Console.log(`working on ${payload.job}`)
          yield* Effect.sleep(payload.millis)
          return `${payload.job} done by ${runner}`
        })
    }
  }))
