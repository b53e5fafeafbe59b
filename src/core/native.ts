/**
 * The N-API addon's surface. Every call that can fail returns a negative errno
 * (`-os.constants.errno.EAGAIN`, ...) instead of throwing; calls throw only on a
 * caller's mistake: a `TypeError` for an argument of the wrong JavaScript type,
 * a `RangeError` for a buffer range outside its array.
 */
import { createRequire } from "node:module"
import { fileURLToPath } from "node:url"

/** Readiness bits delivered in poll batches. Errors and hang-ups set both; see HANGUP. */
export const READABLE = 1
export const WRITABLE = 2
/**
 * The peer shut down, an error is pending, or TCP urgent data arrived (recv
 * stops short at its mark): from now on a short transfer no longer means an
 * empty buffer.
 */
export const HANGUP = 4

/**
 * The last two ints of a poller's batch are control words: the first is 1
 * while the epoll poller's callback (and the microtasks after it) run, and
 * meanwhile JS leaves uv_ref / uv_unref to the poller, which applies the
 * second, JS's count of parked fibers, once the callback is over.
 */
export const CONTROL_WORDS = 2

/** An opaque poller (an epoll fd watched by one uv_poll_t, or one uv_poll_t per fd). */
export interface PollerHandle {
  readonly _PollerHandle: unique symbol
}

export interface Addon {
  /** `socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC)`; family is 4 or 6. Returns the fd. */
  readonly socket: (family: 4 | 6) => number
  /** Nonblocking connect; `-EINPROGRESS` means: wait for writability, then read `soError`. */
  readonly connect: (fd: number, family: 4 | 6, ip: string, port: number) => number
  readonly bind: (fd: number, family: 4 | 6, ip: string, port: number) => number
  readonly listen: (fd: number, backlog: number) => number
  /** `accept4(fd, SOCK_NONBLOCK | SOCK_CLOEXEC)`. Returns the new fd. */
  readonly accept: (fd: number) => number
  /** `recv` into `buf[offset, offset + length)`; 0 is end of stream. */
  readonly read: (fd: number, buf: Uint8Array, offset: number, length: number) => number
  /**
   * One `recvmsg` into `buf[offset, offset + length)` and then into `spill`;
   * a count above `length` left its surplus at the start of `spill`.
   */
  readonly readSpill: (fd: number, buf: Uint8Array, offset: number, length: number, spill: Uint8Array) => number
  /** `send(..., MSG_NOSIGNAL)` from `buf[offset, offset + length)`. */
  readonly write: (fd: number, buf: Uint8Array, offset: number, length: number) => number
  /**
   * `recvmsg` scattering into the bytes `[offset, offset + length)` of `bufs`
   * taken in order as one sequence (readv); at most 1024 buffers per call.
   */
  readonly readv: (fd: number, bufs: ReadonlyArray<Uint8Array>, offset: number, length: number) => number
  /** `sendmsg(..., MSG_NOSIGNAL)` gathering from `bufs` as `readv` scatters (writev). */
  readonly writev: (fd: number, bufs: ReadonlyArray<Uint8Array>, offset: number, length: number) => number
  /** `fcntl(fd, F_DUPFD_CLOEXEC, 0)`. */
  readonly dup: (fd: number) => number
  /** how: 0 = SHUT_RD, 1 = SHUT_WR, 2 = SHUT_RDWR. */
  readonly shutdown: (fd: number, how: 0 | 1 | 2) => number
  readonly close: (fd: number) => number
  /** The pending socket error (`getsockopt(SO_ERROR)`) as a positive errno, 0 if none. */
  readonly soError: (fd: number) => number
  /** `[family, ip, port]`, or a negative errno. */
  readonly localAddress: (fd: number) => readonly [4 | 6, string, number] | number
  readonly peerAddress: (fd: number) => readonly [4 | 6, string, number] | number
  readonly setNoDelay: (fd: number, on: boolean) => number
  /** TCP_NODELAY: 1 or 0, or a negative errno. */
  readonly noDelay: (fd: number) => number
  /** SO_KEEPALIVE, and TCP_KEEPIDLE in whole seconds when `idleSeconds > 0`. */
  readonly setKeepAlive: (fd: number, on: boolean, idleSeconds: number) => number
  readonly setReuseAddr: (fd: number, on: boolean) => number
  readonly setReusePort: (fd: number, on: boolean) => number
  readonly setV6Only: (fd: number, on: boolean) => number

  /** `socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC)`. Returns the fd. */
  readonly unixSocket: () => number
  /** `socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC)`: two connected fds. */
  readonly unixPair: () => readonly [number, number] | number
  /**
   * Nonblocking connect to a Unix path: every UTF-8 byte of `path` is the
   * address (a leading NUL names Linux's abstract namespace, embedded NULs
   * included); `-EINVAL` for "", `-ENAMETOOLONG` when it does not fit sun_path.
   */
  readonly unixConnect: (fd: number, path: string) => number
  /** bind(2) to a Unix path, read as `unixConnect` reads it. */
  readonly unixBind: (fd: number, path: string) => number
  /** The socket's own path (getsockname): "" when unnamed, a leading NUL for an abstract name. */
  readonly unixLocalPath: (fd: number) => string | number
  /** The peer's path (getpeername), as `unixLocalPath` gives it. */
  readonly unixPeerPath: (fd: number) => string | number
  /**
   * `[pid, uid, gid]` of the peer as it was when it connected (SO_PEERCRED on
   * Linux; getpeereid elsewhere, where the pid may be -1), or a negative errno.
   */
  readonly peerCred: (fd: number) => readonly [number, number, number] | number
  /** `socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC)`; family is 4 or 6. Returns the fd. */
  readonly udpSocket: (family: 4 | 6) => number
  /** `sendto(..., MSG_NOSIGNAL)` of `buf[offset, offset + length)` as one datagram to (family, ip, port). */
  readonly udpSendTo: (
    fd: number,
    buf: Uint8Array,
    offset: number,
    length: number,
    family: 4 | 6,
    ip: string,
    port: number
  ) => number
  /**
   * `recvmsg` of one datagram into `buf[offset, offset + length)`: the count
   * copied, or a negative errno. `meta[0]` is 1 when the datagram was longer
   * (MSG_TRUNC: the rest is discarded), `meta[1]` and `meta[2]` the sender's
   * family and port; `from[0]` its IP, when `from` is an array (null skips
   * the sender, as a connected socket's `recv` does). `meta` holds 3 or more ints.
   */
  readonly udpRecvFrom: (
    fd: number,
    buf: Uint8Array,
    offset: number,
    length: number,
    meta: Int32Array,
    from: Array<string> | null
  ) => number
  /**
   * `sendmmsg(..., MSG_NOSIGNAL)`: `payloads[i]` to `targets[i]` (`[family, ip, port]`,
   * or undefined for a connected socket's peer; `targets` undefined sends all
   * to the peer). At most 1024 per call. Returns how many went out, from the
   * first on, or a negative errno when the first could not (`-EAGAIN`: none did);
   * `-EINVAL` for a target that is no address, before anything is sent.
   */
  readonly udpSendMany: (
    fd: number,
    payloads: ReadonlyArray<Uint8Array>,
    targets: ReadonlyArray<readonly [4 | 6, string, number] | undefined> | undefined
  ) => number
  /**
   * `recvmmsg` of up to `bufs.length` (at most 1024) datagrams, datagram i into
   * `bufs[i]`: how many arrived, or a negative errno (`-EAGAIN`: none waited).
   * For datagram i, `meta[4i .. 4i + 3]` = its count, 1 if truncated, the
   * sender's family and port, and `from[i]` its IP when `from` is an array.
   */
  readonly udpRecvMany: (
    fd: number,
    bufs: ReadonlyArray<Uint8Array>,
    meta: Int32Array,
    from: Array<string> | null
  ) => number
  /**
   * An int socket option by number (datagram.ts `Option`): 0 SO_BROADCAST,
   * 1 IP_TTL, 2 IPV6_UNICAST_HOPS, 3 IP_MULTICAST_TTL, 4 IPV6_MULTICAST_HOPS,
   * 5 IP_MULTICAST_LOOP, 6 IPV6_MULTICAST_LOOP, 7 SO_RCVBUF, 8 SO_SNDBUF.
   * Its value, or a negative errno (`-ENOPROTOOPT` for an unknown number).
   */
  readonly udpGetOption: (fd: number, option: number) => number
  /** Sets an int option of `udpGetOption`'s numbering: 0 or a negative errno. */
  readonly udpSetOption: (fd: number, option: number, value: number) => number
  /**
   * Joins (or leaves) a multicast group: IP_ADD/DROP_MEMBERSHIP with `iface` a
   * local IPv4 address, IPV6_JOIN/LEAVE_GROUP with `iface` an interface name or
   * index; `""` lets the system choose. 0 or a negative errno.
   */
  readonly udpMembership: (fd: number, family: 4 | 6, join: boolean, group: string, iface: string) => number
  /** `connect(AF_UNSPEC)`: a connected UDP socket takes datagrams from anyone again. 0 or a negative errno. */
  readonly udpDisconnect: (fd: number) => number

  /**
   * A poller on this environment's libuv loop. On each wake-up it writes up to
   * `(batch.length - CONTROL_WORDS) / 2` pairs `(token, events)` into `batch` and calls
   * `onEvents(count)` through `napi_make_callback`; a negative count is the errno
   * of a failed epoll fd (see `pollerCheck`). `edgeTriggered` selects the
   * Linux epoll backend; `false` selects one uv_poll_t per fd (the portable one).
   * The poller starts unreferenced: it keeps the loop alive only after `pollerRef(p, true)`.
   */
  readonly pollerOpen: (
    onEvents: (count: number) => void,
    batch: Int32Array,
    edgeTriggered: boolean
  ) => PollerHandle | number
  /**
   * Registers fd once with a caller-chosen token (a positive int32). From here on
   * the poller owns fd: `pollerDel` closes it, and so does the end of the thread
   * (a worker's exit) or the poller's collection if it is still registered then.
   * The edge-triggered backend watches it only from `pollerWatch` on.
   */
  readonly pollerAdd: (poller: PollerHandle, fd: number, token: number) => number
  /**
   * Edge-triggered backend: adds an owned fd to the epoll set, once (later
   * calls are no-ops); readiness it already has is reported at once. 0, or the
   * negative errno of `EPOLL_CTL_ADD`. A no-op on the portable backend.
   */
  readonly pollerWatch: (poller: PollerHandle, fd: number, token: number) => number
  /**
   * Interest for the portable backend: start the fd's uv_poll_t for `events`
   * (READABLE | WRITABLE), or stop it when 0. It is one-shot: after delivering an
   * event the handle stops until armed again. A no-op on the edge-triggered backend.
   */
  readonly pollerArm: (poller: PollerHandle, fd: number, events: number) => number
  /**
   * Deregisters fd and closes it, in one call; `-ENOENT` (and nothing closed)
   * for an fd the poller does not own. Otherwise the result of close(2).
   * `shared` is 1 when another descriptor may share fd's file (a dup); with 0
   * the epoll backend skips EPOLL_CTL_DEL, since the close removes it.
   */
  readonly pollerDel: (poller: PollerHandle, fd: number, shared: 0 | 1) => number
  /**
   * Whether the epoll fd is still the poller's own: 0, or the negative errno
   * that says it is not (closed or replaced behind the poller's back), after
   * which the poller has failed: it watches nothing and refuses every call.
   * Always 0 on the portable backend. A failure found by the poller itself
   * (epoll_wait failing) reaches `onEvents` as a negative count instead.
   */
  readonly pollerCheck: (poller: PollerHandle) => number
  /** uv_ref / uv_unref the poller's handle(s) (edge-triggered backend; a no-op otherwise). */
  readonly pollerRef: (poller: PollerHandle, on: boolean) => void
  /** Stops and frees the poller, closing any fd still registered. Idempotent. */
  readonly pollerClose: (poller: PollerHandle) => void
  /** Whether this build has the edge-triggered (epoll) backend. */
  readonly hasEdgeTriggered: boolean
}

const root = fileURLToPath(new URL("../..", import.meta.url))

/** Loaded once per module instance (and so once per worker thread). */
export const addon: Addon = createRequire(import.meta.url)("node-gyp-build")(root)
