/**
 * What a cluster runner's transport does on both Effect lines, whatever the
 * Effect major: where it dials and listens, and how long a dial may take.
 */

/** A `RunnerAddress` of either line's cluster package. */
export interface RunnerAddress {
  readonly host: string
  readonly port: number
}

/**
 * NodeClusterSocket's `openTimeout`: a runner that does not accept within a
 * second is treated as unreachable, so the RPC protocol's retry schedule (and
 * RunnerHealth) take over instead of a dial hanging on a dead host.
 */
export const openTimeoutMillis = 1000

/**
 * Runner RPCs are small frames answered at once: Nagle's algorithm would hold a
 * request back behind an unacknowledged one.
 */
export const dialOptions = { noDelay: true } as const

/** A plain `{ host, port }`: the address types of both lines (classes with more fields) reduce to it. */
export const dialAddress = (address: RunnerAddress): RunnerAddress => ({ host: address.host, port: address.port })

export const noListenAddress = "ClusterSocket.layerSocketServer: ShardingConfig.runnerListenAddress and runnerAddress are None"
