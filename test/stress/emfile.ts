/**
 * Stress part 4: EMFILE under a small fd limit. A child process
 * (./fixtures/emfileServe.ts, which lowers its limit to 64 fds once loaded)
 * serves an echo handler;
 * round after round it takes every free fd while clients from this process
 * connect and send, so every accept fails with EMFILE; then it frees them.
 * While it holds them it must not spin (its CPU time over that second stays
 * low) and serve nothing; once they are free, accepts resume and every waiting
 * client gets its whole echo; serve runs on through every round.
 */
import * as path from "node:path"
import { expect } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Netpoll from "../../src/Netpoll.js"
import * as TcpStream from "../../src/TcpStream.js"
import { root, timeoutFail, tsxArgs } from "../utils/line.js"
import { bound, bytes, text } from "../utils/peers.js"
import { spawn } from "../utils/processes.js"
import { layer } from "../utils/runners.js"
import { outcomeOf } from "./harness.js"
import type { Scale } from "./scale.js"

const CLIENTS = 8
/** The child's fd limit, as `ulimit -n` sets it. */
const FD_LIMIT = 64

interface Freed {
  readonly round: number
  readonly heldMillis: number
  readonly cpuMillis: number
  readonly warnings: number
}

interface Report {
  readonly serveRunning: boolean
  readonly errnos: ReadonlyArray<string | null>
  readonly warnings: number
}

/** Registers part 4 at `scale`, on both backends. */
export const emfileSuite = (scale: Scale): void => {
  const backends = [["epoll", Netpoll.layer], ["uv_poll", Netpoll.layerUvPoll]] as const
  for (const [backend, netpollLayer] of backends) {
    layer(netpollLayer)(`stress: EMFILE under an fd limit of ${FD_LIMIT} (${backend} in the child)`, (it) => {
      const { holdMillis, rounds: roundCount } = scale.emfile
      it.effect(
        `${roundCount} round(s) of ${holdMillis} ms: while every fd is taken serve does not spin and serves nothing; ` +
          "once fds are free every waiting client is served, and serve runs on",
        () =>
          Effect.gen(function*() {
            const fixture = path.join(root, "test", "stress", "fixtures", "emfileServe.ts")
            const child = yield* spawn(process.execPath, [...tsxArgs, fixture, backend, String(FD_LIMIT)], {
              name: "emfileServe"
            })
            const [, port, fdLimit] = yield* child.waitFor(/"event":"listening","port":(\d+),.*"fdLimit":(\d+)/)
            expect(Number(fdLimit)).toBe(FD_LIMIT)
            const rounds: Array<Freed & { readonly servedAfterMillis: number }> = []

            for (let round = 1; round <= roundCount; round++) {
              child.process.kill("SIGUSR2")
              yield* child.waitFor(new RegExp(`"event":"exhausted","round":${round},`))
              yield* Effect.scoped(Effect.gen(function*() {
                const messages = Array.from({ length: CLIENTS }, (_, i) => bytes(`round ${round} client ${i}`))
                const clients = yield* Effect.forEach(messages, (message) =>
                  Effect.gen(function*() {
                    const client = yield* bound(TcpStream.connect(`127.0.0.1:${port}`), "connect while the server holds every fd")
                    yield* client.writeAll(message)
                    return client
                  }))
                // For a second, no client is served: accept fails with EMFILE, and is retried with a backoff.
                const early = yield* Effect.forEach(clients, (client) =>
                  Effect.map(
                    Effect.exit(timeoutFail(client.read(new Uint8Array(64)), `${holdMillis} millis`, () => "deadline")),
                    outcomeOf
                  ), { concurrency: "unbounded" })
                expect(early.map((o) => o._tag === "Died" ? o.defect : o._tag)).toEqual(clients.map(() => "deadline"))

                child.process.kill("SIGUSR2")
                const start = performance.now()
                const [line] = yield* child.waitFor(new RegExp(`\\{"event":"freed","round":${round},[^\\n]*\\}`))
                const freed = JSON.parse(line) as Freed
                const echoes = yield* bound(
                  Effect.forEach(clients, (client, i) =>
                    Effect.gen(function*() {
                      const reply = new Uint8Array(messages[i]!.length)
                      yield* client.readExact(reply)
                      return text(reply)
                    }), { concurrency: "unbounded" }),
                  "the echoes after the fds were freed"
                )
                expect(echoes).toEqual(messages.map(text))
                rounds.push({ ...freed, servedAfterMillis: Math.round(performance.now() - start) })
              }))
            }

            child.process.kill("SIGUSR1")
            const [reportLine] = yield* child.waitFor(/\{"event":"report"[^\n]*\}/)
            const report = JSON.parse(reportLine) as Report
            const closed = yield* child.closed
            console.log(`[stress ${scale.name}, EMFILE, ${backend}] ${JSON.stringify(rounds)}; ${JSON.stringify(report)}`)
            expect(closed, child.stderr()).toEqual({ code: 0, signal: null })
            expect(report.serveRunning).toBe(true)
            expect(report.errnos).toEqual(["EMFILE"])
            for (const r of rounds) {
              expect(r.heldMillis).toBeGreaterThanOrEqual(holdMillis)
              // A backoff from 5 ms doubling to 1 s: about 8 retries in the first second, not thousands,
              // and a few ms of CPU time, not the whole hold that a spinning loop takes.
              expect(r.warnings).toBeGreaterThan(0)
              expect(r.warnings).toBeLessThan(20)
              expect(r.cpuMillis).toBeLessThan(holdMillis / 4)
            }
          }),
        scale.name === "full" ? 300_000 : 60_000
      )
    })
  }
}
