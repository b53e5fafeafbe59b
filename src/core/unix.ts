/**
 * The rules of Unix-domain stream sockets, once for both Effect lines: which
 * paths are addresses, how a socket connects, binds and pairs, and when a
 * listener's socket file is removed. Reads, writes, accepts, clones and
 * shutdowns are the TCP rules (stream.ts, listener.ts): they hold for any
 * stream socket.
 *
 * The edge-triggered latch (`Direction.settle`) reads a short transfer as "the
 * buffer is drained until the next edge". That holds for Unix streams as for
 * TCP: the kernel's unix_stream_read_generic copies skb after skb until the
 * caller's buffer is full or the receive queue is empty, and stops earlier
 * only at an out-of-band mark (MSG_OOB, Linux 5.15+, which also raises
 * EPOLLPRI: HANGUP, after which the latch no longer trusts short reads) or
 * between writers with different credentials when SO_PASSCRED is on (never
 * set here). unix_stream_sendmsg likewise queues until the send buffer is
 * full, so a short write means no room until the peer reads, which is the edge.
 */
import * as fs from "node:fs"
import * as errno from "./errno.js"
import { addon } from "./native.js"
import type { Pollable, Poller } from "./poller.js"
import type { Failure } from "./stream.js"

/** sun_path holds 108 bytes: a filesystem path and its terminating NUL, or a NUL and an abstract name. */
export const MAX_PATH_BYTES = 107

/** Whether a path names Linux's abstract namespace (Node's convention: a leading NUL). */
export const isAbstract = (path: string): boolean => path.startsWith("\0")

/**
 * Why `path` is no Unix socket address, or undefined: a string of 1 to 107
 * UTF-8 bytes (an abstract name: a NUL and up to 107 bytes), with no NUL but
 * an abstract name's leading one. Never throws.
 */
export const pathMistake = (path: unknown): string | undefined => {
  if (typeof path !== "string") return "a Unix socket path must be a string"
  if (path === "") return "a Unix socket path must not be empty"
  const name = isAbstract(path) ? path.slice(1) : path
  if (name.includes("\0")) return "a Unix socket path must not contain a NUL byte (except the leading one of an abstract name)"
  const bytes = Buffer.byteLength(name, "utf8")
  return bytes > MAX_PATH_BYTES
    ? `a Unix socket path has at most ${MAX_PATH_BYTES} bytes (UTF-8), got ${bytes}`
    : undefined
}

/** A path as messages show it: an abstract name's NUL as "@", as `ss` and `netstat` show it. */
export const display = (path: string): string => isAbstract(path) ? `@${path.slice(1)}` : path

const failure = (code: number, syscall: string): Failure => ({ code, syscall })

/** A new fd registered with the poller, or a failure with nothing left open. */
const registered = (poller: Poller, fd: number, syscall: string): Pollable | Failure => {
  const pollable = poller.register(fd, syscall)
  return typeof pollable === "number"
    ? failure(pollable, pollable === errno.CLOSED ? syscall : "epoll_ctl")
    : pollable
}

/**
 * socket(2), registration and a nonblocking connect(2) to `path`. A Unix
 * connect completes at once or fails (EAGAIN when the listener's backlog is
 * full); `pending` is for a connect interrupted by a signal, which goes on in
 * the background as TCP's does.
 */
export const connectStart = (
  poller: Poller,
  path: string
): { readonly pollable: Pollable; readonly pending: boolean } | Failure => {
  const fd = addon.unixSocket()
  if (fd < 0) return failure(fd, "socket")
  const pollable = registered(poller, fd, "connect")
  if ("code" in pollable) return pollable
  pollable.output.ready = false
  const rc = addon.unixConnect(fd, path)
  if (rc === 0 || rc === -errno.EINPROGRESS) return { pollable, pending: rc !== 0 }
  pollable.close()
  return failure(rc, "connect")
}

/** A connected pair (socketpair(2)), both registered, or a failure with nothing left open. */
export const pair = (poller: Poller): readonly [Pollable, Pollable] | Failure => {
  const fds = addon.unixPair()
  if (typeof fds === "number") return failure(fds, "socketpair")
  const first = registered(poller, fds[0], "accept")
  if ("code" in first) {
    addon.close(fds[1])
    return first
  }
  const second = registered(poller, fds[1], "accept")
  if ("code" in second) {
    first.close()
    return second
  }
  return [first, second]
}

/**
 * Which file a listener created: its device and inode, as lstat(2) gives them,
 * and its birth time where the filesystem records one (0n otherwise), which
 * tells our file from a later one that was given the same inode number.
 */
export interface Identity {
  readonly dev: bigint
  readonly ino: bigint
  readonly birth: bigint
}

/** The socket file at `path` now, or undefined when there is none (or it cannot be read). */
const identify = (path: string): Identity | undefined => {
  try {
    const stat = fs.lstatSync(path, { bigint: true })
    return stat.isSocket() ? { dev: stat.dev, ino: stat.ino, birth: stat.birthtimeNs } : undefined
  } catch {
    return undefined
  }
}

const sameFile = (a: Identity, b: Identity): boolean =>
  a.dev === b.dev && a.ino === b.ino && (a.birth === 0n || b.birth === 0n || a.birth === b.birth)

/** A listening socket and, for a filesystem path, the socket file its bind created. */
export interface Listening {
  readonly pollable: Pollable
  readonly identity: Identity | undefined
}

/**
 * socket, bind and listen on `path`, then registration. An existing file at
 * `path` makes bind fail with EADDRINUSE: it is never removed here, since it
 * may be another server's. The socket file's identity is read right after
 * bind, so that `removeIfOurs` can tell it from a file put there later.
 */
export const listen = (poller: Poller, path: string, backlog: number): Listening | Failure => {
  const fd = addon.unixSocket()
  if (fd < 0) return failure(fd, "socket")
  let rc = addon.unixBind(fd, path)
  if (rc < 0) {
    addon.close(fd)
    return failure(rc, "bind")
  }
  const identity = isAbstract(path) ? undefined : identify(path)
  try {
    rc = addon.listen(fd, backlog)
  } catch (thrown) {
    // A backlog whose getter gave a checked value once and a bad one now: nothing may stay behind.
    addon.close(fd)
    removeIfOurs(path, identity)
    throw thrown
  }
  if (rc < 0) {
    addon.close(fd)
    removeIfOurs(path, identity)
    return failure(rc, "listen")
  }
  const pollable = registered(poller, fd, "listen")
  if ("code" in pollable) removeIfOurs(path, identity)
  return "code" in pollable ? pollable : { pollable, identity }
}

/**
 * Removes the socket file a listener created if it is still that file (same
 * device and inode): a file that replaced it (another server's socket bound
 * after ours was removed) stays. Nothing for an abstract name. Never throws.
 */
export const removeIfOurs = (path: string, identity: Identity | undefined): void => {
  if (identity === undefined) return
  const now = identify(path)
  if (now === undefined || !sameFile(now, identity)) return
  try {
    fs.unlinkSync(path)
  } catch {
    // Removed meanwhile, or a directory we may no longer write: nothing of ours is left to clean.
  }
}

/** getsockname or getpeername: the path ("" for an unnamed socket), or an error code. */
export const address = (pollable: Pollable, syscall: "getsockname" | "getpeername"): string | number => {
  if (pollable.closed) return errno.CLOSED
  return syscall === "getsockname" ? addon.unixLocalPath(pollable.fd) : addon.unixPeerPath(pollable.fd)
}

/** The peer's credentials when it connected. */
export interface Credentials {
  readonly pid: number
  readonly uid: number
  readonly gid: number
}

/** SO_PEERCRED: the peer's credentials, or an error code. */
export const peerCred = (pollable: Pollable): Credentials | number => {
  if (pollable.closed) return errno.CLOSED
  const cred = addon.peerCred(pollable.fd)
  return typeof cred === "number" ? cred : { pid: cred[0], uid: cred[1], gid: cred[2] }
}

/** The Unix getpeername as `stream.connectResult` takes it, to tell a finished connect. */
export const peerPathOf = (fd: number): string | number => addon.unixPeerPath(fd)
