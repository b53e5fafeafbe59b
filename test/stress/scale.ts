/**
 * How much each stress part does: `full` for `npm run test:stress`, `reduced`
 * for the run inside `npm test` (all parts together well under 30 s per line).
 * The seed of every pseudo-random choice (cycles, byte sequences, fault timing,
 * fast-check) is STRESS_SEED when set, else a fixed one; it is printed on failure.
 */
export interface Scale {
  readonly name: "full" | "reduced"
  /** Interrupted connect/accept/read/write/close cycles on the epoll backend, and on uv_poll. */
  readonly cycles: { readonly epoll: number; readonly uvPoll: number; readonly concurrency: number }
  /** Heap growth allowed over the 100k cycles, against the baseline after warm-up. */
  readonly heapSlackBytes: number
  /** Rounds through the fault proxy per mode, and the bytes sent each way per round. */
  readonly proxy: { readonly rounds: number; readonly bytes: number; readonly sliceBytes: number }
  /** fast-check runs per fuzzed function. */
  readonly fuzzRuns: number
  /** Rounds of exhaust-fds / free-fds in the EMFILE child, and how long it holds every fd each round. */
  readonly emfile: { readonly rounds: number; readonly holdMillis: number }
  /** Workers ended per way of ending (terminate(), process.exit()), clients per worker. */
  readonly workers: { readonly count: number; readonly clients: number; readonly trafficMillis: number }
}

export const full: Scale = {
  name: "full",
  cycles: { epoll: 100_000, uvPoll: 20_000, concurrency: 64 },
  heapSlackBytes: 16 * 1024 * 1024,
  proxy: { rounds: 8, bytes: 1024 * 1024, sliceBytes: 64 * 1024 },
  fuzzRuns: 400,
  emfile: { rounds: 4, holdMillis: 1000 },
  workers: { count: 6, clients: 4, trafficMillis: 500 }
}

export const reduced: Scale = {
  name: "reduced",
  cycles: { epoll: 1_500, uvPoll: 600, concurrency: 32 },
  heapSlackBytes: 16 * 1024 * 1024,
  proxy: { rounds: 1, bytes: 128 * 1024, sliceBytes: 4 * 1024 },
  fuzzRuns: 40,
  emfile: { rounds: 1, holdMillis: 500 },
  workers: { count: 2, clients: 2, trafficMillis: 200 }
}

const fromEnv = Number.parseInt(process.env.STRESS_SEED ?? "", 10)

/** The seed of this run: STRESS_SEED, or a fixed default so that runs repeat. */
export const seed: number = Number.isSafeInteger(fromEnv) ? fromEnv : 0x5eed_9
