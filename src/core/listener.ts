/**
 * The rules of a listening socket, once for both Effect lines: how it is set
 * up, what one accept does, and how `serve` backs off after a transient error.
 */
import * as errno from "./errno.js"
import { addon } from "./native.js"
import type { Pollable, Poller } from "./poller.js"
import { type Failure, setUp, type SetUpStep, WAIT_READY } from "./stream.js"

/** Node's own default backlog; the kernel caps it at net.core.somaxconn. */
export const DEFAULT_BACKLOG = 511

/** What `bind` sets on its socket. */
export interface ListenSettings {
  readonly backlog: number
  readonly reusePort: boolean
  /** IPV6_V6ONLY for an IPv6 address; undefined keeps the system's default. */
  readonly ipv6Only: boolean | undefined
}

/**
 * socket, SO_REUSEADDR (a port can be bound again at once after its listener
 * closed), the options, bind and listen, then registration: the listening
 * Pollable, or a failure with nothing left open.
 */
export const listen = (
  poller: Poller,
  family: 4 | 6,
  ip: string,
  port: number,
  settings: ListenSettings
): Pollable | Failure => {
  const fd = addon.socket(family)
  if (fd < 0) return { code: fd, syscall: "socket" }
  const steps: ReadonlyArray<SetUpStep> = [
    ["setsockopt", () => addon.setReuseAddr(fd, true)],
    ["setsockopt", () => settings.reusePort ? addon.setReusePort(fd, true) : 0],
    ["setsockopt", () => family === 6 && settings.ipv6Only !== undefined ? addon.setV6Only(fd, settings.ipv6Only) : 0],
    ["bind", () => addon.bind(fd, family, ip, port)],
    ["listen", () => addon.listen(fd, settings.backlog)]
  ]
  return setUp(poller, fd, steps, "listen")
}

/**
 * One accept4 and the registration of its fd, both synchronous, so that no
 * interruption can fall between them: the connection's Pollable, WAIT_READY
 * when none is pending, or an error code.
 */
export const accept = (listener: Pollable, noDelay: boolean): Pollable | number => {
  if (listener.closed) return errno.CLOSED
  listener.input.ready = false
  const fd = addon.accept(listener.fd)
  if (fd === -errno.EAGAIN) return WAIT_READY
  if (fd < 0) return fd
  const accepted = listener.poller.register(fd, "accept")
  // Best effort, as in Go: a connection already reset fails its first read or write instead.
  if (noDelay && typeof accepted !== "number") addon.setNoDelay(fd, true)
  return accepted
}

const MIN_BACKOFF_MILLIS = 5
const MAX_BACKOFF_MILLIS = 1000

/**
 * Go's accept backoff: 5 ms after the first transient error, doubling to 1 s;
 * `serve` starts again from undefined after a success.
 */
export const nextBackoffMillis = (previous: number | undefined): number =>
  previous === undefined ? MIN_BACKOFF_MILLIS : Math.min(previous * 2, MAX_BACKOFF_MILLIS)

/** Whether an accept error is retried by `serve` (by its errno name). */
export const isTransient = (errnoName: string | undefined): boolean =>
  errnoName !== undefined && errno.isTransientAccept(errno.code(errnoName))
