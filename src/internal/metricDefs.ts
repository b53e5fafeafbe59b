/**
 * The library's metrics. Shared by both Effect lines: the Effect 3 line
 * compiles this same file against its own `effect` (whose registry it fills).
 */
import * as Metric from "effect/Metric"

export const bytesRead = Metric.counter("effect_netpoll_bytes_read", {
  description: "Bytes received by effect-netpoll streams (read, readExact and everything built on them)",
  incremental: true
})

export const bytesWritten = Metric.counter("effect_netpoll_bytes_written", {
  description: "Bytes sent by effect-netpoll streams (write, writeAll and everything built on them)",
  incremental: true
})

export const connectionsAccepted = Metric.counter("effect_netpoll_connections_accepted", {
  description: "Connections accepted by effect-netpoll listeners",
  incremental: true
})

export const connectionsOpened = Metric.counter("effect_netpoll_connections_opened", {
  description: "Outgoing connections established by effect-netpoll connect",
  incremental: true
})

export const socketsOpen = Metric.gauge("effect_netpoll_sockets_open", {
  description: "Socket fds that effect-netpoll owns right now: connections, their clones, listeners and sockets still connecting"
})

export const metrics = { bytesRead, bytesWritten, connectionsAccepted, connectionsOpened, socketsOpen } as const
