/**
 * OpenTelemetry attributes of the connect and accept spans, once for both
 * Effect lines (each adds the attributes of its own address type).
 */

/** A port as an attribute: only a valid one, as a number. */
const port = (value: unknown): Record<string, number> => {
  const n = typeof value === "string" && /^\d{1,5}$/.test(value) ? Number(value) : value
  return typeof n === "number" && Number.isInteger(n) && n >= 0 && n <= 65535 ? { "server.port": n } : {}
}

/**
 * `server.address` and `server.port` of a string or `{ host, port }` input as
 * the caller named them (a host name stays a host name). Computed before
 * resolution validates the input, so a malformed input gives what it can and
 * never throws.
 */
export const server = (input: unknown): Record<string, unknown> => {
  if (typeof input === "object" && input !== null) {
    try {
      const { host, port: p } = input as { readonly host?: unknown; readonly port?: unknown }
      return { ...(typeof host === "string" ? { "server.address": host } : {}), ...port(p) }
    } catch {
      // A getter (or a Proxy's trap) that throws: resolution refuses the input, the span goes without.
      return {}
    }
  }
  if (typeof input !== "string") return {}
  const colon = input.lastIndexOf(":")
  if (colon < 0) return { "server.address": input }
  const host = input.slice(0, colon)
  return {
    "server.address": host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host,
    ...port(input.slice(colon + 1))
  }
}

/** The peer of a span's connection. */
export const peer = (family: 4 | 6, address: string, port: number): Record<string, unknown> => ({
  "network.peer.address": address,
  "network.peer.port": port,
  "network.type": family === 4 ? "ipv4" : "ipv6"
})
