/**
 * What a cluster runner's transport does on both Effect lines, whatever the
 * Effect major: where it dials and listens, and how long a dial may take.
 */
import * as util from "node:util"
import * as validate from "./validate.js"

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

const oneOf = (value: unknown, allowed: ReadonlyArray<string>): boolean =>
  value === undefined || (typeof value === "string" && allowed.includes(value))

const quoted = (allowed: ReadonlyArray<string>): string => {
  const names = allowed.map((name) => JSON.stringify(name))
  return `${names.slice(0, -1).join(", ")} or ${names[names.length - 1]}`
}

/**
 * What is wrong with the options of `ClusterSocket.layer`, or undefined;
 * `serializations` are the line's (Effect 4: binary, ndjson; Effect 3:
 * msgpack, ndjson). Checked before any layer is built, so a typo is a defect
 * naming the option, not a runner started with a default.
 */
export const layerOptions = (options: unknown, serializations: ReadonlyArray<string>): string | undefined => {
  const what = "ClusterSocket.layer"
  const bad = validate.optionsObject(options, what)
  if (bad !== undefined) return bad
  const serialization = validate.field(options, "serialization")
  if (!oneOf(serialization, serializations)) {
    return `${what}: serialization must be ${quoted(serializations)}, got ${validate.show(serialization)}`
  }
  const max = validate.field(options, "serializationMaxBufferSize")
  if (max !== undefined && max !== "unbounded" && !(typeof max === "number" && Number.isSafeInteger(max) && max > 0)) {
    return `${what}: serializationMaxBufferSize must be a positive integer or "unbounded", got ${validate.show(max)}`
  }
  const clientOnly = validate.field(options, "clientOnly")
  if (clientOnly !== undefined && typeof clientOnly !== "boolean") {
    return `${what}: clientOnly must be a boolean, got ${validate.show(clientOnly)}`
  }
  const storage = validate.field(options, "storage")
  if (!oneOf(storage, ["local", "sql", "byo"])) {
    return `${what}: storage must be "local", "sql" or "byo", got ${validate.show(storage)}`
  }
  const config = validate.field(options, "shardingConfig")
  // Spread over the configuration read from the environment: a Proxy's traps would throw there.
  if (config !== undefined && (typeof config !== "object" || config === null || util.types.isProxy(config))) {
    return `${what}: shardingConfig must be an object of ShardingConfig fields, got ${validate.show(config)}`
  }
  return undefined
}
