/**
 * How a shared test runs on this line: @effect/vitest's runners for tests on
 * real sockets and the real clock, each in its own Scope, under one name on
 * both lines (see ./line.ts for everything else that differs). This is the
 * Effect 3 side; test/utils/runners.ts is the other.
 */
import { it, layer as vitestLayer, type Vitest } from "@effect/vitest"
import type * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"

/** The tests of a block: each runs with the real clock and its own Scope. */
export interface LiveTests<R> {
  readonly effect: Vitest.Tester<R | Scope.Scope>
}

/** A block of tests sharing one `layer` (built once), on the real clock, each test in its own Scope. */
export const layer = <R, E>(self: Layer.Layer<R, E>) => (name: string, f: (it: LiveTests<R>) => void): void =>
  vitestLayer(self, { excludeTestServices: true })(name, (it) => f({ effect: it.scoped }))

/** A single test on the real clock, in its own Scope. */
export const live: Vitest.Tester<Scope.Scope> = it.scopedLive
