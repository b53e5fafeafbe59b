/**
 * What the cluster tests of both lines share: the sharding settings every
 * member of a test cluster uses (short intervals, so a dead runner's shards
 * move within seconds), and a network cut between two processes.
 */
import * as ChildProcess from "node:child_process"

/** The `ShardingConfig` fields the runners read from their environment (ShardingConfig.layerFromEnv). */
export const shardingEnv: Record<string, string> = {
  HOST: "127.0.0.1",
  SHARDS_PER_GROUP: "30",
  SHARD_LOCK_REFRESH_INTERVAL: "1 second",
  SHARD_LOCK_EXPIRATION: "5 seconds",
  REFRESH_ASSIGNMENTS_INTERVAL: "1 second",
  ENTITY_MESSAGE_POLL_INTERVAL: "500 millis",
  ENTITY_REPLY_POLL_INTERVAL: "200 millis",
  RUNNER_HEALTH_CHECK_INTERVAL: "2 seconds"
}

/** The same settings, in millis, for a member configured in code (the tests' client-only member). */
export const shardingMillis = {
  shardsPerGroup: 30,
  shardLockRefreshInterval: 1000,
  shardLockExpiration: 5000,
  refreshAssignmentsInterval: 1000,
  entityMessagePollInterval: 500,
  entityReplyPollInterval: 200,
  runnerHealthCheckInterval: 2000
} as const

interface Endpoint {
  readonly local: string
  readonly peer: string
  readonly pid: number
}

/** The established TCP connections on loopback, each end with its owning process. */
const established = (): Array<Endpoint> =>
  ChildProcess.execFileSync("ss", ["-Htnp", "state", "established"], { encoding: "utf8" })
    .split("\n")
    .flatMap((line) => {
      const fields = line.trim().split(/\s+/)
      const pid = /pid=(\d+)/.exec(line)
      // Recv-Q Send-Q Local Peer Process (the state column is left out when filtering by state).
      return pid === null || fields.length < 5 ? [] : [{ local: fields[2], peer: fields[3], pid: Number(pid[1]) }]
    })

/**
 * Cuts every TCP connection between processes `a` and `b`, both ends, with
 * `ss -K` (SOCK_DESTROY): each end's pending and next reads fail with
 * ECONNABORTED, as when a middlebox resets a connection. Returns how many
 * sockets were destroyed.
 */
export const cutConnections = (a: number, b: number): number => {
  const endpoints = established()
  const owner = new Map(endpoints.map((end) => [end.local, end.pid]))
  const between = endpoints.filter((end) =>
    (end.pid === a && owner.get(end.peer) === b) || (end.pid === b && owner.get(end.peer) === a)
  )
  for (const end of between) {
    ChildProcess.execFileSync("ss", ["-K", "-Htn", "state", "established", "src", end.local, "dst", end.peer])
  }
  return between.length
}
